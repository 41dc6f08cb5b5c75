import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostPort, LocalProviderConfig } from '../../src/config/types.js';
import { AdminApi } from '../../src/control/api/server.js';
import { FileAuditLog } from '../../src/control/audit/file-log.js';
import { OverrideEffectChecker } from '../../src/control/overrides/effect.js';
import { overrideRoutes } from '../../src/control/api/override-routes.js';
import { FileOverrideStore } from '../../src/control/overrides/file-store.js';
import type { CreatedOverrideAnswer, ReleasedAnswer } from '../../src/control/overrides/wire.js';
import { endpointId } from '../../src/domain/health.js';
import type { EndpointHealth } from '../../src/domain/health.js';
import { recordKey } from '../../src/domain/record.js';
import type { FailoverRecordSpec, ZoneSpec } from '../../src/domain/zone.js';
import { ManualClock } from '../../src/lib/clock.js';
import { HybridLogicalClock } from '../../src/lib/hlc.js';
import { silentLogger } from '../../src/lib/logger.js';
import { LocalProvider } from '../../src/providers/local/provider.js';
import { LocalDnsServer } from '../../src/providers/local/server.js';
import { concurrencyLimit } from '../../src/verify/limit.js';
import { faultCases, recordFault } from './fault-table.js';
import { STACK_LINE, runProperty } from './hostile-common.js';
import { failoverSpec } from '../helpers/failover-spec.js';

/**
 * Fault "admin API body": a real AdminApi with the real override routes, FileOverrideStore,
 * FileAuditLog and an effect checker over two local providers' DNS servers, on 127.0.0.1:0,
 * sent hostile requests interleaved with valid ones: random JSON, malformed JSON, bodies over
 * 64 KiB, every field of a valid body replaced by a value of the wrong type, odd ids and names in
 * paths (percent-encoding, "..", unicode, very long), odd query strings, and every route with
 * every method. Every hostile request gets a 4xx with a JSON error { error: { code, message } }
 * (never a 5xx, never a hang) and leaves the store as it was; at the end the store (in memory
 * and re-read from disk) holds exactly the overrides the valid requests made and did not release.
 */

const TOKEN = 'hostile-api-token-5b2d';
const ZONE = 'example.com.';
const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;
const LABS = [
  { name: 'lab-a', nameserver: 'ns1.lab-a.example.net.' },
  { name: 'lab-b', nameserver: 'ns1.lab-b.example.net.' },
] as const;

const check = { protocol: 'tcp', port: 443, intervalMs: 5000, timeoutMs: 2000, fall: 3, rise: 3 } as const;
const apiRecord: FailoverRecordSpec = failoverSpec(`api.${ZONE}`, { primary: ['192.0.2.10', '192.0.2.11'], secondary: ['198.51.100.20', '198.51.100.21'] }, { check, maxWritesPerHour: 12 });
const webRecord: FailoverRecordSpec = {
  ...apiRecord,
  name: `web.${ZONE}`,
  type: 'AAAA',
  failover: { ...apiRecord.failover, pools: [{ name: 'main', values: ['2001:db8::5'] }, { name: 'spare', values: ['2001:db8::6', '2001:db8::7'] }] },
};
const RECORDS = [apiRecord, webRecord] as const;
const zone: ZoneSpec = {
  name: ZONE,
  providers: LABS.map((l) => l.name),
  nameservers: 'manual',
  nameserverTtl: 3600,
  unmanaged: 'keep',
  drift: 'repair',
  maxChangeShare: 1,
  records: [{ kind: 'static', name: `www.${ZONE}`, type: 'CNAME', ttl: 300, values: ['edge.example.net.'] }, ...RECORDS],
};

/** Every value of both records up in every region: the safety check lets the valid requests through. */
const HEALTH = new Map<string, EndpointHealth>(
  RECORDS.flatMap((r) =>
    r.failover.pools.flatMap((p) =>
      p.values.map((value): [string, EndpointHealth] => {
        const id = endpointId(r.name, r.type, value);
        return [id, { endpointId: id, state: 'up', since: T0, reason: 'up in 3 of 3 regions', insufficientVantage: false, regions: [] }];
      }),
    ),
  ),
);
const SERVED = new Map(RECORDS.map((r) => [recordKey(r.name, r.type), r.failover.pools[0]?.values ?? []]));

