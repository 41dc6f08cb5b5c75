import dnsPacket from 'dns-packet';
import type { Answer, Packet } from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { normalizeRecordSet } from '../../src/domain/record.js';
import type { RecordSet, RecordType } from '../../src/domain/record.js';
import type { ZoneSpec } from '../../src/domain/zone.js';
import { desiredZone } from '../../src/plan/desired.js';
import { nearestConfiguredParent } from '../../src/verify/delegation-check.js';
import { delegationFromReply, judgeDelegation, parentServerAnswer } from '../../src/verify/delegation.js';
import type { DelegationReply, ParentServerAnswer } from '../../src/verify/delegation.js';
import { desiredExpectations } from '../../src/plan/expectations.js';

const ZONE = 'child.example.test.';
const OURS = ['ns1.r53.example.', 'ns2.r53.example.', 'dns1.ns1.example.', 'dns2.ns1.example.'];

const ns = (name: string, host: string): Answer => ({ type: 'NS', name, ttl: 3600, class: 'IN', data: host });

function reply(sections: { answers?: Answer[]; authorities?: Answer[]; rcode?: number; aa?: boolean }): Packet {
  const flags = (sections.aa === true ? dnsPacket.AUTHORITATIVE_ANSWER : 0) | (sections.rcode ?? 0);
  const buf = dnsPacket.encode({
    type: 'response',
    id: 1,
    flags,
    questions: [{ name: 'child.example.test', type: 'NS', class: 'IN' }],
    answers: sections.answers ?? [],
    authorities: sections.authorities ?? [],
  });
  return dnsPacket.decode(buf);
}

describe('delegationFromReply', () => {
  it.each<[string, Packet, DelegationReply]>([
    [
      'a referral: NS in the authority section, AA clear',
      reply({ authorities: [ns('child.example.test', 'NS2.R53.example'), ns('child.example.test', 'ns1.r53.example')] }),
      { ok: true, nameservers: ['ns1.r53.example.', 'ns2.r53.example.'] },
    ],
    [
      'an authoritative answer from a server that serves the child too',
      reply({ aa: true, answers: [ns('child.example.test', 'dns1.ns1.example')] }),
      { ok: true, nameservers: ['dns1.ns1.example.'] },
    ],
    [
      'both sections, duplicates counted once',
      reply({ answers: [ns('child.example.test', 'a.example')], authorities: [ns('child.example.test', 'a.example'), ns('child.example.test', 'b.example')] }),
      { ok: true, nameservers: ['a.example.', 'b.example.'] },
    ],
    ['NS of another owner do not count', reply({ authorities: [ns('example.test', 'ns.parent.example')] }), { ok: true, nameservers: [] }],
    ['NXDOMAIN: no delegation at all', reply({ aa: true, rcode: 3 }), { ok: true, nameservers: [] }],
    ['REFUSED: not a server of the parent', reply({ rcode: 5 }), { ok: false, error: 'answered REFUSED' }],
    ['SERVFAIL', reply({ rcode: 2 }), { ok: false, error: 'answered SERVFAIL' }],
  ])('%s', (_label, packet, expected) => {
    expect(delegationFromReply(packet, ZONE)).toEqual(expected);
  });
});

describe('parentServerAnswer', () => {
  it('lists what is missing and what is extra, as FQDNs', () => {
    const answer = parentServerAnswer('a.parent.example', '127.0.0.1:53', { ok: true, nameservers: ['ns1.r53.example', 'ns2.r53.example', 'old.example.'] }, OURS);
    expect(answer).toEqual({
      host: 'a.parent.example.',
      address: '127.0.0.1:53',
      nameservers: ['ns1.r53.example.', 'ns2.r53.example.', 'old.example.'],
      error: null,
      missing: ['dns1.ns1.example.', 'dns2.ns1.example.'],
      extra: ['old.example.'],
    });
  });

  it('an error is no answer: nothing missing, nothing extra', () => {
    expect(parentServerAnswer('a.parent.example.', null, { ok: false, error: 'cannot find the address' }, OURS)).toEqual({
      host: 'a.parent.example.',
      address: null,
      nameservers: null,
      error: 'cannot find the address',
      missing: [],
      extra: [],
    });
  });
});

