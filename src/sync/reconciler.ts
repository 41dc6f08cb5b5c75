import type { SyncConfig } from '../config/types.js';
import type { EndpointId, HealthView } from '../domain/health.js';
import type { Override } from '../domain/override.js';
import type { ZoneSpec } from '../domain/zone.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { Wakeup } from '../lib/wakeup.js';
import type { DnsProvider } from '../providers/provider.js';
import { ZoneDecider } from './decider.js';
import type { RecordChange, WriteBudgetLedger, ZoneTarget } from './decider.js';
import { ProviderSyncer } from './provider-syncer.js';
import type { AskServers } from './provider-syncer.js';
import type { SyncObserver, SyncStatus } from './status.js';

export interface ReconcilerOptions {
  readonly zones: readonly ZoneSpec[];
  readonly providers: ReadonlyMap<string, DnsProvider>;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The live health decisions; read for the few endpoints a decision needs, never copied. */
  readonly health: () => HealthView;
  readonly overrides: () => readonly Override[];
  /** Whether this replica writes now, and what: asked afresh before every pass. */
  readonly writeMode: () => WriteMode;
  readonly sync: SyncConfig;
  readonly askServers: AskServers;
  readonly observer: SyncObserver;
  readonly passTimeoutMs: number;
  /** Called when a failover record's values change by a decision (for notifications). */
  readonly onRecordChange?: (change: RecordChange) => void;
  /** Keeps the hourly write budget across restarts and reloads (see ZoneDeciderOptions.writeBudget). */
  readonly writeBudget?: WriteBudgetLedger;
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
  private readonly wakeup: Wakeup;
  /** Why a full decision is asked for (an override changed, a reload); empty when none is. */
  private readonly reasons = new Set<string>();
  /** Endpoints whose health changed since the last decision: only their records are decided again. */
  private readonly healthChanges = new Set<EndpointId>();
  private nextFullDecisionAt = 0;
  private mode: WriteMode = { kind: 'hold', reason: 'starting' };

  constructor(private readonly options: ReconcilerOptions) {
    this.wakeup = new Wakeup(options.clock);
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
      ...(options.writeBudget === undefined ? {} : { writeBudget: options.writeBudget }),
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

  /** Asks for a new decision of every record now (an override changed). */
  trigger(reason: string): void {
    this.reasons.add(reason);
    this.wakeup.notify();
  }

  /** Asks for a new decision of the records of these endpoints, whose health changed. */
  healthChanged(endpoints: readonly EndpointId[]): void {
    for (const id of endpoints) this.healthChanges.add(id);
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

  /** The zone's current desired state, or undefined before any provider of it was read. */
  target(zone: string): ZoneTarget | undefined {
    return this.decider.target(zone);
  }

  /** What each failover record serves, by this replica's last decision (empty on a replica that has not written). */
  served(): ReadonlyMap<string, readonly string[]> {
    return this.decider.served();
  }

  /**
   * Decides every record each second (hold-down, override expiry and the budget are rules of
   * time) and on a trigger; between those, a health change decides only the records it touches.
   */
  private async decideUntil(signal: AbortSignal): Promise<void> {
    const { clock, logger } = this.options;
    while (!signal.aborted) {
      this.checkMode();
      const now = clock.now();
      if (this.mode.kind === 'hold') {
        this.healthChanges.clear();
      } else if (this.reasons.size > 0 || now >= this.nextFullDecisionAt) {
        const reasons = [...this.reasons];
        this.reasons.clear();
        this.healthChanges.clear();
        this.nextFullDecisionAt = now + DECIDE_EVERY_MS;
        const changed = this.decider.decide();
        if (changed.length > 0) logger.debug({ zones: changed, reasons }, 'desired state changed');
      } else if (this.healthChanges.size > 0) {
        const endpoints = [...this.healthChanges];
        this.healthChanges.clear();
        const changed = this.decider.healthChanged(endpoints);
        if (changed.length > 0) logger.debug({ zones: changed, endpoints: endpoints.length }, 'desired state changed by health');
      }
      await this.wakeup.wait(Math.max(0, Math.min(DECIDE_EVERY_MS, this.nextFullDecisionAt - clock.now())), signal);
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
