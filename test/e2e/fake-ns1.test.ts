import type { Answer } from 'dns-packet';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { FakeNs1 } from '../../fakes/ns1/server.js';
import type { FakeNs1Options } from '../../fakes/ns1/server.js';
import { ManualClock } from '../../src/lib/clock.js';
import { answerPresentation, queryDns, rcodeName } from '../../src/lib/dns-query.js';

/**
 * The fake NS1 driven with plain fetch over loopback, as any HTTP client would drive
 * api.nsone.net, and its zones asked over real DNS. Assertions are on what a client sees:
 * statuses, JSON bodies, headers, DNS answers.
 */

interface ApiReply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The body parsed as JSON; undefined when it is not JSON. */
  readonly json: unknown;
}

interface CallOptions {
  /** X-NSONE-Key to send; null sends none. Default the fake's key. */
  readonly key?: string | null;
  readonly body?: unknown;
  readonly signal?: AbortSignal;
}

async function callUrl(url: string, method: string, key: string | null, options: CallOptions = {}): Promise<ApiReply> {
  const init: RequestInit = { method, headers: key === null ? {} : { 'X-NSONE-Key': key } };
  if (options.body !== undefined) init.body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  if (options.signal !== undefined) init.signal = options.signal;
  const res = await fetch(url, init);
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

function call(fake: FakeNs1, method: string, path: string, options: CallOptions = {}): Promise<ApiReply> {
  return callUrl(`${fake.endpoint}${path}`, method, options.key === undefined ? fake.apiKey : options.key, options);
}

function rateHeaders(reply: ApiReply): Record<'by' | 'limit' | 'period' | 'remaining', string | null> {
  return {
    by: reply.headers.get('x-ratelimit-by'),
    limit: reply.headers.get('x-ratelimit-limit'),
    period: reply.headers.get('x-ratelimit-period'),
    remaining: reply.headers.get('x-ratelimit-remaining'),
  };
}

/** Hands out `values` in turn, forever: a repeatable stand-in for Math.random. */
function sequence(values: readonly number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length] ?? 0;
}

const fakes: FakeNs1[] = [];

async function startFake(options: FakeNs1Options = {}): Promise<FakeNs1> {
  const fake = await FakeNs1.start(options);
  fakes.push(fake);
  return fake;
}

afterAll(async () => {
  await Promise.all(fakes.map((f) => f.close()));
});

interface RecordBody {
  domain: string;
  zone: string;
  type: string;
  ttl: number;
  id: string;
  tier: number;
  answers: { answer: (string | number)[]; id: string; meta?: Record<string, unknown> }[];
}

interface ZoneBody {
  zone: string;
  serial: number;
  dns_servers: string[];
  records?: { domain: string; type: string; short_answers: string[]; ttl: number; tier: number; id: string; link: null }[];
}

async function dnsAnswers(fake: FakeNs1, name: string, type: Answer['type']): Promise<string[]> {
  const reply = await queryDns(fake.dnsAddress, name, type);
  return (reply.packet.answers ?? []).filter((a) => a.type === type).flatMap((a) => answerPresentation(a) ?? []).sort();
}

async function soaSerial(fake: FakeNs1, zone: string): Promise<number> {
  const reply = await queryDns(fake.dnsAddress, zone, 'SOA');
  const soa = reply.packet.answers?.find((a) => a.type === 'SOA');
  if (soa?.type !== 'SOA') throw new Error(`no SOA for ${zone}`);
  return soa.data.serial ?? 0;
}

describe('authentication', () => {
  let fake: FakeNs1;
  beforeAll(async () => {
    fake = await startFake({ apiKey: 'secret-key' });
    fake.createZone('example.com');
  });

  it.each([
    ['without X-NSONE-Key', null],
    ['with a wrong X-NSONE-Key', 'wrong-key'],
  ])('answers 401 %s, with the rate-limit headers, and changes nothing', async (_, key) => {
    const reply = await call(fake, 'PUT', 'zones/example.com/www.example.com/A', { key, body: { answers: [{ answer: ['192.0.2.1'] }] } });
    expect(reply.status).toBe(401);
    expect(reply.json).toEqual({ message: 'Unauthorized' });
    expect(rateHeaders(reply)).toEqual({ by: 'customer', limit: '100', period: '200', remaining: '100' });
    expect((await call(fake, 'GET', 'zones/example.com/www.example.com/A')).status).toBe(404);
  });

  it('accepts the right key', async () => {
    expect(fake.apiKey).toBe('secret-key');
    expect((await call(fake, 'GET', 'zones/example.com')).status).toBe(200);
  });
});

