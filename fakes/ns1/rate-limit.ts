import type { Clock } from '../../src/lib/clock.js';

/**
 * NS1's rate limiting: token buckets per endpoint and method (ns1-python's rate_limiting.py),
 * each starting full, refilled continuously at limit/period tokens per second, one token per
 * request. Every answer tells the client where its bucket stands in `x-ratelimit-*` headers.
 */

/** One token bucket per (route, method); `x-ratelimit-*` headers come from it on every answer. */
export interface Ns1RateLimit {
  limit: number;
  periodSeconds: number;
}

export type Ns1Method = 'GET' | 'PUT' | 'POST' | 'DELETE';
export type Ns1RateLimits = Record<Ns1Method, Ns1RateLimit>;

/** As recorded on api.nsone.net (provider-api-notes §9.4). */
export const DEFAULT_RATE_LIMITS: Readonly<Ns1RateLimits> = Object.freeze({
  GET: { limit: 900, periodSeconds: 300 },
  PUT: { limit: 100, periodSeconds: 200 },
  DELETE: { limit: 100, periodSeconds: 200 },
  POST: { limit: 300, periodSeconds: 300 },
});

export const NS1_METHODS: readonly Ns1Method[] = ['GET', 'PUT', 'POST', 'DELETE'];

export function isNs1Method(method: string): method is Ns1Method {
  return (NS1_METHODS as readonly string[]).includes(method);
}

/** What one request did to its bucket, and what the headers say. */
export interface RateLimitOutcome {
  readonly allowed: boolean;
  readonly limit: number;
  readonly periodSeconds: number;
  /** Whole tokens left after this request. */
  readonly remaining: number;
}

interface Bucket {
  readonly method: Ns1Method;
  tokens: number;
  refilledAt: number;
}

/** Float noise from refills (0.1 + 0.2) must not cost a token a client has earned. */
const EPSILON = 1e-9;

function checkLimit(method: string, limit: Ns1RateLimit): void {
  if (!Number.isInteger(limit.limit) || limit.limit < 0) throw new RangeError(`rate limit ${method}.limit must be a whole number of at least 0, not ${limit.limit}`);
  if (!Number.isFinite(limit.periodSeconds) || limit.periodSeconds <= 0) throw new RangeError(`rate limit ${method}.periodSeconds must be above 0, not ${limit.periodSeconds}`);
}

export class RateLimiter {
  private current: Ns1RateLimits;
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly clock: Clock,
    limits: Partial<Ns1RateLimits> = {},
  ) {
    this.current = { ...DEFAULT_RATE_LIMITS };
    this.set(limits);
  }

  get limits(): Readonly<Ns1RateLimits> {
    return this.current;
  }

  /** Changes limits from now on: buckets keep what they hold but never more than the new limit. */
  set(limits: Partial<Ns1RateLimits>): void {
    const next = { ...this.current };
    for (const method of NS1_METHODS) {
      const limit = limits[method];
      if (limit === undefined) continue;
      checkLimit(method, limit);
      next[method] = { limit: limit.limit, periodSeconds: limit.periodSeconds };
    }
    const now = this.clock.now();
    // Settle refills under the old rates first, so the change applies from this moment on.
    for (const bucket of this.buckets.values()) this.refill(bucket, now);
    this.current = next;
    for (const bucket of this.buckets.values()) bucket.tokens = Math.min(bucket.tokens, next[bucket.method].limit);
  }

  /** Takes a token from the bucket of (route, method); methods other than the four count as GET. */
  take(route: string, method: string): RateLimitOutcome {
    const bucket = this.bucketFor(route, method);
    this.refill(bucket, this.clock.now());
    const { limit, periodSeconds } = this.current[bucket.method];
    if (bucket.tokens + EPSILON < 1) return { allowed: false, limit, periodSeconds, remaining: 0 };
    bucket.tokens = Math.max(0, bucket.tokens - 1);
    return { allowed: true, limit, periodSeconds, remaining: Math.floor(bucket.tokens + EPSILON) };
  }

  /** Where the bucket stands, without taking a token (answers that are not charged, such as 401). */
  peek(route: string, method: string): RateLimitOutcome {
    const bucket = this.bucketFor(route, method);
    this.refill(bucket, this.clock.now());
    const { limit, periodSeconds } = this.current[bucket.method];
    return { allowed: true, limit, periodSeconds, remaining: Math.floor(bucket.tokens + EPSILON) };
  }

  private bucketFor(route: string, method: string): Bucket {
    const bucketMethod: Ns1Method = isNs1Method(method) ? method : 'GET';
    const key = `${route} ${bucketMethod}`;
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = { method: bucketMethod, tokens: this.current[bucketMethod].limit, refilledAt: this.clock.now() };
      this.buckets.set(key, bucket);
    }
    return bucket;
  }

  private refill(bucket: Bucket, now: number): void {
    const { limit, periodSeconds } = this.current[bucket.method];
    const elapsedMs = Math.max(0, now - bucket.refilledAt);
    bucket.tokens = Math.min(limit, bucket.tokens + (elapsedMs * limit) / (periodSeconds * 1000));
    bucket.refilledAt = now;
  }
}
