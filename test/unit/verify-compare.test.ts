import dnsPacket from 'dns-packet';
import type { Answer, Packet } from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { normalizeRecordSet } from '../../src/domain/record.js';
import type { RecordSet, RecordType } from '../../src/domain/record.js';
import { compareAnswer, servedAnswer } from '../../src/verify/compare.js';
import type { DifferenceKind, Expectation } from '../../src/verify/compare.js';
import { concurrencyLimit } from '../../src/verify/limit.js';

const RCODES = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;

/** A reply as it comes off the wire: encoded and decoded again, so answer data has its decoded shape. */
function reply(answers: Answer[], options: { rcode?: keyof typeof RCODES; aa?: boolean } = {}): Packet {
  const flags = dnsPacket.RECURSION_DESIRED | (options.aa === false ? 0 : dnsPacket.AUTHORITATIVE_ANSWER) | RCODES[options.rcode ?? 'NOERROR'];
  const buf = dnsPacket.encode({ type: 'response', id: 7, flags, questions: [{ name: 'q.example.com', type: 'A', class: 'IN' }], answers });
  return dnsPacket.decode(buf);
}

const set = (name: string, type: RecordType, ttl: number, values: string[]): RecordSet => normalizeRecordSet({ name, type, ttl, values });
const expect_ = (rs: RecordSet): Expectation => ({ name: rs.name, type: rs.type, expected: rs });
const absent = (name: string, type: RecordType): Expectation => ({ name, type, expected: null });

const a = (name: string, ip: string, ttl = 300): Answer => ({ type: 'A', name, ttl, class: 'IN', data: ip });

interface Case {
  readonly label: string;
  readonly expectation: Expectation;
  readonly packet: Packet;
  readonly kinds: readonly DifferenceKind[];
}

const apiA = set('api.example.com.', 'A', 300, ['192.0.2.10', '192.0.2.11']);

