import { afterEach, describe, expect, it } from 'vitest';
import type { ChangeSet } from '../../src/domain/change-set.js';
import { keyOf, normalizeRecordSet } from '../../src/domain/record.js';
import type { RecordSet } from '../../src/domain/record.js';
import { systemClock } from '../../src/lib/clock.js';
import { ProviderError } from '../../src/lib/errors.js';
import type { ErrorCode } from '../../src/lib/errors.js';
import { silentLogger } from '../../src/lib/logger.js';
import { diffRecords } from '../../src/plan/diff.js';
import { Route53Provider } from '../../src/providers/route53/provider.js';
import { never, requestsOf, rs, startHarness, useDummyAwsCredentials, writeBehindOurBack } from './route53-harness.js';
import type { Harness } from './route53-harness.js';

useDummyAwsCredentials();

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function start(options: Parameters<typeof startHarness>[0] = {}): Promise<Harness> {
  harness = await startHarness(options);
  return harness;
}

function creates(zone: string, ...records: RecordSet[]): ChangeSet {
  return { zone, creates: records, updates: [], deletes: [] };
}

async function rejection(promise: Promise<unknown>, code: ErrorCode): Promise<ProviderError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  expect((err as ProviderError).code, (err as ProviderError).message).toBe(code);
  return err as ProviderError;
}

/** Status and error code of every ChangeResourceRecordSets call, in order. */
function changeCalls(h: Harness): string[] {
  return requestsOf(h.fake, 'ChangeResourceRecordSets').map((r) => `${r.status}${r.errorCode === undefined ? '' : ` ${r.errorCode}`}`);
}

describe('route53 reads', () => {
  it('lists a zone of more than 300 record sets page by page', async () => {
    const h = await start();
    for (let i = 0; i < 340; i++) h.fake.putRecordDirect(h.zone, { name: `host${i}.${h.zone}`, type: 'A', ttl: 60, values: [`10.1.${Math.floor(i / 200)}.${i % 200}`] });
    const records = await h.provider.listRecords(h.zone, never);
    expect(records).toHaveLength(342);
    expect(records.filter((r) => r.type === 'A')).toHaveLength(340);
    expect(records.find((r) => r.name === `host339.${h.zone}`)).toEqual({ name: `host339.${h.zone}`, type: 'A', ttl: 60, values: ['10.1.1.139'] });
    expect(requestsOf(h.fake, 'ListResourceRecordSets').length).toBeGreaterThanOrEqual(2);
  });

  it('lists alias and routing-policy record sets once per name and type, with TTL 0, marked unwritable, and never writes them', async () => {
    const h = await start();
    h.fake.putRecordDirect(h.zone, { name: `w.${h.zone}`, type: 'A', ttl: 60, values: ['192.0.2.1'], setIdentifier: 'one', weight: 10 });
    h.fake.putRecordDirect(h.zone, { name: `w.${h.zone}`, type: 'A', ttl: 60, values: ['192.0.2.2'], setIdentifier: 'two', weight: 20 });
    h.fake.putRecordDirect(h.zone, {
      name: `cdn.${h.zone}`,
      type: 'A',
      ttl: 0,
      values: [],
      aliasTarget: { hostedZoneId: 'Z2FDTNDATAQYW2', dnsName: 'd111.cloudfront.net.', evaluateTargetHealth: false },
    });
    const records = await h.provider.listRecords(h.zone, never);
    expect(records.filter((r) => r.name === `w.${h.zone}`)).toEqual([{ name: `w.${h.zone}`, type: 'A', ttl: 0, values: ['192.0.2.1', '192.0.2.2'], unwritable: 'weighted "one", weighted "two"' }]);
    expect(records.filter((r) => r.name === `cdn.${h.zone}`)).toEqual([{ name: `cdn.${h.zone}`, type: 'A', ttl: 0, values: [], unwritable: 'alias to d111.cloudfront.net.' }]);

    const w = records.find((r) => r.name === `w.${h.zone}`);
    if (w === undefined) throw new Error('no w');
    const err = await rejection(h.provider.applyChanges({ zone: h.zone, creates: [], updates: [{ before: w, after: rs(`w.${h.zone}`, 'A', 60, ['192.0.2.9']) }], deletes: [] }, never), 'DQ_PROVIDER_REJECTED');
    expect(err.message).toContain('weighted "one"');
    // A delete of one is dropped: the alias is kept, and nothing is sent.
    await h.provider.applyChanges({ zone: h.zone, creates: [], updates: [], deletes: records.filter((r) => r.name === `cdn.${h.zone}`) }, never);
    expect(h.fake.zoneRecords(h.zone).some((r) => r.name === `cdn.${h.zone}` && r.aliasTarget !== undefined)).toBe(true);
    expect(changeCalls(h)).toEqual([]);
  });

  it('takes name servers from the delegation set, not from the apex NS record', async () => {
    const h = await start({ zone: false });
    const created = h.fake.createZone('ns.example.org.');
    h.fake.putRecordDirect(created.id, { name: 'ns.example.org.', type: 'NS', ttl: 300, values: ['ns1.elsewhere.example.'] });
    expect(await h.provider.nameservers('ns.example.org', never)).toEqual(created.nameservers);
    expect(requestsOf(h.fake, 'GetHostedZone')).toHaveLength(1);
  });
});

