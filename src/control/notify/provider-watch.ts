import { formatDuration } from '../../config/duration.js';
import type { ProviderZoneStatus, SyncStatus } from '../../sync/status.js';
import type { NotificationEvent } from './notifier.js';

/**
 * Turns the sync status into "provider X has been failing for zone Z for longer than the
 * threshold" and, later, "it is in sync again": one event each, tied by one dedupKey, so a pager
 * opens one incident and closes it. Pure apart from its memory: the caller passes the status and
 * the time, as often as it likes.
 *
 * What counts as failing: the provider zone is `lagging` with a `lastError`. While a retry pass
 * runs it shows `syncing` with the error still set; that continues a failure already being timed
 * (or the retries of a dead provider would restart the clock each pass) but never starts one.
 * Any other state before the threshold ends the failure quietly. Once the failure was notified,
 * only `in-sync` ends it (or the provider zone leaving the config), so a recovery is announced
 * once the provider really holds the desired state again.
 */

export interface ProviderFailureWatchOptions {
  readonly thresholdMs: number;
  /** This replica's region: the events' `region`. */
  readonly region: string;
}

interface Failure {
  readonly provider: string;
  readonly zone: string;
  /** When this watch first saw it failing. */
  readonly since: number;
  notified: boolean;
}

/** Long provider errors are cut here: the summary is one line for people. */
const MAX_ERROR_TEXT = 300;

export function providerFailureKey(provider: string, zone: string): string {
  return `provider-failing/${provider}/${zone}`;
}

function shortError(message: string): string {
  const line = message.replace(/\s+/g, ' ').trim();
  return line.length > MAX_ERROR_TEXT ? `${line.slice(0, MAX_ERROR_TEXT - 1)}…` : line;
}

export class ProviderFailureWatch {
  private thresholdMs: number;
  private readonly region: string;
  private readonly failures = new Map<string, Failure>();

  constructor(options: ProviderFailureWatchOptions) {
    this.thresholdMs = options.thresholdMs;
    this.region = options.region;
  }

  /** A reloaded config's threshold; failures being timed keep their start. */
  setThreshold(thresholdMs: number): void {
    this.thresholdMs = thresholdMs;
  }

  /** The events this status gives at `now` (usually none). */
  observe(status: SyncStatus, now: number): NotificationEvent[] {
    const events: NotificationEvent[] = [];
    const seen = new Set<string>();
    for (const provider of status.providers) {
      for (const zone of provider.zones) {
        const key = providerFailureKey(provider.provider, zone.zone);
        seen.add(key);
        const event = this.step(key, provider.provider, zone, now);
        if (event !== undefined) events.push(event);
      }
    }
    for (const [key, failure] of this.failures) {
      if (seen.has(key)) continue;
      this.failures.delete(key);
      if (failure.notified) events.push(this.recovered(failure, now, 'no longer in the configuration'));
    }
    return events;
  }

  private step(key: string, provider: string, zone: ProviderZoneStatus, now: number): NotificationEvent | undefined {
    const failure = this.failures.get(key);
    const failingNow = zone.lastError !== null && (zone.state === 'lagging' || (zone.state === 'syncing' && failure !== undefined));
    if (failingNow) {
      if (failure === undefined) this.failures.set(key, { provider, zone: zone.zone, since: now, notified: false });
      return this.failingIfDue(key, zone, now);
    }
    if (failure === undefined) return undefined;
    if (!failure.notified) {
      this.failures.delete(key);
      return undefined;
    }
    if (zone.state !== 'in-sync') return undefined;
    this.failures.delete(key);
    return this.recovered(failure, now, 'in sync again');
  }

  private failingIfDue(key: string, zone: ProviderZoneStatus, now: number): NotificationEvent | undefined {
    const failure = this.failures.get(key);
    if (failure === undefined || failure.notified) return undefined;
    const failingForMs = Math.max(0, now - failure.since);
    if (failingForMs < this.thresholdMs) return undefined;
    failure.notified = true;
    const error = zone.lastError;
    const reason = error === null ? 'no error recorded' : shortError(error.message);
    return {
      kind: 'provider-failing',
      severity: 'critical',
      at: now,
      region: this.region,
      summary: `provider ${failure.provider} has been failing for zone ${failure.zone} for ${formatDuration(failingForMs)}: ${reason}`,
      zone: failure.zone,
      record: null,
      provider: failure.provider,
      dedupKey: key,
      opens: true,
      resolves: false,
      details: {
        state: zone.state,
        failingForMs,
        consecutiveFailures: zone.consecutiveFailures,
        lagMs: zone.lagMs,
        errorCode: error?.code ?? null,
        error: error === null ? null : reason,
      },
    };
  }

  private recovered(failure: Failure, now: number, why: string): NotificationEvent {
    const failedForMs = Math.max(0, now - failure.since);
    return {
      kind: 'provider-recovered',
      severity: 'info',
      at: now,
      region: this.region,
      summary: `provider ${failure.provider} is ${why} for zone ${failure.zone} after failing for ${formatDuration(failedForMs)}`,
      zone: failure.zone,
      record: null,
      provider: failure.provider,
      dedupKey: providerFailureKey(failure.provider, failure.zone),
      opens: false,
      resolves: true,
      details: { failedForMs, reason: why },
    };
  }
}
