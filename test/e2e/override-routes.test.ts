import { createSocket } from 'node:dgram';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HostPort, LocalProviderConfig } from '../../src/config/types.js';
import { AdminApi } from '../../src/control/api/server.js';
import { FileAuditLog } from '../../src/control/audit/file-log.js';
import { NAMESERVER_CACHE_MS, OverrideEffectChecker } from '../../src/control/overrides/effect.js';
import { overrideRoutes } from '../../src/control/api/override-routes.js';
import { FileOverrideStore } from '../../src/control/overrides/file-store.js';
import type { AuditEvent } from '../../src/control/audit/log.js';
import type {
  AuditAnswer,
  CreatedOverrideAnswer,
  OverrideAnswer,
  OverrideEffect,
  OverridesAnswer,
  RecordsAnswer,
  ReleasedAnswer,
} from '../../src/control/overrides/wire.js';
import { endpointId } from '../../src/domain/health.js';
import type { EndpointHealth, HealthState } from '../../src/domain/health.js';
import type { Override, OverrideEntry } from '../../src/domain/override.js';
import { normalizeRecordSet, recordKey } from '../../src/domain/record.js';
import type { FailoverRecordSpec, ZoneSpec } from '../../src/domain/zone.js';
import { ManualClock } from '../../src/lib/clock.js';
import { DnsQuorumError } from '../../src/lib/errors.js';
import { HybridLogicalClock } from '../../src/lib/hlc.js';
import { silentLogger } from '../../src/lib/logger.js';
import type { DnsProvider } from '../../src/providers/provider.js';
import { LocalProvider } from '../../src/providers/local/provider.js';
import { LocalDnsServer } from '../../src/providers/local/server.js';
import type { RecordStatus } from '../../src/sync/status.js';
import { concurrencyLimit } from '../../src/verify/limit.js';
import { failoverSpec } from '../helpers/failover-spec.js';

/**
 * The override, record and audit routes on a real AdminApi (127.0.0.1, ephemeral port) asked with
 * real fetch, backed by the real FileOverrideStore and FileAuditLog in a temporary directory. The
 * effect of an override is asked over real DNS from two local providers' built-in servers.
 */

const TOKEN = 'override-routes-token-7c1e';
const ZONE = 'example.com.';
const API = 'api.example.com.';
const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;
const LIMITS = { defaultDurationMs: HOUR, maxDurationMs: 24 * HOUR };
const LABS = [
  { name: 'lab-a', nameserver: 'ns1.lab-a.example.net.' },
  { name: 'lab-b', nameserver: 'ns1.lab-b.example.net.' },
] as const;

const apiRecord: FailoverRecordSpec = failoverSpec(API, { primary: ['192.0.2.10', '192.0.2.11'], secondary: ['198.51.100.20', '198.51.100.21'] }, {
  check: { protocol: 'tcp', port: 443, intervalMs: 5000, timeoutMs: 2000, fall: 3, rise: 3 },
  maxWritesPerHour: 12,
});

const webRecord: FailoverRecordSpec = {
  ...apiRecord,
  name: `web.${ZONE}`,
  failover: { ...apiRecord.failover, pools: [{ name: 'main', values: ['203.0.113.5'] }, { name: 'spare', values: ['203.0.113.6'] }] },
};

const zone: ZoneSpec = {
  name: ZONE,
  providers: LABS.map((l) => l.name),
  nameservers: 'manual',
  nameserverTtl: 3600,
  unmanaged: 'keep',
  drift: 'repair',
  maxChangeShare: 1,
  records: [{ kind: 'static', name: `www.${ZONE}`, type: 'CNAME', ttl: 300, values: ['edge.example.net.'] }, apiRecord, webRecord],
};

function healthOf(record: FailoverRecordSpec, states: Record<string, HealthState>): Map<string, EndpointHealth> {
  return new Map(
    Object.entries(states).map(([value, state]) => {
      const id = endpointId(record.name, record.type, value);
      return [id, { endpointId: id, state, since: T0, reason: `${state} in 3 of 3 regions`, insufficientVantage: false, regions: [] }];
    }),
  );
}

const ALL_UP = healthOf(apiRecord, { '192.0.2.10': 'up', '192.0.2.11': 'up', '198.51.100.20': 'up', '198.51.100.21': 'up' });

// ---------------------------------------------------------------------------------------------
// Two local providers serving the zone over DNS on loopback, shared by every test.

let stateDir = '';
const dnsServers: LocalDnsServer[] = [];
const labProviders = new Map<string, LocalProvider>();
const resolve = new Map<string, HostPort>();

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'dq-override-routes-dns-'));
  for (const lab of LABS) {
    const config: LocalProviderConfig = { type: 'local', name: lab.name, listen: { host: '127.0.0.1', port: 0 }, nameserver: lab.nameserver };
    const statePath = join(stateDir, `${lab.name}.json`);
    const server = new LocalDnsServer({ config, statePath, logger: silentLogger() });
    await server.start();
    dnsServers.push(server);
    resolve.set(lab.nameserver.slice(0, -1), server.address());
    const provider = new LocalProvider({ config, statePath, clock: new ManualClock(T0), logger: silentLogger() });
    await provider.ensureZone(ZONE, AbortSignal.timeout(10_000));
    labProviders.set(lab.name, provider);
  }
});

