import { afterEach, describe, expect, it } from 'vitest';
import { ProviderError } from '../../src/lib/errors.js';
import { hostRecords, held, never, outcomeOf, pass, recordWrites, seeded, staticRecord, startNs1Harness, zoneSpec } from './ns1-harness.js';
import type { Ns1Harness, Ns1HarnessOptions } from './ns1-harness.js';

let harness: Ns1Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function start(options: Ns1HarnessOptions): Promise<Ns1Harness> {
  harness = await startNs1Harness(options);
  return harness;
}

/** Another client of the same NS1 account (a replica, a tool) spending a bucket to its last token. */
async function emptyPutBucket(endpoint: string, apiKey: string): Promise<number> {
  for (let sent = 1; sent <= 1000; sent++) {
    // A write to a zone that does not exist: NS1 charges the token before it looks.
    const response = await fetch(`${endpoint}zones/other.example/x.other.example/A`, { method: 'PUT', headers: { 'X-NSONE-Key': apiKey }, body: '{}' });
    await response.text();
    if (response.status === 429) return sent;
  }
  throw new Error('the PUT bucket never ran dry');
}

describe('ns1 through syncOnce, under NS1 rate limits', () => {
  it('syncs a 1,000-record zone from empty under the recorded limits without a single 429, paced by the headers', async () => {
    // Shared ManualClock: the provider's waits move the fake's token buckets, in no real time.
    const h = await start({ zone: false, manualClock: true });
    const name = 'big.example.com.';
    const records = [
      ...hostRecords(name, 995),
      staticRecord(`*.wild.${name}`, 'A', ['192.0.2.60']),
      staticRecord(`dkim._domainkey.${name}`, 'TXT', ['k='.padEnd(700, 'x'), 'v=spf1 -all']),
      staticRecord(`www.${name}`, 'CNAME', ['edge.example.net.']),
      staticRecord(name, 'MX', ['10 mx1.example.net.', '20 mx2.example.net.']),
      staticRecord(name, 'CAA', ['0 issue "letsencrypt.org"']),
    ];
    const zone = zoneSpec(name, records);

    const first = await pass(h, zone, false);
    expect(outcomeOf(first)).toBe('applied');
    expect(h.fake.requests.filter((r) => r.status === 429)).toEqual([]);
    expect(h.fake.requests.filter((r) => r.status === 0 || r.status >= 500)).toEqual([]);
    // Every record plus NS1's apex NS, updated (one POST) to the synced TTL.
    expect(h.fake.zoneRecords(name)).toHaveLength(records.length + 1);
    expect(h.fake.zoneRecords(name).find((r) => r.domain === 'big.example.com' && r.type === 'NS')?.ttl).toBe(3600);
    expect(recordWrites(h.fake.requests).filter((r) => r.method === 'PUT')).toHaveLength(records.length);
    // The PUT bucket (100 per 200 s) was drawn down to low water, then paced: the provider waited.
    expect(h.provider.stats.pacedRequests).toBeGreaterThan(records.length - 100);
    expect(Math.min(...h.fake.requests.filter((r) => r.method === 'PUT').map((r) => r.remaining ?? 0))).toBeGreaterThanOrEqual(2);
    expect(h.provider.stats.throttled).toBe(0);

    h.fake.clearRequests();
    const again = await pass(h, zone, true);
    expect(outcomeOf(again)).toBe('in-sync');
    expect(recordWrites(h.fake.requests)).toEqual([]);
  });

  it('when the limits are halved mid-sync and another client empties the bucket, the 429s are retried and the zone converges', async () => {
    const name = 'halved.example.com.';
    const records = hostRecords(name, 400);
    let disturbed = 0;
    const h = await start({
      zone: name,
      manualClock: true,
      provider: { random: seeded(5) },
      beforeSleep: async () => {
        // Pacing starts at low water (after ~90 PUTs); disturb twice along the way.
        const puts = recordWrites(h.fake.requests).length;
        if ((disturbed === 0 && puts >= 150) || (disturbed === 1 && puts >= 300)) {
          disturbed++;
          if (disturbed === 1) h.fake.setRateLimits({ PUT: { limit: 50, periodSeconds: 200 }, POST: { limit: 150, periodSeconds: 300 }, GET: { limit: 450, periodSeconds: 300 } });
          await emptyPutBucket(h.fake.endpoint, h.fake.apiKey);
        }
      },
    });
    const zone = zoneSpec(name, records);

    const first = await pass(h, zone, false);
    expect(outcomeOf(first)).toBe('applied');
    expect(disturbed).toBe(2);
    const ours = h.fake.requests.filter((r) => r.path.startsWith(`/v1/zones/halved.example.com`));
    const throttled = ours.filter((r) => r.status === 429);
    expect(throttled.length).toBeGreaterThan(0);
    // Each 429 was retried by the client (none reached the sync as an error).
    expect(h.provider.stats.throttled).toBe(throttled.length);
    expect(h.provider.stats.retries).toBeGreaterThanOrEqual(throttled.length);
    expect(h.fake.zoneRecords(name)).toHaveLength(records.length + 1);

    h.fake.clearRequests();
    expect(outcomeOf(await pass(h, zone, true))).toBe('in-sync');
  });

  it('a pass that fails after half of its writes is finished by the next pass, which writes only the rest', async () => {
    const name = 'half.example.com.';
    const records = hostRecords(name, 40);
    const h = await start({ zone: false, manualClock: true, config: { maxRetries: 2 } });
    const zone = zoneSpec(name, records);
    h.fake.setFaults({ failWritesAfter: 20 });

    const first = await pass(h, zone, false);
    expect(outcomeOf(first)).toMatch(/^failed \(DQ_PROVIDER_UNAVAILABLE: /);
    // The apex NS NS1 made holds what nameservers: sync asks for already: 40 writes.
    expect(first.zones[0]?.providers[0]?.error?.message).toContain('20 of 40 writes to half.example.com. went through');
    const firstWrites = recordWrites(h.fake.requests).length;
    expect(firstWrites).toBe(20);
    expect(h.fake.zoneRecords(name).length).toBe(1 + 20);

    h.fake.setFaults({ failWritesAfter: undefined });
    h.fake.clearRequests();
    const second = await pass(h, zone, false);
    expect(outcomeOf(second)).toBe('applied');
    expect(recordWrites(h.fake.requests)).toHaveLength(records.length - firstWrites);
    expect(h.fake.zoneRecords(name)).toHaveLength(records.length + 1);

    h.fake.clearRequests();
    expect(outcomeOf(await pass(h, zone, true))).toBe('in-sync');
  });

  it('5xx answers and dropped connections are retried, and the zone converges', async () => {
    const name = 'flaky.example.com.';
    const records = hostRecords(name, 60);
    const h = await start({
      zone: false,
      manualClock: true,
      fake: { faults: { serverErrorRate: 0.25, dropRate: 0.1 }, random: seeded(42) },
      provider: { random: seeded(7) },
      config: { maxRetries: 8 },
    });
    const zone = zoneSpec(name, records);
    let report = await pass(h, zone, false);
    // Retries within a pass absorb nearly everything; any error left is transient and the next pass finishes.
    for (let passes = 1; outcomeOf(report) !== 'applied' && passes < 5; passes++) {
      expect(first(report)?.error?.code).toMatch(/^DQ_PROVIDER_(UNAVAILABLE|THROTTLED)$/);
      report = await pass(h, zone, false);
    }
    expect(outcomeOf(report)).toBe('applied');
    expect(h.provider.stats.serverErrors).toBeGreaterThan(0);
    expect(h.provider.stats.networkErrors).toBeGreaterThan(0);
    expect(h.fake.requests.filter((r) => r.status === 0).length).toBe(h.provider.stats.networkErrors);
    expect(held(h.fake, name)).toEqual(expect.arrayContaining(records.map((r) => `${r.name.slice(0, -1)} A 300 ${r.values[0] ?? ''}`)));

    h.fake.setFaults({ serverErrorRate: 0, dropRate: 0 });
    expect(outcomeOf(await pass(h, zone, true))).toBe('in-sync');
  });

  it('a zone that NS1 does not hold is created (PUT), with its apex NS from dns_servers', async () => {
    const h = await start({ zone: false, manualClock: true, fake: { dnsServers: ['dns1.p99.nsone.net', 'dns2.p99.nsone.net'] } });
    const name = 'fresh.example.com.';
    const report = await pass(h, zoneSpec(name, [staticRecord(`www.${name}`, 'CNAME', ['edge.example.net.'])]), false);
    expect(outcomeOf(report)).toBe('applied');
    expect(report.zones[0]?.providers[0]?.zoneMissing).toBe(true);
    expect(h.fake.requests.filter((r) => r.route === 'zone' && r.method === 'PUT' && r.status === 200)).toHaveLength(1);
    expect(await h.provider.nameservers(name, never)).toEqual(['dns1.p99.nsone.net.', 'dns2.p99.nsone.net.']);
    expect(held(h.fake, name)).toEqual(['fresh.example.com NS 3600 dns1.p99.nsone.net|dns2.p99.nsone.net', 'www.fresh.example.com CNAME 300 edge.example.net']);
  });

  it('a zone NS1 does not hold is DQ_ZONE_NOT_FOUND for listRecords and nameservers', async () => {
    const h = await start({ zone: false });
    for (const call of [h.provider.listRecords('absent.example.com.', never), h.provider.nameservers('absent.example.com.', never)]) {
      const err = await call.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ProviderError);
      expect((err as ProviderError).code).toBe('DQ_ZONE_NOT_FOUND');
    }
  });
});

function first(report: Awaited<ReturnType<typeof pass>>): (typeof report.zones)[number]['providers'][number] | undefined {
  return report.zones[0]?.providers[0];
}