describe('route53 hosted zones', () => {
  it('finds a zone by its exact name, and says which name is missing', async () => {
    const h = await start({ zone: 'sub.example.com.' });
    h.fake.createZone('example.com.');
    h.fake.putRecordDirect(h.zoneId, { name: `marker.${h.zone}`, type: 'TXT', ttl: 60, values: ['"here"'] });
    const records = await h.provider.listRecords('SUB.Example.com', never);
    expect(records.find((r) => r.type === 'TXT')?.values).toEqual(['here']);
    const err = await rejection(h.provider.listRecords('other.example.com.', never), 'DQ_ZONE_NOT_FOUND');
    expect(err.message).toContain('other.example.com.');
  });

  it('refuses to guess between two hosted zones of one name, and names both', async () => {
    const h = await start({ zone: false });
    const a = h.fake.createZone('twice.example.com.');
    const b = h.fake.createZone('twice.example.com.');
    const err = await rejection(h.provider.listRecords('twice.example.com.', never), 'DQ_PROVIDER_REJECTED');
    expect(err.message).toContain(a.id);
    expect(err.message).toContain(b.id);
    expect(err.message).toContain('hostedZoneIds');
  });

  it('uses a configured hosted zone id, checks it names the zone, and never creates a zone over a wrong one', async () => {
    const h = await start({ zone: false });
    const right = h.fake.createZone('conf.example.com.');
    h.fake.createZone('conf.example.com.');
    const other = h.fake.createZone('other.example.com.');
    const configured = new Route53Provider({
      config: {
        type: 'route53',
        name: 'r53',
        endpoint: h.fake.endpoint,
        hostedZoneIds: { 'conf.example.com.': `/hostedzone/${right.id}`, 'other.example.org.': other.id, 'gone.example.com.': 'ZNOSUCHZONE' },
        rateLimit: 1000,
        insyncPollIntervalMs: 5,
      },
      clock: systemClock,
      logger: silentLogger(),
      env: {},
    });
    try {
      expect((await configured.listRecords('conf.example.com.', never)).some((r) => r.type === 'SOA')).toBe(true);
      const mismatch = await rejection(configured.listRecords('other.example.org.', never), 'DQ_PROVIDER_REJECTED');
      expect(mismatch.message).toContain('other.example.com.');
      await rejection(configured.listRecords('gone.example.com.', never), 'DQ_PROVIDER_REJECTED');
      await rejection(configured.ensureZone('gone.example.com.', never), 'DQ_PROVIDER_REJECTED');
      expect(requestsOf(h.fake, 'CreateHostedZone')).toEqual([]);
      expect(requestsOf(h.fake, 'ListHostedZonesByName')).toEqual([]);
    } finally {
      await configured.close();
    }
  });

  it('creates a missing zone once, with a unique caller reference, and waits for it', async () => {
    const h = await start({ zone: false });
    await Promise.all([h.provider.ensureZone('new.example.com.', never), h.provider.ensureZone('new.example.com', never)]);
    await h.provider.ensureZone('new.example.com.', never);
    expect(requestsOf(h.fake, 'CreateHostedZone').map((r) => r.status)).toEqual([201]);
    const nameservers = await h.provider.nameservers('new.example.com.', never);
    expect(nameservers).toHaveLength(4);
    expect(h.provider.lastInsyncMs).toBeGreaterThanOrEqual(0);
  });
});

