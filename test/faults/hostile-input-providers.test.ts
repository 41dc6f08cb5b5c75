import { createServer, request } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { ListHostedZonesByNameCommand, Route53Client } from '@aws-sdk/client-route-53';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangeSet } from '../../src/domain/change-set.js';
import { FakeNs1 } from '../../fakes/ns1/server.js';
import { matchRoute } from '../../fakes/route53/operations.js';
import { FakeRoute53 } from '../../fakes/route53/server.js';
import { systemClock } from '../../src/lib/clock.js';
import { DnsQuorumError, ERROR_CODES } from '../../src/lib/errors.js';
import { silentLogger } from '../../src/lib/logger.js';
import { Ns1Client } from '../../src/providers/ns1/client.js';
import { Ns1Provider } from '../../src/providers/ns1/provider.js';
import { Route53Provider } from '../../src/providers/route53/provider.js';
import { useDummyAwsCredentials } from '../e2e/route53-harness.js';
import { faultCases, recordFault } from './fault-table.js';
import { bounded, describeError, runProperty } from './hostile-common.js';

/**
 * Fault "garbled provider answers": our Route53 provider (over the real AWS SDK) and our NS1
 * client and provider, against the fakes behind a proxy that garbles the answers of one
 * operation: cut short, elements renamed or removed, fields of the wrong type, huge numbers,
 * HTML error pages, empty bodies, another content type, random bytes, odd record values. Every
 * call rejects with a DnsQuorumError with a stable code (never a TypeError or SyntaxError, never
 * a hang), except that odd record values may also be read as they are.
 */

useDummyAwsCredentials();

/** A call that has not settled after this long hangs. */
const CALL_DEADLINE_MS = 20_000;

// ---------------------------------------------------------------------------------------------
// The garbling proxy

interface Upstream {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

interface Garbled {
  readonly status: number;
  readonly contentType: string;
  readonly body: Buffer;
}

/** An HTTP proxy to one fake that answers requests of the `target` operation with `garble` of the real answer. */
class GarblingProxy {
  target: string | undefined;
  garble: ((answer: Upstream) => Garbled) | undefined;
  /** Answers garbled since the last reset: a case that garbled nothing tested nothing. */
  garbled = 0;
  lastGarbled: Buffer | undefined;

  private constructor(
    private readonly server: Server,
    readonly endpoint: string,
  ) {}

  static async start(upstream: string, operationOf: (method: string, path: string) => string): Promise<GarblingProxy> {
    const up = new URL(upstream);
    // The handler garbles through the proxy once it exists.
    const ref: { proxy?: GarblingProxy } = {};
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const forward = request(
          { host: up.hostname, port: up.port, method: req.method, path: req.url, headers: { ...req.headers, host: up.host } },
          (answer) => {
            const body: Buffer[] = [];
            answer.on('data', (c: Buffer) => body.push(c));
            answer.on('end', () => {
              const operation = operationOf(req.method ?? 'GET', new URL(req.url ?? '/', 'http://x').pathname);
              const original: Upstream = { status: answer.statusCode ?? 0, contentType: answer.headers['content-type'] ?? '', body: Buffer.concat(body).toString('utf8') };
              const proxy = ref.proxy;
              if (proxy?.garble !== undefined && operation === proxy.target) {
                proxy.garbled++;
                const out = proxy.garble(original);
                proxy.lastGarbled = out.body;
                res.writeHead(out.status, { 'content-type': out.contentType, 'content-length': String(out.body.length) });
                res.end(out.body);
                return;
              }
              const headers = { ...answer.headers };
              res.writeHead(original.status, headers);
              res.end(Buffer.concat(body));
            });
          },
        );
        forward.on('error', () => res.destroy());
        forward.end(Buffer.concat(chunks));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('the proxy is not listening');
    const path = up.pathname === '/' ? '' : up.pathname;
    ref.proxy = new GarblingProxy(server, `http://127.0.0.1:${String(address.port)}${path}`);
    return ref.proxy;
  }