describe('zones', () => {
  let fake: FakeNs1;
  beforeAll(async () => {
    fake = await startFake({ dnsServers: ['ns-a.example.net', 'ns-b.example.net'] });
  });

  it('creates a zone with its apex NS record from dns_servers, reads, lists and deletes it', async () => {
    const created = await call(fake, 'PUT', 'zones/zone-a.example', { body: { zone: 'zone-a.example', ttl: 7200 } });
    expect(created.status).toBe(200);
    expect(created.text.endsWith('}\n')).toBe(true);
    expect(created.headers.get('content-type')).toBe('application/json');
    const zone = created.json as ZoneBody & Record<string, unknown>;
    expect(zone).toMatchObject({ zone: 'zone-a.example', ttl: 7200, nx_ttl: 3600, refresh: 43200, retry: 7200, expiry: 1209600, dns_servers: ['ns-a.example.net', 'ns-b.example.net'], hostmaster: 'hostmaster@nsone.net', dnssec: false, link: null, meta: {} });
    expect(zone.id).toMatch(/^[0-9a-f]{24}$/);
    expect(zone.records).toEqual([{ domain: 'zone-a.example', short_answers: ['ns-a.example.net', 'ns-b.example.net'], link: null, ttl: 7200, tier: 1, type: 'NS', id: expect.stringMatching(/^[0-9a-f]{24}$/) as unknown }]);

    const apexNs = await call(fake, 'GET', 'zones/zone-a.example/zone-a.example/NS');
    expect(apexNs.status).toBe(200);
    expect((apexNs.json as RecordBody).answers.map((a) => a.answer)).toEqual([['ns-a.example.net'], ['ns-b.example.net']]);
    expect(await dnsAnswers(fake, 'zone-a.example', 'NS')).toEqual(['ns-a.example.net', 'ns-b.example.net']);

    const read = await call(fake, 'GET', 'zones/zone-a.example');
    expect(read.json).toEqual(zone);
    const withoutRecords = await call(fake, 'GET', 'zones/zone-a.example?records=false');
    expect(withoutRecords.json).not.toHaveProperty('records');

    const listed = await call(fake, 'GET', 'zones');
    expect((listed.json as ZoneBody[]).map((z) => z.zone)).toContain('zone-a.example');

    const deleted = await call(fake, 'DELETE', 'zones/zone-a.example');
    expect(deleted.status).toBe(200);
    expect(deleted.text).toBe('{}\n');
    expect(await call(fake, 'GET', 'zones/zone-a.example')).toMatchObject({ status: 404, json: { message: 'zone not found' } });
    expect(await call(fake, 'GET', 'zones/zone-a.example/zone-a.example/NS')).toMatchObject({ status: 404, json: { message: 'zone not found' } });
    expect(rcodeName((await queryDns(fake.dnsAddress, 'zone-a.example', 'NS')).packet)).toBe('REFUSED');
  });

  it('refuses to create a zone twice and the apex NS record again (it exists already)', async () => {
    expect((await call(fake, 'PUT', 'zones/zone-b.example', { body: {} })).status).toBe(200);
    expect(await call(fake, 'PUT', 'zones/zone-b.example', { body: {} })).toMatchObject({ status: 400, json: { message: 'zone already exists' } });
    const apex = await call(fake, 'PUT', 'zones/zone-b.example/zone-b.example/NS', { body: { answers: [{ answer: ['ns1.elsewhere.example'] }] } });
    expect(apex).toMatchObject({ status: 400, json: { message: 'record already exists' } });
  });

  it('updates zone settings with POST and keeps the rest', async () => {
    await call(fake, 'PUT', 'zones/zone-c.example', { body: {} });
    const updated = await call(fake, 'POST', 'zones/zone-c.example', { body: { nx_ttl: 300 } });
    expect(updated.json).toMatchObject({ zone: 'zone-c.example', nx_ttl: 300, ttl: 3600 });
    expect(await call(fake, 'POST', 'zones/missing.example', { body: { nx_ttl: 300 } })).toMatchObject({ status: 404, json: { message: 'zone not found' } });
  });

  it.each([
    ['zones/bad..name', {}, "Input validation failed (Value 'bad..name' for field 'zone' is not a valid domain name)"],
    ['zones/zone-d.example', { ttl: '60' }, "Input validation failed (Value '60' for field '<obj>.ttl' is not of type integer)"],
    ['zones/zone-d.example', { meta: null }, "Input validation failed (Value None for field '<obj>.meta' is not of type object)"],
    ['zones/zone-d.example', { zone: 'other.example' }, "Input validation failed (Value 'other.example' for field '<obj>.zone' does not match the zone in the URL ('zone-d.example'))"],
  ])('refuses PUT %s with %j: %s', async (path, body, message) => {
    expect(await call(fake, 'PUT', path, { body })).toMatchObject({ status: 400, json: { message } });
    expect((await call(fake, 'GET', 'zones/zone-d.example')).status).toBe(404);
  });
});

/** One record per type, as a client sends it, as NS1 stores it, and as DNS serves it. */
const RECORD_CASES = [
  { type: 'A', domain: 'a.example.com', answers: [['192.0.2.1'], ['192.0.2.2']], stored: [['192.0.2.1'], ['192.0.2.2']], updated: [['198.51.100.7']], dns: ['192.0.2.1', '192.0.2.2'], dnsUpdated: ['198.51.100.7'] },
  { type: 'AAAA', domain: 'aaaa.example.com', answers: [['2001:db8::1']], stored: [['2001:db8::1']], updated: [['2001:db8::2'], ['2001:db8::3']], dns: ['2001:db8::1'], dnsUpdated: ['2001:db8::2', '2001:db8::3'] },
  { type: 'CNAME', domain: 'www.example.com', answers: [['target.example.net.']], stored: [['target.example.net']], updated: [['other.example.net']], dns: ['target.example.net'], dnsUpdated: ['other.example.net'] },
  { type: 'TXT', domain: 'txt.example.com', answers: [['v=spf1 -all'], ['hello world']], stored: [['v=spf1 -all'], ['hello world']], updated: [['only one']], dns: ['hello world', 'v=spf1 -all'], dnsUpdated: ['only one'] },
  { type: 'MX', domain: 'example.com', answers: [[10, 'mx1.example.com.'], ['20', 'mx2.example.com']], stored: [[10, 'mx1.example.com'], ['20', 'mx2.example.com']], updated: [[5, 'mx3.example.com']], dns: ['10 mx1.example.com', '20 mx2.example.com'], dnsUpdated: ['5 mx3.example.com'] },
  { type: 'SRV', domain: '_sip._tcp.example.com', answers: [[10, 5, 5060, 'sip.example.com']], stored: [[10, 5, 5060, 'sip.example.com']], updated: [[0, 0, 5061, 'sips.example.com.']], dns: ['10 5 5060 sip.example.com'], dnsUpdated: ['0 0 5061 sips.example.com'] },
  { type: 'CAA', domain: 'caa.example.com', answers: [[0, 'issue', 'letsencrypt.org']], stored: [[0, 'issue', 'letsencrypt.org']], updated: [[128, 'iodef', 'mailto:sec@example.com']], dns: ['0 issue "letsencrypt.org"'], dnsUpdated: ['128 iodef "mailto:sec@example.com"'] },
] as const;

