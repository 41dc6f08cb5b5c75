import { open, stat } from 'node:fs/promises';
import type { HostPort, LocalProviderConfig } from '../../config/types.js';
import { indexZones } from '../../dns/authority.js';
import type { ServedZones, ZoneData } from '../../dns/authority.js';
import { fqdn } from '../../domain/record.js';
import { AuthoritativeDnsServer } from '../../dns/server.js';
import { DnsQuorumError, ProviderError, StateCorruptError, errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { hasErrorCode, parseState } from './state.js';

/**
 * The local provider's authoritative DNS server: src/dns's server on one address (UDP and TCP),
 * answering from the provider's state file. The file is re-read whenever it was replaced
 * (another process, such as `dnsquorum sync --apply`, may write it), so new data is served
 * without a restart.
 */

export interface LocalDnsServerOptions {
  readonly config: LocalProviderConfig;
  /** The state file LocalProvider writes for the same config. */
  readonly statePath: string;
  readonly logger: Logger;
  /**
   * The zones the config gives this provider, asked on every query. One that the state file does
   * not hold (yet) is answered SERVFAIL, not REFUSED: the server is meant to be authoritative for
   * it, and a resolver that gets SERVFAIL tries the zone's other name servers and caches nothing,
   * where REFUSED says "not mine" and an NXDOMAIN would be cached as "no such name". Unset: only
   * the zones in the file are this server's.
   */
  readonly zones?: () => readonly string[];
}

/**
 * The served zones, with the configured zones the file does not hold yet failing their lookup.
 * The authoritative server answers SERVFAIL when its zone source fails for a question, and the
 * zone of a question is found by asking for each of its suffixes in turn, most specific first: so
 * exactly the questions whose closest zone is one still awaited get SERVFAIL, and a zone nested
 * inside one (served on its own) is still answered.
 */
class ZonesAwaitingData extends Map<string, ZoneData> {
  constructor(
    served: ServedZones,
    private readonly awaited: ReadonlySet<string>,
    private readonly provider: string,
  ) {
    super(served);
  }

  override get(apex: string): ZoneData | undefined {
    if (this.awaited.has(apex)) {
      throw new ProviderError('DQ_ZONE_NOT_FOUND', this.provider, `zone ${apex} is configured here but its state file holds no data for it yet; answering SERVFAIL until the daemon writes it`);
    }
    return super.get(apex);
  }
}

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
      let text: string;
      try {
        text = await handle.readFile('utf8');
      } catch (err) {
        // A directory opens, but does not read (EISDIR).
        if (this.signature !== signature) this.logger.error({ err, statePath: this.path }, 'cannot read state file; serving the last zones read');
        this.signature = signature;
        return this.zones;
      }
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
  private readonly configured: (() => readonly string[]) | undefined;
  private readonly dns: AuthoritativeDnsServer;

  constructor(options: LocalDnsServerOptions) {
    this.config = options.config;
    this.logger = options.logger.child({ component: 'local-dns', provider: options.config.name });
    this.served = new ServedState(options.statePath, this.logger);
    this.configured = options.zones;
    this.dns = new AuthoritativeDnsServer({
      listen: options.config.listen,
      zones: () => this.zonesToServe(),
      logger: this.logger,
      name: options.config.name,
    });
  }

  private async zonesToServe(): Promise<ServedZones> {
    const served = await this.served.current();
    if (this.configured === undefined) return served;
    const awaited = new Set(this.configured().map(fqdn).filter((apex) => !served.has(apex)));
    return awaited.size === 0 ? served : new ZonesAwaitingData(served, awaited, this.config.name);
  }

  /** Binds UDP and TCP on config.listen (port 0: one ephemeral port free for both) and loads the state file. */
  async start(): Promise<void> {
    try {
      await this.dns.start();
    } catch (err) {
      if (!(err instanceof DnsQuorumError)) throw err;
      throw new ProviderError('DQ_PROVIDER_UNAVAILABLE', this.config.name, err.message, { cause: err.cause, transient: false });
    }
    await this.served.current();
    this.logger.info({ listen: `${this.config.listen.host}:${this.address().port}` }, 'DNS server listening (UDP and TCP)');
  }

  /** Where the server listens; with port 0 in the config, the port it was given. */
  address(): HostPort {
    return this.dns.address();
  }

  /** Stops listening and drops open TCP connections. Safe to call twice. */
  close(): Promise<void> {
    return this.dns.close();
  }
}