// ---------------------------------------------------------------------------------------------
// One daemon's worth of routes, shared by the whole run (the store must end as the valid requests left it).

let dir = '';
let storePath = '';
let api: AdminApi | undefined;
let store: FileOverrideStore | undefined;
let address: HostPort = { host: '127.0.0.1', port: 0 };
const dnsServers: LocalDnsServer[] = [];
const clock = new ManualClock(T0);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dq-hostile-api-'));
  const providers = new Map<string, LocalProvider>();
  const resolve = new Map<string, HostPort>();
  for (const lab of LABS) {
    const config: LocalProviderConfig = { type: 'local', name: lab.name, listen: { host: '127.0.0.1', port: 0 }, nameserver: lab.nameserver };
    const statePath = join(dir, `${lab.name}.json`);
    const server = new LocalDnsServer({ config, statePath, logger: silentLogger() });
    await server.start();
    dnsServers.push(server);
    resolve.set(lab.nameserver.slice(0, -1), server.address());
    const provider = new LocalProvider({ config, statePath, clock, logger: silentLogger() });
    await provider.ensureZone(ZONE, AbortSignal.timeout(10_000));
    providers.set(lab.name, provider);
  }
  storePath = join(dir, 'overrides.json');
  const opened = await FileOverrideStore.open({ path: storePath, clock, hlc: new HybridLogicalClock(clock, 'us-east'), logger: silentLogger() });
  store = opened;
  const effects = new OverrideEffectChecker({ zones: [zone], providers, resolve, limit: concurrencyLimit(8), clock, active: () => opened.active() });
  const routes = overrideRoutes({
    region: 'us-east',
    zones: () => [zone],
    store: opened,
    audit: new FileAuditLog({ path: join(dir, 'audit.jsonl'), logger: silentLogger() }),
    clock,
    limits: () => ({ defaultDurationMs: HOUR, maxDurationMs: 24 * HOUR }),
    health: () => HEALTH,
    served: () => SERVED,
    records: () => [],
    effect: (o, signal) => effects.check(o, signal),
    changed: () => undefined,
    logger: silentLogger(),
  });
  api = new AdminApi({ listen: { host: '127.0.0.1', port: 0 }, tokens: new Map([['api', TOKEN]]), routes, logger: silentLogger() });
  await api.start();
  address = api.address();
});

afterAll(async () => {
  await api?.close();
  await Promise.all(dnsServers.map((s) => s.close()));
  await rm(dir, { recursive: true, force: true });
});

