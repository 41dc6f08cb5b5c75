import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/lib/clock.js';
import { ProviderError } from '../../src/lib/errors.js';
import { silentLogger } from '../../src/lib/logger.js';
import { TokenBucket } from '../../src/providers/route53/rate-limiter.js';
import type { Sleep } from '../../src/providers/route53/rate-limiter.js';
import { backoffMs, callWithRetries, classifyFailure, newCallStats } from '../../src/providers/route53/retry.js';
import type { CallerOptions, RetryPolicy } from '../../src/providers/route53/retry.js';

const never = new AbortController().signal;

/** A sleep that moves the manual clock instead of waiting, and notes every wait. */
function manualSleep(clock: ManualClock, waits: number[] = []): Sleep {
  return (ms, signal) => {
    signal.throwIfAborted();
    waits.push(ms);
    clock.advance(ms);
    return Promise.resolve();
  };
}

/** Most grants in any window [t, t + windowMs). */
function busiestWindow(times: readonly number[], windowMs: number): number {
  let best = 0;
  for (let i = 0; i < times.length; i++) {
    const start = times[i] ?? 0;
    best = Math.max(best, times.filter((t) => t >= start && t < start + windowMs).length);
  }
  return best;
}

describe('token bucket', () => {
  it.each([
    [5, 1],
    [5, 5],
    [10, 3],
    [0.5, 1],
  ])('at %s/s with burst %s never grants more than burst + rate in any second', async (rate, burst) => {
    const clock = new ManualClock(1_000_000);
    const bucket = new TokenBucket({ ratePerSecond: rate, burst, clock, sleep: manualSleep(clock) });
    const grants: number[] = [];
    for (let i = 0; i < 40; i++) {
      await bucket.acquire(never);
      grants.push(clock.now());
    }
    expect(busiestWindow(grants, 1000)).toBeLessThanOrEqual(Math.floor(rate) + burst);
    // It is a limit, not a stall: 40 grants take about (40 - burst) intervals.
    expect((grants.at(-1) ?? 0) - (grants[0] ?? 0)).toBeLessThanOrEqual(Math.ceil(((40 - burst) * 1000) / rate) + 40);
  });

  it('lets a burst through at once after a quiet spell, then paces', async () => {
    const clock = new ManualClock(0);
    const waits: number[] = [];
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 3, clock, sleep: manualSleep(clock, waits) });
    for (let i = 0; i < 5; i++) await bucket.acquire(never);
    expect(waits).toEqual([100, 100]);
    clock.advance(10_000);
    waits.length = 0;
    for (let i = 0; i < 3; i++) await bucket.acquire(never);
    expect(waits).toEqual([]);
  });

  it('serves concurrent callers one at a time, in order', async () => {
    const clock = new ManualClock(0);
    const bucket = new TokenBucket({ ratePerSecond: 4, burst: 1, clock, sleep: manualSleep(clock) });
    const order: [number, number][] = [];
    await Promise.all(
      [1, 2, 3, 4].map(async (caller) => {
        await bucket.acquire(never);
        order.push([caller, clock.now()]);
      }),
    );
    expect(order).toEqual([
      [1, 0],
      [2, 250],
      [3, 500],
      [4, 750],
    ]);
  });

  it('paces by the time a request is let through: a late wake-up does not bunch the next ones', async () => {
    const clock = new ManualClock(0);
    let late = 40;
    const lateSleep: Sleep = (ms) => {
      clock.advance(ms + late);
      late = 0;
      return Promise.resolve();
    };
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 1, clock, sleep: lateSleep });
    const grants: number[] = [];
    for (let i = 0; i < 4; i++) {
      await bucket.acquire(never);
      grants.push(clock.now());
    }
    expect(grants).toEqual([0, 140, 240, 340]);
  });

  it('a caller that gives up while waiting its turn does not let the next one overtake', async () => {
    const clock = new ManualClock(0);
    const bucket = new TokenBucket({ ratePerSecond: 1, burst: 1, clock, sleep: manualSleep(clock) });
    await bucket.acquire(never);
    const controller = new AbortController();
    controller.abort(new Error('gave up'));
    await expect(bucket.acquire(controller.signal)).rejects.toThrow('gave up');
    await bucket.acquire(never);
    expect(clock.now()).toBe(1000);
  });

  it('refuses an acquire whose signal has aborted', async () => {
    const clock = new ManualClock(0);
    const bucket = new TokenBucket({ ratePerSecond: 1, burst: 1, clock, sleep: manualSleep(clock) });
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(bucket.acquire(controller.signal)).rejects.toThrow('stop');
  });
});

