import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PeerVerifier } from '../../src/cluster/auth.js';
import { peerRoute } from '../../src/cluster/peer-route.js';
import { healthzRoute, readyzRoute, reloadRoute } from '../../src/control/api/lifecycle.js';
import { overrideRoutes } from '../../src/control/api/override-routes.js';
import { AdminApi } from '../../src/control/api/server.js';
import type { ApiMethod, Route } from '../../src/control/api/server.js';
import { statusRoute } from '../../src/control/api/status.js';
import type { DaemonStatusReport } from '../../src/control/api/status.js';
import { FileAuditLog } from '../../src/control/audit/file-log.js';
import { Metrics } from '../../src/control/metrics/metrics.js';
import { FileOverrideStore } from '../../src/control/overrides/file-store.js';
import { systemClock } from '../../src/lib/clock.js';
import { HybridLogicalClock } from '../../src/lib/hlc.js';
import { memoryLogger } from '../helpers/memory-logger.js';

/**
 * Token scopes on the admin API: every route the daemon serves declares the scope it needs (read
 * for what only looks, operate for what acts), and over a real socket a read token gets what it
 * may read and a 403 DQ_API_FORBIDDEN on everything that acts, before the handler runs.
 */

const OPERATE = 'operate-token-4b1c';
const READ = 'read-token-9e2f';
const LEGACY = 'legacy-token-0a7d';

let dir: string;
let routes: Route[];
let api: AdminApi;
let base: string;
let reloads = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dq-api-scopes-'));
  const logger = memoryLogger().logger;
  const clock = systemClock;
  const store = await FileOverrideStore.open({ path: join(dir, 'overrides.json'), clock, hlc: new HybridLogicalClock(clock, 'us-east'), logger });
  const audit = new FileAuditLog({ path: join(dir, 'audit.jsonl'), logger });
  // Only the status route's shape matters here: the scope is checked before any handler runs.
  const report = { region: 'us-east' } as unknown as DaemonStatusReport;
  routes = [
    statusRoute(() => report),
    new Metrics(() => undefined).route(),
    healthzRoute(() => 'running'),
    readyzRoute(() => ({ ready: true, checks: [] })),
    reloadRoute(() => {
      reloads += 1;
      return Promise.resolve({ result: 'unchanged', message: 'nothing changed' });
    }),
    ...overrideRoutes({
      region: 'us-east',
      zones: () => [],
      store,
      audit,
      clock,
      limits: () => ({ defaultDurationMs: 3_600_000, maxDurationMs: 86_400_000 }),
      health: () => new Map(),
      served: () => new Map(),
      records: () => [],
      effect: () => Promise.reject(new Error('not asked: there is no override')),
      changed: () => undefined,
      logger,
    }),
    peerRoute({ verifier: new PeerVerifier({ secret: 'scopes', clock }), peers: [], clock, logger, onMessage: () => undefined }).route,
  ];
  api = new AdminApi({
    listen: { host: '127.0.0.1', port: 0 },
    tokens: new Map([['ops', OPERATE], ['grafana', READ], ['old', LEGACY]]),
    // "old" has no scope: tokens that predate scopes operate.
    scopes: new Map([['ops', 'operate'], ['grafana', 'read']]),
    routes,
    logger,
  });
  await api.start();
  base = `http://127.0.0.1:${api.address().port}`;
});

afterAll(async () => {
  await api.close();
  await rm(dir, { recursive: true, force: true });
});

async function call(method: ApiMethod, path: string, token: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: await res.json() };
}

const OVERRIDE = { record: 'api.example.com', action: { kind: 'force-pool', pool: 'secondary' }, reason: 'INC-1', force: true };

describe('token scopes', () => {
  it('every route the daemon serves declares the scope it needs', () => {
    const declared = Object.fromEntries(routes.map((r) => [`${r.method} ${r.path}`, r.auth]));
    expect(declared).toEqual({
      'GET /v1/status': 'read',
      'GET /v1/overrides': 'read',
      'GET /v1/overrides/:id': 'read',
      'GET /v1/records': 'read',
      'GET /v1/audit': 'read',
      'POST /v1/overrides': 'operate',
      'DELETE /v1/overrides/:id': 'operate',
      'DELETE /v1/records/:name/overrides': 'operate',
      'POST /v1/reload': 'operate',
      'GET /metrics': false,
      'GET /healthz': false,
      'GET /readyz': false,
      'POST /v1/peer/exchange': false,
    });
  });

  it.each([
    ['GET', '/v1/status'],
    ['GET', '/v1/overrides'],
    ['GET', '/v1/records'],
    ['GET', '/v1/audit'],
  ] as const)('a read token may %s %s', async (method, path) => {
    expect((await call(method, path, READ)).status).toBe(200);
  });

  it.each([
    ['POST', '/v1/overrides', OVERRIDE],
    ['DELETE', '/v1/overrides/o-0123456789ab', undefined],
    ['DELETE', '/v1/records/api.example.com/overrides', undefined],
    ['POST', '/v1/reload', undefined],
  ] as const)('a read token gets 403 DQ_API_FORBIDDEN on %s %s', async (method, path, body) => {
    const answer = await call(method, path, READ, body);
    expect(answer).toEqual({
      status: 403,
      json: { error: { code: 'DQ_API_FORBIDDEN', message: `token "grafana" has scope read; ${method} ${path.startsWith('/v1/records/') ? '/v1/records/:name/overrides' : path.startsWith('/v1/overrides/') ? '/v1/overrides/:id' : path} needs a token of scope operate` } },
    });
  });

  it('the refusal comes before the handler: a read token does not reload', async () => {
    const before = reloads;
    expect((await call('POST', '/v1/reload', READ)).status).toBe(403);
    expect(reloads).toBe(before);
    expect((await call('POST', '/v1/reload', OPERATE)).status).toBe(200);
    expect(reloads).toBe(before + 1);
  });

  it('an operate token, and a token without a scope, pass the scope check on routes that act', async () => {
    // No zone has api.example.com: past authentication, the route itself answers.
    for (const token of [OPERATE, LEGACY]) {
      const answer = await call('POST', '/v1/overrides', token, OVERRIDE);
      expect(answer.status).toBe(404);
      expect(answer.json).toMatchObject({ error: { code: 'DQ_OVERRIDE_UNKNOWN' } });
    }
  });

  it('a reload that changes a token to read takes effect on the next request', async () => {
    api.setTokens(new Map([['ops', OPERATE], ['grafana', READ], ['old', LEGACY]]), new Map([['ops', 'operate'], ['grafana', 'read'], ['old', 'read']]));
    try {
      expect((await call('POST', '/v1/reload', LEGACY)).json).toMatchObject({ error: { code: 'DQ_API_FORBIDDEN' } });
      expect((await call('GET', '/v1/audit', LEGACY)).status).toBe(200);
    } finally {
      api.setTokens(new Map([['ops', OPERATE], ['grafana', READ], ['old', LEGACY]]), new Map([['ops', 'operate'], ['grafana', 'read']]));
    }
  });
});