describe('records', () => {
  let fake: FakeNs1;
  beforeAll(async () => {
    fake = await startFake();
    fake.createZone('example.com');
  });

  it.each(RECORD_CASES)('$type: PUT creates, GET reads, POST merges, DELETE removes; DNS follows', async (c) => {
    const path = `zones/example.com/${c.domain}/${c.type}`;
    const toAnswers = (list: readonly (readonly (string | number)[])[]): { answer: (string | number)[] }[] => list.map((answer) => ({ answer: [...answer] }));

    const created = await call(fake, 'PUT', path, { body: { zone: 'example.com', domain: c.domain, type: c.type, ttl: 60, answers: toAnswers(c.answers) } });
    expect(created.status).toBe(200);
    const record = created.json as RecordBody;
    expect(record).toMatchObject({ domain: c.domain, zone: 'example.com', type: c.type, ttl: 60, tier: 1, use_client_subnet: true, regions: {}, meta: {}, link: null, filters: [], networks: [0] });
    expect(record.id).toMatch(/^[0-9a-f]{24}$/);
    expect(record.answers.map((a) => a.answer)).toEqual(c.stored);
    for (const a of record.answers) expect(a.id).toMatch(/^[0-9a-f]{24}$/);
    expect((await call(fake, 'GET', path)).json).toEqual(record);
    expect(await dnsAnswers(fake, c.domain, c.type)).toEqual(c.dns);

    // Only the TTL: the answers stay.
    const ttlOnly = await call(fake, 'POST', path, { body: { ttl: 120 } });
    expect(ttlOnly.status).toBe(200);
    expect(ttlOnly.json).toMatchObject({ ttl: 120, id: record.id, answers: record.answers });

    const updated = await call(fake, 'POST', path, { body: { answers: toAnswers(c.updated) } });
    expect(updated.status).toBe(200);
    expect((updated.json as RecordBody).answers.map((a) => a.answer)).toEqual(c.updated.map((answer) => answer.map((f) => (typeof f === 'string' && f.length > 1 ? f.replace(/\.$/, '') : f))));
    expect((updated.json as RecordBody).ttl).toBe(120);
    expect(await dnsAnswers(fake, c.domain, c.type)).toEqual(c.dnsUpdated);

    const deleted = await call(fake, 'DELETE', path);
    expect(deleted).toMatchObject({ status: 200, text: '{}\n', json: {} });
    expect(await call(fake, 'GET', path)).toMatchObject({ status: 404, json: { message: 'record not found' } });
    expect(await dnsAnswers(fake, c.domain, c.type)).toEqual([]);
  });

  it('keeps the id of an answer sent back with it, gives new answers new ids, and defaults the TTL to the zone TTL', async () => {
    const path = 'zones/example.com/ids.example.com/TXT';
    const created = (await call(fake, 'PUT', path, { body: { answers: [{ answer: ['one'] }] } })).json as RecordBody;
    expect(created.ttl).toBe(3600);
    const [first] = created.answers;
    const updated = (await call(fake, 'POST', path, { body: { answers: [{ answer: ['one'], id: first?.id }, { answer: ['two'] }] } })).json as RecordBody;
    expect(updated.answers[0]?.id).toBe(first?.id);
    expect(updated.answers[1]?.id).toMatch(/^[0-9a-f]{24}$/);
    expect(updated.answers[1]?.id).not.toBe(first?.id);
  });

  it('refuses PUT of a record that exists and leaves it as it was', async () => {
    const path = 'zones/example.com/dup.example.com/A';
    expect((await call(fake, 'PUT', path, { body: { answers: [{ answer: ['192.0.2.10'] }] } })).status).toBe(200);
    expect(await call(fake, 'PUT', path, { body: { answers: [{ answer: ['192.0.2.11'] }] } })).toMatchObject({ status: 400, json: { message: 'record already exists' } });
    expect(((await call(fake, 'GET', path)).json as RecordBody).answers.map((a) => a.answer)).toEqual([['192.0.2.10']]);
  });

  it('lists records in the zone as summaries sorted by domain and type, with short answers and tiers', async () => {
    await call(fake, 'PUT', 'zones/example.com/list.example.com/MX', { body: { answers: [{ answer: [10, 'mx.example.com'] }] } });
    await call(fake, 'PUT', 'zones/example.com/list.example.com/A', {
      body: { answers: [{ answer: ['192.0.2.20'], meta: { up: true } }, { answer: ['192.0.2.21'], meta: { up: false } }], filters: [{ filter: 'up', config: {} }] },
    });
    const zone = (await call(fake, 'GET', 'zones/example.com')).json as ZoneBody;
    const domains = (zone.records ?? []).map((r) => `${r.domain} ${r.type}`);
    expect(domains).toEqual([...domains].sort());
    expect(zone.records?.find((r) => r.domain === 'list.example.com' && r.type === 'MX')).toMatchObject({ short_answers: ['10 mx.example.com'], tier: 1 });
    expect(zone.records?.find((r) => r.domain === 'list.example.com' && r.type === 'A')).toMatchObject({ short_answers: ['192.0.2.20', '192.0.2.21'], tier: 3 });
  });

  it.each([
    ['GET', 'zones/nozone.example/www.nozone.example/A', 'zone not found'],
    ['POST', 'zones/nozone.example/www.nozone.example/A', 'zone not found'],
    ['DELETE', 'zones/nozone.example/www.nozone.example/A', 'zone not found'],
    ['PUT', 'zones/nozone.example/www.nozone.example/A', 'zone not found'],
    ['GET', 'zones/nozone.example', 'zone not found'],
    ['DELETE', 'zones/nozone.example', 'zone not found'],
    ['GET', 'zones/example.com/missing.example.com/A', 'record not found'],
    ['POST', 'zones/example.com/missing.example.com/A', 'record not found'],
    ['DELETE', 'zones/example.com/missing.example.com/A', 'record not found'],
    ['GET', 'zones/example.com/missing/A', 'record not found'],
    ['GET', 'zones/example.com/www.example.com./CNAME', 'record not found'],
  ])('%s %s answers 404 {"message":"%s"}', async (method, path, message) => {
    const reply = await call(fake, method, path, method === 'GET' ? {} : { body: { answers: [{ answer: ['192.0.2.1'] }] } });
    expect(reply.status).toBe(404);
    expect(reply.text).toBe(`${JSON.stringify({ message })}\n`);
  });

  it.each([
    ['null filters', 'v1.example.com', 'A', { answers: [{ answer: ['192.0.2.1'] }], filters: null }, "Input validation failed (Value None for field '<obj>.filters' is not of type array)"],
    ['null answers', 'v2.example.com', 'A', { answers: null }, "Input validation failed (Value None for field '<obj>.answers' is not of type array)"],
    ['null tags', 'v3.example.com', 'A', { answers: [{ answer: ['192.0.2.1'] }], tags: null }, "Input validation failed (Value None for field '<obj>.tags' is not of type object)"],
    ['null regions', 'v4.example.com', 'A', { answers: [{ answer: ['192.0.2.1'] }], regions: null }, "Input validation failed (Value None for field '<obj>.regions' is not of type object)"],
    ['null meta', 'v5.example.com', 'A', { answers: [{ answer: ['192.0.2.1'] }], meta: null }, "Input validation failed (Value None for field '<obj>.meta' is not of type object)"],
    ['null blocked_tags', 'v6.example.com', 'A', { answers: [{ answer: ['192.0.2.1'] }], blocked_tags: null }, "Input validation failed (Value None for field '<obj>.blocked_tags' is not of type array)"],
    ['a null rdata array', 'v7.example.com', 'A', { answers: [{ answer: null }] }, "Input validation failed (Value None for field '<obj>.answers[0].answer' is not of type array)"],
    ['a string TTL', 'v8.example.com', 'A', { ttl: '60', answers: [{ answer: ['192.0.2.1'] }] }, "Input validation failed (Value '60' for field '<obj>.ttl' is not of type integer)"],
    ['an answer that is no object', 'v9.example.com', 'A', { answers: ['192.0.2.1'] }, "Input validation failed (Value '192.0.2.1' for field '<obj>.answers[0]' is not of type object)"],
    ['a bad IPv4 address', 'v10.example.com', 'A', { answers: [{ answer: ['192.0.2.300'] }] }, "Input validation failed (Value '192.0.2.300' for field '<obj>.answers[0].answer[0]' is not a valid IPv4 address)"],
    ['an IPv4 address in AAAA', 'v11.example.com', 'AAAA', { answers: [{ answer: ['192.0.2.1'] }] }, "Input validation failed (Value '192.0.2.1' for field '<obj>.answers[0].answer[0]' is not a valid IPv6 address)"],
    ['MX without preference', 'v12.example.com', 'MX', { answers: [{ answer: ['mx.example.com'] }] }, 'Input validation failed (Value ["mx.example.com"] for field \'<obj>.answers[0].answer\' does not fit type MX: expected [preference, exchange])'],
    ['SRV with a port too large', 'v13.example.com', 'SRV', { answers: [{ answer: [1, 1, 70000, 'x.example.com'] }] }, "Input validation failed (Value 70000 for field '<obj>.answers[0].answer[2]' is not an integer from 0 to 65535)"],
    ['CAA flags too large', 'v14.example.com', 'CAA', { answers: [{ answer: [256, 'issue', 'ca.example'] }] }, "Input validation failed (Value 256 for field '<obj>.answers[0].answer[0]' is not an integer from 0 to 255)"],
    ['a CNAME target that is no host name', 'v15.example.com', 'CNAME', { answers: [{ answer: ['not a host'] }] }, "Input validation failed (Value 'not a host' for field '<obj>.answers[0].answer[0]' is not a valid host name)"],
    ['no answers', 'v16.example.com', 'A', { ttl: 60 }, "Input validation failed (field '<obj>.answers' is required)"],
    ['empty answers', 'v17.example.com', 'A', { answers: [] }, "Input validation failed (field '<obj>.answers' needs at least one answer)"],
    ['a domain outside the zone', 'www.example.org', 'A', { answers: [{ answer: ['192.0.2.1'] }] }, "Input validation failed (Value 'www.example.org' for field '<obj>.domain' is not in zone 'example.com')"],
    ['a short name in the URL', 'www', 'A', { answers: [{ answer: ['192.0.2.1'] }] }, "Input validation failed (Value 'www' for field '<obj>.domain' is not in zone 'example.com')"],
    ['a trailing dot in the URL', 'v18.example.com.', 'A', { answers: [{ answer: ['192.0.2.1'] }] }, "Input validation failed (Value 'v18.example.com.' for field '<obj>.domain' must be written without a trailing dot)"],
    ['a body domain that differs from the URL', 'v19.example.com', 'A', { domain: 'other.example.com', answers: [{ answer: ['192.0.2.1'] }] }, "Input validation failed (Value 'other.example.com' for field '<obj>.domain' does not match the domain in the URL ('v19.example.com'))"],
    ['a type the fake does not hold', 'v20.example.com', 'NAPTR', { answers: [{ answer: ['x'] }] }, "Input validation failed (Value 'NAPTR' for field 'type' is not a record type this fake NS1 supports)"],
    ['a body that is not JSON', 'v21.example.com', 'A', '{"answers": [', 'Input validation failed (the request body is not valid JSON)'],
  ])('PUT refuses %s with 400 and stores nothing', async (_, domain, type, body, message) => {
    const path = `zones/example.com/${domain}/${type}`;
    const reply = await call(fake, 'PUT', path, { body });
    expect(reply.status).toBe(400);
    expect(reply.json).toEqual({ message });
    expect((await call(fake, 'GET', path)).status).toBe(404);
  });

  it('refuses a POST with null arrays and keeps the record as it was', async () => {
    const path = 'zones/example.com/keep.example.com/A';
    await call(fake, 'PUT', path, { body: { answers: [{ answer: ['192.0.2.30'] }] } });
    const reply = await call(fake, 'POST', path, { body: { answers: [{ answer: ['192.0.2.31'] }], filters: null } });
    expect(reply).toMatchObject({ status: 400, json: { message: "Input validation failed (Value None for field '<obj>.filters' is not of type array)" } });
    expect(((await call(fake, 'GET', path)).json as RecordBody).answers.map((a) => a.answer)).toEqual([['192.0.2.30']]);
  });

  it('answers 404 for paths that are no route and 405 for methods a route does not take', async () => {
    expect(await call(fake, 'GET', 'monitoring/jobs')).toMatchObject({ status: 404, json: { message: 'Not Found' } });
    expect(await call(fake, 'PATCH', 'zones/example.com')).toMatchObject({ status: 405, json: { message: 'Method Not Allowed' } });
    expect(await call(fake, 'DELETE', 'zones')).toMatchObject({ status: 405, json: { message: 'Method Not Allowed' } });
  });
});

