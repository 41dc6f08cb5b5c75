import { afterEach, describe, expect, it } from 'vitest';
import type { ChangeSet } from '../../src/domain/change-set.js';
import { systemClock } from '../../src/lib/clock.js';
import { ProviderError } from '../../src/lib/errors.js';
import { silentLogger } from '../../src/lib/logger.js';
import { PendingChanges } from '../../src/providers/route53/pending-changes.js';
import { Route53Provider } from '../../src/providers/route53/provider.js';
import { never, requestsOf, rs, startHarness, useDummyAwsCredentials } from './route53-harness.js';
import type { Harness } from './route53-harness.js';

/**
 * Issue 16, also: the Route53 side of a config reload. The provider a reload replaces stops
 * waiting for its PENDING change at once (handOver), and the provider built for the new config
 * waits that change out before it writes, so a reload neither waits on INSYNC nor causes a
 * PriorRequestNotComplete. Real SDK against the fake Route53, which refuses a change to a zone
 * with one still PENDING, as Route53 does.
 */

useDummyAwsCredentials();

const INSYNC_MS = 1500;

let harness: Harness | undefined;
const extra: Route53Provider[] = [];
afterEach(async () => {
  await Promise.all(extra.splice(0).map((p) => p.close()));
  await harness?.close();
  harness = undefined;
});

function creates(zone: string, name: string, value: string): ChangeSet {
  return { zone, creates: [rs(`${name}.${zone}`, 'A', 60, [value])], updates: [], deletes: [] };
}

function provider(h: Harness, pendingChanges: PendingChanges): Route53Provider {
  const p = new Route53Provider({
    config: { type: 'route53', name: 'r53', endpoint: h.fake.endpoint, hostedZoneIds: {}, rateLimit: 1000, insyncPollIntervalMs: 10 },
    clock: systemClock,
    logger: silentLogger(),
    env: {},
    retry: { maxAttempts: 1 },
    pendingChanges,
  });
  extra.push(p);
  return p;
}

describe('route53: a provider handed over by a config reload', () => {
  it('stops waiting for INSYNC at once, and its successor waits that change out instead of running into PriorRequestNotComplete', async () => {
    harness = await startHarness({ fake: { changeDelayMs: INSYNC_MS, faults: { priorRequestNotComplete: true } } });
    const h = harness;
    const pending = new PendingChanges();
    const old = provider(h, pending);
    await old.listRecords(h.zone, never);

    const startedAt = Date.now();
    const write = old.applyChanges(creates(h.zone, 'one', '192.0.2.1'), never);
    await expect.poll(() => requestsOf(h.fake, 'ChangeResourceRecordSets').length).toBe(1);
    old.handOver();
    await write;
    expect(Date.now() - startedAt, 'the write returned without waiting for INSYNC').toBeLessThan(INSYNC_MS);
    // Nothing more goes out through the old one.
    const refused = await old.applyChanges(creates(h.zone, 'late', '192.0.2.9'), never).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ProviderError);
    expect((refused as ProviderError).code).toBe('DQ_PROVIDER_UNAVAILABLE');

    const successor = provider(h, pending);
    await successor.listRecords(h.zone, never);
    await successor.applyChanges(creates(h.zone, 'two', '192.0.2.2'), never);
    const changes = requestsOf(h.fake, 'ChangeResourceRecordSets');
    expect(changes.map((r) => [r.status, r.errorCode])).toEqual([
      [200, undefined],
      [200, undefined],
    ]);
    const [first, second] = changes;
    expect((second?.at ?? 0) - (first?.at ?? 0), "the successor's change went out once the first was INSYNC").toBeGreaterThanOrEqual(INSYNC_MS);
    expect(h.fake.zoneRecords(h.zone).filter((r) => r.type === 'A').map((r) => r.name)).toEqual([`one.${h.zone}`, `two.${h.zone}`]);
  });

  it('gives up a write still waiting for the zone, with nothing sent', async () => {
    harness = await startHarness({ fake: { changeDelayMs: INSYNC_MS, faults: { priorRequestNotComplete: true } } });
    const h = harness;
    const pending = new PendingChanges();
    const earlier = provider(h, pending);
    const old = provider(h, pending);
    await earlier.listRecords(h.zone, never);
    const first = earlier.applyChanges(creates(h.zone, 'one', '192.0.2.1'), never);
    await expect.poll(() => requestsOf(h.fake, 'ChangeResourceRecordSets').length).toBe(1);
    earlier.handOver();
    await first;

    await old.listRecords(h.zone, never);
    const polledBefore = requestsOf(h.fake, 'GetChange').length;
    const waiting = old.applyChanges(creates(h.zone, 'two', '192.0.2.2'), never).catch((e: unknown) => e);
    // It asks about the earlier change: it is waiting for it.
    await expect.poll(() => requestsOf(h.fake, 'GetChange').length).toBeGreaterThan(polledBefore);
    old.handOver();
    const err = await waiting;
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).message).toContain('nothing was sent');
    expect(requestsOf(h.fake, 'ChangeResourceRecordSets')).toHaveLength(1);
  });
});
