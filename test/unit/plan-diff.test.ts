import { describe, expect, it } from 'vitest';
import type { RecordSet } from '../../src/domain/record.js';
import { diffRecords } from '../../src/plan/diff.js';
import { guardChangeSet } from '../../src/plan/guardrails.js';
import type { GuardrailOptions } from '../../src/plan/guardrails.js';

const ZONE = 'example.com.';
const soa: RecordSet = { name: ZONE, type: 'SOA', ttl: 900, values: ['ns1.a.net. hostmaster.example.com. 5 7200 3600 1209600 300'] };
const apexNsA: RecordSet = { name: ZONE, type: 'NS', ttl: 3600, values: ['ns1.a.net.'] };
const apexNsAB: RecordSet = { name: ZONE, type: 'NS', ttl: 3600, values: ['ns1.a.net.', 'ns1.b.net.'] };
const apiPrimary: RecordSet = { name: `api.${ZONE}`, type: 'A', ttl: 30, values: ['192.0.2.10', '192.0.2.11'] };
const apiSecondary: RecordSet = { name: `api.${ZONE}`, type: 'A', ttl: 30, values: ['198.51.100.20'] };
const wwwCname: RecordSet = { name: `www.${ZONE}`, type: 'CNAME', ttl: 300, values: ['edge.example.net.'] };
const strayTxt: RecordSet = { name: `stray.${ZONE}`, type: 'TXT', ttl: 300, values: ['left by someone'] };

const managedBase = new Set(['api.example.com. A', 'www.example.com. CNAME']);

interface Case {
  readonly name: string;
  readonly desired: RecordSet[];
  readonly current: RecordSet[];
  readonly managed?: Set<string>;
  readonly unmanaged?: 'keep' | 'delete';
  readonly creates: string[];
  readonly updates: string[];
  readonly deletes: string[];
  readonly kept?: string[];
}

const id = (rs: RecordSet): string => `${rs.name} ${rs.type}`;

const cases: Case[] = [
  { name: 'empty provider: everything is created', desired: [wwwCname, apiPrimary], current: [soa, apexNsA], creates: ['api.example.com. A', 'www.example.com. CNAME'], updates: [], deletes: [] },
  { name: 'identical: nothing to do (idempotent)', desired: [apiPrimary, wwwCname], current: [soa, apexNsA, wwwCname, apiPrimary], creates: [], updates: [], deletes: [] },
  { name: 'value order does not matter', desired: [{ ...apiPrimary, values: ['192.0.2.11', '192.0.2.10'] }], current: [apiPrimary], creates: [], updates: [], deletes: [] },
  { name: 'changed values: update', desired: [apiSecondary, wwwCname], current: [apiPrimary, wwwCname], creates: [], updates: ['api.example.com. A'], deletes: [] },
  { name: 'changed ttl: update', desired: [{ ...wwwCname, ttl: 60 }], current: [wwwCname], creates: [], updates: ['www.example.com. CNAME'], deletes: [] },
  { name: 'managed record absent from desired (fail-closed): delete', desired: [wwwCname], current: [wwwCname, apiPrimary], creates: [], updates: [], deletes: ['api.example.com. A'] },
  { name: 'unmanaged record kept and reported by default', desired: [wwwCname], current: [wwwCname, strayTxt], managed: new Set(['www.example.com. CNAME']), creates: [], updates: [], deletes: [], kept: ['stray.example.com. TXT'] },
  { name: 'unmanaged record deleted under unmanaged: delete', desired: [wwwCname], current: [wwwCname, strayTxt], managed: new Set(['www.example.com. CNAME']), unmanaged: 'delete', creates: [], updates: [], deletes: ['stray.example.com. TXT'] },
  { name: 'SOA and unmanaged apex NS are never touched, even under delete', desired: [wwwCname], current: [soa, apexNsA, wwwCname], managed: new Set(['www.example.com. CNAME']), unmanaged: 'delete', creates: [], updates: [], deletes: [] },
  { name: 'managed apex NS is updated', desired: [apexNsAB], current: [soa, apexNsA], managed: new Set(['example.com. NS']), creates: [], updates: ['example.com. NS'], deletes: [] },
];

describe('diffRecords', () => {
  it.each(cases)('$name', (c) => {
    const { changes, unmanagedKept } = diffRecords(c.desired, c.current, { zone: ZONE, managed: c.managed ?? managedBase, unmanaged: c.unmanaged ?? 'keep' });
    expect(changes.creates.map(id)).toEqual(c.creates);
    expect(changes.updates.map((u) => id(u.after))).toEqual(c.updates);
    expect(changes.deletes.map(id)).toEqual(c.deletes);
    expect(unmanagedKept.map(id)).toEqual(c.kept ?? []);
    for (const u of changes.updates) expect(c.current).toContainEqual(u.before);
  });

  it('is deterministic whatever the input order', () => {
    const desired = [wwwCname, apiPrimary, { ...strayTxt, name: `a.${ZONE}` }];
    const forward = diffRecords(desired, [soa], { zone: ZONE, managed: managedBase, unmanaged: 'keep' });
    const backward = diffRecords([...desired].reverse(), [soa], { zone: ZONE, managed: managedBase, unmanaged: 'keep' });
    expect(JSON.stringify(backward.changes)).toBe(JSON.stringify(forward.changes));
    expect(forward.changes.creates.map(id)).toEqual(['a.example.com. TXT', 'api.example.com. A', 'www.example.com. CNAME']);
  });
});