describe('paging of zone records', () => {
  it('pages the summaries with Link: rel="next" until the last page', async () => {
    const fake = await startFake({ pageSize: 2 });
    fake.createZone('paged.example');
    for (const host of ['a', 'b', 'c', 'd']) {
      expect((await call(fake, 'PUT', `zones/paged.example/${host}.paged.example/A`, { body: { answers: [{ answer: ['192.0.2.1'] }] } })).status).toBe(200);
    }
    const pages: ZoneBody[] = [];
    const links: (string | null)[] = [];
    let url: string | undefined = `${fake.endpoint}zones/paged.example`;
    for (let i = 0; url !== undefined && i < 10; i++) {
      const reply = await callUrl(url, 'GET', fake.apiKey);
      expect(reply.status).toBe(200);
      pages.push(reply.json as ZoneBody);
      const link = reply.headers.get('link');
      links.push(link);
      url = link === null ? undefined : /^<([^>]+)>; rel="next"$/.exec(link)?.[1];
    }
    expect(pages.map((p) => p.records?.length)).toEqual([2, 2, 1]);
    expect(links[0]).toBe(`<${fake.endpoint}zones/paged.example?page=2>; rel="next"`);
    expect(links[2]).toBeNull();
    expect(pages.flatMap((p) => p.records ?? []).map((r) => `${r.domain} ${r.type}`)).toEqual([
      'a.paged.example A',
      'b.paged.example A',
      'c.paged.example A',
      'd.paged.example A',
      'paged.example NS',
    ]);
  });

  it('does not page without pageSize', async () => {
    const fake = await startFake();
    fake.createZone('flat.example');
    for (const host of ['a', 'b', 'c']) await call(fake, 'PUT', `zones/flat.example/${host}.flat.example/A`, { body: { answers: [{ answer: ['192.0.2.1'] }] } });
    const reply = await call(fake, 'GET', 'zones/flat.example');
    expect(reply.headers.get('link')).toBeNull();
    expect((reply.json as ZoneBody).records).toHaveLength(4);
  });
});

