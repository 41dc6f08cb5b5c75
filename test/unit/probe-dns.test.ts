import { afterEach, describe, expect, it } from 'vitest';
import dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket } from 'dns-packet';
import type { HostPort } from '../../src/config/types.js';
import type { DnsCheckSpec } from '../../src/domain/zone.js';
import { systemClock } from '../../src/lib/clock.js';
import { createProber } from '../../src/probe/prober.js';
import { startDnsServer } from '../helpers/probe-servers.js';
import type { TestDnsServer } from '../helpers/probe-servers.js';
import { dnsTarget } from '../helpers/probe-targets.js';
import type { Timing } from '../helpers/probe-targets.js';

const prober = createProber({ clock: systemClock, resolve: new Map<string, HostPort>() });

const NXDOMAIN = 3;
const SERVFAIL = 2;

/** A well-formed answer to `query` with the given rcode and answers. */
function answer(query: DecodedPacket, answers: Answer[], rcode = 0): Buffer {
  return dnsPacket.encode({ type: 'response', id: query.id ?? 0, flags: dnsPacket.AUTHORITATIVE_ANSWER | rcode, questions: query.questions ?? [], answers });
}

const a = (data: string): Answer => ({ type: 'A', name: 'api.example.com', ttl: 30, class: 'IN', data });

interface Case {
  readonly name: string;
  readonly check: Partial<DnsCheckSpec & Timing>;
  readonly reply: (query: DecodedPacket) => Buffer | undefined;
  readonly ok: boolean;
  readonly detail: string;
}

const cases: Case[] = [
  { name: 'rcode matches, no answer asked for', check: {}, reply: (q) => answer(q, []), ok: true, detail: 'NOERROR' },
  { name: 'expected answer present', check: { expectAnswer: '192.0.2.10' }, reply: (q) => answer(q, [a('192.0.2.11'), a('192.0.2.10')]), ok: true, detail: 'NOERROR, A 192.0.2.10' },
  {
    name: 'expected answer missing',
    check: { expectAnswer: '192.0.2.99' },
    reply: (q) => answer(q, [a('192.0.2.10'), a('192.0.2.11')]),
    ok: false,
    detail: 'NOERROR but no A answer 192.0.2.99 (got 192.0.2.10, 192.0.2.11)',
  },
  { name: 'no answers at all', check: { expectAnswer: '192.0.2.10' }, reply: (q) => answer(q, []), ok: false, detail: 'NOERROR but no A answer 192.0.2.10 (got none)' },
  { name: 'NXDOMAIN when NOERROR is expected', check: {}, reply: (q) => answer(q, [], NXDOMAIN), ok: false, detail: 'rcode NXDOMAIN (expected NOERROR)' },
  { name: 'NXDOMAIN when NXDOMAIN is expected', check: { expectRcode: 'NXDOMAIN' }, reply: (q) => answer(q, [], NXDOMAIN), ok: true, detail: 'NXDOMAIN' },
  { name: 'SERVFAIL', check: {}, reply: (q) => answer(q, [], SERVFAIL), ok: false, detail: 'rcode SERVFAIL (expected NOERROR)' },
  {
    name: 'AAAA compared in canonical form',
    check: { query: 'v6.example.com.', queryType: 'AAAA', expectAnswer: '2001:DB8:0:0:0:0:0:1' },
    reply: (q) => answer(q, [{ type: 'AAAA', name: 'v6.example.com', ttl: 30, data: '2001:db8::1' }]),
    ok: true,
    detail: 'NOERROR, AAAA 2001:db8::1',
  },
  {
    name: 'MX compared in canonical form',
    check: { query: 'example.com.', queryType: 'MX', expectAnswer: '10 Mail.Example.com' },
    reply: (q) => answer(q, [{ type: 'MX', name: 'example.com', ttl: 30, data: { preference: 10, exchange: 'mail.example.com' } }]),
    ok: true,
    detail: 'NOERROR, MX 10 mail.example.com.',
  },
  {
    name: 'TXT joined across strings',
    check: { query: 'example.com.', queryType: 'TXT', expectAnswer: 'v=spf1 -all' },
    reply: (q) => answer(q, [{ type: 'TXT', name: 'example.com', ttl: 30, data: [Buffer.from('v=spf1 '), Buffer.from('-all')] }]),
    ok: true,
    detail: 'NOERROR, TXT v=spf1 -all',
  },
  {
    name: 'answers of another type do not count',
    check: { expectAnswer: 'edge.example.net.' , queryType: 'CNAME' },
    reply: (q) => answer(q, [a('192.0.2.10')]),
    ok: false,
    detail: 'NOERROR but no CNAME answer edge.example.net. (got none)',
  },
  { name: 'garbage reply', check: {}, reply: () => Buffer.from('definitely not a DNS message'), ok: false, detail: 'malformed DNS reply' },
  { name: 'reply with another id', check: {}, reply: (q) => answer({ ...q, id: ((q.id ?? 0) + 1) % 65536 }, []), ok: false, detail: 'does not match the question' },
  {
    name: 'reply for another name',
    check: {},
    reply: (q) => answer({ ...q, questions: [{ type: 'A', name: 'other.example.com', class: 'IN' }] }, []),
    ok: false,
    detail: 'does not match the question',
  },
  { name: 'a query echoed back', check: {}, reply: (q) => dnsPacket.encode({ ...q, type: 'query' }), ok: false, detail: 'reply is not a response' },
  { name: 'no reply at all', check: { timeoutMs: 200 }, reply: () => undefined, ok: false, detail: 'timeout after 200ms' },
];

describe('dns probe', () => {
  let server: TestDnsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it.each(cases)('$name', async ({ check, reply, ok, detail }) => {
    const seen: DecodedPacket[] = [];
    server = await startDnsServer((query) => {
      seen.push(query);
      return reply(query);
    });
    const result = await prober.probe(dnsTarget('127.0.0.1', server.port, check), new AbortController().signal);
    expect(result.ok).toBe(ok);
    expect(result.detail).toContain(detail);
    const question = seen[0]?.questions?.[0];
    expect(question).toMatchObject({ name: (check.query ?? 'api.example.com.').replace(/\.$/, ''), type: check.queryType ?? 'A' });
  });

  it('uses a fresh random id per query', async () => {
    const ids: number[] = [];
    server = await startDnsServer((query) => {
      ids.push(query.id ?? -1);
      return answer(query, []);
    });
    const target = dnsTarget('127.0.0.1', server.port);
    for (let i = 0; i < 8; i++) await prober.probe(target, new AbortController().signal);
    expect(new Set(ids).size).toBeGreaterThan(1);
  });
});
