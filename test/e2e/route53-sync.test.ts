import { afterEach, describe, expect, it } from 'vitest';
import type { StaticRecordSpec, ZoneSpec } from '../../src/domain/zone.js';
import { systemClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/logger.js';
import { syncOnce } from '../../src/sync/sync-once.js';
import type { SyncReport } from '../../src/sync/sync-once.js';
import { never, requestsOf, startHarness, useDummyAwsCredentials } from './route53-harness.js';
import type { Harness } from './route53-harness.js';

useDummyAwsCredentials();

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

function staticRecord(name: string, type: StaticRecordSpec['type'], values: string[], ttl = 300): StaticRecordSpec {
  return { kind: 'static', name, type, ttl, values };
}

async function pass(h: Harness, zone: ZoneSpec, dryRun: boolean): Promise<SyncReport> {
  return syncOnce({
    zones: [zone],
    providers: new Map([['r53', h.provider]]),
    health: new Map(),
    overrides: [],
    recentWrites: new Map(),
    dryRun,
    force: false,
    clock: systemClock,
    logger: silentLogger(),
    signal: never,
  });
}

function outcome(report: SyncReport): string | undefined {
  return report.zones[0]?.providers[0]?.outcome;
}

describe('route53 through syncOnce', () => {
  it('syncs a 2,500-record zone from empty in at most ceil(records/1000) + 2 change requests, and the next plan is empty', async () => {
    const h = await startHarness({ zone: false });
    harness = h;
    const name = 'big.example.com.';
    const long = 'k='.padEnd(700, 'x');
    const records: StaticRecordSpec[] = [
      ...Array.from({ length: 2495 }, (_, i) => staticRecord(`host${i}.${name}`, 'A', [`10.${Math.floor(i / 250)}.${i % 250}.1`])),
      staticRecord(`*.wild.${name}`, 'A', ['192.0.2.60']),
      staticRecord(`dkim._domainkey.${name}`, 'TXT', [long, 'v=spf1 -all']),
      staticRecord(`www.${name}`, 'CNAME', ['edge.example.net.']),
      staticRecord(name, 'MX', ['10 mx1.example.net.', '20 mx2.example.net.']),
      staticRecord(name, 'CAA', ['0 issue "letsencrypt.org"']),
    ];
    const zone: ZoneSpec = { name, providers: ['r53'], nameservers: 'sync', nameserverTtl: 3600, unmanaged: 'delete', drift: 'repair', maxChangeShare: 0.3, records };

    const first = await pass(h, zone, false);
    expect(outcome(first), JSON.stringify(first.zones[0]?.providers[0]?.error)).toBe('applied');
    const changeRequests = requestsOf(h.fake, 'ChangeResourceRecordSets');
    expect(changeRequests.length).toBeLessThanOrEqual(Math.ceil(records.length / 1000) + 2);
    expect(changeRequests.every((r) => r.status === 200)).toBe(true);
    // Every record plus the zone's own SOA and NS.
    expect(h.fake.zoneRecords(name)).toHaveLength(records.length + 2);

    // The zone was created before its name servers were asked for, so the apex NS (nameservers:
    // sync: the delegation set with the configured TTL) went out in the same pass.
    expect(h.fake.zoneRecords(name).find((r) => r.name === name && r.type === 'NS')?.ttl).toBe(3600);

    h.fake.clearRequests();
    const last = await pass(h, zone, true);
    expect(outcome(last)).toBe('in-sync');
    expect(last.zones[0]?.providers[0]?.changes).toEqual({ zone: name, creates: [], updates: [], deletes: [] });
    expect(requestsOf(h.fake, 'ChangeResourceRecordSets')).toEqual([]);
  });

  it('a record changed behind our back is put back on the next pass', async () => {
    const h = await startHarness();
    harness = h;
    const zone: ZoneSpec = {
      name: h.zone,
      providers: ['r53'],
      nameservers: 'manual',
      nameserverTtl: 172800,
      unmanaged: 'keep',
      drift: 'repair',
      maxChangeShare: 0.3,
      records: [staticRecord(`api.${h.zone}`, 'A', ['192.0.2.10']), staticRecord(`txt.${h.zone}`, 'TXT', ['hello world'])],
    };
    expect(outcome(await pass(h, zone, false))).toBe('applied');
    h.fake.putRecordDirect(h.zone, { name: `api.${h.zone}`, type: 'A', ttl: 300, values: ['203.0.113.66'] });
    h.fake.putRecordDirect(h.zone, { name: `stray.${h.zone}`, type: 'A', ttl: 300, values: ['203.0.113.67'] });

    const repair = await pass(h, zone, false);
    expect(outcome(repair)).toBe('applied');
    expect(repair.zones[0]?.providers[0]?.unmanagedKept.map((r) => r.name)).toEqual([`stray.${h.zone}`]);
    expect(h.fake.zoneRecords(h.zone).find((r) => r.name === `api.${h.zone}`)?.values).toEqual(['192.0.2.10']);
    expect(outcome(await pass(h, zone, true))).toBe('in-sync');
  });
});