describe('rate limits', () => {
  it('puts the x-ratelimit-* headers on every answer, whatever its status', async () => {
    const fake = await startFake({ rateLimits: { POST: { limit: 1, periodSeconds: 300 } }, clock: new ManualClock(1_000_000) });
    fake.createZone('example.com');
    const replies = [
      await call(fake, 'GET', 'zones/example.com'),
      await call(fake, 'GET', 'zones/example.com/none.example.com/A'),
      await call(fake, 'PUT', 'zones/example.com/x.example.com/A', { body: { answers: null } }),
      await call(fake, 'GET', 'zones', { key: null }),
      await call(fake, 'POST', 'zones/example.com', { body: {} }),
      await call(fake, 'POST', 'zones/example.com', { body: {} }),
      await call(fake, 'GET', 'nothing/here'),
    ];
    expect(replies.map((r) => r.status)).toEqual([200, 404, 400, 401, 200, 429, 404]);
    for (const reply of replies) {
      const headers = rateHeaders(reply);
      expect(headers.by).toBe('customer');
      expect(headers.limit).toMatch(/^\d+$/);
      expect(headers.period).toMatch(/^\d+$/);
      expect(headers.remaining).toMatch(/^\d+$/);
    }
    expect(rateHeaders(replies[0] as ApiReply)).toEqual({ by: 'customer', limit: '900', period: '300', remaining: '899' });
    expect(rateHeaders(replies[2] as ApiReply)).toEqual({ by: 'customer', limit: '100', period: '200', remaining: '99' });
    expect(rateHeaders(replies[5] as ApiReply)).toEqual({ by: 'customer', limit: '1', period: '300', remaining: '0' });
    expect(replies[5]?.json).toEqual({ message: 'rate limit exceeded' });
  });

  it('answers 429 once a bucket is empty and refills it continuously by the clock', async () => {
    const clock = new ManualClock(5_000_000);
    const fake = await startFake({ clock, rateLimits: { PUT: { limit: 3, periodSeconds: 30 } } });
    fake.createZone('example.com');
    const put = (host: string): Promise<ApiReply> => call(fake, 'PUT', `zones/example.com/${host}.example.com/A`, { body: { answers: [{ answer: ['192.0.2.1'] }] } });

    const burst = [await put('h1'), await put('h2'), await put('h3'), await put('h4')];
    expect(burst.map((r) => [r.status, r.headers.get('x-ratelimit-remaining')])).toEqual([
      [200, '2'],
      [200, '1'],
      [200, '0'],
      [429, '0'],
    ]);
    expect(burst[3]?.json).toEqual({ message: 'rate limit exceeded' });
    expect((await call(fake, 'GET', 'zones/example.com/h4.example.com/A')).status).toBe(404);
    // Other methods have buckets of their own.
    expect((await call(fake, 'GET', 'zones/example.com')).headers.get('x-ratelimit-remaining')).toBe('899');

    clock.advance(9_999);
    expect((await put('h5')).status).toBe(429);
    clock.advance(1); // 10 s = one token at 3 per 30 s
    expect((await put('h5')).status).toBe(200);
    expect((await put('h6')).status).toBe(429);
    clock.advance(60_000); // far past a full period: the bucket is full, never more
    const refilled = await put('h6');
    expect([refilled.status, refilled.headers.get('x-ratelimit-remaining')]).toEqual([200, '2']);
  });

  it('applies setRateLimits in mid-run: halved limits shrink the bucket and slow the refill', async () => {
    const clock = new ManualClock(0);
    const fake = await startFake({ clock, rateLimits: { GET: { limit: 10, periodSeconds: 100 } } });
    fake.createZone('example.com');
    const get = (): Promise<ApiReply> => call(fake, 'GET', 'zones/example.com');
    for (let i = 0; i < 3; i++) await get();
    expect((await get()).headers.get('x-ratelimit-remaining')).toBe('6');

    fake.setRateLimits({ GET: { limit: 5, periodSeconds: 100 } });
    expect(fake.rateLimits.GET).toEqual({ limit: 5, periodSeconds: 100 });
    const halved = await get();
    expect(rateHeaders(halved)).toMatchObject({ limit: '5', period: '100', remaining: '4' });
    for (let i = 0; i < 4; i++) expect((await get()).status).toBe(200);
    expect((await get()).status).toBe(429);
    clock.advance(10_000); // the old rate (10 per 100 s) would have given one token by now
    expect((await get()).status).toBe(429);
    clock.advance(10_000); // 5 per 100 s: one token per 20 s
    expect((await get()).status).toBe(200);
    expect((await get()).status).toBe(429);
    expect(() => {
      fake.setRateLimits({ PUT: { limit: 10, periodSeconds: 0 } });
    }).toThrow(RangeError);
  });
});