afterAll(async () => {
  await Promise.all(dnsServers.map((s) => s.close()));
  await rm(stateDir, { recursive: true, force: true });
});

/** Makes `provider` serve the api record with exactly `values` (or nothing). */
async function serveApi(provider: DnsProvider, values: readonly string[] | null): Promise<void> {
  const signal = AbortSignal.timeout(10_000);
  const current = (await provider.listRecords(ZONE, signal)).find((r) => r.name === API && r.type === 'A');
  const after = values === null ? undefined : normalizeRecordSet({ name: API, type: 'A', ttl: 30, values });
  await provider.applyChanges(
    {
      zone: ZONE,
      creates: current === undefined && after !== undefined ? [after] : [],
      updates: current !== undefined && after !== undefined ? [{ before: current, after }] : [],
      deletes: current !== undefined && after === undefined ? [current] : [],
    },
    signal,
  );
}

function lab(name: string): LocalProvider {
  const provider = labProviders.get(name);
  if (provider === undefined) throw new Error(`no provider ${name}`);
  return provider;
}

// ---------------------------------------------------------------------------------------------
// One daemon's worth of routes per test.

/** The real store, with a switch that makes its writes fail as a full disk would. */
class FlakyStore {
  failWrites = false;
  constructor(readonly inner: FileOverrideStore) {}
  active(): Override[] {
    return this.inner.active();
  }
  entries(): OverrideEntry[] {
    return this.inner.entries();
  }
  find(id: string): OverrideEntry | undefined {
    return this.inner.find(id);
  }
  put(o: Override): Promise<OverrideEntry> {
    return this.failWrites ? Promise.reject(new DnsQuorumError('DQ_STATE_WRITE', 'cannot write overrides.json: ENOSPC: no space left on device')) : this.inner.put(o);
  }
  release(id: string, by: Parameters<FileOverrideStore['release']>[1]): ReturnType<FileOverrideStore['release']> {
    return this.failWrites ? Promise.reject(new DnsQuorumError('DQ_STATE_WRITE', 'cannot write overrides.json: ENOSPC: no space left on device')) : this.inner.release(id, by);
  }
  releaseWhere(...args: Parameters<FileOverrideStore['releaseWhere']>): ReturnType<FileOverrideStore['releaseWhere']> {
    return this.failWrites ? Promise.reject(new DnsQuorumError('DQ_STATE_WRITE', 'cannot write overrides.json: ENOSPC: no space left on device')) : this.inner.releaseWhere(...args);
  }
  merge(entries: readonly OverrideEntry[]): Promise<OverrideEntry[]> {
    return this.inner.merge(entries);
  }
  sweep(): Promise<Override[]> {
    return this.inner.sweep();
  }
}

interface Harness {
  readonly base: string;
  readonly clock: ManualClock;
  readonly store: FlakyStore;
  readonly audit: FileAuditLog;
  readonly auditPath: string;
  health: Map<string, EndpointHealth>;
  served: Map<string, readonly string[]>;
  records: RecordStatus[];
  changes: number;
  close(): Promise<void>;
}

const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

async function harness(): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'dq-override-routes-'));
  const clock = new ManualClock(T0);
  const store = new FlakyStore(await FileOverrideStore.open({ path: join(dir, 'overrides.json'), clock, hlc: new HybridLogicalClock(clock, 'us-east'), logger: silentLogger() }));
  const auditPath = join(dir, 'audit.jsonl');
  const audit = new FileAuditLog({ path: auditPath, logger: silentLogger() });
  const effects = new OverrideEffectChecker({ zones: [zone], providers: labProviders, resolve, limit: concurrencyLimit(8), clock, active: () => store.active() });
  const h: Omit<Harness, 'base' | 'close'> & { base?: string; close?: () => Promise<void> } = {
    clock,
    store,
    audit,
    auditPath,
    health: new Map(ALL_UP),
    served: new Map([[recordKey(API, 'A'), ['192.0.2.10', '192.0.2.11']]]),
    records: [],
    changes: 0,
  };
  const routes = overrideRoutes({
    region: 'us-east',
    zones: () => [zone],
    store,
    audit,
    clock,
    limits: () => LIMITS,
    health: () => h.health,
    served: () => h.served,
    records: () => h.records,
    effect: (o, signal) => effects.check(o, signal),
    changed: () => {
      h.changes += 1;
    },
    logger: silentLogger(),
  });
  const api = new AdminApi({ listen: { host: '127.0.0.1', port: 0 }, tokens: new Map([['api', TOKEN]]), routes, logger: silentLogger() });
  await api.start();
  const full: Harness = Object.assign(h, {
    base: `http://127.0.0.1:${api.address().port}`,
    close: async () => {
      await api.close();
      await rm(dir, { recursive: true, force: true });
    },
  });
  open.push(full);
  return full;
}

interface Answer<T> {
  readonly status: number;
  readonly body: T;
}