const cases: Case[] = [
  { label: 'same values, same TTL, any order', expectation: expect_(apiA), packet: reply([a('api.example.com', '192.0.2.11'), a('api.example.com', '192.0.2.10')]), kinds: [] },
  { label: 'owner name in another case', expectation: expect_(apiA), packet: reply([a('API.Example.COM', '192.0.2.11'), a('api.example.com', '192.0.2.10')]), kinds: [] },
  { label: 'one value lacking', expectation: expect_(apiA), packet: reply([a('api.example.com', '192.0.2.10')]), kinds: ['values'] },
  { label: 'one value extra', expectation: expect_(apiA), packet: reply([a('api.example.com', '192.0.2.10'), a('api.example.com', '192.0.2.11'), a('api.example.com', '192.0.2.12')]), kinds: ['values'] },
  { label: 'TTL differs', expectation: expect_(apiA), packet: reply([a('api.example.com', '192.0.2.10', 60), a('api.example.com', '192.0.2.11', 60)]), kinds: ['ttl'] },
  { label: 'values and TTL differ', expectation: expect_(apiA), packet: reply([a('api.example.com', '198.51.100.1', 60)]), kinds: ['values', 'ttl'] },
  { label: 'NXDOMAIN', expectation: expect_(apiA), packet: reply([], { rcode: 'NXDOMAIN' }), kinds: ['missing'] },
  { label: 'NODATA', expectation: expect_(apiA), packet: reply([]), kinds: ['missing'] },
  {
    label: 'answers for a CNAME target do not count as the name itself',
    expectation: expect_(apiA),
    packet: reply([{ type: 'CNAME', name: 'api.example.com', ttl: 300, class: 'IN', data: 'edge.example.net' }, a('edge.example.net', '192.0.2.10')]),
    kinds: ['missing'],
  },
  { label: 'SERVFAIL', expectation: expect_(apiA), packet: reply([], { rcode: 'SERVFAIL' }), kinds: ['rcode'] },
  { label: 'REFUSED (zone not served there)', expectation: expect_(apiA), packet: reply([], { rcode: 'REFUSED' }), kinds: ['rcode'] },
  { label: 'right data without AA', expectation: expect_(apiA), packet: reply([a('api.example.com', '192.0.2.10'), a('api.example.com', '192.0.2.11')], { aa: false }), kinds: ['not-authoritative'] },
  { label: 'absent and NXDOMAIN', expectation: absent('gone.example.com.', 'A'), packet: reply([], { rcode: 'NXDOMAIN' }), kinds: [] },
  { label: 'absent and NODATA', expectation: absent('gone.example.com.', 'A'), packet: reply([]), kinds: [] },
  { label: 'absent but served', expectation: absent('gone.example.com.', 'A'), packet: reply([a('gone.example.com', '192.0.2.1')]), kinds: ['present'] },
  {
    label: 'CNAME compared as FQDN, case-insensitively',
    expectation: expect_(set('www.example.com.', 'CNAME', 300, ['Edge.Example.net.'])),
    packet: reply([{ type: 'CNAME', name: 'www.example.com', ttl: 300, class: 'IN', data: 'edge.example.NET' }]),
    kinds: [],
  },
  {
    label: 'MX in presentation form',
    expectation: expect_(set('example.com.', 'MX', 300, ['10 mx1.example.net.', '20 mx2.example.net.'])),
    packet: reply([
      { type: 'MX', name: 'example.com', ttl: 300, class: 'IN', data: { preference: 20, exchange: 'mx2.example.net' } },
      { type: 'MX', name: 'example.com', ttl: 300, class: 'IN', data: { preference: 10, exchange: 'mx1.example.net' } },
    ]),
    kinds: [],
  },
  {
    label: 'MX preference differs',
    expectation: expect_(set('example.com.', 'MX', 300, ['10 mx1.example.net.'])),
    packet: reply([{ type: 'MX', name: 'example.com', ttl: 300, class: 'IN', data: { preference: 30, exchange: 'mx1.example.net' } }]),
    kinds: ['values'],
  },
  {
    label: 'TXT split in 255-byte strings',
    expectation: expect_(set('example.com.', 'TXT', 300, ['x'.repeat(300)])),
    packet: reply([{ type: 'TXT', name: 'example.com', ttl: 300, class: 'IN', data: ['x'.repeat(255), 'x'.repeat(45)] }]),
    kinds: [],
  },
  {
    label: 'AAAA in another spelling',
    expectation: expect_(set('v6.example.com.', 'AAAA', 300, ['2001:db8::1'])),
    packet: reply([{ type: 'AAAA', name: 'v6.example.com', ttl: 300, class: 'IN', data: '2001:0db8:0000:0000:0000:0000:0000:0001' }]),
    kinds: [],
  },
  {
    label: 'SRV port differs',
    expectation: expect_(set('_sip._tcp.example.com.', 'SRV', 300, ['10 5 5060 sip.example.net.'])),
    packet: reply([{ type: 'SRV', name: '_sip._tcp.example.com', ttl: 300, class: 'IN', data: { priority: 10, weight: 5, port: 5061, target: 'sip.example.net' } }]),
    kinds: ['values'],
  },
  {
    label: 'apex NS missing one name server',
    expectation: expect_(set('example.com.', 'NS', 3600, ['ns1.a.example.', 'ns2.b.example.'])),
    packet: reply([{ type: 'NS', name: 'example.com', ttl: 3600, class: 'IN', data: 'ns1.a.example' }]),
    kinds: ['values'],
  },
];

describe('compareAnswer', () => {
  it.each(cases)('$label', ({ expectation, packet, kinds }) => {
    const differences = compareAnswer(expectation, packet);
    expect(differences.map((d) => d.kind)).toEqual(kinds);
    for (const d of differences) {
      expect(d.name).toBe(expectation.name);
      expect(d.type).toBe(expectation.type);
      expect(d.message).not.toBe('');
    }
  });

  it('names what was expected and what was served', () => {
    const [difference] = compareAnswer(expect_(apiA), reply([a('api.example.com', '192.0.2.10'), a('api.example.com', '198.51.100.7')]));
    expect(difference).toEqual({
      kind: 'values',
      name: 'api.example.com.',
      type: 'A',
      expected: { ttl: 300, values: ['192.0.2.10', '192.0.2.11'] },
      got: { rcode: 'NOERROR', ttls: [300], values: ['192.0.2.10', '198.51.100.7'] },
      message: 'expected 192.0.2.10, 192.0.2.11, got 192.0.2.10, 198.51.100.7 (lacks 192.0.2.11; has extra 198.51.100.7)',
    });
    expect(JSON.parse(JSON.stringify(difference))).toEqual(difference);
  });
});