describe('faults', () => {
  let fake: FakeNs1;
  afterEach(() => {
    fake.setFaults({ serverErrorsNext: 0, serverErrorRate: 0, dropRate: 0, delayMs: 0, failWritesAfter: undefined });
  });

  beforeAll(async () => {
    fake = await startFake({ random: sequence([0, 0.1, 0, 0.5, 0, 0.9]) });
    fake.createZone('example.com');
  });

  it('serverErrorsNext answers the next N requests with 500 and counts down', async () => {
    fake.setFaults({ serverErrorsNext: 2 });
    const replies = [await call(fake, 'GET', 'zones/example.com'), await call(fake, 'GET', 'zones/example.com'), await call(fake, 'GET', 'zones/example.com')];
    expect(replies.map((r) => r.status)).toEqual([500, 500, 200]);
    expect(replies[0]?.json).toEqual({ message: 'internal error' });
    expect(replies[0]?.headers.get('x-ratelimit-remaining')).toMatch(/^\d+$/);
    expect(fake.faults.serverErrorsNext).toBe(0);
  });

  it('serverErrorRate answers 500, 502 (a proxy page) and 503, decided by the seeded random', async () => {
    fake.setFaults({ serverErrorRate: 1 });
    const replies = [await call(fake, 'GET', 'zones/example.com'), await call(fake, 'GET', 'zones/example.com'), await call(fake, 'GET', 'zones/example.com')];
    expect(replies.map((r) => r.status)).toEqual([500, 502, 503]);
    expect(replies[1]?.headers.get('content-type')).toBe('text/html');
    expect(replies[1]?.text).toContain('502 Bad Gateway');
    expect(replies[2]?.json).toEqual({ message: 'service unavailable' });
  });

  it('dropRate destroys the connection without an answer and logs status 0', async () => {
    fake.setFaults({ dropRate: 1 });
    fake.clearRequests();
    await expect(call(fake, 'GET', 'zones/example.com')).rejects.toThrow();
    expect(fake.requests).toEqual([expect.objectContaining({ method: 'GET', path: '/v1/zones/example.com', status: 0 })]);
    expect(fake.requests[0]).not.toHaveProperty('remaining');
    fake.setFaults({ dropRate: 0 });
    expect((await call(fake, 'GET', 'zones/example.com')).status).toBe(200);
  });

  it('delayMs holds the answer while the change is already made, as a slow API does', async () => {
    fake.setFaults({ delayMs: 60_000 });
    const controller = new AbortController();
    let settled = false;
    const pending = call(fake, 'PUT', 'zones/example.com/slow.example.com/A', { body: { answers: [{ answer: ['192.0.2.40'] }] }, signal: controller.signal }).finally(() => {
      settled = true;
    });
    await vi.waitFor(
      () => {
        expect(fake.zoneRecords('example.com').map((r) => r.domain)).toContain('slow.example.com');
      },
      { timeout: 5000, interval: 10 },
    );
    expect(settled).toBe(false);
    controller.abort();
    await expect(pending).rejects.toThrow();
    fake.setFaults({ delayMs: 0 });
    expect((await call(fake, 'GET', 'zones/example.com/slow.example.com/A')).status).toBe(200);
  });

  it('failWritesAfter lets N record writes through, then fails every record write with 500 until reset', async () => {
    fake.setFaults({ failWritesAfter: 2 });
    const put = (host: string): Promise<ApiReply> => call(fake, 'PUT', `zones/example.com/${host}.example.com/A`, { body: { answers: [{ answer: ['192.0.2.50'] }] } });
    // A refused write is no successful write.
    expect((await call(fake, 'PUT', 'zones/example.com/w0.example.com/A', { body: { answers: null } })).status).toBe(400);
    expect((await put('w1')).status).toBe(200);
    expect((await put('w2')).status).toBe(200);
    const third = await put('w3');
    expect(third).toMatchObject({ status: 500, json: { message: 'internal error' } });
    expect((await call(fake, 'POST', 'zones/example.com/w1.example.com/A', { body: { ttl: 5 } })).status).toBe(500);
    expect((await call(fake, 'DELETE', 'zones/example.com/w1.example.com/A')).status).toBe(500);
    // Reads and zone operations still work, and the records written before stay.
    expect((await call(fake, 'GET', 'zones/example.com/w1.example.com/A')).status).toBe(200);
    expect((await call(fake, 'POST', 'zones/example.com', { body: {} })).status).toBe(200);
    const domains = fake.zoneRecords('example.com').map((r) => r.domain);
    expect(domains).toEqual(expect.arrayContaining(['w1.example.com', 'w2.example.com']));
    expect(domains).not.toContain('w3.example.com');

    fake.setFaults({ failWritesAfter: undefined });
    expect((await put('w3')).status).toBe(200);
  });

  it('refuses fault values out of range', () => {
    expect(() => {
      fake.setFaults({ dropRate: 2 });
    }).toThrow(RangeError);
    expect(() => {
      fake.setFaults({ failWritesAfter: -1 });
    }).toThrow(RangeError);
  });
});