async function call<T>(h: Harness, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer<T>> {
  const res = await fetch(`${h.base}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'x-dnsquorum-actor': 'alice', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(20_000),
  });
  return { status: res.status, body: JSON.parse(await res.text()) as T };
}

type ErrorAnswer = { readonly error: { readonly code: string; readonly message: string } };

const failover = (pool: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  record: 'API.example.com',
  action: { kind: 'force-pool', pool },
  reason: 'shift traffic for the db migration',
  ...extra,
});
const drain = (value: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  record: 'api.example.com.',
  action: { kind: 'drain', value },
  reason: 'replacing the NIC',
  ...extra,
});

async function auditLines(h: Harness): Promise<readonly AuditEvent[]> {
  return (await call<AuditAnswer>(h, 'GET', '/v1/audit?limit=1000')).body.events;
}

// ---------------------------------------------------------------------------------------------

describe('authentication', () => {
  it.each([
    ['GET', '/v1/overrides'],
    ['POST', '/v1/overrides'],
    ['GET', '/v1/overrides/o-000000000001'],
    ['DELETE', '/v1/overrides/o-000000000001'],
    ['DELETE', '/v1/records/api.example.com/overrides'],
    ['GET', '/v1/records'],
    ['GET', '/v1/audit'],
  ])('%s %s without a token or with a wrong one is 401 and changes nothing', async (method, path) => {
    const h = await harness();
    for (const authorization of [undefined, 'Bearer wrong-token']) {
      const res = await fetch(`${h.base}${path}`, {
        method,
        headers: { 'content-type': 'application/json', ...(authorization === undefined ? {} : { authorization }) },
        ...(method === 'POST' ? { body: JSON.stringify(failover('secondary')) } : {}),
      });
      expect(res.status).toBe(401);
      expect(((await res.json()) as ErrorAnswer).error.code).toBe('DQ_API_UNAUTHORIZED');
    }
    expect(h.store.entries()).toEqual([]);
    expect(h.changes).toBe(0);
    await expect(readFile(h.auditPath, 'utf8')).rejects.toThrow(/ENOENT/);
  });
});

describe('POST /v1/overrides', () => {
  it('makes a failover: stored, audited, announced, listed, shown on its record', async () => {
    const h = await harness();
    h.records = [{ zone: ZONE, name: API, type: 'A', pool: 'primary', values: ['192.0.2.10', '192.0.2.11'], cause: 'health', reason: 'pool primary in service', since: T0 - 1000 }];
    const created = await call<CreatedOverrideAnswer>(h, 'POST', '/v1/overrides', failover('secondary', { for: '30m' }));
    expect(created.status).toBe(201);
    const o = created.body.override;
    expect(o.id).toMatch(/^o-[0-9a-f]{12}$/);
    expect(o).toMatchObject({
      zone: ZONE,
      name: API,
      type: 'A',
      action: { kind: 'force-pool', pool: 'secondary' },
      actor: 'alice',
      token: 'api',
      reason: 'shift traffic for the db migration',
      forced: false,
      origin: 'us-east',
      createdAt: T0,
      expiresAt: T0 + 30 * 60_000,
      state: 'active',
      released: null,
    });
    expect(o.stamp.replica).toBe('us-east');
    expect(created.body).toMatchObject({ replaced: null, warnings: [] });
    expect(h.changes).toBe(1);
    expect(h.store.active().map((x) => x.id)).toEqual([o.id]);

    const listed = await call<OverridesAnswer>(h, 'GET', '/v1/overrides');
    expect(listed.body.overrides.map((x) => x.id)).toEqual([o.id]);

    const records = await call<RecordsAnswer>(h, 'GET', '/v1/records');
    expect(records.body.records.map((r) => `${r.name} ${r.type}`)).toEqual([`${API} A`, `web.${ZONE} A`]);
    const [api, web] = records.body.records;
    expect(api?.pools).toEqual([
      { name: 'primary', values: ['192.0.2.10', '192.0.2.11'] },
      { name: 'secondary', values: ['198.51.100.20', '198.51.100.21'] },
    ]);
    expect(api?.serving).toEqual({ pool: 'primary', values: ['192.0.2.10', '192.0.2.11'], cause: 'health', reason: 'pool primary in service', since: T0 - 1000 });
    expect(api?.overrides.map((x) => x.id)).toEqual([o.id]);
    expect(web?.serving).toBeNull();
    expect(web?.overrides).toEqual([]);

    expect(await auditLines(h)).toEqual([
      {
        at: T0,
        region: 'us-east',
        action: 'override',
        actor: 'alice',
        token: 'api',
        zone: ZONE,
        record: API,
        type: 'A',
        what: 'force pool secondary for 30m',
        why: 'shift traffic for the db migration',
        result: 'accepted',
        overrideId: o.id,
        provider: null,
      },
    ]);
  });

  it('names the token as the actor when the client names nobody, and lasts the default duration', async () => {
    const h = await harness();
    const created = await call<CreatedOverrideAnswer>(h, 'POST', '/v1/overrides', drain('192.0.2.010'), { 'x-dnsquorum-actor': '' });
    expect(created.status).toBe(201);
    expect(created.body.override).toMatchObject({ actor: 'api', token: 'api', action: { kind: 'drain', value: '192.0.2.10' }, expiresAt: T0 + HOUR });
  });

  it('refuses a failover to a pool health says is down, audits the refusal, and makes it with force', async () => {
    const h = await harness();
    h.health = healthOf(apiRecord, { '192.0.2.10': 'up', '192.0.2.11': 'up', '198.51.100.20': 'down', '198.51.100.21': 'down' });
    const refused = await call<ErrorAnswer>(h, 'POST', '/v1/overrides', failover('secondary'));
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('DQ_OVERRIDE_REFUSED');
    expect(refused.body.error.message).toContain('api.example.com. A: forcing pool secondary');
    expect(refused.body.error.message).toContain('198.51.100.20 down (down in 3 of 3 regions)');
    expect(h.store.entries()).toEqual([]);
    expect(h.changes).toBe(0);

    const forced = await call<CreatedOverrideAnswer>(h, 'POST', '/v1/overrides', failover('secondary', { force: true }));
    expect(forced.status).toBe(201);
    expect(forced.body.override.forced).toBe(true);
    expect(forced.body.warnings.join('\n')).toContain(`made with force past the safety check: ${refused.body.error.message}`);
    expect(h.changes).toBe(1);

    const lines = await auditLines(h);
    expect(lines.map((l) => [l.action, l.result])).toEqual([
      ['refused', `refused: ${refused.body.error.message}`],
      ['override', `accepted (forced past: ${refused.body.error.message})`],
    ]);
    expect(lines[0]?.overrideId).toBeNull();
    expect(lines[1]?.overrideId).toBe(forced.body.override.id);
  });

  it('refuses a drain that leaves nothing in service', async () => {
    const h = await harness();
    h.health = healthOf(apiRecord, { '192.0.2.10': 'down', '192.0.2.11': 'up', '198.51.100.20': 'down', '198.51.100.21': 'down' });
    h.served.set(recordKey(API, 'A'), ['192.0.2.11']);
    const refused = await call<ErrorAnswer>(h, 'POST', '/v1/overrides', drain('192.0.2.11'));
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain('would leave nothing in service');
  });

  it('passes on the safety check\'s warnings, and a new failover replaces the one in its slot', async () => {
    const h = await harness();
    h.health = healthOf(apiRecord, { '192.0.2.10': 'up', '192.0.2.11': 'up' });
    const first = await call<CreatedOverrideAnswer>(h, 'POST', '/v1/overrides', failover('secondary'));
    expect(first.status).toBe(201);
    expect(first.body.warnings).toEqual(['health of 198.51.100.20 not known yet', 'health of 198.51.100.21 not known yet']);
    h.clock.advance(1000);
    const second = await call<CreatedOverrideAnswer>(h, 'POST', '/v1/overrides', failover('primary'));
    expect(second.status).toBe(201);
    expect(second.body.replaced).toBe(first.body.override.id);
    expect(second.body.warnings.join('\n')).toContain(`replaces override ${first.body.override.id}`);
    expect(h.store.active().map((o) => o.id)).toEqual([second.body.override.id]);
  });

  it.each([
    { name: 'no body', body: undefined, field: 'needs a JSON body' },
    { name: 'not an object', body: [1], field: 'the request body must be an object' },
    { name: 'record missing', body: { action: { kind: 'drain', value: '192.0.2.10' }, reason: 'x' }, field: 'record is required' },
    { name: 'reason missing', body: { record: API, action: { kind: 'drain', value: '192.0.2.10' } }, field: 'reason is required' },
    { name: 'reason blank', body: failover('secondary', { reason: '   ' }), field: 'reason must not be blank' },
    { name: 'reason too long', body: failover('secondary', { reason: 'x'.repeat(501) }), field: 'reason is 501 characters; at most 500' },
    { name: 'reason with a newline', body: failover('secondary', { reason: 'a\nb' }), field: 'reason must not contain control characters' },
    { name: 'reason not a string', body: failover('secondary', { reason: 5 }), field: 'reason must be a string' },
    { name: 'bad action kind', body: { record: API, action: { kind: 'explode' }, reason: 'x' }, field: 'action.kind must be one of force-pool, drain' },
    { name: 'pool missing', body: { record: API, action: { kind: 'force-pool' }, reason: 'x' }, field: 'action.pool is required' },
    { name: 'unknown field', body: failover('secondary', { froce: true }), field: 'the request body has unknown field froce' },
    { name: 'force not a boolean', body: failover('secondary', { force: 'yes' }), field: 'force must be true or false' },
    { name: 'bad type', body: failover('secondary', { type: 'MX' }), field: 'type "MX" is not a failover record type; use one of A, AAAA, CNAME' },
    { name: 'duration without unit', body: failover('secondary', { for: '30' }), field: 'for: duration needs a unit, e.g. 30s' },
    { name: 'duration zero', body: failover('secondary', { for: '0s' }), field: 'for must be longer than 0' },
    { name: 'duration over the maximum', body: failover('secondary', { for: '2d' }), field: 'longer than the maximum 24h (overrides.maxDuration in the config)' },
    { name: 'duration nonsense', body: failover('secondary', { for: 'soon' }), field: 'for: "soon" is not a duration' },
  ])('400 DQ_API_BAD_REQUEST naming the field: $name', async ({ body, field }) => {
    const h = await harness();
    const res = await call<ErrorAnswer>(h, 'POST', '/v1/overrides', body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('DQ_API_BAD_REQUEST');
    expect(res.body.error.message).toContain(field);
    expect(h.store.entries()).toEqual([]);
    expect(h.changes).toBe(0);
  });

  it.each([
    { name: 'unknown record', body: failover('secondary', { record: 'nope.example.com' }), mentions: ['no failover record nope.example.com.', `${API} A`, `web.${ZONE} A`] },
    { name: 'static record', body: failover('secondary', { record: 'www.example.com' }), mentions: ['static CNAME record'] },
    { name: 'wrong type', body: failover('secondary', { type: 'AAAA' }), mentions: ['no failover record of type AAAA; it has A'] },
    { name: 'unknown pool', body: failover('tertiary'), mentions: ['no pool "tertiary"', 'primary (192.0.2.10, 192.0.2.11)', 'secondary (198.51.100.20, 198.51.100.21)'] },
    { name: 'unknown value', body: drain('203.0.113.99'), mentions: ['no value "203.0.113.99"', '192.0.2.10 (primary)'] },
  ])('404 DQ_OVERRIDE_UNKNOWN listing what exists: $name', async ({ body, mentions }) => {
    const h = await harness();
    const res = await call<ErrorAnswer>(h, 'POST', '/v1/overrides', { ...body, force: true });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('DQ_OVERRIDE_UNKNOWN');
    for (const m of mentions) expect(res.body.error.message).toContain(m);
    expect(h.store.entries()).toEqual([]);
  });

  it('a store that cannot write answers 500 DQ_STATE_WRITE, audits the failure and announces nothing', async () => {
    const h = await harness();
    h.store.failWrites = true;
    const res = await call<ErrorAnswer>(h, 'POST', '/v1/overrides', failover('secondary'));
    expect(res.status).toBe(500);
    expect(res.body.error).toEqual({ code: 'DQ_STATE_WRITE', message: 'the override was not made: cannot write overrides.json: ENOSPC: no space left on device' });
    expect(h.changes).toBe(0);
    expect((await auditLines(h)).map((l) => [l.action, l.result])).toEqual([['override', 'failed: cannot write overrides.json: ENOSPC: no space left on device']]);
  });
});

describe('releasing', () => {
  it('by id: released, audited, announced; a second release releases nothing and says it had ended', async () => {
    const h = await harness();
    const made = (await call<CreatedOverrideAnswer>(h, 'POST', '/v1/overrides', failover('secondary'))).body.override;
    const other = (await call<CreatedOverrideAnswer>(h, 'POST', '/v1/overrides', drain('192.0.2.10'))).body.override;
    h.clock.advance(5000);
    const res = await call<ReleasedAnswer>(h, 'DELETE', `/v1/overrides/${made.id}`, { reason: 'migration done' });
    expect(res.status).toBe(200);
    expect(res.body.released).toHaveLength(1);
    expect(res.body.released[0]).toMatchObject({ id: made.id, state: 'released', released: { at: T0 + 5000, actor: 'alice', token: 'api', reason: 'migration done' } });
    expect(h.changes).toBe(3);
    expect(h.store.active().map((o) => o.id)).toEqual([other.id]);

    const again = await call<ReleasedAnswer>(h, 'DELETE', `/v1/overrides/${made.id}`);
    expect(again.status).toBe(200);
    expect(again.body.released).toEqual([]);
    expect(again.body.ended).toMatchObject([{ id: made.id, state: 'released', released: { actor: 'alice', reason: 'migration done' } }]);
    expect(h.changes).toBe(3);

    const unknown = await call<ErrorAnswer>(h, 'DELETE', '/v1/overrides/o-ffffffffffff');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('DQ_OVERRIDE_UNKNOWN');
    expect(unknown.body.error.message).toContain('no override o-ffffffffffff');
    expect(unknown.body.error.message).toContain(`active: ${other.id} (api.example.com. A: drain 192.0.2.10, by alice)`);

    const lines = await auditLines(h);
    expect(lines.map((l) => [l.action, l.overrideId, l.result, l.why])).toEqual([
      ['override', made.id, 'accepted', 'shift traffic for the db migration'],
      ['override', other.id, 'accepted', 'replacing the NIC'],
      ['release', made.id, 'released', 'migration done'],
    ]);
  });

  it('by record: every active override of it, one audit line each; with value only that drain', async () => {
    const h = await harness();
    const force = (await call<CreatedOverrideAnswer>(h, 'POST', '/v1/overrides', failover('secondary'))).body.override;
    const d10 = (await call<CreatedOverrideAnswer>(h, 'POST', '/v1/overrides', drain('192.0.2.10'))).body.override;
    const d21 = (await call<CreatedOverrideAnswer>(h, 'POST', '/v1/overrides', drain('198.51.100.21'))).body.override;
    const web = (await call<CreatedOverrideAnswer>(h, 'POST', '/v1/overrides', { record: 'web.example.com', action: { kind: 'force-pool', pool: 'spare' }, reason: 'x' })).body.override;
    const changesBefore = h.changes;

    const one = await call<ReleasedAnswer>(h, 'DELETE', '/v1/records/API.Example.com/overrides?type=a&value=192.0.2.010');
    expect(one.status).toBe(200);
    expect(one.body.released.map((v) => v.id)).toEqual([d10.id]);
    expect(h.changes).toBe(changesBefore + 1);

    const missing = await call<ReleasedAnswer>(h, 'DELETE', '/v1/records/api.example.com/overrides?value=192.0.2.10');
    expect(missing).toEqual({ status: 200, body: { released: [], ended: [] } });
    expect(h.changes).toBe(changesBefore + 1);

    const rest = await call<ReleasedAnswer>(h, 'DELETE', '/v1/records/api.example.com./overrides', { reason: 'all clear' });
    expect(rest.status).toBe(200);
    expect(rest.body.released.map((v) => v.id).sort()).toEqual([force.id, d21.id].sort());
    expect(h.changes).toBe(changesBefore + 2);
    expect(h.store.active().map((o) => o.id)).toEqual([web.id]);

    const none = await call<ReleasedAnswer>(h, 'DELETE', '/v1/records/api.example.com/overrides');
    expect(none).toEqual({ status: 200, body: { released: [], ended: [] } });
    expect(h.changes).toBe(changesBefore + 2);

    const releases = (await auditLines(h)).filter((l) => l.action === 'release');
    expect(releases.map((l) => l.overrideId).sort()).toEqual([d10.id, force.id, d21.id].sort());
    expect(releases.filter((l) => l.why === 'all clear')).toHaveLength(2);
  });

  it.each([
    { path: '/v1/records/nope.example.com/overrides', status: 404, mentions: 'no failover record nope.example.com.' },
    { path: '/v1/records/api.example.com/overrides?value=10.0.0.1', status: 404, mentions: 'no value "10.0.0.1"' },
    { path: '/v1/records/api.example.com/overrides?type=TXT', status: 400, mentions: 'type "TXT" is not a failover record type' },
  ])('DELETE $path answers $status', async ({ path, status, mentions }) => {
    const h = await harness();
    const res = await call<ErrorAnswer>(h, 'DELETE', path);
    expect(res.status).toBe(status);
    expect(res.body.error.message).toContain(mentions);
  });

  it('a bad release body is 400 naming the field', async () => {
    const h = await harness();
    const made = (await call<CreatedOverrideAnswer>(h, 'POST', '/v1/overrides', failover('secondary'))).body.override;
    for (const [body, field] of [
      [{ reason: 7 }, 'reason must be a string'],
      [{ reason: 'ok', by: 'me' }, 'unknown field by'],
      [{ reason: '\u0007' }, 'reason must not'],
    ] as const) {
      const res = await call<ErrorAnswer>(h, 'DELETE', `/v1/overrides/${made.id}`, body);
      expect(res.status).toBe(400);
      expect(res.body.error.message).toContain(field);
    }
    expect(h.store.active().map((o) => o.id)).toEqual([made.id]);
  });

  it('a store that cannot write answers 500 DQ_STATE_WRITE and the override stays', async () => {
    const h = await harness();
    const made = (await call<CreatedOverrideAnswer>(h, 'POST', '/v1/overrides', failover('secondary'))).body.override;
    h.store.failWrites = true;
    const res = await call<ErrorAnswer>(h, 'DELETE', `/v1/overrides/${made.id}`);
    expect(res.status).toBe(500);
    expect(res.body.error.code).toBe('DQ_STATE_WRITE');
    expect(h.store.active().map((o) => o.id)).toEqual([made.id]);
    expect((await auditLines(h)).at(-1)).toMatchObject({ action: 'release', overrideId: made.id, result: 'failed: cannot write overrides.json: ENOSPC: no space left on device' });
  });
});

describe('GET /v1/overrides and expiry', () => {
  it('an expired override leaves the active list, is kept with all=1, and has no effect to check', async () => {
    const h = await harness();
    const made = (await call<CreatedOverrideAnswer>(h, 'POST', '/v1/overrides', failover('secondary', { for: '10m' }))).body.override;
    h.clock.advance(10 * 60_000);
    expect((await call<OverridesAnswer>(h, 'GET', '/v1/overrides')).body.overrides).toEqual([]);
    const all = await call<OverridesAnswer>(h, 'GET', '/v1/overrides?all=1');
    expect(all.body.overrides.map((o) => [o.id, o.state])).toEqual([[made.id, 'expired']]);
    const shown = await call<OverrideAnswer>(h, 'GET', `/v1/overrides/${made.id}`);
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({ override: { id: made.id, state: 'expired' }, effect: null });
    expect((await call<ErrorAnswer>(h, 'GET', '/v1/overrides?all=maybe')).status).toBe(400);
    const unknown = await call<ErrorAnswer>(h, 'GET', '/v1/overrides/o-000000000000');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toBe('no override o-000000000000; no override is active');
  });
});

describe('GET /v1/overrides/:id: the effect, asked over DNS', () => {
  it('shows what each provider\'s server serves until both hold the forced pool minus drains', async () => {
    const h = await harness();
    await serveApi(lab('lab-a'), ['192.0.2.10', '192.0.2.11']);
    await serveApi(lab('lab-b'), ['192.0.2.10', '192.0.2.11']);
    await call<CreatedOverrideAnswer>(h, 'POST', '/v1/overrides', drain('198.51.100.21'));
    const made = (await call<CreatedOverrideAnswer>(h, 'POST', '/v1/overrides', failover('secondary'))).body.override;

    const pending = await call<OverrideAnswer>(h, 'GET', `/v1/overrides/${made.id}`);
    expect(pending.status).toBe(200);
    const effect = pending.body.effect;
    expect(effect?.expectation).toBe('198.51.100.20');
    expect(effect?.holds).toBe(false);
    expect(effect?.providers.map((p) => [p.provider, p.holds, p.error])).toEqual([
      ['lab-a', false, null],
      ['lab-b', false, null],
    ]);
    expect(effect?.providers[0]?.servers).toEqual([
      {
        host: 'ns1.lab-a.example.net.',
        holds: false,
        served: ['192.0.2.10', '192.0.2.11'],
        message: 'serves 192.0.2.10, 192.0.2.11; expected 198.51.100.20 (lacks 198.51.100.20; has extra 192.0.2.10, 192.0.2.11)',
      },
    ]);

    await serveApi(lab('lab-a'), ['198.51.100.20']);
    const half = (await call<OverrideAnswer>(h, 'GET', `/v1/overrides/${made.id}`)).body.effect;
    expect(half?.providers.map((p) => [p.provider, p.holds])).toEqual([
      ['lab-a', true],
      ['lab-b', false],
    ]);
    expect(half?.holds).toBe(false);

    await serveApi(lab('lab-b'), ['198.51.100.20']);
    const held = (await call<OverrideAnswer>(h, 'GET', `/v1/overrides/${made.id}`)).body.effect;
    expect(held?.holds).toBe(true);
    expect(held?.providers.flatMap((p) => p.servers.map((s) => [s.host, s.holds, s.served, s.message]))).toEqual([
      ['ns1.lab-a.example.net.', true, ['198.51.100.20'], null],
      ['ns1.lab-b.example.net.', true, ['198.51.100.20'], null],
    ]);
    expect(held?.checkedAt).toBe(T0);
  });

  it('a drain holds when the servers serve something without the value, not when they serve nothing', async () => {
    const h = await harness();
    const made = (await call<CreatedOverrideAnswer>(h, 'POST', '/v1/overrides', drain('192.0.2.10'))).body.override;
    await serveApi(lab('lab-a'), ['192.0.2.10', '192.0.2.11']);
    await serveApi(lab('lab-b'), null);
    const effect = (await call<OverrideAnswer>(h, 'GET', `/v1/overrides/${made.id}`)).body.effect;
    expect(effect?.expectation).toBe('any values but 192.0.2.10');
    expect(effect?.providers.flatMap((p) => p.servers.map((s) => [s.holds, s.served, s.message]))).toEqual([
      [false, ['192.0.2.10', '192.0.2.11'], 'still serves 192.0.2.10 (serves 192.0.2.10, 192.0.2.11)'],
      [false, [], 'serves nothing for the record'],
    ]);
    await serveApi(lab('lab-a'), ['192.0.2.11']);
    await serveApi(lab('lab-b'), ['192.0.2.11']);
    expect((await call<OverrideAnswer>(h, 'GET', `/v1/overrides/${made.id}`)).body.effect?.holds).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// The effect checker on its own: failures land in the answer, name servers are cached.

/** A provider that delegates to a local one, counts nameservers() calls and can fail them. */
class CountingProvider implements DnsProvider {
  calls = 0;
  fail = false;
  readonly type = 'local';
  constructor(
    readonly name: string,
    private readonly inner: DnsProvider,
    private readonly servers?: string[],
  ) {}
  get capabilities(): DnsProvider['capabilities'] {
    return this.inner.capabilities;
  }
  listRecords(z: string, signal: AbortSignal): ReturnType<DnsProvider['listRecords']> {
    return this.inner.listRecords(z, signal);
  }
  applyChanges(...args: Parameters<DnsProvider['applyChanges']>): Promise<void> {
    return this.inner.applyChanges(...args);
  }
  ensureZone(z: string, signal: AbortSignal): Promise<void> {
    return this.inner.ensureZone(z, signal);
  }
  nameservers(z: string, signal: AbortSignal): Promise<string[]> {
    this.calls += 1;
    if (this.fail) return Promise.reject(new DnsQuorumError('DQ_PROVIDER_UNAVAILABLE', `${this.name}: API unreachable: connect ECONNREFUSED`));
    return this.servers === undefined ? this.inner.nameservers(z, signal) : Promise.resolve(this.servers);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** A loopback UDP port with nothing behind it. */
async function silentPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((done) => socket.bind(0, '127.0.0.1', done));
  const { port } = socket.address();
  await new Promise<void>((done) => socket.close(done));
  return port;
}

describe('OverrideEffectChecker', () => {
  const override: Override = {
    id: 'o-0123456789ab',
    zone: ZONE,
    name: API,
    type: 'A',
    action: { kind: 'force-pool', pool: 'primary' },
    actor: 'alice',
    token: 'api',
    reason: 'test',
    forced: false,
    origin: 'us-east',
    createdAt: T0,
    expiresAt: T0 + HOUR,
  };

  it('reports a provider whose API fails and a server that does not answer, caching name servers 5 minutes but not failures', async () => {
    await serveApi(lab('lab-a'), ['192.0.2.10', '192.0.2.11']);
    const clock = new ManualClock(T0);
    const good = new CountingProvider('good', lab('lab-a'));
    const broken = new CountingProvider('broken', lab('lab-a'));
    broken.fail = true;
    const dead = new CountingProvider('dead', lab('lab-a'), ['ns.dead.example.net.']);
    const deadResolve = new Map(resolve).set('ns.dead.example.net', { host: '127.0.0.1', port: await silentPort() });
    const checker = new OverrideEffectChecker({
      zones: [{ ...zone, providers: ['good', 'broken', 'dead', 'missing'] }],
      providers: new Map<string, DnsProvider>([
        ['good', good],
        ['broken', broken],
        ['dead', dead],
      ]),
      resolve: deadResolve,
      limit: concurrencyLimit(4),
      clock,
      active: () => [override],
      queryTimeoutMs: 300,
    });

    const first: OverrideEffect = await checker.check(override, AbortSignal.timeout(20_000));
    expect(first.expectation).toBe('192.0.2.10, 192.0.2.11');
    expect(first.holds).toBe(false);
    const byName = new Map(first.providers.map((p) => [p.provider, p]));
    expect(byName.get('good')).toMatchObject({ holds: true, error: null, servers: [{ host: 'ns1.lab-a.example.net.', holds: true, served: ['192.0.2.10', '192.0.2.11'], message: null }] });
    expect(byName.get('broken')).toMatchObject({ holds: false, servers: [] });
    expect(byName.get('broken')?.error).toContain('cannot list its name servers for example.com.: broken: API unreachable');
    const deadServer = byName.get('dead')?.servers[0];
    expect(deadServer).toMatchObject({ host: 'ns.dead.example.net.', holds: false, served: null });
    expect(deadServer?.message).toMatch(/no answer from 127\.0\.0\.1:\d+ within 300 ms|cannot ask 127\.0\.0\.1:\d+/);
    expect(byName.get('missing')).toEqual({ provider: 'missing', holds: false, servers: [], error: 'provider missing is not configured' });

    await checker.check(override, AbortSignal.timeout(20_000));
    expect([good.calls, broken.calls, dead.calls]).toEqual([1, 2, 1]);
    clock.advance(NAMESERVER_CACHE_MS);
    await checker.check(override, AbortSignal.timeout(20_000));
    expect([good.calls, broken.calls, dead.calls]).toEqual([2, 3, 2]);
  });

  it('rejects only when the signal aborts', async () => {
    const checker = new OverrideEffectChecker({ zones: [zone], providers: labProviders, resolve, limit: concurrencyLimit(4), clock: new ManualClock(T0), active: () => [] });
    const controller = new AbortController();
    controller.abort(new Error('shutting down'));
    await expect(checker.check(override, controller.signal)).rejects.toThrow('shutting down');
  });

  it('says so when the record is no longer in the config', async () => {
    const checker = new OverrideEffectChecker({ zones: [{ ...zone, records: [] }], providers: labProviders, resolve, limit: concurrencyLimit(4), clock: new ManualClock(T0), active: () => [] });
    const effect = await checker.check(override, AbortSignal.timeout(20_000));
    expect(effect).toEqual({ expectation: 'api.example.com. A is no longer a failover record in the config', holds: false, providers: [], checkedAt: T0 });
  });
});

describe('GET /v1/audit', () => {
  it('returns the newest lines, filters by since, and refuses bad parameters', async () => {
    const h = await harness();
    await call(h, 'POST', '/v1/overrides', failover('secondary'));
    h.clock.advance(1000);
    await call(h, 'POST', '/v1/overrides', drain('192.0.2.10'));
    h.clock.advance(1000);
    await call(h, 'POST', '/v1/overrides', drain('192.0.2.11'));

    const newest = await call<AuditAnswer>(h, 'GET', '/v1/audit?limit=1');
    expect(newest.body.events.map((e) => e.what)).toEqual(['drain 192.0.2.11 for 1h']);
    const since = await call<AuditAnswer>(h, 'GET', `/v1/audit?since=${T0 + 1000}`);
    expect(since.body.events.map((e) => e.at)).toEqual([T0 + 1000, T0 + 2000]);
    expect((await call<AuditAnswer>(h, 'GET', '/v1/audit')).body.events).toHaveLength(3);

    for (const query of ['limit=0', 'limit=1001', 'limit=abc', 'limit=1.5', 'since=-1', 'since=yesterday']) {
      const res = await call<ErrorAnswer>(h, 'GET', `/v1/audit?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.error.code).toBe('DQ_API_BAD_REQUEST');
      expect(res.body.error.message).toContain(query.split('=')[0]);
    }
  });
});