describe('judgeDelegation', () => {
  const server = (host: string, listed: readonly string[] | string): ParentServerAnswer =>
    parentServerAnswer(host, '127.0.0.1:5300', typeof listed === 'string' ? { ok: false, error: listed } : { ok: true, nameservers: [...listed] }, OURS);
  const judge = (servers: ParentServerAnswer[], expected: readonly string[] = OURS, problems: string[] = []) =>
    judgeDelegation({ zone: ZONE, parent: 'example.test.', source: 'config', expected, servers, problems });

  it.each([
    ['every parent server lists every name server', [server('p1.example.', OURS), server('p2.example.', [...OURS].reverse())], 'ok', [], []],
    ['an unreachable parent server does not count against it', [server('p1.example.', OURS), server('p2.example.', 'timeout')], 'ok', [], []],
    ['an extra server alone is reported, not a failure', [server('p1.example.', [...OURS, 'old.example.'])], 'ok', [], ['old.example.']],
    ['one provider left out by one parent server', [server('p1.example.', OURS), server('p2.example.', OURS.slice(0, 2))], 'incomplete', ['dns1.ns1.example.', 'dns2.ns1.example.'], []],
    ['no delegation at all', [server('p1.example.', [])], 'incomplete', [...OURS].sort(), []],
    ['no parent server answered', [server('p1.example.', 'timeout'), server('p2.example.', 'answered REFUSED')], 'unreachable', [], []],
    ['no parent server to ask', [], 'unreachable', [], []],
  ] as const)('%s -> %s', (_label, servers, status, missing, extra) => {
    const check = judge([...servers]);
    expect(check.status).toBe(status);
    expect(check.missing).toEqual(missing);
    expect(check.extra).toEqual(extra);
    expect(check.expected).toEqual([...OURS].sort());
    expect(check.message).not.toBe('');
  });

  it('names the missing servers and the parent server that left them out', () => {
    const check = judge([server('p1.example.', OURS), server('p2.example.', OURS.slice(0, 2))]);
    expect(check.message).toBe(
      'the delegation of child.example.test. in example.test. lacks dns1.ns1.example., dns2.ns1.example.: p2.example. (127.0.0.1:5300) leaves out dns1.ns1.example., dns2.ns1.example.',
    );
  });

  it('says why nothing answered', () => {
    const check = judge([server('p1.example.', 'no answer from 127.0.0.1:5300 within 2000 ms (asked twice)')], OURS, ['the name servers of example.test. at ns1 could not be read: boom']);
    expect(check.message).toContain('no server of the parent zone example.test. answered for child.example.test.');
    expect(check.message).toContain('p1.example. (127.0.0.1:5300): no answer from 127.0.0.1:5300 within 2000 ms');
    expect(check.message).toContain('could not be read: boom');
  });

  it('without our own name servers there is nothing to compare', () => {
    expect(judge([server('p1.example.', OURS)], []).status).toBe('not-checked');
  });

  it('is plain data', () => {
    const check = judge([server('p1.example.', OURS.slice(1))]);
    expect(JSON.parse(JSON.stringify(check))).toEqual(check);
  });
});

function zone(name: string, overrides: Partial<ZoneSpec> = {}): ZoneSpec {
  return { name, providers: ['p'], nameservers: 'sync', nameserverTtl: 3600, unmanaged: 'keep', drift: 'repair', maxChangeShare: 0.3, records: [], ...overrides };
}

describe('nearestConfiguredParent', () => {
  const zones = [zone('test.'), zone('example.test.'), zone('child.example.test.'), zone('other.test.')];
  it.each([
    ['child.example.test.', 'example.test.'],
    ['deep.child.example.test.', 'child.example.test.'],
    ['Example.Test', 'test.'],
    ['test.', undefined],
    ['example.org.', undefined],
    // A suffix of the name's text that is not a whole label is no parent.
    ['xexample.test.', 'test.'],
  ])('%s -> %s', (name, parent) => {
    expect(nearestConfiguredParent(name, zones)?.name).toBe(parent);
  });
});

describe('desiredExpectations', () => {
  const rs = (name: string, type: RecordType, values: string[], ttl = 300): RecordSet => normalizeRecordSet({ name, type, ttl, values });
  const spec = zone('example.test.', {
    nameservers: 'manual',
    records: [
      { kind: 'static', name: 'www.example.test.', type: 'A', ttl: 300, values: ['192.0.2.1'] },
      { kind: 'static', name: 'child.example.test.', type: 'NS', ttl: 3600, values: ['ns1.lab-a.example.', 'ns1.lab-b.example.'] },
      {
        kind: 'failover',
        name: 'api.example.test.',
        type: 'A',
        ttl: 30,
        failover: {
          check: { protocol: 'tcp', port: 443, intervalMs: 10_000, timeoutMs: 2_000, fall: 3, rise: 3 },
          pools: [{ name: 'only', values: ['192.0.2.10'] }],
          whenAllDown: 'fail-closed',
          holdDownMs: 0,
          maxWritesPerHour: 12,
        },
      },
    ],
  });
  const down = new Map([
    ['api.example.test. A 192.0.2.10', { endpointId: 'api.example.test. A 192.0.2.10', state: 'down' as const, since: 0, reason: 'down', insufficientVantage: false, regions: [] }],
  ]);
  const desired = desiredZone({ zone: spec, health: down, overrides: [], lastServed: new Map(), recentWrites: new Map(), now: 1 });

  it('asks the listed apex NS first, the desired records in order, a delegation as a referral, and the fail-closed record as absent', () => {
    const listedNs = rs('example.test.', 'NS', ['ns.parent.example.'], 172800);
    const questions = desiredExpectations(spec, desired, [listedNs, rs('www.example.test.', 'A', ['192.0.2.99'])]);
    expect(questions.map((q) => [q.name, q.type, q.expected === null ? null : q.expected.values, q.referral ?? false])).toEqual([
      ['example.test.', 'NS', ['ns.parent.example.'], false],
      ['child.example.test.', 'NS', ['ns1.lab-a.example.', 'ns1.lab-b.example.'], true],
      ['www.example.test.', 'A', ['192.0.2.1'], false],
      ['api.example.test.', 'A', null, false],
    ]);
  });

  it('with nothing listed asks the apex NS only when desired holds it', () => {
    expect(desiredExpectations(spec, desired, []).map((q) => `${q.name} ${q.type}`)).toEqual(['child.example.test. NS', 'www.example.test. A', 'api.example.test. A']);
    const synced = zone('example.test.', { records: [{ kind: 'static', name: 'www.example.test.', type: 'A', ttl: 300, values: ['192.0.2.1'] }] });
    const syncedDesired = desiredZone({ zone: synced, health: new Map(), overrides: [], lastServed: new Map(), recentWrites: new Map(), apexNameservers: ['b.example.', 'a.example.'], now: 1 });
    const [apex, ...rest] = desiredExpectations(synced, syncedDesired, []);
    expect(apex).toMatchObject({ name: 'example.test.', type: 'NS', expected: { values: ['a.example.', 'b.example.'], ttl: 3600 } });
    expect(apex?.referral).toBeUndefined();
    expect(rest.map((q) => `${q.name} ${q.type}`)).toEqual(['www.example.test. A']);
  });
});
