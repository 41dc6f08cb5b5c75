import { describe, expect, it } from 'vitest';
import { advancingSleep } from '../../src/lib/backoff.js';
import type { Sleep } from '../../src/lib/backoff.js';
import { ManualClock } from '../../src/lib/clock.js';
import { Ns1ApiError, kindOfStatus, messageOfBody } from '../../src/providers/ns1/errors.js';
import { nextLinkTarget, parseLinkHeader, resolveNextPage } from '../../src/providers/ns1/link.js';
import { Ns1Pacer, afterSend, lowWater, pacingWaitMs, parseRateLimitHeaders } from '../../src/providers/ns1/pacing.js';
import type { BucketState } from '../../src/providers/ns1/pacing.js';

const never = new AbortController().signal;

describe('NS1 Link header', () => {
  it.each([
    ['<https://api.nsone.net/v1/zones/example.com?after=abc>; rel="next"', 'https://api.nsone.net/v1/zones/example.com?after=abc'],
    ['<https://a/v1/p?x=1,2>; rel="prev", <https://a/v1/p?x=3>; rel="next"', 'https://a/v1/p?x=3'],
    ['<https://a/first>; rel=first, <https://a/n>; rel="last next"', 'https://a/n'],
    ['<https://a/n>; title="a, b; c"; REL=NEXT', 'https://a/n'],
    ['</v1/zones/example.com?page=2>;rel="next"', '/v1/zones/example.com?page=2'],
    ['<https://a/prev>; rel="prev"', undefined],
    ['', undefined],
    ['garbage, <https://a/n>; rel="next"', 'https://a/n'],
  ])('%s -> %s', (header, next) => {
    expect(nextLinkTarget(header)).toBe(next);
  });

  it('keeps every link and its parameters', () => {
    expect(parseLinkHeader('<u1>; rel="next"; type="application/json", <u2>; rel=prev').map((l) => [l.target, Object.fromEntries(l.params)])).toEqual([
      ['u1', { rel: 'next', type: 'application/json' }],
      ['u2', { rel: 'prev' }],
    ]);
  });

  const endpoint = new URL('https://api.nsone.net/v1/');
  const current = new URL('https://api.nsone.net/v1/zones/example.com');
  it.each([
    ['/v1/zones/example.com?after=x', 'https://api.nsone.net/v1/zones/example.com?after=x'],
    ['http://api.nsone.net/v1/zones/example.com?after=x', 'https://api.nsone.net/v1/zones/example.com?after=x'],
    ['https://api.nsone.net/v1/zones/example.com?after=y', 'https://api.nsone.net/v1/zones/example.com?after=y'],
  ])('follows %s on the endpoint origin as %s', (target, url) => {
    const next = resolveNextPage(target, current, endpoint);
    expect(next.ok && next.url.href).toBe(url);
  });

  it.each(['https://evil.example/v1/zones/example.com?after=x', 'https://api.nsone.net:8443/v1/x', '//other.example/v1/x'])('does not follow %s (the key would go along)', (target) => {
    const next = resolveNextPage(target, current, endpoint);
    expect(next.ok).toBe(false);
  });
});

describe('NS1 rate-limit headers', () => {
  it('reads limit, remaining and period (seconds)', () => {
    const headers = new Headers({ 'x-ratelimit-by': 'customer', 'x-ratelimit-limit': '100', 'x-ratelimit-remaining': '42', 'x-ratelimit-period': '200' });
    expect(parseRateLimitHeaders(headers)).toEqual({ limit: 100, remaining: 42, periodMs: 200_000 });
  });

  it.each([[{}], [{ 'x-ratelimit-limit': '100', 'x-ratelimit-period': '200' }], [{ 'x-ratelimit-limit': 'lots', 'x-ratelimit-remaining': '1', 'x-ratelimit-period': '1' }], [{ 'x-ratelimit-limit': '0', 'x-ratelimit-remaining': '0', 'x-ratelimit-period': '1' }]])(
    'ignores incomplete or senseless headers %j',
    (fields) => {
      expect(parseRateLimitHeaders(new Headers(fields))).toBeUndefined();
    },
  );

  it.each([
    [100, 10],
    [900, 90],
    [300, 30],
    [10, 2],
    [1, 2],
  ])('low water of a %s-token bucket is %s', (limit, water) => {
    expect(lowWater(limit)).toBe(water);
  });

  const put = (remaining: number, at = 0): BucketState => ({ limit: 100, periodMs: 200_000, remaining, at });
  it.each([
    ['plenty left: no wait', put(50), 0, 0],
    ['just above low water: no wait', put(11), 0, 0],
    ['at low water: one refill interval (period/limit)', put(10), 0, 2000],
    ['at low water, part of the interval gone already', put(10), 500, 1500],
    ['at low water, interval gone already', put(5), 5000, 0],
    ['1 left: the whole period, as ns1-go and octoDNS', put(1), 0, 200_000],
    ['0 left, a minute after the headers', put(0), 60_000, 140_000],
    ['0 left, a period after the headers', put(0), 200_000, 0],
  ])('%s', (_case, state, now, wait) => {
    expect(pacingWaitMs(state, now)).toBe(wait);
  });

  it('an unknown bucket never waits', () => {
    expect(pacingWaitMs(undefined, 0)).toBe(0);
  });

  it.each([
    ['above low water: takes a token', put(50, 0), 10, { remaining: 49, at: 0 }],
    ['at low water: spends one refill, moves on one interval', put(10, 0), 2000, { remaining: 10, at: 2000 }],
    ['after a full period: the bucket is full again', put(1, 0), 200_000, { remaining: 99, at: 200_000 }],
  ])('after a send, %s', (_case, state, now, expected) => {
    expect(afterSend(state, now)).toMatchObject(expected);
  });
});

