import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ChangeSet } from '../../src/domain/change-set.js';
import type { RecordSet } from '../../src/domain/record.js';
import type { FakeRoute53Request } from '../../fakes/route53/server.js';
import { systemClock } from '../../src/lib/clock.js';
import { ProviderError } from '../../src/lib/errors.js';
import type { ErrorCode } from '../../src/lib/errors.js';
import { silentLogger } from '../../src/lib/logger.js';
import { Route53Provider } from '../../src/providers/route53/provider.js';
import { never, requestsOf, rs, seeded, startHarness, useDummyAwsCredentials, writeBehindOurBack } from './route53-harness.js';
import type { Harness, HarnessOptions } from './route53-harness.js';

useDummyAwsCredentials();

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function start(options: HarnessOptions = {}): Promise<Harness> {
  harness = await startHarness(options);
  return harness;
}

function hosts(zone: string, count: number, prefix = 'h'): RecordSet[] {
  return Array.from({ length: count }, (_, i) => rs(`${prefix}${i}.${zone}`, 'A', 60, [`192.0.2.${i + 1}`]));
}

function creates(zone: string, records: RecordSet[]): ChangeSet {
  return { zone, creates: records, updates: [], deletes: [] };
}

/** The zone holds exactly these A record sets (besides what it had before). */
function expectHeld(h: Harness, zone: string, records: readonly RecordSet[]): void {
  const held = new Map(h.fake.zoneRecords(zone).map((r) => [`${r.name} ${r.type}`, r.values]));
  for (const record of records) expect(held.get(`${record.name} ${record.type}`), record.name).toEqual(record.values);
}

async function codeOf(promise: Promise<unknown>): Promise<ErrorCode | undefined> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return (err as ProviderError).code;
}

/** Most requests the fake saw in any window [t, t + 1 s). */
function busiestSecond(requests: readonly FakeRoute53Request[]): number {
  const times = requests.map((r) => r.at).sort((a, b) => a - b);
  let best = 0;
  let tail = 0;
  for (let head = 0; head < times.length; head++) {
    while ((times[tail] ?? 0) + 1000 <= (times[head] ?? 0)) tail++;
    best = Math.max(best, head - tail + 1);
  }
  return best;
}

describe('route53 rate limit and throttling', () => {
  it('with half of all requests throttled the zone converges, and the request rate never exceeds the limit', async () => {
    // 200 ms between requests (the default rate): the check below fails only if arrival jitter reaches the spacing.
    const rateLimit = 5;
    const h = await start({
      zone: false,
      fake: { faults: { throttleRate: 0.5 }, random: seeded(7) },
      config: { rateLimit, maxBatchRecords: 10 },
      provider: { rateBurst: 1, random: seeded(11), retry: { maxAttempts: 12, throttleBaseMs: 5, transientBaseMs: 2, capMs: 40 } },
    });
    const zone = 'rate.example.com.';
    const records = hosts(zone, 20);
    await h.provider.ensureZone(zone, never);
    await h.provider.applyChanges(creates(zone, records), never);

    expectHeld(h, zone, records);
    const throttled = h.fake.requests.filter((r) => r.errorCode === 'Throttling');
    expect(throttled.length).toBeGreaterThan(3);
    expect(h.fake.requests.length).toBeGreaterThan(rateLimit + 1);
    expect(requestsOf(h.fake, 'ChangeResourceRecordSets').filter((r) => r.status === 200)).toHaveLength(2);
    // Every throttled request was retried by us, one attempt each: the SDK retries nothing itself.
    expect(h.provider.stats.throttled).toBe(throttled.length);
    expect(h.provider.stats.attempts).toBe(h.fake.requests.length);
    expect(busiestSecond(h.fake.requests)).toBeLessThanOrEqual(rateLimit + h.provider.rateLimiter.burst);
  });

  it('throttling that outlasts the attempts is DQ_PROVIDER_THROTTLED, after exactly that many requests', async () => {
    const h = await start({ fake: { faults: { throttleRate: 1 } }, provider: { retry: { maxAttempts: 3, throttleBaseMs: 1, transientBaseMs: 1, capMs: 5 } } });
    expect(await codeOf(h.provider.listRecords(h.zone, never))).toBe('DQ_PROVIDER_THROTTLED');
    expect(h.fake.requests.map((r) => r.errorCode)).toEqual(['Throttling', 'Throttling', 'Throttling']);
  });

  it('a backoff ends when the caller aborts', async () => {
    const h = await start({ fake: { faults: { throttleRate: 1 } }, provider: { random: () => 0.99, retry: { maxAttempts: 5, throttleBaseMs: 60_000, transientBaseMs: 60_000, capMs: 60_000 } } });
    const controller = new AbortController();
    const listing = h.provider.listRecords(h.zone, controller.signal);
    await vi.waitFor(() => {
      expect(h.fake.requests.length).toBeGreaterThan(0);
    });
    const stop = new Error('shutting down');
    controller.abort(stop);
    await expect(listing).rejects.toBe(stop);
    expect(h.fake.requests).toHaveLength(1);
  });

  it('a change of another writer still PENDING (PriorRequestNotComplete) is waited out', async () => {
    const h = await start({
      fake: { faults: { priorRequestNotComplete: true } },
      provider: { random: seeded(3), retry: { maxAttempts: 40, throttleBaseMs: 20, transientBaseMs: 2, capMs: 100 } },
    });
    h.fake.setChangeDelay(300);
    await writeBehindOurBack(h.fake, h.zoneId, [{ Action: 'CREATE', ResourceRecordSet: { Name: `other.${h.zone}`, Type: 'A', TTL: 60, ResourceRecords: [{ Value: '192.0.2.200' }] } }]);
    h.fake.clearRequests();

    const records = hosts(h.zone, 2);
    await h.provider.applyChanges(creates(h.zone, records), never);
    const calls = requestsOf(h.fake, 'ChangeResourceRecordSets');
    expect(calls.filter((r) => r.errorCode === 'PriorRequestNotComplete').length).toBeGreaterThan(0);
    expect(calls.at(-1)?.status).toBe(200);
    expectHeld(h, h.zone, records);
    expect(h.provider.lastInsyncMs).toBeGreaterThanOrEqual(0);
  });

  it('writes to one zone are serialised: concurrent applies never meet PriorRequestNotComplete', async () => {
    const h = await start({ fake: { changeDelayMs: 40, faults: { priorRequestNotComplete: true } }, provider: { retry: { maxAttempts: 1 } } });
    const batches = [hosts(h.zone, 3, 'a'), hosts(h.zone, 3, 'b'), hosts(h.zone, 3, 'c')];
    await Promise.all(batches.map((records) => h.provider.applyChanges(creates(h.zone, records), never)));
    expect(requestsOf(h.fake, 'ChangeResourceRecordSets').map((r) => r.status)).toEqual([200, 200, 200]);
    for (const records of batches) expectHeld(h, h.zone, records);
  });
});

