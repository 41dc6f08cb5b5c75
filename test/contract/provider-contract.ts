import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChangeSet } from '../../src/domain/change-set.js';
import { compareRecordSets, fqdn, keyOf, normalizeRecordSet } from '../../src/domain/record.js';
import type { RecordSet, RecordType } from '../../src/domain/record.js';
import { ProviderError } from '../../src/lib/errors.js';
import type { ErrorCode } from '../../src/lib/errors.js';
import type { DnsProvider } from '../../src/providers/provider.js';

/**
 * The behaviour every DnsProvider must show, whatever is behind it (a state file, a fake Route53,
 * a fake NS1). Register it from a test file with a factory that gives a fresh provider and a zone
 * name the provider may create; the factory's cleanup runs after each test.
 */

export interface ContractSubject {
  readonly provider: DnsProvider;
  /** A zone the test may create and change, e.g. "contract.example.com." */
  readonly zone: string;
  cleanup(): Promise<void>;
}

const never = new AbortController().signal;

function rs(name: string, type: RecordType, ttl: number, values: string[]): RecordSet {
  return { name, type, ttl, values };
}

function creates(zone: string, ...records: RecordSet[]): ChangeSet {
  return { zone, creates: records, updates: [], deletes: [] };
}

function updates(zone: string, ...pairs: [RecordSet, RecordSet][]): ChangeSet {
  return { zone, creates: [], updates: pairs.map(([before, after]) => ({ before, after })), deletes: [] };
}

function deletes(zone: string, ...records: RecordSet[]): ChangeSet {
  return { zone, creates: [], updates: [], deletes: records };
}

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => new Error('expected a rejection, but the call succeeded'),
    (err: unknown) => err,
  );
}

async function expectProviderError(promise: Promise<unknown>, code: ErrorCode): Promise<ProviderError> {
  const err = await errorOf(promise);
  expect(err).toBeInstanceOf(ProviderError);
  const providerError = err as ProviderError;
  expect(providerError.code, providerError.message).toBe(code);
  return providerError;
}

function withoutSoa(records: readonly RecordSet[]): RecordSet[] {
  return records.filter((r) => r.type !== 'SOA');
}

function find(records: readonly RecordSet[], record: Pick<RecordSet, 'name' | 'type'>): RecordSet | undefined {
  const key = keyOf({ name: fqdn(record.name), type: record.type });
  return records.find((r) => keyOf(r) === key);
}

/** A host-name FQDN: lowercase labels of letters, digits and hyphens, with the trailing dot. */
const FQDN = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+$/;