describe('route53 InvalidChangeBatch recovery', () => {
  it('"already exists": the create is sent again as UPSERT', async () => {
    const h = await start();
    h.fake.putRecordDirect(h.zone, { name: `x.${h.zone}`, type: 'A', ttl: 300, values: ['192.0.2.99'] });
    await h.provider.applyChanges(creates(h.zone, rs(`x.${h.zone}`, 'A', 300, ['192.0.2.1'])), never);
    expect(changeCalls(h)).toEqual(['400 InvalidChangeBatch', '200']);
    expect(h.fake.zoneRecords(h.zone).find((r) => r.name === `x.${h.zone}`)?.values).toEqual(['192.0.2.1']);
  });

  it('"not found" on a delete: the zone is re-read, the record set is already gone, nothing more is sent', async () => {
    const h = await start();
    const gone = rs(`gone.${h.zone}`, 'A', 300, ['192.0.2.5']);
    await h.provider.applyChanges(creates(h.zone, gone), never);
    await h.provider.listRecords(h.zone, never);
    await writeBehindOurBack(h.fake, h.zoneId, [{ Action: 'DELETE', ResourceRecordSet: { Name: gone.name, Type: 'A', TTL: 300, ResourceRecords: [{ Value: '192.0.2.5' }] } }]);
    h.fake.clearRequests();

    await h.provider.applyChanges({ zone: h.zone, creates: [], updates: [], deletes: [gone] }, never);
    expect(changeCalls(h)).toEqual(['400 InvalidChangeBatch']);
    expect(requestsOf(h.fake, 'ListResourceRecordSets').length).toBeGreaterThanOrEqual(1);
  });

  it('"values do not match" because Route53 spells the same TXT data otherwise: rebuilt from the fresh read and applied', async () => {
    const h = await start();
    const before = rs(`t.${h.zone}`, 'TXT', 300, ['abcdef']);
    await h.provider.applyChanges(creates(h.zone, before), never);
    await h.provider.listRecords(h.zone, never);
    h.fake.putRecordDirect(h.zone, { name: before.name, type: 'TXT', ttl: 300, values: ['"abc" "def"'] });
    h.fake.clearRequests();

    await h.provider.applyChanges({ zone: h.zone, creates: [], updates: [{ before, after: rs(before.name, 'TXT', 300, ['new']) }], deletes: [] }, never);
    expect(changeCalls(h)).toEqual(['400 InvalidChangeBatch', '200']);
    expect(h.fake.zoneRecords(h.zone).find((r) => r.name === before.name)?.values).toEqual(['"new"']);
  });

  it('"values do not match" because the result is already there: re-read, nothing more is sent', async () => {
    const h = await start();
    const before = rs(`u.${h.zone}`, 'A', 300, ['192.0.2.1']);
    const after = rs(`u.${h.zone}`, 'A', 300, ['192.0.2.2']);
    await h.provider.applyChanges(creates(h.zone, before), never);
    await h.provider.listRecords(h.zone, never);
    h.fake.putRecordDirect(h.zone, { name: after.name, type: 'A', ttl: 300, values: ['192.0.2.2'] });
    h.fake.clearRequests();

    await h.provider.applyChanges({ zone: h.zone, creates: [], updates: [{ before, after }], deletes: [] }, never);
    expect(changeCalls(h)).toEqual(['400 InvalidChangeBatch']);
  });

  it('"values do not match" with other data at Route53: DQ_PROVIDER_CONFLICT naming what it holds, nothing applied', async () => {
    const h = await start();
    const before = rs(`v.${h.zone}`, 'A', 300, ['192.0.2.1']);
    await h.provider.applyChanges(creates(h.zone, before), never);
    h.fake.putRecordDirect(h.zone, { name: before.name, type: 'A', ttl: 300, values: ['192.0.2.77'] });
    h.fake.clearRequests();

    const err = await rejection(
      h.provider.applyChanges(
        { zone: h.zone, creates: [rs(`extra.${h.zone}`, 'A', 300, ['192.0.2.3'])], updates: [{ before, after: rs(before.name, 'A', 300, ['192.0.2.2']) }], deletes: [] },
        never,
      ),
      'DQ_PROVIDER_CONFLICT',
    );
    expect(err.message).toContain('192.0.2.77');
    expect(changeCalls(h)).toEqual(['400 InvalidChangeBatch']);
    expect(h.fake.zoneRecords(h.zone).some((r) => r.name === `extra.${h.zone}`)).toBe(false);
  });

  it('any other reason is DQ_PROVIDER_REJECTED with Route53\'s words', async () => {
    const h = await start();
    await h.provider.applyChanges(creates(h.zone, rs(`c.${h.zone}`, 'A', 300, ['192.0.2.1'])), never);
    const err = await rejection(h.provider.applyChanges(creates(h.zone, rs(`c.${h.zone}`, 'CNAME', 300, ['edge.example.net.'])), never), 'DQ_PROVIDER_REJECTED');
    expect(err.message).toContain('is not permitted');
    expect(err.transient).toBe(false);
  });

  it('refuses an SOA change and a name outside the zone before sending anything', async () => {
    const h = await start();
    await rejection(h.provider.applyChanges(creates(h.zone, rs('www.elsewhere.net.', 'A', 300, ['192.0.2.1'])), never), 'DQ_PROVIDER_REJECTED');
    expect(changeCalls(h)).toEqual([]);
  });
});