describe('failure classes', () => {
  const sdkError = (name: string, status?: number, code?: string): Error =>
    Object.assign(new Error(name), { name, ...(status === undefined ? {} : { $metadata: { httpStatusCode: status } }), ...(code === undefined ? {} : { code }) });

  it.each([
    ['Throttling', sdkError('Throttling', 400), 'throttled'],
    ['PriorRequestNotComplete', sdkError('PriorRequestNotComplete', 400), 'throttled'],
    ['HTTP 429', sdkError('Unknown', 429), 'throttled'],
    ['InternalFailure 500', sdkError('InternalFailure', 500), 'transient'],
    ['503 without a code', sdkError('Unknown', 503), 'transient'],
    ['a reset connection', sdkError('Error', undefined, 'ECONNRESET'), 'transient'],
    ['a refused connection', sdkError('Error', undefined, 'ECONNREFUSED'), 'transient'],
    ['TimeoutError', sdkError('TimeoutError'), 'transient'],
    ['InvalidChangeBatch', sdkError('InvalidChangeBatch', 400), 'fatal'],
    ['NoSuchHostedZone', sdkError('NoSuchHostedZone', 404), 'fatal'],
    ['AccessDenied', sdkError('AccessDenied', 403), 'fatal'],
  ])('%s is %s', (_case, err, kind) => {
    expect(classifyFailure(err)).toBe(kind);
  });
});

describe('backoff', () => {
  const policy: RetryPolicy = { maxAttempts: 5, throttleBaseMs: 1000, transientBaseMs: 100, capMs: 20_000 };

  it.each([
    ['throttled', 0, 0.5, 500],
    ['throttled', 3, 0.5, 4000],
    ['throttled', 10, 0.5, 10_000],
    ['transient', 0, 0.5, 50],
    ['transient', 2, 0.5, 200],
    ['transient', 2, 0, 0],
    ['transient', 2, 0.999, 399],
  ] as const)('%s retry %s with random %s waits %s ms (full jitter, capped)', (kind, retry, random, expected) => {
    expect(backoffMs(kind, retry, policy, () => random)).toBe(expected);
  });
});

describe('callWithRetries', () => {
  function caller(waits: number[], maxAttempts = 4): CallerOptions {
    const clock = new ManualClock(0);
    return {
      provider: 'r53',
      limiter: new TokenBucket({ ratePerSecond: 1000, burst: 1000, clock, sleep: manualSleep(clock) }),
      policy: { maxAttempts, throttleBaseMs: 1000, transientBaseMs: 100, capMs: 20_000 },
      requestTimeoutMs: 10_000,
      random: () => 0.5,
      sleep: (ms, signal) => {
        signal.throwIfAborted();
        waits.push(ms);
        return Promise.resolve();
      },
      logger: silentLogger(),
      stats: newCallStats(),
    };
  }

  const failing = (errors: Error[]) => {
    let i = 0;
    return (): Promise<string> => {
      const err = errors[i++];
      return err === undefined ? Promise.resolve('ok') : Promise.reject(err);
    };
  };
  const throttle = (): Error => Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { httpStatusCode: 400 } });
  const reset = (): Error => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });

  it('retries throttling and network errors with growing waits and counts them', async () => {
    const waits: number[] = [];
    const options = caller(waits);
    await expect(callWithRetries('GetChange', failing([throttle(), reset(), throttle()]), never, options)).resolves.toBe('ok');
    expect(waits).toEqual([500, 100, 2000]);
    expect(options.stats).toMatchObject({ calls: 1, attempts: 4, retries: 3, throttled: 2, networkErrors: 1 });
  });

  it('ends with DQ_PROVIDER_THROTTLED when throttling outlasts the attempts', async () => {
    const err = await callWithRetries('ListResourceRecordSets', failing([throttle(), throttle(), throttle()]), never, caller([], 3)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ code: 'DQ_PROVIDER_THROTTLED', transient: true });
  });

  it('ends with DQ_PROVIDER_UNAVAILABLE when the server keeps failing', async () => {
    const err = await callWithRetries('GetChange', failing([reset(), reset()]), never, caller([], 2)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'DQ_PROVIDER_UNAVAILABLE', transient: true });
  });

  it('passes an error that is not retried through at once', async () => {
    const invalid = Object.assign(new Error('bad'), { name: 'InvalidChangeBatch', $metadata: { httpStatusCode: 400 } });
    const waits: number[] = [];
    await expect(callWithRetries('ChangeResourceRecordSets', failing([invalid]), never, caller(waits))).rejects.toBe(invalid);
    expect(waits).toEqual([]);
  });

  it('ends an attempt at its deadline and counts it as transient', async () => {
    const options = { ...caller([], 2), requestTimeoutMs: 5 };
    const hang = (signal: AbortSignal): Promise<string> =>
      new Promise((_resolve, reject) => {
        signal.addEventListener('abort', () => {
          reject(new Error('aborted'));
        });
      });
    const err = await callWithRetries('GetHostedZone', hang, never, options).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'DQ_PROVIDER_UNAVAILABLE' });
    expect(options.stats.timeouts).toBe(2);
  });

  it("throws the caller's abort reason, not a provider error", async () => {
    const controller = new AbortController();
    const stop = new Error('shutting down');
    const attempt = (): Promise<string> => {
      controller.abort(stop);
      return Promise.reject(throttle());
    };
    await expect(callWithRetries('GetChange', attempt, controller.signal, caller([]))).rejects.toBe(stop);
  });
});
