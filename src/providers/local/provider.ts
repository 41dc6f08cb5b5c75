import type { ChangeSet } from '../../domain/change-set.js';
import { CONFIGURABLE_TYPES, compareRecordSets, fqdn, normalizeRecordSet } from '../../domain/record.js';
import type { RecordSet, RecordType } from '../../domain/record.js';
import type { LocalProviderConfig } from '../../config/types.js';
import type { Clock } from '../../lib/clock.js';
import { ProviderError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { DnsProvider, ProviderCapabilities } from '../provider.js';
import { applyChangeSet, newZoneState } from './apply.js';
import { hostNameProblem } from '../../dns/rdata.js';
import { LocalStateStore } from './state.js';

export interface LocalProviderOptions {
  readonly config: LocalProviderConfig;
  /** The provider's state file (the registry uses `${stateDir}/local/${name}.json`). */
  readonly statePath: string;
  /** Gives the first SOA serial of a new zone (Unix seconds, as many servers do). */
  readonly clock: Clock;
  readonly logger: Logger;
  /** Longest wait for another process's lock on the state file (default 10 s). */
  readonly lockTimeoutMs?: number;
}

/**
 * The built-in provider: zones live in a JSON state file that LocalDnsServer serves over DNS.
 * Every apply is validated whole and written in one atomic file replacement, so it is all or
 * nothing, and the daemon and the CLI can both write it (the state file's lock serialises them).
 */
export class LocalProvider implements DnsProvider {
  readonly name: string;
  readonly type = 'local';
  readonly capabilities: ProviderCapabilities = {
    atomicBatch: true,
    // One file write carries any number of changes; the bound only keeps a runaway plan finite.
    maxBatchSize: 100_000,
    recordTypes: new Set<RecordType>([...CONFIGURABLE_TYPES, 'SOA']),
  };

  private readonly nameserver: string;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly store: LocalStateStore;

  constructor(options: LocalProviderOptions) {
    this.name = options.config.name;
    this.nameserver = fqdn(options.config.nameserver);
    this.clock = options.clock;
    // The registry's logger already carries the provider's name.
    this.logger = options.logger.child({ component: 'local-provider' });
    this.store = new LocalStateStore({
      path: options.statePath,
      providerName: this.name,
      ...(options.lockTimeoutMs === undefined ? {} : { lockTimeoutMs: options.lockTimeoutMs }),
    });
  }

  /** The state file this provider reads and writes. */
  get statePath(): string {
    return this.store.path;
  }

  async listRecords(zone: string, signal: AbortSignal): Promise<RecordSet[]> {
    signal.throwIfAborted();
    const apex = fqdn(zone);
    const state = await this.store.read();
    const content = state.zones[apex];
    if (content === undefined) throw this.zoneNotFound(apex);
    return content.records.map(normalizeRecordSet).sort(compareRecordSets);
  }

  async applyChanges(changes: ChangeSet, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    const apex = fqdn(changes.zone);
    let outcome: { applied: number; skipped: number; serial: number } | undefined;
    await this.store.update(signal, (state) => {
      const current = state.zones[apex];
      if (current === undefined) throw this.zoneNotFound(apex);
      const result = applyChangeSet(this.name, this.nameserver, current, changes);
      if (result === undefined) return undefined;
      outcome = { applied: result.applied, skipped: result.skipped, serial: result.zone.serial };
      return { zones: { ...state.zones, [apex]: result.zone } };
    });
    if (outcome === undefined) this.logger.debug({ zone: apex }, 'change set already in place; nothing written');
    else this.logger.info({ zone: apex, ...outcome }, 'change set applied');
  }

  async ensureZone(zone: string, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    const apex = fqdn(zone);
    const problem = hostNameProblem(apex);
    if (problem !== undefined) throw new ProviderError('DQ_PROVIDER_REJECTED', this.name, `cannot create zone: ${problem}`);
    let created = false;
    await this.store.update(signal, (state) => {
      if (state.zones[apex] !== undefined) return undefined;
      created = true;
      const serial = Math.max(1, Math.floor(this.clock.now() / 1000) % 2 ** 32);
      return { zones: { ...state.zones, [apex]: newZoneState(apex, this.nameserver, serial) } };
    });
    if (created) this.logger.info({ zone: apex, statePath: this.store.path }, 'zone created');
  }

  /** Every zone of a local provider is served by the same built-in server. */
  nameservers(zone: string, signal: AbortSignal): Promise<string[]> {
    signal.throwIfAborted();
    return Promise.resolve([this.nameserver]);
  }

  /** Nothing to release: the provider holds no sockets, timers or open files between calls. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  private zoneNotFound(apex: string): ProviderError {
    return new ProviderError('DQ_ZONE_NOT_FOUND', this.name, `zone ${apex} does not exist in ${this.store.path}`);
  }
}