  set(target: string, garble: (answer: Upstream) => Garbled): void {
    this.target = target;
    this.garble = garble;
    this.garbled = 0;
    this.lastGarbled = undefined;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => {
      this.server.close(() => {
        resolve();
      });
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Garbles

/** A garble of a text answer; `mustReject` is false only for those a correct reader may accept. */
type Garble =
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'rename'; readonly field: number; readonly to: string; readonly element?: string }
  | { readonly kind: 'remove'; readonly field: number; readonly element?: string }
  | { readonly kind: 'retype'; readonly field: number; readonly value: string; readonly element?: string; readonly replacement?: unknown }
  | { readonly kind: 'html'; readonly status: number }
  | { readonly kind: 'empty'; readonly status: number }
  | { readonly kind: 'other-type'; readonly body: string }
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array }
  | { readonly kind: 'odd-value'; readonly field: number; readonly value: string; readonly recordType: string };

const fraction = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

const HTML_PAGE = '<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1><p>The proxy received an invalid response.</p></body></html>';

const garble = (wrongValues: fc.Arbitrary<string>, oddValues: fc.Arbitrary<string>, otherBodies: readonly string[]): fc.Arbitrary<Garble> =>
  fc.oneof(
    fraction.map((at): Garble => ({ kind: 'truncate', at })),
    fc.tuple(fc.nat(), fc.constantFrom('X', 'Items', 'resourcerecordsets', 'Name2', 'data', 'answer')).map(([field, to]): Garble => ({ kind: 'rename', field, to })),
    fc.nat().map((field): Garble => ({ kind: 'remove', field })),
    { arbitrary: fc.tuple(fc.nat(), wrongValues).map(([field, value]): Garble => ({ kind: 'retype', field, value })), weight: 2 },
    fc.constantFrom(200, 403, 404, 500, 502, 503).map((status): Garble => ({ kind: 'html', status })),
    fc.constantFrom(200, 201, 204).map((status): Garble => ({ kind: 'empty', status })),
    fc.constantFrom(...otherBodies).map((body): Garble => ({ kind: 'other-type', body })),
    fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes): Garble => ({ kind: 'bytes', bytes })),
    {
      arbitrary: fc.tuple(fc.nat(), oddValues, fc.constantFrom('A', 'AAAA', 'MX', 'TXT', 'NS', 'SOA')).map(([field, value, recordType]): Garble => ({ kind: 'odd-value', field, value, recordType })),
      weight: 2,
    },
  );

/**
 * What a correct reader may do with a garbled answer:
 * - 'reject': it is not the service's answer at all (cut short, a required element gone, a page
 *   from something else); only a typed rejection will do.
 * - 'reject-or-same': a scalar of the wrong type. The AWS SDK reads some of those leniently
 *   (IsTruncated "maybe" as false, TTL "" as 0) before we see them, so a result is allowed when
 *   it is exactly what the ungarbled answer gives, and never another one.
 * - 'anything-typed': odd record data; read as it is, or refused with a typed error.
 */
type Expectation = 'reject' | 'reject-or-same' | 'anything-typed';

function expectationOf(g: Garble): Expectation {
  if (g.kind === 'odd-value') return 'anything-typed';
  if (g.kind === 'retype') return 'reject-or-same';
  return 'reject';
}

const WRONG_SCALARS = [
  '',
  'maybe',
  'abc',
  '-1',
  '1.5',
  '0x10',
  '9'.repeat(400),
  '1e400',
  '4294967296',
  '-9007199254740993',
  'NaN',
  'Infinity',
  '&amp;',
] as const;

/** Values a name server could not hold, or that are not the record type's form. */
const ODD_VALUES = [
  '',
  ' ',
  '1:2:3:4:5:6:7:8::9:10',
  '::::::',
  '1::2::3',
  '2001:db8::zzzz',
  '999.999.999.999',
  '1.2.3',
  'not-an-address',
  '10',
  '10 ',
  'x y z w v',
  '"unterminated',
  '\u0000',
  'é.example.com.',
  '.'.repeat(300),
  'a'.repeat(70_000),
] as const;

// ---------------------------------------------------------------------------------------------
// Route53: the provider over the real AWS SDK, the fake behind the proxy

/**
 * Elements each operation's answer must carry for the provider to use it (not list items: one
 * HostedZone, ResourceRecordSet or NameServer fewer is a shorter list, which reads as one), the
 * scalars it reads, and the values it turns into data.
 */
const ROUTE53_FIELDS: Readonly<Record<string, { readonly required: readonly string[]; readonly scalars: readonly string[]; readonly values: readonly string[] }>> = {
  // No odd values here: any zone name is a possible answer (another zone of the account), and the
  // provider rightly takes a listing without its zone as "not there" and creates it.
  ListHostedZonesByName: { required: ['HostedZones', 'Id', 'Name', 'IsTruncated'], scalars: ['IsTruncated', 'PrivateZone'], values: [] },
  ListResourceRecordSets: { required: ['ResourceRecordSets', 'Name', 'Type', 'Value', 'IsTruncated'], scalars: ['IsTruncated', 'TTL', 'Type'], values: ['Value', 'Name'] },
  GetHostedZone: { required: ['HostedZone', 'Id', 'Name', 'DelegationSet', 'NameServers'], scalars: ['PrivateZone'], values: ['NameServer'] },
  ChangeResourceRecordSets: { required: ['ChangeInfo', 'Id', 'Status'], scalars: ['Status'], values: ['Id'] },
  GetChange: { required: ['ChangeInfo', 'Id', 'Status'], scalars: ['Status'], values: ['Id'] },
  CreateHostedZone: { required: ['HostedZone', 'ChangeInfo', 'DelegationSet', 'Id', 'Name', 'Status', 'NameServers'], scalars: ['Status', 'PrivateZone'], values: ['NameServer', 'Name'] },
};