describe('NS1 pacer', () => {
  function pacer(clock: ManualClock, waits: number[] = []): Ns1Pacer {
    const advance = advancingSleep(clock);
    const sleep: Sleep = (ms, signal) => {
      waits.push(ms);
      return advance(ms, signal);
    };
    return new Ns1Pacer({ clock, sleep });
  }

  it('lets a burst through, then paces at period/limit without ever emptying a refilling bucket', async () => {
    const clock = new ManualClock(0);
    const waits: number[] = [];
    const p = pacer(clock, waits);
    // A token bucket like NS1's: 100 per 200 s, refilled continuously.
    let tokens = 100;
    let refilledAt = 0;
    let rejected = 0;
    for (let i = 0; i < 400; i++) {
      await p.acquire('record PUT', never);
      tokens = Math.min(100, tokens + ((clock.now() - refilledAt) * 100) / 200_000);
      refilledAt = clock.now();
      if (tokens < 1) rejected++;
      else tokens -= 1;
      p.observe('record PUT', { limit: 100, periodMs: 200_000, remaining: Math.floor(tokens) });
    }
    expect(rejected).toBe(0);
    // The first 90 went at once; the rest one refill interval (2 s) apart.
    expect(waits.filter((w) => w > 0).length).toBeGreaterThan(250);
    expect(Math.max(...waits)).toBeLessThanOrEqual(2000);
  });

  it('keeps one bucket per route and method', async () => {
    const clock = new ManualClock(0);
    const waits: number[] = [];
    const p = pacer(clock, waits);
    p.observe('record PUT', { limit: 100, periodMs: 200_000, remaining: 0 });
    await p.acquire('record GET', never);
    await p.acquire('zone PUT', never);
    expect(waits).toEqual([]);
    await p.acquire('record PUT', never);
    expect(waits).toEqual([200_000]);
  });

  it('paces requests let through together (before any answer) one interval apart', async () => {
    const clock = new ManualClock(0);
    const waits: number[] = [];
    const p = pacer(clock, waits);
    p.observe('record POST', { limit: 300, periodMs: 300_000, remaining: 5 });
    await Promise.all([p.acquire('record POST', never), p.acquire('record POST', never), p.acquire('record POST', never)]);
    expect(waits).toEqual([1000, 1000, 1000]);
    expect(clock.now()).toBe(3000);
  });

  it('after a 429 the next request waits a whole period, even when the 429 came without headers', async () => {
    const clock = new ManualClock(0);
    const waits: number[] = [];
    const p = pacer(clock, waits);
    p.observe('record PUT', { limit: 100, periodMs: 200_000, remaining: 50 });
    clock.advance(1000);
    p.exhausted('record PUT');
    await p.acquire('record PUT', never);
    expect(waits).toEqual([200_000]);
  });

  it('ends a pacing wait when the caller aborts', async () => {
    const p = new Ns1Pacer({ clock: new ManualClock(0), sleep: (_ms, signal) => new Promise((_resolve, reject) => { signal.addEventListener('abort', () => { reject(signal.reason as Error); }); }) });
    p.observe('record PUT', { limit: 100, periodMs: 200_000, remaining: 0 });
    const controller = new AbortController();
    const waiting = p.acquire('record PUT', controller.signal);
    const stop = new Error('shutting down');
    controller.abort(stop);
    await expect(waiting).rejects.toBe(stop);
  });
});

describe('NS1 errors', () => {
  it.each([
    [404, 'zone not found', 'zone-not-found', 'DQ_ZONE_NOT_FOUND'],
    [404, 'server error: zone not found', 'zone-not-found', 'DQ_ZONE_NOT_FOUND'],
    [404, 'record not found', 'record-not-found', 'DQ_PROVIDER_CONFLICT'],
    [404, 'Not Found', 'not-found', 'DQ_PROVIDER_REJECTED'],
    [400, 'record already exists', 'already-exists', 'DQ_PROVIDER_CONFLICT'],
    [400, 'zone already exists', 'already-exists', 'DQ_PROVIDER_CONFLICT'],
    [400, "Input validation failed (Value None for field '<obj>.filters' is not of type array)", 'invalid', 'DQ_PROVIDER_REJECTED'],
    [401, 'Unauthorized', 'unauthorized', 'DQ_PROVIDER_REJECTED'],
    [403, 'forbidden', 'forbidden', 'DQ_PROVIDER_REJECTED'],
    [429, 'rate limit exceeded', 'throttled', 'DQ_PROVIDER_THROTTLED'],
    [503, '', 'server', 'DQ_PROVIDER_UNAVAILABLE'],
  ] as const)('HTTP %s %j is %s (%s)', (status, message, kind, code) => {
    expect(kindOfStatus(status, message)).toBe(kind);
    expect(new Ns1ApiError({ kind, method: 'GET', path: 'zones/example.com', status, attempts: 1 }, message).code).toBe(code);
  });

  it.each([
    ['{"message":"record not found"}\n\n', 'record not found'],
    ['<html>bad gateway</html>', '<html>bad gateway</html>'],
    ['', ''],
    ['{"other":1}', '{"other":1}'],
  ])('message of %j is %j', (body, message) => {
    expect(messageOfBody(body)).toBe(message);
  });
});
