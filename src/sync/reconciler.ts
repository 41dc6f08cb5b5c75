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
  /** Why writes must wait (the startup hold), or undefined when they may go ahead. */
  readonly holdReason: () => string | undefined;
  readonly sync: SyncConfig;
  readonly askServers: AskServers;
  readonly expectations: (zone: ZoneSpec, desired: DesiredZone) => Expectation[];
  readonly observer: SyncObserver;
  readonly passTimeoutMs: number;
}

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
  private hold: string | undefined;

  constructor(private readonly options: ReconcilerOptions) {
    const { zones, providers, clock, logger, sync } = options;
    this.decider = new ZoneDecider({
      zones,
      clock,
      logger,
      health: options.health,
      overrides: options.overrides,
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
            // Asked afresh each time, not the decide loop's copy: a replica that just stopped
            // being the writer must stop writing at once.
            holdReason: options.holdReason,
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
    this.hold = this.checkHold();
    await Promise.all([this.decideUntil(signal), ...this.syncers.map((s) => s.run(signal))]);
  }

  status(): SyncStatus {
    return { hold: this.hold ?? null, records: this.decider.records(), providers: this.syncers.map((s) => s.status()) };
  }

  private async decideUntil(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      this.hold = this.checkHold();
      if (this.hold === undefined) {
        const reasons = [...this.reasons];
        this.reasons.clear();
        const changed = this.decider.decide();
        if (changed.length > 0) this.options.logger.debug({ zones: changed, reasons }, 'desired state changed');
      }
      await this.wakeup.wait(DECIDE_EVERY_MS, signal);
    }
  }

  private checkHold(): string | undefined {
    const hold = this.options.holdReason();
    if (hold !== undefined && hold !== this.hold) this.options.logger.info({ hold }, `writes held: ${hold}`);
    if (hold === undefined && this.hold !== undefined) this.options.logger.info('startup hold released; reconciling');
    return hold;
  }

  private newTarget(zone: string): void {
    for (const syncer of this.syncers) syncer.trigger(zone);
  }
}