function theStore(): FileOverrideStore {
  if (store === undefined) throw new Error('the store is not open');
  return store;
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP: node:http sends the path as written (fetch would resolve ".." and re-encode).

interface RawRequest {
  readonly method: string;
  readonly path: string;
  readonly body?: Buffer;
  readonly headers?: Readonly<Record<string, string>>;
}

type RawAnswer = { readonly kind: 'answer'; readonly status: number; readonly contentType: string; readonly text: string } | { readonly kind: 'failed'; readonly error: string };

/** Every request is bounded: an answer that does not come within this is a hang. */
const REQUEST_DEADLINE_MS = 15_000;

function send(req: RawRequest): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}`, 'x-dnsquorum-actor': 'fuzzer', ...req.headers };
    if (req.body !== undefined) {
      headers['content-type'] ??= 'application/json';
      headers['content-length'] = String(req.body.length);
    }
    let settled = false;
    const finish = (answer: RawAnswer): void => {
      if (settled) return;
      settled = true;
      resolve(answer);
    };
    const outgoing = request({ host: address.host, port: address.port, method: req.method, path: req.path, headers, signal: AbortSignal.timeout(REQUEST_DEADLINE_MS) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        finish({ kind: 'answer', status: res.statusCode ?? 0, contentType: res.headers['content-type'] ?? '', text: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', (err) => {
        finish({ kind: 'failed', error: `${err.name}: ${err.message}` });
      });
    });
    outgoing.on('error', (err) => {
      finish({ kind: 'failed', error: `${err.name}: ${err.message}` });
    });
    outgoing.end(req.body);
  });
}

function jsonBody(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

// ---------------------------------------------------------------------------------------------
// Valid requests, and the model of what the store must hold after them.

/** Active override ids by slot, as the valid requests left them. */
const model = new Map<string, string>();
let validCount = 0;
let hostileCount = 0;
/** Overrides the valid requests made (201), and released (200). */
let made = 0;
let releasedCount = 0;

type ValidStep =
  | { readonly kind: 'create'; readonly record: 0 | 1; readonly action: 'pool' | 'drain'; readonly choice: number; readonly spelling: number }
  | { readonly kind: 'release-id'; readonly choice: number }
  | { readonly kind: 'release-record'; readonly record: 0 | 1 }
  | { readonly kind: 'read'; readonly path: string };

const validStep: fc.Arbitrary<ValidStep> = fc.oneof(
  {
    arbitrary: fc.record({ kind: fc.constant('create' as const), record: fc.constantFrom(0 as const, 1 as const), action: fc.constantFrom('pool' as const, 'drain' as const), choice: fc.nat(), spelling: fc.nat() }),
    weight: 3,
  },
  fc.record({ kind: fc.constant('release-id' as const), choice: fc.nat() }),
  fc.record({ kind: fc.constant('release-record' as const), record: fc.constantFrom(0 as const, 1 as const) }),
  fc.record({ kind: fc.constant('read' as const), path: fc.constantFrom('/v1/overrides', '/v1/overrides?all=1', '/v1/records', '/v1/audit?limit=5', '/v1/audit?since=0') }),
);

function slotKey(zoneName: string, name: string, type: string, action: { kind: string; pool?: string; value?: string }): string {
  return action.kind === 'drain' ? `${zoneName}|${name}|${type}|drain|${action.value ?? ''}` : `${zoneName}|${name}|${type}|pool`;
}

/** Runs one valid request and updates the model from its answer; returns what was wrong, if anything. */
async function runValid(step: ValidStep): Promise<string | undefined> {
  validCount++;
  switch (step.kind) {
    case 'create': {
      const spec = RECORDS[step.record];
      const pools = spec.failover.pools;
      const values = pools.flatMap((p) => p.values);
      const action =
        step.action === 'pool'
          ? { kind: 'force-pool', pool: pools[step.choice % pools.length]?.name ?? '' }
          : { kind: 'drain', value: values[step.choice % values.length] ?? '' };
      const spellings = [spec.name, spec.name.slice(0, -1), spec.name.toUpperCase()];
      const body = { record: spellings[step.spelling % spellings.length], type: spec.type.toLowerCase(), action, reason: `valid request ${String(validCount)}`, for: '2h' };
      const answer = await send({ method: 'POST', path: '/v1/overrides', body: jsonBody(body) });
      if (answer.kind !== 'answer') return `valid create failed: ${answer.error}`;
      // The safety check may refuse (a drain that would leave a pool of the forced record empty): 409, nothing made.
      if (answer.status === 409) return undefined;
      if (answer.status !== 201) return `valid create ${JSON.stringify(body)} answered ${String(answer.status)}: ${answer.text}`;
      const created = JSON.parse(answer.text) as CreatedOverrideAnswer;
      const o = created.override;
      const slot = slotKey(o.zone, o.name, o.type, o.action);
      const before = model.get(slot) ?? null;
      if (created.replaced !== before) return `create replaced ${String(created.replaced)}, the model says ${String(before)}`;
      model.set(slot, o.id);
      made++;
      return undefined;
    }
    case 'release-id': {
      const ids = [...model.entries()];
      const target = ids[step.choice % Math.max(1, ids.length)];
      if (target === undefined) return undefined;
      const answer = await send({ method: 'DELETE', path: `/v1/overrides/${target[1]}`, body: jsonBody({ reason: 'valid release' }) });
      if (answer.kind !== 'answer' || answer.status !== 200) return `valid release of ${target[1]} answered ${answer.kind === 'answer' ? `${String(answer.status)} ${answer.text}` : answer.error}`;
      model.delete(target[0]);
      releasedCount++;
      return undefined;
    }
    case 'release-record': {
      const spec = RECORDS[step.record];
      const prefix = `${ZONE}|${spec.name}|${spec.type}|`;
      const mine = [...model.entries()].filter(([slot]) => slot.startsWith(prefix));
      const answer = await send({ method: 'DELETE', path: `/v1/records/${encodeURIComponent(spec.name)}/overrides?type=${spec.type}` });
      if (answer.kind !== 'answer') return `valid release of ${spec.name} failed: ${answer.error}`;
      if (mine.length === 0) return answer.status === 200 && (JSON.parse(answer.text) as ReleasedAnswer).released.length === 0 ? undefined : `release of ${spec.name} with nothing active answered ${String(answer.status)} ${answer.text}`;
      if (answer.status !== 200) return `valid release of ${spec.name} answered ${String(answer.status)}: ${answer.text}`;
      const released = new Set((JSON.parse(answer.text) as ReleasedAnswer).released.map((v) => v.id));
      const expected = new Set(mine.map(([, id]) => id));
      if (released.size !== expected.size || [...expected].some((id) => !released.has(id))) return `released ${[...released].join(',')}, the model had ${[...expected].join(',')}`;
      for (const [slot] of mine) model.delete(slot);
      releasedCount += mine.length;
      return undefined;
    }
    case 'read': {
      const answer = await send({ method: 'GET', path: step.path });
      if (answer.kind !== 'answer' || answer.status !== 200) return `GET ${step.path} answered ${answer.kind === 'answer' ? `${String(answer.status)} ${answer.text}` : answer.error}`;
      return undefined;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Hostile requests

const ROUTES = [
  ['GET', '/v1/overrides'],
  ['POST', '/v1/overrides'],
  ['GET', '/v1/overrides/:id'],
  ['DELETE', '/v1/overrides/:id'],
  ['DELETE', '/v1/records/:name/overrides'],
  ['GET', '/v1/records'],
  ['GET', '/v1/audit'],
] as const;
const METHODS = ['GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'OPTIONS'] as const;

/** Path segments no route takes as they are: traversal, encodings, unicode, controls, huge. */
const oddSegment: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '..',
    '.',
    '%2e%2e',
    '%2E%2E%2F%2E%2E',
    '..%2F..%2Fetc%2Fpasswd',
    '%2F',
    '%00',
    '%0a%0d',
    '%',
    '%zz',
    '%C0%AF',
    '%ED%A0%80',
    '%FF%FE',
    '%E2%80%AE',
    '%F0%9F%92%A5',
    'o-',
    'o-ZZZZZZZZZZZZ',
    'o-0123456789ab%00',
    '__proto__',
    'constructor',
    'toString',
    'api.example.com.%00',
    'www.example.com.',
    'example.com.',
    '*.example.com',
    'api..example.com',
    'api%00.example.com',
    'api.example.com%2F..',
    `${'a'.repeat(63)}.`.repeat(8),
    'x'.repeat(20_000),
    '%41'.repeat(3000),
  ),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).map(encodeURIComponent),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }).map((s) => encodeURIComponent(s.replace(/[\uD800-\uDFFF]/g, '\uFFFD'))),
  fc.uint8Array({ minLength: 1, maxLength: 24 }).map((bytes) => [...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')),
);

const oddQuery: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    '?',
    '?all=maybe',
    '?all=2',
    '?limit=-1',
    '?limit=0',
    '?limit=1e3',
    '?limit=99999999999999999999',
    '?limit=%00',
    '?since=-5',
    '?since=1.5',
    '?since=NaN',
    '?type=MX',
    '?type=',
    '?type=%00',
    '?value=203.0.113.99',
    '?value=',
    '?type=A&type=AAAA',
    '?%zz=1',
    '?limit',
    `?limit=${'9'.repeat(5000)}`,
  ),
  fc.tuple(fc.constantFrom('all', 'limit', 'since', 'type', 'value', 'x'), fc.string({ maxLength: 20 })).map(([k, v]) => `?${k}=${encodeURIComponent(v)}`),
);

/** A query that makes a release of a real record invalid: a type no failover record has, or a value no pool holds. */
function isBadReleaseQuery(q: string): boolean {
  const params = new URLSearchParams(q.slice(1));
  const type = params.get('type');
  const value = params.get('value');
  if (type !== null) return !['A', 'AAAA', 'CNAME'].includes(type.trim().toUpperCase());
  return value !== null && !RECORDS.some((r) => r.failover.pools.some((p) => p.values.includes(value)));
}

/** ?all= with something other than 1, 0, true, false or nothing. */
function isBadListQuery(q: string): boolean {
  const all = new URLSearchParams(q.slice(1)).get('all');
  return all !== null && !['', '0', '1', 'true', 'false'].includes(all);
}

/** ?limit= or ?since= that is not a whole number in range. */
function isBadAuditQuery(q: string): boolean {
  const params = new URLSearchParams(q.slice(1));
  const limit = params.get('limit');
  const since = params.get('since');
  if (limit !== null) return !/^\d+$/.test(limit) || Number(limit) < 1 || Number(limit) > 1000;
  return since !== null && (!/^\d+$/.test(since) || !Number.isSafeInteger(Number(since)));
}

/** JSON that is not a valid body for any route here. */
const notAReleaseBody = fc.jsonValue().filter((v) => {
  if (v === null) return false;
  if (typeof v !== 'object' || Array.isArray(v)) return true;
  return Object.keys(v).some((k) => k !== 'reason');
});

const malformedJson: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.jsonValue().map((v) => JSON.stringify(v)).chain((text) => fc.nat({ max: Math.max(0, text.length - 1) }).map((cut) => text.slice(0, cut))),
  fc.constantFrom('{', '{"record":', '{"record": "api.example.com.",}', "{'record': 'x'}", '[1, 2', 'undefined', 'NaN', '{"a": 1e999999}', '\uFEFF{}x', '{"__proto__": {"x": 1}', '"\\uD800"x'),
).filter((text) => {
  if (text.trim() === '') return false;
  try {
    JSON.parse(text);
    return false;
  } catch {
    return true;
  }
});

/** A valid create body: the base that wrong-typed fields go into. */
function validCreate(): Record<string, unknown> {
  return { record: 'api.example.com.', type: 'A', action: { kind: 'force-pool', pool: 'secondary' }, reason: 'hostile', for: '30m', force: false };
}

type FieldType = 'string' | 'boolean' | 'object';
const FIELDS: readonly { readonly path: readonly string[]; readonly type: FieldType }[] = [
  { path: ['record'], type: 'string' },
  { path: ['type'], type: 'string' },
  { path: ['action'], type: 'object' },
  { path: ['action', 'kind'], type: 'string' },
  { path: ['action', 'pool'], type: 'string' },
  { path: ['reason'], type: 'string' },
  { path: ['for'], type: 'string' },
  { path: ['force'], type: 'boolean' },
];

function typeOf(v: unknown): FieldType | 'other' {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) return 'object';
  return 'other';
}

/** Values that are valid JSON of the wrong type for a field, or of the right type and clearly wrong. */
function wrongValue(field: (typeof FIELDS)[number]): fc.Arbitrary<unknown> {
  const wrongType = fc.jsonValue().filter((v) => typeOf(v) !== field.type);
  const key = field.path.join('.');
  const wrongContent: Readonly<Record<string, readonly unknown[]>> = {
    record: ['', 'www.example.com.', 'nope.example.com.', 'api.example.org.', 'x'.repeat(1001), '\u0000'],
    type: ['MX', 'a a', '', 'CNAME', 'x'.repeat(1001)],
    'action.kind': ['', 'force', 'drain', 'FORCE-POOL', 'release'],
    // (Pool names are matched without regard to case or surrounding blanks: "PRIMARY " is valid.)
    'action.pool': ['', 'tertiary', 'primary2', '192.0.2.10', 'x'.repeat(1001)],
    reason: ['', '   ', 'a\nb', 'tab\there', '\u001b[31m', 'r'.repeat(501)],
    for: ['', '0s', '-1h', '25h', '1000d', '5', 'forever', '1e3s', 'NaN', 'x'.repeat(1001)],
    action: [{}, { kind: 'force-pool' }, { kind: 'force-pool', pool: 'secondary', value: '192.0.2.10' }, { kind: 'drain', value: '203.0.113.1' }],
  };
  const content = wrongContent[key];
  return content === undefined ? wrongType : fc.oneof(wrongType, fc.constantFrom(...content));
}

function withField(body: Record<string, unknown>, path: readonly string[], value: unknown, remove: boolean): Record<string, unknown> {
  const copy = structuredClone(body);
  let target: Record<string, unknown> = copy;
  for (const segment of path.slice(0, -1)) {
    const next = target[segment];
    if (typeof next !== 'object' || next === null) return copy;
    target = next as Record<string, unknown>;
  }
  const last = path.at(-1) ?? '';
  if (remove) Reflect.deleteProperty(target, last);
  // An own property even for "__proto__", as JSON.parse makes it on the server.
  else Object.defineProperty(target, last, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

const wrongCreateBody: fc.Arbitrary<unknown> = fc.oneof(
  // One field of the wrong type or content.
  fc
    .constantFrom(...FIELDS)
    .chain((field) => wrongValue(field).map((value) => withField(validCreate(), field.path, value, false))),
  // A required field missing.
  fc.constantFrom(['record'], ['action'], ['reason'], ['action', 'kind'], ['action', 'pool']).map((path) => withField(validCreate(), path, undefined, true)),
  // An unknown field, at the top or in the action.
  fc.tuple(fc.oneof(fc.string({ minLength: 1, maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString')), fc.jsonValue(), fc.boolean()).filter(([k]) => !['record', 'type', 'action', 'reason', 'for', 'force', 'kind', 'pool'].includes(k)).map(([k, v, inAction]) => withField(validCreate(), inAction ? ['action', k] : [k], v, false)),
  // Every field wrong at once.
  fc.record(Object.fromEntries(FIELDS.filter((f) => f.path.length === 1).map((f): [string, fc.Arbitrary<unknown>] => [f.path[0] ?? '', wrongValue(f)]))),
);

type HostileStep = { readonly what: string; readonly request: RawRequest };

const realName = fc.constantFrom(...RECORDS.map((r) => r.name), 'api.example.com', 'WEB.EXAMPLE.COM.');

const hostileStep: fc.Arbitrary<HostileStep> = fc.oneof(
  // Random JSON to a route that takes a body (and to those that do not).
  fc.tuple(fc.jsonValue(), fc.constantFrom('/v1/overrides')).map(([v, path]) => ({ what: 'random JSON create', request: { method: 'POST', path, body: jsonBody(v) } })),
  fc.anything().map((v) => ({ what: 'fc.anything as JSON', request: { method: 'POST', path: '/v1/overrides', body: Buffer.from(JSON.stringify(v) ?? 'undefined', 'utf8') } })),
  fc.tuple(notAReleaseBody, realName).map(([v, name]) => ({ what: 'bad release body', request: { method: 'DELETE', path: `/v1/records/${encodeURIComponent(name)}/overrides`, body: jsonBody(v) } })),
  notAReleaseBody.map((v) => ({ what: 'bad release body by id', request: { method: 'DELETE', path: '/v1/overrides/o-0123456789ab', body: jsonBody(v) } })),
  // Malformed JSON to every route.
  fc.tuple(malformedJson, fc.constantFrom(...ROUTES)).map(([text, [method, path]]) => ({
    what: 'malformed JSON',
    request: { method, path: path.replace(':id', 'o-0123456789ab').replace(':name', 'api.example.com.'), body: Buffer.from(text, 'utf8') },
  })),
  // Huge bodies: just over the limit, well over, and over the point where the rest is not read.
  fc.tuple(fc.constantFrom(64 * 1024 + 1, 200 * 1024, 1024 * 1024 + 1, 3 * 1024 * 1024), fc.constantFrom(...ROUTES), fc.boolean()).map(([size, [method, path], asJson]) => ({
    what: `huge body (${String(size)} bytes)`,
    request: {
      method,
      path: path.replace(':id', 'o-0123456789ab').replace(':name', 'api.example.com.'),
      body: asJson ? jsonBody({ ...validCreate(), reason: 'r'.repeat(size) }) : Buffer.alloc(size, 0x7b),
    },
  })),
  // Wrong types and contents in every field of a create.
  { arbitrary: wrongCreateBody.map((v) => ({ what: 'wrong field in create', request: { method: 'POST', path: '/v1/overrides', body: jsonBody(v) } })), weight: 4 },
  // Odd ids and names in paths, with any method.
  fc.tuple(oddSegment, fc.constantFrom('GET', 'DELETE', 'POST', 'PUT'), fc.option(fc.jsonValue(), { nil: undefined })).map(([id, method, body]) => ({
    what: 'odd override id',
    request: { method, path: `/v1/overrides/${id}`, ...(body === undefined ? {} : { body: jsonBody(body) }) },
  })),
  fc.tuple(oddSegment, oddQuery).map(([name, query]) => ({ what: 'odd record name', request: { method: 'DELETE', path: `/v1/records/${name}/overrides${query}` } })),
  fc.tuple(realName, oddQuery.filter(isBadReleaseQuery)).map(([name, query]) => ({ what: 'odd release query', request: { method: 'DELETE', path: `/v1/records/${encodeURIComponent(name)}/overrides${query}` } })),
  oddQuery.filter(isBadListQuery).map((query) => ({ what: 'odd list query', request: { method: 'GET', path: `/v1/overrides${query}` } })),
  oddQuery.filter(isBadAuditQuery).map((query) => ({ what: 'odd audit query', request: { method: 'GET', path: `/v1/audit${query}` } })),
  // Paths no route has, and routes with methods they do not take.
  fc.tuple(fc.array(oddSegment, { minLength: 0, maxLength: 4 }), fc.constantFrom(...METHODS)).map(([segments, method]) => ({ what: 'no such path', request: { method, path: `/v1/${segments.join('/')}/x` } })),
  fc.tuple(fc.constantFrom(...ROUTES), fc.constantFrom(...METHODS)).filter(([[, path], method]) => !ROUTES.some(([m, p]) => m === method && p === path)).map(([[, path], method]) => ({
    what: 'wrong method',
    request: { method, path: path.replace(':id', 'o-0123456789ab').replace(':name', 'api.example.com.') },
  })),
  // Request targets that are not plain paths.
  fc.tuple(
    fc.constantFrom('*', 'http://127.0.0.1/v1/overrides', '//v1//overrides', '/v1/overrides/', '/v1/overrides//', '/v1/./overrides', '/v1/overrides/..', '/v1/records//overrides', '/%', '/v1/overrides#x'),
    fc.constantFrom(...METHODS),
  ).map(([path, method]) => ({ what: 'odd request target', request: { method, path, body: jsonBody(validCreate()) } })),
  // An actor header no audit line should carry.
  fc.constantFrom('a'.repeat(201), 'tab\there', `\u00e9${'\u00ff'.repeat(300)}`).map((actor) => ({ what: 'odd actor', request: { method: 'POST', path: '/v1/overrides', headers: { 'x-dnsquorum-actor': actor }, body: jsonBody(validCreate()) } })),
);

/** What the store holds, in a form that compares. */
function storeState(): string {
  return JSON.stringify(theStore().entries());
}

/** Undefined when the answer is a 4xx with a JSON error and the store is as it was. */
async function runHostile(step: HostileStep): Promise<string | undefined> {
  hostileCount++;
  const before = storeState();
  const answer = await send(step.request);
  const where = `${step.what}: ${describeRequest(step.request)}`;
  if (storeState() !== before) return `${where}: the store changed`;
  if (answer.kind !== 'answer') return `${where}: no answer (${answer.error})`;
  if (answer.status < 400 || answer.status > 499) return `${where}: answered ${String(answer.status)} ${answer.text.slice(0, 300)}`;
  if (!answer.contentType.startsWith('application/json')) return `${where}: ${String(answer.status)} with content-type ${answer.contentType}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.text);
  } catch {
    return `${where}: ${String(answer.status)} body is not JSON: ${answer.text.slice(0, 200)}`;
  }
  const error = typeof parsed === 'object' && parsed !== null && 'error' in parsed ? parsed.error : undefined;
  if (typeof error !== 'object' || error === null || !('code' in error) || !('message' in error)) return `${where}: no { error: { code, message } } in ${answer.text.slice(0, 200)}`;
  if (typeof error.code !== 'string' || !/^DQ_[A-Z_]+$/.test(error.code)) return `${where}: error code ${String(error.code)}`;
  if (typeof error.message !== 'string' || error.message.trim() === '') return `${where}: empty error message`;
  if (STACK_LINE.test(error.message)) return `${where}: the message carries a stack trace`;
  return undefined;
}

