import type { Clock } from '../../src/lib/clock.js';
import { internalFailure, throttling } from './api-error.js';
import type { ApiError } from './api-error.js';

/**
 * Injected failures, decided per request in a fixed order so that a seeded `random` gives the
 * same story every run: drop, then the counted 500s, then random 500s, then random throttling,
 * then the token bucket. `random` is only drawn for knobs that are switched on.
 */

export interface FakeRoute53Faults {
  /** Share (0..1) of requests answered 400 Throttling "Rate exceeded". */
  throttleRate: number;
  /** Answer ChangeResourceRecordSets with 400 PriorRequestNotComplete while a change on the same zone is PENDING. */
  priorRequestNotComplete: boolean;
  /** Share (0..1) of requests answered 500 InternalFailure (Type Receiver). */
  serverErrorRate: number;
  /** The next N requests (any operation) get 500 InternalFailure; counts down. */
  serverErrorsNext: number;
  /** Share (0..1) of requests whose connection is destroyed without an answer. */
  dropRate: number;
  /** Every answer is delayed this long. */
  delayMs: number;
  /** Account-wide token bucket; requests beyond it get Throttling. undefined = unlimited. */
  tokenBucket: { capacity: number; refillPerSecond: number } | undefined;
}

export const NO_FAULTS: Readonly<FakeRoute53Faults> = Object.freeze({
  throttleRate: 0,
  priorRequestNotComplete: false,
  serverErrorRate: 0,
  serverErrorsNext: 0,
  dropRate: 0,
  delayMs: 0,
  tokenBucket: undefined,
});

export type FaultDecision = { readonly kind: 'drop' } | { readonly kind: 'error'; readonly error: ApiError } | { readonly kind: 'pass' };

function checkShare(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0 || value > 1) throw new RangeError(`fault ${name} must be a share from 0 to 1, not ${value}`);
}

function checkCount(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`fault ${name} must be a number of at least 0, not ${value}`);
}

export class FaultInjector {
  private current: FakeRoute53Faults = { ...NO_FAULTS };
  private tokens = 0;
  private refilledAt = 0;

  constructor(
    private readonly clock: Clock,
    private readonly random: () => number,
  ) {}

  get faults(): Readonly<FakeRoute53Faults> {
    return this.current;
  }

  /** Merges `faults` into the current ones. A new token bucket starts full. */
  set(faults: Partial<FakeRoute53Faults>): void {
    const next: FakeRoute53Faults = { ...this.current };
    for (const [key, value] of Object.entries(faults) as [keyof FakeRoute53Faults, unknown][]) {
      if (value === undefined && key !== 'tokenBucket') continue;
      Object.assign(next, { [key]: value });
    }
    checkShare('throttleRate', next.throttleRate);
    checkShare('serverErrorRate', next.serverErrorRate);
    checkShare('dropRate', next.dropRate);
    checkCount('serverErrorsNext', next.serverErrorsNext);
    checkCount('delayMs', next.delayMs);
    if (next.tokenBucket !== undefined) {
      checkCount('tokenBucket.capacity', next.tokenBucket.capacity);
      checkCount('tokenBucket.refillPerSecond', next.tokenBucket.refillPerSecond);
    }
    if ('tokenBucket' in faults) {
      this.tokens = next.tokenBucket?.capacity ?? 0;
      this.refilledAt = this.clock.now();
    }
    this.current = next;
  }

  /** What happens to one request before it reaches its operation. */
  decide(): FaultDecision {
    const f = this.current;
    if (f.dropRate > 0 && this.random() < f.dropRate) return { kind: 'drop' };
    if (f.serverErrorsNext > 0) {
      this.current = { ...f, serverErrorsNext: f.serverErrorsNext - 1 };
      return { kind: 'error', error: internalFailure() };
    }
    if (f.serverErrorRate > 0 && this.random() < f.serverErrorRate) return { kind: 'error', error: internalFailure() };
    if (f.throttleRate > 0 && this.random() < f.throttleRate) return { kind: 'error', error: throttling() };
    if (f.tokenBucket !== undefined && !this.takeToken(f.tokenBucket)) return { kind: 'error', error: throttling() };
    return { kind: 'pass' };
  }

  private takeToken(bucket: { capacity: number; refillPerSecond: number }): boolean {
    const now = this.clock.now();
    const elapsed = Math.max(0, now - this.refilledAt);
    this.tokens = Math.min(bucket.capacity, this.tokens + (elapsed * bucket.refillPerSecond) / 1000);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