describe('route53 server and network failures', () => {
  it('5xx answers are retried and the changes converge', async () => {
    const h = await start({ fake: { faults: { serverErrorsNext: 3 } }, provider: { retry: { maxAttempts: 5, throttleBaseMs: 1, transientBaseMs: 1, capMs: 5 } } });
    const records = hosts(h.zone, 4);
    await h.provider.applyChanges(creates(h.zone, records), never);
    expectHeld(h, h.zone, records);
    expect(h.fake.requests.filter((r) => r.status >= 500)).toHaveLength(3);
    expect(h.provider.stats.serverErrors).toBe(3);
  });

  it('dropped connections are retried and the changes converge', async () => {
    const h = await start({
      fake: { faults: { dropRate: 0.3 }, random: seeded(5) },
      config: { maxBatchRecords: 5 },
      provider: { random: seeded(9), retry: { maxAttempts: 10, throttleBaseMs: 1, transientBaseMs: 1, capMs: 5 } },
    });
    const records = hosts(h.zone, 20);
    await h.provider.applyChanges(creates(h.zone, records), never);
    expectHeld(h, h.zone, records);
    const dropped = h.fake.requests.filter((r) => r.status === 0);
    expect(dropped.length).toBeGreaterThan(0);
    expect(h.provider.stats.networkErrors).toBe(dropped.length);
  });

  it('an answer slower than requestTimeout ends the attempt; exhausted, it is DQ_PROVIDER_UNAVAILABLE', async () => {
    const h = await start({ fake: { faults: { delayMs: 2_000 } }, config: { requestTimeoutMs: 50 }, provider: { retry: { maxAttempts: 2, throttleBaseMs: 1, transientBaseMs: 1, capMs: 5 } } });
    expect(await codeOf(h.provider.listRecords(h.zone, never))).toBe('DQ_PROVIDER_UNAVAILABLE');
    expect(h.provider.stats.timeouts).toBe(2);
  });

  it('an unreachable endpoint is DQ_PROVIDER_UNAVAILABLE (transient)', async () => {
    const h = await start();
    const endpoint = h.fake.endpoint;
    await h.fake.close();
    const provider = new Route53Provider({
      config: { type: 'route53', name: 'r53', endpoint, hostedZoneIds: {}, rateLimit: 1000 },
      clock: systemClock,
      logger: silentLogger(),
      env: {},
      retry: { maxAttempts: 2, throttleBaseMs: 1, transientBaseMs: 1, capMs: 5 },
    });
    try {
      const err = await provider.listRecords('example.com.', never).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'DQ_PROVIDER_UNAVAILABLE', transient: true });
      expect(provider.stats.networkErrors).toBe(2);
    } finally {
      await provider.close();
    }
  });

  it('a change still PENDING after insyncTimeout is DQ_PROVIDER_UNAVAILABLE, though Route53 holds it', async () => {
    const h = await start({ fake: { changeDelayMs: 60_000 }, config: { insyncTimeoutMs: 60, insyncPollIntervalMs: 10 } });
    const records = hosts(h.zone, 1);
    const err = await h.provider.applyChanges(creates(h.zone, records), never).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'DQ_PROVIDER_UNAVAILABLE' });
    expect((err as Error).message).toContain('still PENDING');
    expectHeld(h, h.zone, records);
    expect(requestsOf(h.fake, 'GetChange').length).toBeGreaterThan(0);
  });
});
