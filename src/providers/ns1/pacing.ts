import type { Sleep } from '../../lib/backoff.js';
import type { Clock } from '../../lib/clock.js';
import { settledOrAborted } from '../../lib/abort.js';

/**
 * Client-side pacing from NS1's rate-limit headers, so that a 429 is the exception.
 *
 * NS1 answers every request (errors included) with `x-ratelimit-limit`, `-remaining` and
 * `-period` (seconds) of a token bucket that it keeps per customer, per route and per method
 * (recorded: GET 900/300 s, PUT and DELETE 100/200 s, POST 300/300 s). The bucket refills at
 * limit/period tokens per second. The pacer remembers the last headers of each bucket and, before
 * the next request to it, waits:
 *
 * - nothing while more than a tenth of the bucket is left: bursts are what the bucket is for;
 * - period/limit (the time one token takes to come back) once a tenth or less is left, so the
 *   bucket is drawn no faster than it refills. The tenth is left to whoever else uses the account
 *   (the limit is per customer: other replicas, tools, people);
 * - the whole period when fewer than 2 are left, as ns1-go's and octoDNS's sleep strategy does:
 *   the bucket is then full again, whatever NS1's refill really is.
 *
 * Waits count from when the headers were seen, so time spent elsewhere is not waited twice.
 * Requests to one bucket take their turn in order, and each counts its token as spent when it is
 * let through (before its answer brings fresh headers), so requests in flight together are paced
 * too.
 */

export interface RateLimitHeaders {
  readonly limit: number;
  readonly remaining: number;
  readonly periodMs: number;
}

/** The x-ratelimit-* headers of an answer, or undefined when any is missing or not a number. */
export function parseRateLimitHeaders(headers: Headers): RateLimitHeaders | undefined {
  const limit = Number(headers.get('x-ratelimit-limit') ?? Number.NaN);
  const remaining = Number(headers.get('x-ratelimit-remaining') ?? Number.NaN);
  const period = Number(headers.get('x-ratelimit-period') ?? Number.NaN);
  if (!Number.isFinite(limit) || !Number.isFinite(remaining) || !Number.isFinite(period)) return undefined;
  if (limit <= 0 || period <= 0 || remaining < 0) return undefined;
  return { limit, remaining, periodMs: period * 1000 };
}

/** At or below this many tokens left, requests go one refill interval apart. */
export function lowWater(limit: number): number {
  return Math.max(2, Math.ceil(limit / 10));
}

/** Time one token takes to come back. */
export function refillIntervalMs(limits: Pick<RateLimitHeaders, 'limit' | 'periodMs'>): number {
  return limits.periodMs / limits.limit;
}

/** What the pacer knows of one bucket. */
export interface BucketState extends RateLimitHeaders {
  /** When `remaining` was true: headers seen, or a paced request sent. */
  readonly at: number;
}

/** How long to wait before the next request to a bucket in this state (0: go now). */
export function pacingWaitMs(state: BucketState | undefined, now: number): number {
  if (state === undefined) return 0;
  if (state.remaining < 2) return Math.max(0, state.at + state.periodMs - now);
  if (state.remaining <= lowWater(state.limit)) return Math.max(0, Math.ceil(state.at + refillIntervalMs(state) - now));
  return 0;
}

/**
 * The state once a request has been let through. Above low water it takes one token. At low
 * water it takes the token that one refill interval brought back, so `at` moves on by one
 * interval: requests let through together after a quiet spell spend the refills of that spell one
 * each, then wait again. After a full period the bucket is full again.
 */
export function afterSend(state: BucketState, now: number): BucketState {
  if (state.remaining < 2) return { ...state, remaining: state.limit - 1, at: now };
  if (state.remaining <= lowWater(state.limit)) return { ...state, at: state.at + refillIntervalMs(state) };
  return { ...state, remaining: state.remaining - 1 };
}

export interface PacerOptions {
  readonly clock: Clock;
  readonly sleep: Sleep;
}

export class Ns1Pacer {
  private readonly clock: Clock;
  private readonly sleep: Sleep;
  private readonly buckets = new Map<string, BucketState>();
  /** Per bucket: settles when the request ahead has been let through. */
  private readonly turns = new Map<string, Promise<void>>();

  constructor(options: PacerOptions) {
    this.clock = options.clock;
    this.sleep = options.sleep;
  }

  /** Waits until a request to the bucket may go (its turn, then the pacing wait); returns the ms waited by pacing. */
  async acquire(bucket: string, signal: AbortSignal): Promise<number> {
    signal.throwIfAborted();
    const ahead = this.turns.get(bucket) ?? Promise.resolve();
    let done = (): void => undefined;
    const mine = new Promise<void>((resolve) => {
      done = resolve;
    });
    const tail = ahead.then(() => mine);
    this.turns.set(bucket, tail);
    try {
      await settledOrAborted(ahead, signal);
      let waited = 0;
      for (;;) {
        const state = this.buckets.get(bucket);
        if (state === undefined) break;
        const waitMs = pacingWaitMs(state, this.clock.now());
        if (waitMs > 0) {
          await this.sleep(waitMs, signal);
          waited += waitMs;
        }
        // An answer that came in during the wait brought newer headers: decide again on those.
        if (this.buckets.get(bucket) !== state) continue;
        this.buckets.set(bucket, afterSend(state, this.clock.now()));
        break;
      }
      return waited;
    } finally {
      done();
      if (this.turns.get(bucket) === tail) this.turns.delete(bucket);
    }
  }

  /** Takes the headers of an answer from the bucket (any status: 200, 404 and 429 all carry them). */
  observe(bucket: string, headers: RateLimitHeaders | undefined): void {
    if (headers === undefined) return;
    this.buckets.set(bucket, { ...headers, at: this.clock.now() });
  }

  /** A 429 from the bucket: nothing is left, from now (the next request waits a whole period). */
  exhausted(bucket: string): void {
    const state = this.buckets.get(bucket);
    if (state !== undefined) this.buckets.set(bucket, { ...state, remaining: 0, at: this.clock.now() });
  }

  /** What the pacer knows of a bucket now. */
  state(bucket: string): BucketState | undefined {
    return this.buckets.get(bucket);
  }
}