describe('guardrails', () => {
  const many: RecordSet[] = Array.from({ length: 20 }, (_, i) => ({ name: `h${String(i).padStart(2, '0')}.${ZONE}`, type: 'A' as const, ttl: 300, values: [`192.0.2.${i + 1}`] }));
  const owners = { known: new Map([['a', ['ns1.a.net.']], ['b', ['ns1.b.net.']]]), unknown: [] };
  const options = (over: Partial<GuardrailOptions> = {}): GuardrailOptions => ({ maxChangeShare: 0.3, minRecordsForShare: 10, decided: new Set(), ownNameservers: owners, force: false, ...over });

  it.each([
    { name: 'small change is safe', deletes: 2, healthDriven: 0, force: false, blocked: [] },
    { name: 'deleting 80% is refused', deletes: 16, healthDriven: 0, force: false, blocked: ['too-much-change'] },
    { name: 'deleting 80% with --force passes', deletes: 16, healthDriven: 0, force: true, blocked: [] },
    { name: 'health-driven changes do not count', deletes: 16, healthDriven: 16, force: false, blocked: [] },
  ])('$name', ({ deletes, healthDriven, force, blocked }) => {
    const changes = { zone: ZONE, creates: [], updates: [], deletes: many.slice(0, deletes) };
    const { allowed, refused } = guardChangeSet(changes, [soa, ...many], options({ decided: new Set(many.slice(0, healthDriven).map(id)), force }));
    expect(refused.map((v) => v.rule)).toEqual(blocked);
    // What is refused is held back, and only that.
    expect(allowed.deletes).toHaveLength(blocked.length === 0 ? deletes : 0);
  });

  it('holds back only the share that counts: failover changes and creates of the same pass go out', () => {
    const failover = { before: apiPrimary, after: apiSecondary };
    const changes = { zone: ZONE, creates: [wwwCname], updates: [failover], deletes: many.slice(0, 16) };
    const { allowed, refused } = guardChangeSet(changes, [soa, apiPrimary, ...many], options({ decided: new Set([id(apiPrimary)]) }));
    expect(refused).toEqual([expect.objectContaining({ rule: 'too-much-change', forceable: true, records: many.slice(0, 16).map(id) })]);
    expect(refused[0]?.message).toContain('would update or delete 16 of 21 record sets');
    expect(allowed).toEqual({ zone: ZONE, creates: [wwwCname], updates: [failover], deletes: [] });
  });

  it('refuses an empty record set even with --force, and only that record set', () => {
    const { allowed, refused } = guardChangeSet({ zone: ZONE, creates: [{ ...apiPrimary, values: [] }, wwwCname], updates: [], deletes: [] }, [], options({ force: true }));
    expect(refused.map((v) => [v.rule, v.forceable, v.records])).toEqual([['empty-record-set', false, ['api.example.com. A']]]);
    expect(allowed.creates).toEqual([wwwCname]);
  });

  it('removing a provider\'s own apex name server needs --force; adding one does not', () => {
    const add = guardChangeSet({ zone: ZONE, creates: [], updates: [{ before: apexNsA, after: apexNsAB }], deletes: [] }, [apexNsA], options());
    expect(add.refused).toEqual([]);
    const removal = { zone: ZONE, creates: [], updates: [{ before: apexNsAB, after: apexNsA }], deletes: [] };
    const remove = guardChangeSet(removal, [apexNsAB], options());
    expect(remove.refused.map((v) => v.rule)).toEqual(['nameserver-removal']);
    expect(remove.refused[0]?.message).toContain("ns1.b.net. (b's own)");
    expect(remove.allowed.updates).toEqual([]);
    expect(guardChangeSet(removal, [apexNsAB], options({ force: true })).refused).toEqual([]);
  });

  it('takes a foreign apex NS entry out without --force, and keeps own servers while it does', () => {
    const foreign = { ...apexNsAB, values: ['ns.evil.example.', 'ns1.a.net.', 'ns1.b.net.'] };
    const repair = guardChangeSet({ zone: ZONE, creates: [], updates: [{ before: foreign, after: apexNsAB }], deletes: [] }, [foreign], options());
    expect(repair.refused).toEqual([]);
    expect(repair.allowed.updates).toEqual([{ before: foreign, after: apexNsAB }]);

    // Asked to take out both the foreign entry and b's own server: the foreign one goes, b's stays.
    const both = guardChangeSet({ zone: ZONE, creates: [], updates: [{ before: foreign, after: apexNsA }], deletes: [] }, [foreign], options());
    expect(both.allowed.updates).toEqual([{ before: foreign, after: apexNsAB }]);
    expect(both.refused).toEqual([expect.objectContaining({ rule: 'nameserver-removal', records: ['example.com. NS'], changes: { zone: ZONE, creates: [], updates: [{ before: apexNsAB, after: apexNsA }], deletes: [] } })]);
    expect(both.refused[0]?.message).not.toContain('ns.evil.example.');
  });

  it('while some provider\'s own name servers are unknown, any removal from the apex NS is held back', () => {
    const foreign = { ...apexNsAB, values: ['ns.evil.example.', 'ns1.a.net.', 'ns1.b.net.'] };
    const { allowed, refused } = guardChangeSet({ zone: ZONE, creates: [], updates: [{ before: foreign, after: apexNsAB }], deletes: [] }, [foreign], options({ ownNameservers: { known: new Map([['a', ['ns1.a.net.']]]), unknown: ['b'] } }));
    expect(refused.map((v) => v.rule)).toEqual(['nameserver-removal']);
    expect(refused[0]?.message).toContain('the own name servers of b are not known');
    expect(allowed.updates).toEqual([]);
  });
});