describe('the request log', () => {
  it('records method, path, route, arrival time, status and remaining tokens of every request', async () => {
    const clock = new ManualClock(42_000);
    const fake = await startFake({ clock });
    fake.createZone('example.com');
    await call(fake, 'GET', 'zones');
    clock.advance(1000);
    await call(fake, 'PUT', 'zones/example.com/www.example.com/A', { body: { answers: [{ answer: ['192.0.2.1'] }] } });
    await call(fake, 'DELETE', 'zones/example.com/www.example.com/A', { key: 'wrong' });
    await call(fake, 'GET', 'elsewhere');
    expect(fake.requests).toEqual([
      { method: 'GET', path: '/v1/zones', route: 'zones', at: 42_000, status: 200, remaining: 899 },
      { method: 'PUT', path: '/v1/zones/example.com/www.example.com/A', route: 'record', at: 43_000, status: 200, remaining: 99 },
      { method: 'DELETE', path: '/v1/zones/example.com/www.example.com/A', route: 'record', at: 43_000, status: 401, remaining: 100 },
      { method: 'GET', path: '/v1/elsewhere', route: 'unknown', at: 43_000, status: 404, remaining: 899 },
    ]);
    fake.clearRequests();
    expect(fake.requests).toEqual([]);
  });
});

describe('DNS service of the zones', () => {
  let fake: FakeNs1;
  beforeAll(async () => {
    fake = await startFake();
    fake.createZone('example.com');
  });

  it('answers over UDP for a record created through the API, and the SOA serial rises with every change', async () => {
    const before = await soaSerial(fake, 'example.com');
    await call(fake, 'PUT', 'zones/example.com/api.example.com/A', { body: { ttl: 30, answers: [{ answer: ['192.0.2.60'] }] } });
    const reply = await queryDns(fake.dnsAddress, 'api.example.com', 'A');
    expect(reply.transport).toBe('udp');
    expect(reply.packet.answers).toEqual([expect.objectContaining({ name: 'api.example.com', type: 'A', ttl: 30, data: '192.0.2.60' })]);
    const afterCreate = await soaSerial(fake, 'example.com');
    expect(afterCreate).toBeGreaterThan(before);
    await call(fake, 'POST', 'zones/example.com/api.example.com/A', { body: { answers: [{ answer: ['192.0.2.61'] }] } });
    expect(await dnsAnswers(fake, 'api.example.com', 'A')).toEqual(['192.0.2.61']);
    expect(await soaSerial(fake, 'example.com')).toBeGreaterThan(afterCreate);
    const zone = (await call(fake, 'GET', 'zones/example.com')).json as ZoneBody;
    expect(zone.serial).toBe(await soaSerial(fake, 'example.com'));
    await call(fake, 'DELETE', 'zones/example.com/api.example.com/A');
    expect(rcodeName((await queryDns(fake.dnsAddress, 'api.example.com', 'A')).packet)).toBe('NXDOMAIN');
  });

  it('splits TXT answers longer than 255 bytes into character-strings of 255', async () => {
    const long = 'x'.repeat(300);
    await call(fake, 'PUT', 'zones/example.com/long.example.com/TXT', { body: { answers: [{ answer: [long] }] } });
    const reply = await queryDns(fake.dnsAddress, 'long.example.com', 'TXT');
    const txt = reply.packet.answers?.find((a) => a.type === 'TXT');
    expect(txt?.type).toBe('TXT');
    const strings = txt?.type === 'TXT' && Array.isArray(txt.data) ? txt.data.map((s) => (typeof s === 'string' ? s : s.toString('utf8'))) : [];
    expect(strings.map((s) => s.length)).toEqual([255, 45]);
    expect(strings.join('')).toBe(long);
  });

  it('serves only answers that are up when the record has an up filter, and the first of select_first_n', async () => {
    await call(fake, 'PUT', 'zones/example.com/pool.example.com/A', {
      body: {
        answers: [
          { answer: ['192.0.2.71'], meta: { up: false } },
          { answer: ['192.0.2.72'], meta: { up: true } },
          { answer: ['192.0.2.73'], meta: { up: true } },
        ],
        filters: [{ filter: 'up', config: {} }],
      },
    });
    expect(await dnsAnswers(fake, 'pool.example.com', 'A')).toEqual(['192.0.2.72', '192.0.2.73']);
    await call(fake, 'POST', 'zones/example.com/pool.example.com/A', { body: { filters: [{ filter: 'up', config: {} }, { filter: 'select_first_n', config: { N: 1 } }] } });
    expect(await dnsAnswers(fake, 'pool.example.com', 'A')).toEqual(['192.0.2.72']);
    await call(fake, 'POST', 'zones/example.com/pool.example.com/A', { body: { filters: [] } });
    expect(await dnsAnswers(fake, 'pool.example.com', 'A')).toEqual(['192.0.2.71', '192.0.2.72', '192.0.2.73']);
  });

  it('serves and lists records put behind the API’s back, with a new serial', async () => {
    const before = await soaSerial(fake, 'example.com');
    fake.putRecordDirect({ zone: 'example.com', domain: 'oob.example.com', type: 'A', ttl: 45, answers: [{ answer: ['192.0.2.80'] }] });
    expect(await dnsAnswers(fake, 'oob.example.com', 'A')).toEqual(['192.0.2.80']);
    expect(await soaSerial(fake, 'example.com')).toBeGreaterThan(before);
    const read = (await call(fake, 'GET', 'zones/example.com/oob.example.com/A')).json as RecordBody;
    expect(read).toMatchObject({ ttl: 45, answers: [{ answer: ['192.0.2.80'] }] });
    fake.putRecordDirect({ zone: 'example.com', domain: 'oob.example.com', type: 'A', ttl: 45, answers: [{ answer: ['192.0.2.81'], meta: { up: false } }] });
    expect(((await call(fake, 'GET', 'zones/example.com/oob.example.com/A')).json as RecordBody).id).toBe(read.id);
    expect(fake.zoneRecords('example.com').find((r) => r.domain === 'oob.example.com')).toEqual({
      zone: 'example.com',
      domain: 'oob.example.com',
      type: 'A',
      ttl: 45,
      answers: [{ answer: ['192.0.2.81'], meta: { up: false } }],
    });
    expect(() => {
      fake.putRecordDirect({ zone: 'example.com', domain: 'www.example.org', type: 'A', ttl: 1, answers: [] });
    }).toThrow(/not in zone/);
    expect(() => fake.zoneRecords('nope.example')).toThrow(/no zone/);
  });
});
