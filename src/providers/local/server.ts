import { createSocket } from 'node:dgram';
import type { RemoteInfo, Socket as UdpSocket } from 'node:dgram';
import { open, stat } from 'node:fs/promises';
import { createServer, isIPv6 } from 'node:net';
import type { Server as TcpServer, Socket as TcpSocket } from 'node:net';
import type { HostPort, LocalProviderConfig } from '../../config/types.js';
import { ProviderError, StateCorruptError, errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { indexZones } from './authority.js';
import type { ServedZones } from './authority.js';
import { respond, serverFailure } from './responder.js';
import type { Transport } from './responder.js';
import { hasErrorCode, parseState } from './state.js';

/**
 * The local provider's authoritative DNS server: UDP and TCP on one address, answering from the
 * provider's state file. The file is re-read whenever it was replaced (another process, such as
 * `dnsquorum sync --apply`, may write it), so new data is served without a restart.
 */

export interface LocalDnsServerOptions {
  readonly config: LocalProviderConfig;
  /** The state file LocalProvider writes for the same config. */
  readonly statePath: string;
  readonly logger: Logger;
}

/** RFC 7766 6.2.3: servers close idle TCP connections; a few seconds keeps pipelining clients served. */
const TCP_IDLE_TIMEOUT_MS = 10_000;
/** Attempts to find a port free for both UDP and TCP when listening on port 0. */
const EPHEMERAL_PORT_ATTEMPTS = 10;

/**
 * The zones currently in the state file. Each lookup stats the file and re-reads it only when
 * inode, size, mtime or ctime changed: every write replaces the file by rename, so the inode
 * alone already changes, and the stat is one cheap system call.
 */
class ServedState {
  private signature: string | undefined;
  private zones: ServedZones = new Map();
  private reloading: Promise<ServedZones> | undefined;

  constructor(
    private readonly path: string,
    private readonly logger: Logger,
  ) {}

  async current(): Promise<ServedZones> {
    if (this.reloading !== undefined) return this.reloading;
    let signature: string;
    try {
      signature = signatureOf(await stat(this.path, { bigint: true }));
    } catch (err) {
      signature = hasErrorCode(err, 'ENOENT') ? 'absent' : `error:${errorMessage(err)}`;
    }
    if (signature === this.signature) return this.zones;
    this.reloading = this.reload().finally(() => {
      this.reloading = undefined;
    });
    return this.reloading;
  }

  private async reload(): Promise<ServedZones> {
    let handle;
    try {
      handle = await open(this.path, 'r');
    } catch (err) {
      if (hasErrorCode(err, 'ENOENT')) {
        if (this.signature !== 'absent') this.logger.info({ statePath: this.path }, 'no state file yet; serving no zones');
        this.signature = 'absent';
        this.zones = new Map();
      } else {
        const signature = `error:${errorMessage(err)}`;
        if (this.signature !== signature) this.logger.error({ err, statePath: this.path }, 'cannot open state file; serving the last zones read');
        this.signature = signature;
      }
      return this.zones;
    }
    try {
      // Signature and content come from the same open file, so they always belong together.
      const signature = signatureOf(await handle.stat({ bigint: true }));
      const text = await handle.readFile('utf8');
      try {
        const { zones, problems } = indexZones(parseState(this.path, text));
        for (const problem of problems) this.logger.warn({ statePath: this.path }, problem);
        this.zones = zones;
        this.logger.info(
          { statePath: this.path, zones: Object.fromEntries([...zones.values()].map((z) => [z.apex, z.soa.values[0]?.split(' ')[2]])) },
          'serving zones from state file',
        );
      } catch (err) {
        if (!(err instanceof StateCorruptError)) throw err;
        this.logger.error({ err, statePath: this.path }, 'state file does not parse; serving the last zones read');
      }
      this.signature = signature;
      return this.zones;
    } finally {
      await handle.close();
    }
  }
}

function signatureOf(st: { ino: bigint; size: bigint; mtimeNs: bigint; ctimeNs: bigint }): string {
  return `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

export class LocalDnsServer {
  private readonly config: LocalProviderConfig;
  private readonly logger: Logger;
  private readonly served: ServedState;
  private udp: UdpSocket | undefined;
  private tcp: TcpServer | undefined;
  private bound: HostPort | undefined;
  private readonly connections = new Set<TcpSocket>();

  constructor(options: LocalDnsServerOptions) {
    this.config = options.config;
    this.logger = options.logger.child({ component: 'local-dns', provider: options.config.name });
    this.served = new ServedState(options.statePath, this.logger);
  }

  /** Binds UDP and TCP on config.listen (port 0: one ephemeral port free for both) and loads the state file. */
  async start(): Promise<void> {
    if (this.udp !== undefined) throw new Error(`DNS server ${this.config.name} is already started`);
    const { host, port } = this.config.listen;
    for (let attempt = 1; ; attempt++) {
      const udp = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
      try {
        await bindUdp(udp, port, host);
      } catch (err) {
        throw this.listenError(host, port, err);
      }
      const boundPort = udp.address().port;
      try {
        this.tcp = await listenTcp(boundPort, host, (socket) => {
          this.onConnection(socket);
        });
      } catch (err) {
        await closeUdp(udp);
        if (port === 0 && hasErrorCode(err, 'EADDRINUSE') && attempt < EPHEMERAL_PORT_ATTEMPTS) continue;
        throw this.listenError(host, boundPort, err);
      }
      udp.on('error', (err) => {
        this.logger.error({ err }, 'UDP socket error');
      });
      this.tcp.on('error', (err) => {
        this.logger.error({ err }, 'TCP server error');
      });
      udp.on('message', (msg, remote) => {
        this.answerUdp(udp, msg, remote).catch((err: unknown) => {
          this.logger.error({ err }, 'UDP answer failed');
        });
      });
      this.udp = udp;
      this.bound = { host, port: boundPort };
      break;
    }
    await this.served.current();
    this.logger.info({ listen: `${host}:${this.bound.port}` }, 'DNS server listening (UDP and TCP)');
  }

  /** Where the server listens; with port 0 in the config, the port it was given. */
  address(): HostPort {
    if (this.bound === undefined) throw new Error(`DNS server ${this.config.name} is not started`);
    return this.bound;
  }

  /** Stops listening and drops open TCP connections. Safe to call twice. */
  async close(): Promise<void> {
    const { udp, tcp } = this;
    this.udp = undefined;
    this.tcp = undefined;
    this.bound = undefined;
    for (const socket of this.connections) socket.destroy();
    this.connections.clear();
    await Promise.all([udp === undefined ? undefined : closeUdp(udp), tcp === undefined ? undefined : closeTcp(tcp)]);
  }

  private listenError(host: string, port: number, err: unknown): ProviderError {
    return new ProviderError('DQ_PROVIDER_UNAVAILABLE', this.config.name, `cannot listen for DNS on ${host}:${port} (UDP and TCP): ${errorMessage(err)}`, {
      cause: err,
      transient: false,
    });
  }

  private async answer(msg: Buffer, transport: Transport): Promise<Buffer | undefined> {
    try {
      return respond(msg, await this.served.current(), transport);
    } catch (err) {
      this.logger.error({ err, transport }, 'query handling failed; answering SERVFAIL');
      return serverFailure(msg);
    }
  }

  private async answerUdp(udp: UdpSocket, msg: Buffer, remote: RemoteInfo): Promise<void> {
    const response = await this.answer(msg, 'udp');
    if (response === undefined || this.udp !== udp) return;
    udp.send(response, remote.port, remote.address, (err) => {
      if (err) this.logger.debug({ err, to: `${remote.address}:${remote.port}` }, 'UDP send failed');
    });
  }

  /** RFC 1035 4.2.2 / RFC 7766: two-byte length framing, several queries per connection, answered in order. */
  private onConnection(socket: TcpSocket): void {
    this.connections.add(socket);
    let pending = Buffer.alloc(0);
    let queue = Promise.resolve();
    socket.setTimeout(TCP_IDLE_TIMEOUT_MS, () => socket.destroy());
    socket.on('error', (err) => {
      this.logger.debug({ err }, 'TCP connection error');
    });
    socket.on('close', () => this.connections.delete(socket));
    socket.on('data', (chunk) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 2) {
        const length = pending.readUInt16BE(0);
        if (pending.length < 2 + length) break;
        const frame = pending.subarray(2, 2 + length);
        pending = pending.subarray(2 + length);
        queue = queue
          .then(async () => {
            const response = await this.answer(frame, 'tcp');
            if (response === undefined || socket.destroyed) return;
            const framed = Buffer.alloc(2 + response.length);
            framed.writeUInt16BE(response.length, 0);
            response.copy(framed, 2);
            socket.write(framed);
          })
          .catch((err: unknown) => {
            this.logger.error({ err }, 'TCP answer failed');
          });
      }
    });
  }
}

function bindUdp(socket: UdpSocket, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      socket.close();
      reject(err);
    };
    socket.once('error', onError);
    socket.bind(port, host, () => {
      socket.off('error', onError);
      resolve();
    });
  });
}

function listenTcp(port: number, host: string, onConnection: (socket: TcpSocket) => void): Promise<TcpServer> {
  return new Promise((resolve, reject) => {
    const server = createServer(onConnection);
    const onError = (err: Error): void => {
      server.close();
      reject(err);
    };
    server.once('error', onError);
    server.listen({ port, host, exclusive: true }, () => {
      server.off('error', onError);
      resolve(server);
    });
  });
}

function closeUdp(socket: UdpSocket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => {
        resolve();
      });
    } catch {
      // Already closed.
      resolve();
    }
  });
}

function closeTcp(server: TcpServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => {
      resolve();
    });
  });
}