/** Picks the field-th of `names` that the XML holds. */
function pickElement(xml: string, names: readonly string[], field: number): string | undefined {
  const present = names.filter((n) => xml.includes(`<${n}>`));
  return present[field % Math.max(1, present.length)];
}

function xmlGarble(operation: string, g: Garble): (answer: Upstream) => Garbled {
  const fields = ROUTE53_FIELDS[operation] ?? { required: [], scalars: [], values: [] };
  return (answer) => {
    const xml = answer.body;
    const ok = (body: string): Garbled => ({ status: answer.status, contentType: answer.contentType, body: Buffer.from(body, 'utf8') });
    const first = (name: string): RegExp => new RegExp(`<${name}>([\\s\\S]*?)</${name}>`);
    switch (g.kind) {
      case 'truncate':
        return ok(xml.slice(0, Math.floor(g.at * xml.length)));
      case 'rename': {
        const name = g.element ?? pickElement(xml, fields.required, g.field);
        return ok(name === undefined ? `${xml}<broken` : xml.replace(first(name), `<${g.to}>$1</${g.to}>`));
      }
      case 'remove': {
        const name = g.element ?? pickElement(xml, fields.required, g.field);
        return ok(name === undefined ? '' : xml.replace(first(name), ''));
      }
      case 'retype': {
        const name = pickElement(xml, fields.scalars, g.field);
        return ok(name === undefined ? xml.replace(/<\/[A-Za-z]+>$/, '') : xml.replace(first(name), `<${name}>${g.value}</${name}>`));
      }
      case 'odd-value': {
        // A value of a record set of the chosen type; in other answers, any occurrence of a value element.
        const sets = [...xml.matchAll(/<ResourceRecordSet>[\s\S]*?<\/ResourceRecordSet>/g)].filter((m) => m[0].includes(`<Type>${g.recordType}</Type>`));
        const set = sets[g.field % Math.max(1, sets.length)];
        if (set !== undefined) {
          const escaped = g.value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('\u0000', '&#0;');
          const garbledSet = set[0].replace(/<Value>[\s\S]*?<\/Value>/, `<Value>${escaped}</Value>`);
          return ok(`${xml.slice(0, set.index)}${garbledSet}${xml.slice(set.index + set[0].length)}`);
        }
        const occurrences = fields.values.length === 0 ? [] : [...xml.matchAll(new RegExp(`<(${fields.values.join('|')})>[\\s\\S]*?</\\1>`, 'g'))];
        const target = occurrences[g.field % Math.max(1, occurrences.length)];
        if (target === undefined) return ok(xml);
        const name = target[1] ?? '';
        const escaped = g.value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('\u0000', '&#0;');
        return ok(`${xml.slice(0, target.index)}<${name}>${escaped}</${name}>${xml.slice(target.index + target[0].length)}`);
      }
      case 'html':
        return { status: g.status, contentType: 'text/html; charset=utf-8', body: Buffer.from(HTML_PAGE, 'utf8') };
      case 'empty':
        return { status: g.status, contentType: 'text/xml', body: Buffer.alloc(0) };
      case 'other-type':
        return { status: answer.status, contentType: 'application/json', body: Buffer.from(g.body, 'utf8') };
      case 'bytes':
        return { status: answer.status, contentType: 'text/xml', body: Buffer.from(g.bytes) };
    }
  };
}