type Step = { readonly valid: ValidStep } | { readonly hostile: HostileStep };

function describeRequest(r: RawRequest): string {
  const body = r.body === undefined ? '' : ` with ${String(r.body.length)} bytes: ${JSON.stringify(r.body.subarray(0, 160).toString('utf8'))}`;
  return `${r.method} ${r.path.length > 200 ? `${r.path.slice(0, 200)}...(${String(r.path.length)} chars)` : r.path}${body}`;
}

const step: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: validStep.map((valid): Step => ({ valid })), weight: 1 },
  {
    // fast-check prints a counterexample with this: the request line and the start of the body.
    arbitrary: hostileStep.map((hostile): Step => ({ hostile: Object.assign(hostile, { [fc.toStringMethod]: () => `${hostile.what}: ${describeRequest(hostile.request)}` }) })),
    weight: 4,
  },
);

describe('fault: admin API body', () => {
  it('hostile requests get a 4xx JSON error and change nothing; the store ends as the valid requests left it', async (context) => {
    const numRuns = faultCases(500, 3000);
    const outcome = await runProperty(
      fc.asyncProperty(step, async (s) => {
        const problem = 'valid' in s ? await runValid(s.valid) : await runHostile(s.hostile);
        if (problem !== undefined) throw new Error(problem);
      }),
      // One server and store for the whole run: a failing case is reported as found, not shrunk.
      { numRuns, endOnFailure: true },
    );

    // Lost: an accepted override missing from the store (in memory or on disk), or one there that nobody made.
    const reopened = await FileOverrideStore.open({ path: storePath, clock, hlc: new HybridLogicalClock(clock, 'us-east'), logger: silentLogger() });
    const expected = new Set(model.values());
    const differences = (held: readonly { id: string }[]): number => {
      const ids = new Set(held.map((o) => o.id));
      return [...expected].filter((id) => !ids.has(id)).length + [...ids].filter((id) => !expected.has(id)).length;
    };
    const lost = differences(theStore().active()) + differences(reopened.active());
    recordFault(context, { fault: 'admin API body', cases: outcome.cases, passed: outcome.passed, lost });

    expect(outcome.failure).toBeUndefined();
    expect(outcome.cases).toBe(numRuns);
    expect(lost).toBe(0);
    // The run did both: the loss count means something only if valid requests made and released overrides.
    expect(made, `${String(validCount)} valid requests`).toBeGreaterThan(0);
    expect(releasedCount).toBeGreaterThan(0);
    expect(hostileCount).toBeGreaterThan(numRuns / 2);
  }, 170_000);
});