describe('route53 round trips', () => {
  const long = Array.from({ length: 600 }, (_, i) => String.fromCharCode(65 + (i % 26))).join('');
  it.each([
    ['a wildcard', (zone: string) => rs(`*.wild.${zone}`, 'A', 300, ['192.0.2.60'])],
    ['a TXT value longer than 255 bytes', (zone: string) => rs(`long.${zone}`, 'TXT', 300, [long, 'short'])],
    ['TXT with quotes, backslashes and non-ASCII', (zone: string) => rs(`q.${zone}`, 'TXT', 300, ['say "hi" \\o/', 'café'])],
    ['mixed-case names and values', (zone: string) => rs(`MiXeD.${zone.toUpperCase()}`, 'CNAME', 300, ['Target.Example.NET.'])],
    ['MX, SRV and CAA', (zone: string) => rs(`_sip._tcp.${zone}`, 'SRV', 300, ['10 5 5060 Sip.Example.net.'])],
  ])('%s: written, listed, and the next plan is empty', async (_case, make) => {
    const h = await start();
    const input = make(h.zone);
    await h.provider.applyChanges(creates(h.zone, input), never);
    const desired = [normalizeRecordSet(input)];
    const listed = await h.provider.listRecords(h.zone, never);
    const { changes } = diffRecords(desired, listed, { zone: h.zone, managed: new Set(desired.map(keyOf)), unmanaged: 'keep' });
    expect(changes).toEqual({ zone: h.zone, creates: [], updates: [], deletes: [] });
    // And the delete that names it as listed is accepted by Route53 at once.
    h.fake.clearRequests();
    await h.provider.applyChanges({ zone: h.zone, creates: [], updates: [], deletes: desired }, never);
    expect(changeCalls(h)).toEqual(['200']);
  });
});
