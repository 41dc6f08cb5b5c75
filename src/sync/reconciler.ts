import type { SyncConfig } from '../config/types.js';
import type { HealthView } from '../domain/health.js';
import type { Override } from '../domain/override.js';
import type { ZoneSpec } from '../domain/zone.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { Wakeup } from '../lib/wakeup.js';
import type { DesiredZone } from '../plan/desired.js';
import type { DnsProvider } from '../providers/provider.js';
import type { Expectation } from '../verify/compare.js';
import { ZoneDecider } from './decider.js';
import type { RecordChange } from './decider.js';
import { ProviderSyncer } from './provider-syncer.js';
import type { AskServers } from './provider-syncer.js';
import type { SyncObserver, SyncStatus } from './status.js';

export interface ReconcilerOptions {
  readonly zones: readonly ZoneSpec[];
  readonly providers: ReadonlyMap<string, DnsProvider>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly health: () => HealthView;
  readonly overrides: () => readonly Override[];
  /** Whether this replica writes now, and what: asked afresh before every pass. */
  readonly writeMode: () => WriteMode;
  readonly sync: SyncConfig;
  readonly askServers: AskServers;
  readonly expectations: (zone: ZoneSpec, desired: DesiredZone) => Expectation[];
  readonly observer: SyncObserver;
  readonly passTimeoutMs: number;
  /** Called when a failover record's values change by a decision (for notifications). */
  readonly onRecordChange?: (change: RecordChange) => void;
}

/**
 * - all: this replica writes every decision (it is the writer).
 * - overrides-only: it writes, but health decides nothing: records keep what they serve and only
 *   overrides change them (break-glass: an override made while no writer can be heard, or during
 *   the startup hold).
 * - hold: it writes nothing (another replica writes, or no quorum and no override).
 */
export type WriteMode =
  | { readonly kind: 'all' }
  | { readonly kind: 'overrides-only'; readonly reason: string }
  | { readonly kind: 'hold'; readonly reason: string };

/** Time-based rules (hold-down, override expiry, the hourly budget) are re-checked this often. */
const DECIDE_EVERY_MS = 1000;

/**
 * The write side of the daemon: one decider that turns health and overrides into each zone's
 * desired records, and one syncer per provider that brings that provider there on its own.
 */
export class Reconciler {
  private readonly decider: ZoneDecider;
  private readonly syncers: readonly ProviderSyncer[];
  private readonly wakeup = new Wakeup();
  private readonly reasons = new Set<string>();
  private mode: WriteMode = { kind: 'hold', reason: 'starting' };

  constructor(private readonly options: ReconcilerOptions) {
    const { zones, providers, clock, logger, sync } = options;
    this.decider = new ZoneDecider({
      zones,
      clock,
      logger,
      health: options.health,
      overrides: options.overrides,
      healthPaused: () => this.mode.kind === 'overrides-only',
      ...(options.onRecordChange === undefined ? {} : { onRecordChange: options.onRecordChange }),
      onNewTarget: (zone) => { this.newTarget(zone); },
    });
    this.syncers = [...providers.values()]
      .map((provider) => ({ provider, served: zones.filter((z) => z.providers.includes(provider.name)) }))
      .filter(({ served }) => served.length > 0)
      .map(
        ({ provider, served }) =>
          new ProviderSyncer({
            provider,
            zones: served,
            decider: this.decider,
            askServers: options.askServers,
            expectations: options.expectations,
            // Stopping is asked afresh (a replica that just lost the writer role stops at once);
            // starting waits for the decide loop, which first forgets what it remembered serving.
            holdReason: () => {
              const fresh = options.writeMode();
              if (fresh.kind === 'hold') return fresh.reason;
              return this.mode.kind === 'hold' ? 'about to start writing' : undefined;
            },
            clock,
            logger,
            observer: options.observer,
            intervalMs: sync.intervalMs,
            readIntervalMs: sync.readIntervalMs,
            visibleTimeoutMs: sync.visibleTimeoutMs,
            passTimeoutMs: options.passTimeoutMs,
          }),
      );
  }

  /** Asks for a new decision now (a health or override change). */
  trigger(reason: string): void {
    this.reasons.add(reason);
    this.wakeup.notify();
  }

  /** Asks every provider for a pass over every zone now (see ProviderSyncer.checkNow). */
  checkNow(read: boolean): void {
    for (const syncer of this.syncers) syncer.checkNow(read);
  }

  /** Runs the decider and every provider's syncer until `signal` aborts; a write in flight is finished first. */
  async run(signal: AbortSignal): Promise<void> {
    this.checkMode();
    await Promise.all([this.decideUntil(signal), ...this.syncers.map((s) => s.run(signal))]);
  }

  status(): SyncStatus {
    return { hold: this.mode.kind === 'all' ? null : this.mode.reason, records: this.decider.records(), providers: this.syncers.map((s) => s.status()) };
  }

  /** What each failover record serves, by this replica's last decision (empty on a replica that has not written). */
  served(): ReadonlyMap<string, readonly string[]> {
    return this.decider.served();
  }

  private async decideUntil(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      this.checkMode();
      if (this.mode.kind !== 'hold') {
        const reasons = [...this.reasons];
        this.reasons.clear();
        const changed = this.decider.decide();
        if (changed.length > 0) this.options.logger.debug({ zones: changed, reasons }, 'desired state changed');
      }
      await this.wakeup.wait(DECIDE_EVERY_MS, signal);
    }
  }

  private checkMode(): void {
    const previous = this.mode;
    const mode = this.options.writeMode();
    this.mode = mode;
    if (mode.kind === previous.kind && (mode.kind === 'all' || (previous.kind !== 'all' && mode.reason === previous.reason))) return;
    if (mode.kind === 'hold') this.options.logger.info({ hold: mode.reason }, `writes held: ${mode.reason}`);
    else if (mode.kind === 'overrides-only') this.options.logger.warn({ mode: mode.kind }, `writing overrides only, health decides nothing: ${mode.reason}`);
    else this.options.logger.info('writing every decision');
    if (previous.kind === 'hold' && mode.kind !== 'hold') {
      // What this replica remembers serving may have been changed by another writer meanwhile:
      // start from what the providers hold now, never from memory.
      this.decider.reseed();
      this.checkNow(true);
    }
  }

  private newTarget(zone: string): void {
    for (const syncer of this.syncers) syncer.trigger(zone);
  }
}
