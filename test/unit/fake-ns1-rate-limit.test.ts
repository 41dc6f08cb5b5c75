import { describe, expect, it } from 'vitest';
import { DEFAULT_RATE_LIMITS, RateLimiter } from '../../fakes/ns1/rate-limit.js';
import { ManualClock } from '../../src/lib/clock.js';

/** The fake NS1's token buckets on a manual clock: no waiting, exact token counts. */

describe('RateLimiter', () => {
  it('starts with the limits recorded on api.nsone.net', () => {
    const limiter = new RateLimiter(new ManualClock());
    expect(limiter.limits).toEqual({
      GET: { limit: 900, periodSeconds: 300 },
      PUT: { limit: 100, periodSeconds: 200 },
      DELETE: { limit: 100, periodSeconds: 200 },
      POST: { limit: 300, periodSeconds: 300 },
    });
    expect(limiter.limits).toEqual(DEFAULT_RATE_LIMITS);
  });

  it('spends one token per request, refuses when empty, and refills continuously at limit/period', () => {
    const clock = new ManualClock(1000);
    const limiter = new RateLimiter(clock, { PUT: { limit: 4, periodSeconds: 8 } });
    const remaining = [1, 2, 3, 4].map(() => limiter.take('record', 'PUT').remaining);
    expect(remaining).toEqual([3, 2, 1, 0]);
    expect(limiter.take('record', 'PUT')).toEqual({ allowed: false, limit: 4, periodSeconds: 8, remaining: 0 });
    clock.advance(1000); // half a token
    expect(limiter.take('record', 'PUT').allowed).toBe(false);
    clock.advance(3000); // 0.5 + 1.5 = 2 tokens
    expect(limiter.take('record', 'PUT')).toEqual({ allowed: true, limit: 4, periodSeconds: 8, remaining: 1 });
    clock.advance(1_000_000);
    expect(limiter.peek('record', 'PUT').remaining).toBe(4);
  });

  it.each([
    ['the same route with another method', 'record', 'GET', 900],
    ['another route with the same method', 'zone', 'PUT', 100],
    ['an unknown method, counted as GET', 'record', 'PATCH', 900],
  ])('keeps a separate bucket for %s', (_, route, method, full) => {
    const limiter = new RateLimiter(new ManualClock());
    for (let i = 0; i < 5; i++) limiter.take('record', 'PUT');
    expect(limiter.peek('record', 'PUT').remaining).toBe(95);
    expect(limiter.peek(route, method).remaining).toBe(full);
  });

  it('peek reports without spending', () => {
    const limiter = new RateLimiter(new ManualClock());
    for (let i = 0; i < 3; i++) expect(limiter.peek('zone', 'DELETE').remaining).toBe(100);
    expect(limiter.take('zone', 'DELETE').remaining).toBe(99);
  });

  it('set() shrinks full buckets to a lower limit, keeps the tokens of a higher one, and settles refills first', () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter(clock, { GET: { limit: 10, periodSeconds: 10 } });
    for (let i = 0; i < 8; i++) limiter.take('zone', 'GET');
    expect(limiter.peek('zone', 'GET').remaining).toBe(2);
    clock.advance(2000); // +2 at the old rate of 1/s
    limiter.set({ GET: { limit: 100, periodSeconds: 1000 } });
    expect(limiter.peek('zone', 'GET').remaining).toBe(4);
    limiter.set({ GET: { limit: 3, periodSeconds: 30 } });
    expect(limiter.peek('zone', 'GET')).toEqual({ allowed: true, limit: 3, periodSeconds: 30, remaining: 3 });
    expect(limiter.limits.PUT).toEqual(DEFAULT_RATE_LIMITS.PUT);
  });

  it.each([
    [{ GET: { limit: -1, periodSeconds: 10 } }, /GET\.limit/],
    [{ PUT: { limit: 1.5, periodSeconds: 10 } }, /PUT\.limit/],
    [{ POST: { limit: 1, periodSeconds: 0 } }, /POST\.periodSeconds/],
    [{ DELETE: { limit: 1, periodSeconds: Number.NaN } }, /DELETE\.periodSeconds/],
  ])('refuses %j with a RangeError naming the field', (limits, message) => {
    const limiter = new RateLimiter(new ManualClock());
    expect(() => {
      limiter.set(limits);
    }).toThrow(message);
    expect(limiter.limits).toEqual(DEFAULT_RATE_LIMITS);
  });
});
