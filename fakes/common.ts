import type { IncomingMessage, Server } from 'node:http';
import { indexZones } from '../src/dns/authority.js';
import type { ServedZones, ZoneContents } from '../src/dns/authority.js';
import type { Logger } from '../src/lib/logger.js';

/** Bodies beyond this are refused: a full batch of either fake stays far below it. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface ReadBody {
  readonly text: string;
  readonly tooLarge: boolean;
}

/** Reads a request body; beyond MAX_BODY_BYTES it keeps reading (to answer cleanly) but drops the bytes. */
export function readBody(req: IncomingMessage): Promise<ReadBody> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      resolve({ text: Buffer.concat(chunks).toString('utf8'), tooLarge: size > MAX_BODY_BYTES });
    });
    req.on('error', reject);
  });
}

export function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** A fake's state as its DNS service sees it: a version that moves on every change, and the zones. */
export interface VersionedZones {
  readonly version: number;
  contents(): ZoneContents;
}

/** The DNS view of a fake's state, rebuilt only after the state changed. */
export class ServedZonesCache {
  private built: { version: number; zones: ServedZones } | undefined;

  constructor(
    private readonly state: VersionedZones,
    private readonly logger: Logger,
  ) {}

  zones(): ServedZones {
    if (this.built?.version !== this.state.version) {
      const { zones, problems } = indexZones(this.state.contents());
      for (const problem of problems) this.logger.debug(problem);
      this.built = { version: this.state.version, zones };
    }
    return this.built.zones;
  }
}
