import type { HealthView } from '../domain/health.js';
import type { Override } from '../domain/override.js';
import type { RecordKey } from '../domain/record.js';
import type { ZoneSpec } from '../domain/zone.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { Wakeup } from '../lib/wakeup.js';
import type { DnsProvider } from '../providers/provider.js';
import { syncOnce } from './sync-once.js';
import type { SyncReport } from './sync-once.js';

export interface ReconcileLoopOptions {
  readonly zones: readonly ZoneSpec[];
  readonly providers: ReadonlyMap<string, DnsProvider>;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Current endpoint health. */
  readonly health: () => HealthView;
  /** Current manual overrides. */
  readonly overrides: () => readonly Override[];
  /** Why writes must wait (the startup hold), or undefined when they may go ahead. */
  readonly holdReason: () => string | undefined;
  /** A pass runs at least this often, to repair drift even when health is quiet. */
  readonly intervalMs: number;
  /** Longest one pass may take; a pass is never cut short by shutdown, only by this. */
  readonly passTimeoutMs: number;
}

const HOUR_MS = 3_600_000;
const RETRY_BASE_MS = 1000;

/**
 * Schedules reconcile passes: one at a time, on a trigger (a health change) or every intervalMs.
 * Shutdown lets the pass in flight finish, so a write is never cut in half.
 */
export class ReconcileLoop {
  private readonly wakeup = new Wakeup();
  private readonly recentWrites = new Map<RecordKey, number[]>();
  private lastHold: string | undefined;
  /** Why the next pass runs; a set, so triggers made while writes are held do not pile up. */
  private readonly pendingReasons = new Set<string>();
  /** Passes in a row in which some provider failed; drives the retry backoff. */
  private failedPasses = 0;

  constructor(private readonly options: ReconcileLoopOptions) {}

  /** Asks for a pass as soon as the current one (if any) ends. */
  trigger(reason: string): void {
    this.pendingReasons.add(reason);
    this.wakeup.notify();
  }

  async run(signal: AbortSignal): Promise<void> {
    const { logger, intervalMs } = this.options;
    while (!signal.aborted) {
      const hold = this.options.holdReason();
      if (hold !== undefined) {
        if (hold !== this.lastHold) logger.info({ hold }, `writes held: ${hold}`);
        this.lastHold = hold;
        await this.wakeup.wait(Math.min(intervalMs, 1000), signal);
        continue;
      }
      if (this.lastHold !== undefined) {
        logger.info('startup hold released; reconciling');
        this.lastHold = undefined;
      }
      const reasons = [...this.pendingReasons];
      this.pendingReasons.clear();
      const clean = await this.pass(reasons.length > 0 ? reasons : ['interval']);
      this.failedPasses = clean ? 0 : this.failedPasses + 1;
      await this.wakeup.wait(this.nextDelay(), signal);
    }
  }

  /**
   * The wait before the next pass: the interval when all went well; after a failure a short
   * delay that doubles with each failed pass in a row (1s, 2s, 4s ... up to the interval), so a
   * provider that is back is repaired soon and one that stays down is not hammered.
   */
  private nextDelay(): number {
    if (this.failedPasses === 0) return this.options.intervalMs;
    return Math.min(this.options.intervalMs, RETRY_BASE_MS * 2 ** Math.min(this.failedPasses - 1, 16));
  }

  /** Runs one pass; true when every provider of every zone was read and, where needed, written. */
  private async pass(reasons: readonly string[]): Promise<boolean> {
    const { clock, logger } = this.options;
    const now = clock.now();
    for (const [key, times] of this.recentWrites) {
      const fresh = times.filter((t) => now - t < HOUR_MS);
      if (fresh.length === 0) this.recentWrites.delete(key);
      else this.recentWrites.set(key, fresh);
    }
    try {
      const report = await syncOnce({
        zones: this.options.zones,
        providers: this.options.providers,
        health: this.options.health(),
        overrides: this.options.overrides(),
        recentWrites: this.recentWrites,
        dryRun: false,
        force: false,
        clock,
        logger,
        signal: AbortSignal.timeout(this.options.passTimeoutMs),
      });
      this.countWrites(report);
      const summary = report.zones.flatMap((z) => z.providers.map((p) => `${z.zone}@${p.provider}=${p.outcome}`));
      logger.debug({ reasons, summary }, 'pass done');
      return report.zones.every((z) => z.providers.every((p) => p.outcome === 'in-sync' || p.outcome === 'applied'));
    } catch (err) {
      logger.error({ err, reasons }, 'pass failed; retrying with backoff');
      return false;
    }
  }

  /** A health-driven decision that reached at least one provider spends one unit of its record's hourly budget. */
  private countWrites(report: SyncReport): void {
    const now = this.options.clock.now();
    for (const zone of report.zones) {
      if (!zone.providers.some((p) => p.outcome === 'applied')) continue;
      for (const d of zone.decisions) {
        if (!d.changes) continue;
        this.options.logger.info(
          { zone: zone.zone, record: d.name, type: d.type, pool: d.pool, values: d.values, cause: d.cause },
          `record ${d.name} ${d.type} now serves ${d.values === null ? 'nothing (removed)' : d.values.join(', ')}: ${d.reason}`,
        );
        if (d.spendsBudget) {
          const times = this.recentWrites.get(d.key) ?? [];
          times.push(now);
          this.recentWrites.set(d.key, times);
        }
      }
    }
  }
}