/** A parent's referral: NS records for the delegated name in the authority section, AA clear. */
function referralReply(authorities: Answer[], options: { aa?: boolean; answers?: Answer[] } = {}): Packet {
  const flags = options.aa === true ? dnsPacket.AUTHORITATIVE_ANSWER : 0;
  const buf = dnsPacket.encode({ type: 'response', id: 7, flags, questions: [{ name: 'corp.example.com', type: 'NS', class: 'IN' }], answers: options.answers ?? [], authorities });
  return dnsPacket.decode(buf);
}

describe('compareAnswer for a delegation inside the zone (referral expected)', () => {
  const corp = set('corp.example.com.', 'NS', 3600, ['ns1.corp-dns.example.net.', 'ns2.corp-dns.example.net.']);
  const delegation: Expectation = { ...expect_(corp), referral: true };
  const ns = (name: string, host: string, ttl = 3600): Answer => ({ type: 'NS', name, ttl, class: 'IN', data: host });

  it.each([
    ['a referral with both servers', delegation, referralReply([ns('corp.example.com', 'ns2.corp-dns.example.net'), ns('corp.example.com', 'ns1.corp-dns.example.net')]), []],
    ['a referral lacking one server', delegation, referralReply([ns('corp.example.com', 'ns1.corp-dns.example.net')]), ['values']],
    ['a referral with another TTL', delegation, referralReply([ns('corp.example.com', 'ns1.corp-dns.example.net', 60), ns('corp.example.com', 'ns2.corp-dns.example.net', 60)]), ['ttl']],
    ['a referral for another name only', delegation, referralReply([ns('other.example.com', 'ns1.corp-dns.example.net')]), ['missing']],
    [
      'an authoritative answer (the server serves the child too)',
      delegation,
      referralReply([], { aa: true, answers: [ns('corp.example.com', 'ns1.corp-dns.example.net'), ns('corp.example.com', 'ns2.corp-dns.example.net')] }),
      [],
    ],
    ['the apex NS answered as a referral is still not authoritative', expect_(corp), referralReply([ns('corp.example.com', 'ns1.corp-dns.example.net'), ns('corp.example.com', 'ns2.corp-dns.example.net')]), ['not-authoritative']],
  ] as const)('%s', (_label, expectation, packet, kinds) => {
    expect(compareAnswer(expectation, packet).map((d) => d.kind)).toEqual(kinds);
  });
});

describe('servedAnswer', () => {
  it('keeps only the asked name and type, canonical and de-duplicated', () => {
    const packet = reply([a('api.example.com', '192.0.2.010', 30), a('api.example.com', '192.0.2.10', 60), a('other.example.com', '192.0.2.99')]);
    expect(servedAnswer(packet, 'API.example.com', 'A')).toEqual({ rcode: 'NOERROR', ttls: [30, 60], values: ['192.0.2.10'] });
  });
});

describe('concurrencyLimit', () => {
  it('never runs more than max tasks at once and runs them all', async () => {
    const limit = concurrencyLimit(3);
    let active = 0;
    let highest = 0;
    const release: (() => void)[] = [];
    const tasks = Array.from({ length: 10 }, (_, i) =>
      limit(async () => {
        active += 1;
        highest = Math.max(highest, active);
        await new Promise<void>((resolve) => release.push(resolve));
        active -= 1;
        return i;
      }),
    );
    // Release whichever tasks are waiting, until all ten have finished.
    const all = Promise.all(tasks);
    let done = false;
    void all.then(() => { done = true; });
    while (!done) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      release.splice(0).forEach((r) => { r(); });
    }
    expect(await all).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(highest).toBe(3);
  });

  it('a failing task frees its slot', async () => {
    const limit = concurrencyLimit(1);
    await expect(limit(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(limit(() => Promise.resolve('next'))).resolves.toBe('next');
  });
});