export function runProviderContract(name: string, makeProvider: () => Promise<ContractSubject>): void {
  describe(`provider contract: ${name}`, () => {
    let subject: ContractSubject;
    let provider: DnsProvider;
    let zone: string;

    beforeEach(async () => {
      subject = await makeProvider();
      provider = subject.provider;
      zone = fqdn(subject.zone);
    });

    afterEach(async () => {
      await subject.cleanup();
    });

    const list = (): Promise<RecordSet[]> => provider.listRecords(zone, never);
    const at = (label: string): string => `${label}.${zone}`;

    /** Record sets of several types in two versions, for the create/update/delete round-trip. */
    const versions = (): { type: RecordType; v1: RecordSet; v2: RecordSet }[] => [
      { type: 'A', v1: rs(at('a'), 'A', 300, ['192.0.2.1', '192.0.2.2']), v2: rs(at('a'), 'A', 60, ['198.51.100.7']) },
      { type: 'AAAA', v1: rs(at('aaaa'), 'AAAA', 300, ['2001:db8::1']), v2: rs(at('aaaa'), 'AAAA', 300, ['2001:db8::1', '2001:db8:0:0:0:0:0:2']) },
      { type: 'CNAME', v1: rs(at('alias'), 'CNAME', 300, ['edge.example.net.']), v2: rs(at('alias'), 'CNAME', 120, ['edge2.example.net.']) },
      { type: 'TXT', v1: rs(at('txt'), 'TXT', 300, ['v=spf1 -all']), v2: rs(at('txt'), 'TXT', 300, ['v=spf1 include:example.net -all', 'second']) },
      { type: 'MX', v1: rs(zone, 'MX', 300, ['10 mx1.example.net.']), v2: rs(zone, 'MX', 300, ['10 mx1.example.net.', '20 mx2.example.net.']) },
      { type: 'SRV', v1: rs(at('_sip._tcp'), 'SRV', 300, ['10 5 5060 sip.example.net.']), v2: rs(at('_sip._tcp'), 'SRV', 300, ['10 5 5061 sip.example.net.']) },
      { type: 'CAA', v1: rs(zone, 'CAA', 300, ['0 issue "letsencrypt.org"']), v2: rs(zone, 'CAA', 300, ['0 issue "letsencrypt.org"', '0 iodef "mailto:sec@example.com"']) },
    ];

    it('ensureZone creates the zone with an apex SOA and NS, and a second call changes nothing', async () => {
      await provider.ensureZone(zone, never);
      const first = await list();
      const soa = first.filter((r) => r.type === 'SOA');
      const ns = find(first, { name: zone, type: 'NS' });
      expect(soa).toHaveLength(1);
      expect(soa[0]?.name).toBe(zone);
      expect(soa[0]?.values).toHaveLength(1);
      expect(ns?.values.length).toBeGreaterThan(0);

      await provider.ensureZone(zone, never);
      expect(await list()).toEqual(first);
    });

    it('listRecords returns normalised record sets, and names a missing zone DQ_ZONE_NOT_FOUND', async () => {
      await provider.ensureZone(zone, never);
      const records = await list();
      for (const record of records) expect(record).toEqual(normalizeRecordSet(record));
      await expectProviderError(provider.listRecords('dq-contract-absent.invalid.', never), 'DQ_ZONE_NOT_FOUND');
    });

    const ROUND_TRIP_TYPES: RecordType[] = ['A', 'AAAA', 'CNAME', 'TXT', 'MX', 'SRV', 'CAA'];
    it.each(ROUND_TRIP_TYPES)('%s: create, update and delete round-trip through listRecords', async (type) => {
      const version = versions().find((v) => v.type === type);
      if (version === undefined) throw new Error(`no fixture for ${type}`);
      const { v1, v2 } = version;
      await provider.ensureZone(zone, never);
      const baseline = withoutSoa(await list());

      await provider.applyChanges(creates(zone, v1), never);
      expect(find(await list(), v1)).toEqual(normalizeRecordSet(v1));

      await provider.applyChanges(updates(zone, [v1, v2]), never);
      expect(find(await list(), v2)).toEqual(normalizeRecordSet(v2));

      await provider.applyChanges(deletes(zone, v2), never);
      const after = await list();
      expect(find(after, v2)).toBeUndefined();
      expect(withoutSoa(after)).toEqual(baseline);
    });

    it('applying a change set a second time is harmless', async () => {
      await provider.ensureZone(zone, never);
      const all = versions();
      const created = creates(zone, ...all.map((v) => v.v1));
      await provider.applyChanges(created, never);
      const afterCreate = await list();
      await provider.applyChanges(created, never);
      expect(withoutSoa(await list())).toEqual(withoutSoa(afterCreate));

      const updated = updates(zone, ...all.map((v): [RecordSet, RecordSet] => [v.v1, v.v2]));
      await provider.applyChanges(updated, never);
      const afterUpdate = await list();
      await provider.applyChanges(updated, never);
      expect(withoutSoa(await list())).toEqual(withoutSoa(afterUpdate));
      for (const { v2 } of all) expect(find(afterUpdate, v2)).toEqual(normalizeRecordSet(v2));

      const deleted = deletes(zone, ...all.map((v) => v.v2));
      await provider.applyChanges(deleted, never);
      const afterDelete = await list();
      await provider.applyChanges(deleted, never);
      expect(withoutSoa(await list())).toEqual(withoutSoa(afterDelete));
      for (const { v2 } of all) expect(find(afterDelete, v2)).toBeUndefined();
    });

    const held = (): RecordSet => rs(at('held'), 'A', 300, ['192.0.2.10']);
    it.each([
      ['update with other values', (): ChangeSet => updates(zone, [rs(at('held'), 'A', 300, ['192.0.2.99']), rs(at('held'), 'A', 300, ['192.0.2.11'])])],
      ['update with another TTL', (): ChangeSet => updates(zone, [rs(at('held'), 'A', 30, ['192.0.2.10']), rs(at('held'), 'A', 300, ['192.0.2.11'])])],
      ['update of a record set that does not exist', (): ChangeSet => updates(zone, [rs(at('nothing'), 'A', 300, ['192.0.2.1']), rs(at('nothing'), 'A', 300, ['192.0.2.2'])])],
      ['delete with other values', (): ChangeSet => deletes(zone, rs(at('held'), 'A', 300, ['192.0.2.10', '192.0.2.12']))],
      ['delete with another TTL', (): ChangeSet => deletes(zone, rs(at('held'), 'A', 301, ['192.0.2.10']))],
    ])('%s is DQ_PROVIDER_CONFLICT and changes nothing', async (_case, changeSet) => {
      await provider.ensureZone(zone, never);
      await provider.applyChanges(creates(zone, held()), never);
      const before = await list();
      await expectProviderError(provider.applyChanges(changeSet(), never), 'DQ_PROVIDER_CONFLICT');
      expect(await list()).toEqual(before);
    });

    it('with atomicBatch, a batch with one conflicting change leaves nothing applied', async (ctx) => {
      if (!provider.capabilities.atomicBatch) {
        ctx.skip();
        return;
      }
      await provider.ensureZone(zone, never);
      const keep = rs(at('keep'), 'A', 300, ['192.0.2.20']);
      const drop = rs(at('drop'), 'TXT', 300, ['to be deleted']);
      const stale = rs(at('stale'), 'A', 300, ['192.0.2.30']);
      await provider.applyChanges(creates(zone, keep, drop, stale), never);
      const before = await list();

      const batch: ChangeSet = {
        zone,
        creates: [rs(at('new1'), 'A', 300, ['192.0.2.40']), rs(at('new2'), 'TXT', 300, ['fresh'])],
        updates: [
          { before: keep, after: rs(at('keep'), 'A', 300, ['192.0.2.21']) },
          // Conflict: the zone holds 192.0.2.30, not .31.
          { before: rs(at('stale'), 'A', 300, ['192.0.2.31']), after: rs(at('stale'), 'A', 300, ['192.0.2.32']) },
        ],
        deletes: [drop],
      };
      await expectProviderError(provider.applyChanges(batch, never), 'DQ_PROVIDER_CONFLICT');
      expect(await list()).toEqual(before);
    });

    it('the apex SOA cannot be changed or deleted (DQ_PROVIDER_REJECTED, nothing applied)', async () => {
      await provider.ensureZone(zone, never);
      const before = await list();
      const soa = before.find((r) => r.type === 'SOA');
      expect(soa).toBeDefined();
      if (soa === undefined) return;
      const changedSoa = { ...soa, ttl: soa.ttl + 1 };
      const other = rs(at('alongside'), 'A', 300, ['192.0.2.50']);

      await expectProviderError(provider.applyChanges({ zone, creates: [other], updates: [{ before: soa, after: changedSoa }], deletes: [] }, never), 'DQ_PROVIDER_REJECTED');
      await expectProviderError(provider.applyChanges({ zone, creates: [other], updates: [], deletes: [soa] }, never), 'DQ_PROVIDER_REJECTED');
      expect(await list()).toEqual(before);
    });

    const longText = Array.from({ length: 700 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
    it.each([
      ['a TXT value longer than 255 bytes', (): RecordSet => rs(at('long'), 'TXT', 300, [longText, 'short'])],
      ['mixed-case names and values', (): RecordSet => rs(`MiXeD.${zone.toUpperCase()}`, 'CNAME', 300, ['Target.Example.NET.'])],
      ['a wildcard name', (): RecordSet => rs(`*.wild.${zone}`, 'A', 300, ['192.0.2.60'])],
      ['an AAAA value in a long spelling', (): RecordSet => rs(at('v6'), 'AAAA', 300, ['2001:0DB8:0000:0000:0000:0000:0000:0001'])],
    ])('%s round-trips', async (_case, record) => {
      await provider.ensureZone(zone, never);
      const input = record();
      await provider.applyChanges(creates(zone, input), never);
      const listed = find(await list(), input);
      expect(listed).toEqual(normalizeRecordSet(input));

      await provider.applyChanges(deletes(zone, input), never);
      expect(find(await list(), input)).toBeUndefined();
    });

    it('listRecords holds one record set per name and type', async () => {
      await provider.ensureZone(zone, never);
      const all = versions().map((v) => v.v1);
      await provider.applyChanges(creates(zone, ...all), never);
      const listed = await list();
      for (const record of all) expect(find(listed, record)).toEqual(normalizeRecordSet(record));
      const keys = listed.map(keyOf);
      expect(new Set(keys).size).toBe(keys.length);
      expect([...(await list())].sort(compareRecordSets)).toEqual([...listed].sort(compareRecordSets));
    });

    it('nameservers() names the provider’s own servers as FQDNs', async () => {
      await provider.ensureZone(zone, never);
      const servers = await provider.nameservers(zone, never);
      expect(servers.length).toBeGreaterThan(0);
      for (const server of servers) expect(server).toMatch(FQDN);
    });
  });
}