const ROUTE53_OTHER_BODIES = [
  '{"ResourceRecordSets": [], "IsTruncated": false}',
  '{"message": "Internal server error"}',
  '[]',
  'null',
  'OK',
  // An entity expansion bomb: a reader that expands it runs out of memory.
  `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">${Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${String(i + 1)} "${`&lol${i === 0 ? '' : String(i)};`.repeat(10)}">`).join('')}]><ListResourceRecordSetsResponse><ResourceRecordSets><ResourceRecordSet><Name>&lol9;</Name><Type>A</Type></ResourceRecordSet></ResourceRecordSets><IsTruncated>false</IsTruncated><MaxItems>100</MaxItems></ListResourceRecordSetsResponse>`,
];

type Route53Call = 'listRecords' | 'nameservers' | 'applyChanges' | 'ensureZone' | 'ensureExistingZone' | 'checkConfiguredZone';

/** The call that sends the operation (after the operations before it, answered as they are). */
const ROUTE53_CALLS: readonly (readonly [operation: string, call: Route53Call])[] = [
  ['ListHostedZonesByName', 'listRecords'],
  ['ListHostedZonesByName', 'ensureExistingZone'],
  ['ListResourceRecordSets', 'listRecords'],
  ['GetHostedZone', 'nameservers'],
  ['GetHostedZone', 'checkConfiguredZone'],
  ['ChangeResourceRecordSets', 'applyChanges'],
  ['GetChange', 'applyChanges'],
  ['CreateHostedZone', 'ensureZone'],
];

let route53: FakeRoute53 | undefined;
let route53Proxy: GarblingProxy | undefined;
let route53ZoneId = '';
const ROUTE53_ZONE = 'garbled.example.com.';

let ns1: FakeNs1 | undefined;
let ns1Proxy: GarblingProxy | undefined;
const NS1_ZONE = 'garbled.example.net.';

beforeAll(async () => {
  route53 = await FakeRoute53.start();
  route53ZoneId = route53.createZone(ROUTE53_ZONE).id;
  for (const [name, type, values] of [
    [`www.${ROUTE53_ZONE}`, 'A', ['192.0.2.1', '192.0.2.2']],
    [`v6.${ROUTE53_ZONE}`, 'AAAA', ['2001:db8::1']],
    [ROUTE53_ZONE, 'MX', ['10 mail.example.com.']],
    [`txt.${ROUTE53_ZONE}`, 'TXT', ['"hello world"']],
  ] as const) {
    route53.putRecordDirect(ROUTE53_ZONE, { name, type, ttl: 300, values: [...values] });
  }
  route53Proxy = await GarblingProxy.start(route53.endpoint, (method, path) => matchRoute(method, path)?.operation ?? 'unknown');

  const limit = { limit: 1_000_000, periodSeconds: 1 };
  ns1 = await FakeNs1.start({ rateLimits: { GET: limit, PUT: limit, POST: limit, DELETE: limit } });
  ns1.createZone(NS1_ZONE);
  for (const [domain, type, answers] of [
    [`www.${NS1_ZONE}`, 'A', [['192.0.2.1'], ['192.0.2.2']]],
    [`v6.${NS1_ZONE}`, 'AAAA', [['2001:db8::1']]],
    [`mx.${NS1_ZONE}`, 'MX', [[10, 'mail.example.com']]],
  ] as const) {
    ns1.putRecordDirect({ zone: NS1_ZONE.slice(0, -1), domain: domain.slice(0, -1), type, ttl: 300, answers: answers.map((answer) => ({ answer: [...answer] })) });
  }
  ns1Proxy = await GarblingProxy.start(ns1.endpoint, ns1OperationOf);
});

afterAll(async () => {
  await route53Proxy?.close();
  await ns1Proxy?.close();
  await route53?.close();
  await ns1?.close();
});

let unique = 0;

function newRoute53Provider(configuredZone: boolean): Route53Provider {
  if (route53Proxy === undefined) throw new Error('no proxy');
  return new Route53Provider({
    config: {
      type: 'route53',
      name: 'r53',
      endpoint: route53Proxy.endpoint,
      hostedZoneIds: configuredZone ? { [ROUTE53_ZONE]: route53ZoneId } : {},
      rateLimit: 10_000,
      insyncPollIntervalMs: 5,
    },
    clock: systemClock,
    logger: silentLogger(),
    env: {},
    rateBurst: 100,
    retry: { maxAttempts: 3, throttleBaseMs: 2, transientBaseMs: 1, capMs: 10 },
  });
}

async function route53Call(provider: Route53Provider, call: Route53Call, signal: AbortSignal): Promise<unknown> {
  const n = String(++unique);
  switch (call) {
    case 'listRecords':
      return provider.listRecords(ROUTE53_ZONE, signal);
    case 'nameservers':
      return provider.nameservers(ROUTE53_ZONE, signal);
    case 'checkConfiguredZone':
      return provider.listRecords(ROUTE53_ZONE, signal);
    case 'applyChanges': {
      await provider.listRecords(ROUTE53_ZONE, signal);
      const changes: ChangeSet = { zone: ROUTE53_ZONE, creates: [{ name: `h${n}.${ROUTE53_ZONE}`, type: 'A', ttl: 60, values: ['192.0.2.9'] }], updates: [], deletes: [] };
      return provider.applyChanges(changes, signal);
    }
    case 'ensureZone':
      return provider.ensureZone(`new${n}.example.org.`, signal);
    case 'ensureExistingZone':
      return provider.ensureZone(ROUTE53_ZONE, signal);
  }
}

/** Hosted zones named like the test's zone, asked of the fake directly: more than one means a garbled answer made the provider create it again. */
async function route53ZoneCopies(): Promise<number> {
  if (route53 === undefined) throw new Error('no fake Route53');
  const client = new Route53Client({ endpoint: route53.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIDDNSQUORUMTEST', secretAccessKey: 'dnsquorum-test-secret' }, maxAttempts: 1 });
  try {
    const out = await client.send(new ListHostedZonesByNameCommand({ DNSName: ROUTE53_ZONE }));
    return (out.HostedZones ?? []).filter((z) => z.Name === ROUTE53_ZONE).length;
  } finally {
    client.destroy();
  }
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** Undefined when the outcome is allowed: a typed rejection, or (when the expectation allows it) a result. */
function judge(outcome: Outcome, expectation: Expectation, reference: Outcome | undefined, garbled: number): string | undefined {
  if (garbled === 0) return 'the garbled operation was never sent (the case tested nothing)';
  if (outcome.ok) {
    const got = JSON.stringify(outcome.value) ?? 'undefined';
    if (expectation === 'anything-typed') return undefined;
    if (expectation === 'reject-or-same' && reference?.ok === true && (JSON.stringify(reference.value) ?? 'undefined') === got) return undefined;
    return `resolved with ${got.slice(0, 400)} instead of rejecting${reference?.ok === true ? ` (the ungarbled answer reads as ${(JSON.stringify(reference.value) ?? 'undefined').slice(0, 400)})` : ''}`;
  }
  const err = outcome.error;
  if (!(err instanceof DnsQuorumError)) return `rejected with ${describeError(err)}`;
  if (!(err.code in ERROR_CODES)) return `rejected with an unknown code ${err.code}`;
  return undefined;
}

/** The call's outcome; a call still pending after CALL_DEADLINE_MS (plus a grace for its own abort) fails the case as a hang. */
async function settle(promise: Promise<unknown>, what: string): Promise<Outcome> {
  const settled = promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  return bounded(settled, CALL_DEADLINE_MS + 5000, what);
}

function compact(g: Garble): string {
  return JSON.stringify(g, (_, v: unknown) => (v instanceof Uint8Array ? [...v] : typeof v === 'string' && v.length > 60 ? `${v.slice(0, 30)}...(${String(v.length)} chars)` : v));
}

/** Calls that only read: their result can be compared with that of the same call ungarbled. */
const READS: ReadonlySet<string> = new Set(['listRecords', 'nameservers', 'checkConfiguredZone', 'getZone', 'getRecord']);

// ---------------------------------------------------------------------------------------------
// NS1: our client and provider, the fake behind the proxy

function ns1OperationOf(method: string, path: string): string {
  const parts = path.replace(/^\/v1\//, '').split('/').filter((p) => p !== '');
  if (parts[0] !== 'zones') return 'unknown';
  const kind = parts.length === 2 ? 'Zone' : parts.length === 4 ? 'Record' : 'Zones';
  const verb = method === 'GET' ? 'Get' : method === 'PUT' ? 'Create' : method === 'POST' ? 'Update' : 'Delete';
  return `${verb}${kind}`;
}

/** Fields each NS1 answer must carry (JSON keys), the scalars the client reads, and the values it turns into record data. */
const NS1_FIELDS: Readonly<Record<string, { readonly required: readonly string[]; readonly scalars: readonly string[]; readonly values: readonly string[] }>> = {
  GetZone: { required: ['zone', 'records', 'domain', 'type', 'dns_servers'], scalars: ['ttl', 'tier', 'short_answers', 'records', 'domain', 'type', 'zone', 'dns_servers', 'link'], values: ['short_answers'] },
  GetRecord: { required: ['zone', 'domain', 'type', 'answers', 'answer'], scalars: ['ttl', 'tier', 'answers', 'answer', 'filters', 'link', 'domain'], values: ['answer'] },
  CreateRecord: { required: ['zone', 'domain', 'type', 'answers'], scalars: ['ttl', 'answers', 'domain'], values: ['answer'] },
  UpdateRecord: { required: ['zone', 'domain', 'type', 'answers'], scalars: ['ttl', 'answers', 'domain'], values: ['answer'] },
  CreateZone: { required: ['zone'], scalars: ['zone', 'ttl'], values: ['zone'] },
};

/** The JSON type of each field the client reads. */
const NS1_FIELD_TYPES: Readonly<Record<string, string>> = {
  zone: 'string',
  domain: 'string',
  type: 'string',
  link: 'string',
  ttl: 'number',
  tier: 'number',
  records: 'array',
  dns_servers: 'array',
  short_answers: 'array',
  answers: 'array',
  answer: 'array',
  filters: 'array',
};

function jsonType(v: unknown): string {
  return Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v;
}

/** Huge, negative and fractional TTLs. */
const BAD_TTLS: readonly number[] = [-1, 1.5, 1e308, 2 ** 53 + 2, 4_294_967_296];

// Not null: NS1 sends null for fields it leaves unset, and the client reads it so.
const WRONG_JSON: readonly unknown[] = [true, 'text', -1, 1.5, 1e308, 2 ** 53 + 2, [], {}, [[1, [2]]], { nested: { deep: [1] } }, '9'.repeat(400)];

/** Replaces the field-th occurrence of one of `keys` (anywhere in the JSON) with `value`, or removes it. */
function editJson(text: string, keys: readonly string[], field: number, edit: (parent: Record<string, unknown>, key: string) => void): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const found: [Record<string, unknown>, string][] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (typeof node === 'object' && node !== null) {
      for (const [k, v] of Object.entries(node)) {
        if (keys.includes(k)) found.push([node as Record<string, unknown>, k]);
        walk(v);
      }
    }
  };
  walk(parsed);
  const target = found[field % Math.max(1, found.length)];
  if (target === undefined) return undefined;
  edit(target[0], target[1]);
  return JSON.stringify(parsed);
}

/** Replaces the data of the field-th record of `type` in an NS1 answer with `value`; undefined when it holds none. */
function editRecordOfType(text: string, type: string, field: number, value: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const found: Record<string, unknown>[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (typeof node === 'object' && node !== null) {
      const record = node as Record<string, unknown>;
      if (record.type === type && ('short_answers' in record || 'answers' in record)) found.push(record);
      Object.values(record).forEach(walk);
    }
  };
  walk(parsed);
  const target = found[field % Math.max(1, found.length)];
  if (target === undefined) return undefined;
  if ('short_answers' in target) target.short_answers = [value];
  if ('answers' in target) target.answers = [{ answer: [value] }];
  return JSON.stringify(parsed);
}

function jsonGarble(operation: string, g: Garble): (answer: Upstream) => Garbled {
  const fields = NS1_FIELDS[operation] ?? { required: [], scalars: [], values: [] };
  return (answer) => {
    const text = answer.body;
    const ok = (body: string): Garbled => ({ status: answer.status, contentType: answer.contentType, body: Buffer.from(body, 'utf8') });
    switch (g.kind) {
      case 'truncate': {
        // At least one byte (an empty body is its own garble) and at least the closing bracket cut.
        const json = text.trimEnd();
        return ok(json.slice(0, Math.max(1, Math.min(json.length - 1, Math.floor(g.at * json.length)))));
      }
      case 'rename':
        return ok(
          editJson(text, g.element === undefined ? fields.required : [g.element], g.field, (parent, key) => {
            parent[`${key}_${g.to}`] = parent[key];
            Reflect.deleteProperty(parent, key);
          }) ?? '{',
        );
      case 'remove':
        return ok(editJson(text, g.element === undefined ? fields.required : [g.element], g.field, (parent, key) => Reflect.deleteProperty(parent, key)) ?? '{');
      case 'retype':
        return ok(
          editJson(text, g.element === undefined ? fields.scalars : [g.element], g.field, (parent, key) => {
            // A value of another JSON type than the field's (null is NS1's "unset" for every optional
            // field), or for a TTL a number no TTL can be.
            const wrong = [...WRONG_JSON.filter((v) => jsonType(v) !== NS1_FIELD_TYPES[key]), ...(key === 'ttl' ? BAD_TTLS : [])];
            parent[key] = 'replacement' in g ? g.replacement : wrong[g.value.length % wrong.length];
          }) ?? '[',
        );
      case 'odd-value': {
        // The data of a record of the chosen type (a zone's summary, or a record's answers); else any value field.
        const ofType = editRecordOfType(text, g.recordType, g.field, g.value);
        return ok(
          ofType ??
            editJson(text, fields.values, g.field, (parent, key) => {
              parent[key] = Array.isArray(parent[key]) ? [g.value] : g.value;
            }) ??
            text,
        );
      }
      case 'html':
        return { status: g.status, contentType: 'text/html; charset=utf-8', body: Buffer.from(HTML_PAGE, 'utf8') };
      case 'empty':
        return { status: g.status, contentType: 'application/json', body: Buffer.alloc(0) };
      case 'other-type':
        return { status: answer.status, contentType: 'text/xml', body: Buffer.from(g.body, 'utf8') };
      case 'bytes':
        return { status: answer.status, contentType: 'application/json', body: Buffer.from(g.bytes) };
    }
  };
}

const NS1_OTHER_BODIES = ['<?xml version="1.0"?><zone><name>x</name></zone>', '<html>', 'OK', 'true', '"a string"', '42'];

type Ns1Call = 'getZone' | 'getRecord' | 'listRecords' | 'nameservers' | 'create' | 'update' | 'createZone';

const NS1_CALLS: readonly (readonly [operation: string, call: Ns1Call])[] = [
  ['GetZone', 'getZone'],
  ['GetZone', 'listRecords'],
  ['GetZone', 'nameservers'],
  ['GetRecord', 'getRecord'],
  ['CreateRecord', 'create'],
  ['UpdateRecord', 'update'],
  ['CreateZone', 'createZone'],
];

function ns1Config(): { type: 'ns1'; name: string; apiKey: string; endpoint: string; requestTimeoutMs: number; maxRetries: number } {
  if (ns1 === undefined || ns1Proxy === undefined) throw new Error('no fake NS1');
  return { type: 'ns1', name: 'ns1', apiKey: ns1.apiKey, endpoint: ns1Proxy.endpoint, requestTimeoutMs: 5000, maxRetries: 2 };
}

async function ns1Call(call: Ns1Call, signal: AbortSignal): Promise<unknown> {
  const config = ns1Config();
  const provider = new Ns1Provider({ config, clock: systemClock, logger: silentLogger(), retry: { throttleBaseMs: 2, transientBaseMs: 1, capMs: 10 } });
  const client = new Ns1Client({ endpoint: config.endpoint, apiKey: config.apiKey, requestTimeoutMs: 5000, retry: { maxRetries: 2, throttleBaseMs: 2, transientBaseMs: 1, capMs: 10 }, clock: systemClock, logger: silentLogger() });
  const n = String(++unique);
  try {
    switch (call) {
      case 'getZone':
        return await client.getZone(NS1_ZONE, signal);
      case 'getRecord':
        return await client.getRecord(NS1_ZONE, `www.${NS1_ZONE}`, 'A', signal);
      case 'listRecords':
        return await provider.listRecords(NS1_ZONE, signal);
      case 'nameservers':
        return await provider.nameservers(NS1_ZONE, signal);
      case 'create':
        await client.createRecord({ zone: NS1_ZONE, domain: `h${n}.${NS1_ZONE}`, type: 'A', ttl: 60, answers: [{ answer: ['192.0.2.9'] }] }, signal);
        return undefined;
      case 'update':
        await client.updateRecord({ zone: NS1_ZONE, domain: `www.${NS1_ZONE}`, type: 'A', ttl: 300, answers: [{ answer: ['192.0.2.1'] }, { answer: ['192.0.2.2'] }] }, signal);
        return undefined;
      case 'createZone':
        await client.createZone(`new${n}.example.org.`, signal);
        return undefined;
    }
  } finally {
    client.close();
    await provider.close();
  }
}

/** NS1 writes: the client reads nothing of what a write answers beyond its being JSON (or empty). */
function ns1Expectation(call: Ns1Call, g: Garble, body: Buffer | undefined): Expectation {
  if (call !== 'create' && call !== 'update' && call !== 'createZone') return expectationOf(g);
  const text = body?.toString('utf8') ?? '';
  if (text.trim() === '') return 'anything-typed';
  try {
    JSON.parse(text);
    return 'anything-typed';
  } catch {
    return 'reject';
  }
}

// ---------------------------------------------------------------------------------------------

/** Found by these properties: an AAAA value with more than eight groups made the reader throw a RangeError. */
const IPV6_TOO_LONG: Garble = { kind: 'odd-value', field: 0, value: '1:2:3:4:5:6:7:8::9:10', recordType: 'AAAA' };

describe('fault: garbled provider answers', () => {
  it('Route53: every call on a garbled answer rejects with a typed error, never a TypeError or a hang', async (context) => {
    const numRuns = faultCases(250, 1200);
    const outcome = await runProperty(
      fc.asyncProperty(fc.constantFrom(...ROUTE53_CALLS), garble(fc.constantFrom(...WRONG_SCALARS), fc.constantFrom(...ODD_VALUES), ROUTE53_OTHER_BODIES), async ([operation, call], g) => {
        const proxy = route53Proxy;
        if (proxy === undefined) throw new Error('no proxy');
        const expectation = expectationOf(g);
        // What the call gives ungarbled: read again for reads; writes resolve with nothing.
        const reference: Outcome | undefined =
          expectation !== 'reject-or-same'
            ? undefined
            : READS.has(call)
              ? await settle(route53Call(newRoute53Provider(call === 'checkConfiguredZone'), call, AbortSignal.timeout(CALL_DEADLINE_MS)), `${call} ungarbled`)
              : { ok: true, value: undefined };
        proxy.set(operation, xmlGarble(operation, g));
        const provider = newRoute53Provider(call === 'checkConfiguredZone');
        try {
          const result = await settle(route53Call(provider, call, AbortSignal.timeout(CALL_DEADLINE_MS)), `${call} with ${operation} garbled`);
          // The AWS SDK reads a TTL with Number(): "" as 0 and "0x10" as 16, which no one can tell
          // from a TTL of 0 or 16 once read (listed as found and not fixed in the report of issue 10).
          const sdkBlind = g.kind === 'retype' && proxy.lastGarbled?.includes(`<TTL>${g.value}</TTL>`) === true && Number.isInteger(Number(g.value)) && Number(g.value) >= 0 && Number(g.value) <= 2_147_483_647;
          const problem = judge(result, sdkBlind ? 'anything-typed' : expectation, reference, proxy.garbled);
          if (problem !== undefined) throw new Error(`${call} with ${operation} garbled by ${compact(g)}: ${problem}`);
          const copies = await route53ZoneCopies();
          if (copies !== 1) throw new Error(`${call} with ${operation} garbled by ${compact(g)}: Route53 now holds ${String(copies)} hosted zones named ${ROUTE53_ZONE}`);
        } finally {
          proxy.garble = undefined;
          await provider.close();
        }
      }),
      {
        numRuns,
        // The fake's zones are shared by every case: a failure is reported as found, not shrunk against a changed state.
        endOnFailure: true,
        examples: [
          [['ListResourceRecordSets', 'listRecords'], IPV6_TOO_LONG],
          // Found by this property: each was read as an empty zone, a zone to create again, or a change forever PENDING.
          [['ListResourceRecordSets', 'listRecords'], { kind: 'empty', status: 200 }],
          [['ListHostedZonesByName', 'ensureExistingZone'], { kind: 'remove', field: 0, element: 'HostedZones' }],
          [['GetChange', 'applyChanges'], { kind: 'remove', field: 0, element: 'ChangeInfo' }],
          [['GetChange', 'applyChanges'], { kind: 'retype', field: 0, value: 'DONE' }],
          [['GetHostedZone', 'nameservers'], { kind: 'remove', field: 0, element: 'DelegationSet' }],
        ],
      },
    );
    recordFault(context, { fault: 'garbled provider answers', cases: outcome.cases, passed: outcome.passed, lost: 0 });
    expect(outcome.failure).toBeUndefined();
  }, 170_000);

  it('NS1: every call on a garbled answer rejects with a typed error, never a TypeError or a hang', async (context) => {
    const numRuns = faultCases(250, 1200);
    const outcome = await runProperty(
      fc.asyncProperty(fc.constantFrom(...NS1_CALLS), garble(fc.string({ maxLength: 20 }), fc.constantFrom(...ODD_VALUES), NS1_OTHER_BODIES), async ([operation, call], g) => {
        const proxy = ns1Proxy;
        if (proxy === undefined) throw new Error('no proxy');
        const reference = expectationOf(g) === 'reject-or-same' && READS.has(call) ? await settle(ns1Call(call, AbortSignal.timeout(CALL_DEADLINE_MS)), `${call} ungarbled`) : undefined;
        proxy.set(operation, jsonGarble(operation, g));
        try {
          const result = await settle(ns1Call(call, AbortSignal.timeout(CALL_DEADLINE_MS)), `${call} with ${operation} garbled`);
          const problem = judge(result, ns1Expectation(call, g, proxy.lastGarbled), reference, proxy.garbled);
          if (problem !== undefined) throw new Error(`${call} with ${operation} garbled by ${compact(g)}: ${problem}`);
        } finally {
          proxy.garble = undefined;
        }
      }),
      {
        numRuns,
        endOnFailure: true,
        examples: [
          [['GetZone', 'listRecords'], IPV6_TOO_LONG],
          // Found by this property: read as a zone without name servers or records, a record without answers.
          [['GetZone', 'nameservers'], { kind: 'remove', field: 0, element: 'dns_servers' }],
          [['GetZone', 'listRecords'], { kind: 'remove', field: 0, element: 'records' }],
          [['GetRecord', 'getRecord'], { kind: 'rename', field: 0, to: 'X', element: 'answers' }],
          [['GetZone', 'listRecords'], { kind: 'retype', field: 1, value: '', element: 'ttl', replacement: 1e308 }],
        ],
      },
    );
    recordFault(context, { fault: 'garbled provider answers', cases: outcome.cases, passed: outcome.passed, lost: 0 });
    expect(outcome.failure).toBeUndefined();
  }, 170_000);
});
