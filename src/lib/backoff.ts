import { systemClock } from './clock.js';
import type { ManualClock } from './clock.js';

/**
 * Waiting, shared by every client that paces or retries: an abortable sleep (injectable, so tests
 * move a ManualClock instead of waiting) and full-jitter exponential backoff.
 */

/** Waits ms milliseconds; rejects with the signal's reason when it aborts first. */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

export const sleep: Sleep = (ms, signal) => systemClock.sleep(ms, signal);

/**
 * A Sleep that moves a ManualClock forward instead of waiting. Give the same clock to whatever
 * measures time on the other side (a fake server's rate limiter) and every wait happens at once
 * while the arithmetic stays exact.
 */
export function advancingSleep(clock: ManualClock): Sleep {
  return (ms, signal) => {
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    clock.advance(Math.max(0, ms));
    return Promise.resolve();
  };
}

/**
 * Full-jitter exponential backoff (as the AWS SDKs do it): uniform in [0, min(cap, base·2^retryIndex)).
 * The jitter spreads the retries of many clients that failed together, so they do not fail
 * together again.
 */
export function fullJitterMs(baseMs: number, retryIndex: number, capMs: number, random: () => number): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** retryIndex);
  return Math.floor(random() * ceiling);
}
