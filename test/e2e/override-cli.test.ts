import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { AdminApi, ApiError } from '../../src/control/api/server.js';
import type { ApiRequest, Route } from '../../src/control/api/server.js';
import type { AuditEvent } from '../../src/control/audit/log.js';
import type { CreateOverrideRequest, OverrideAnswer, OverrideEffect, OverrideView, ServerEffect } from '../../src/control/overrides/wire.js';
import { statusRoute } from '../../src/control/api/status.js';
import type { DaemonStatusReport } from '../../src/control/api/status.js';
import type { OverrideAction } from '../../src/domain/override.js';
import { silentLogger } from '../../src/lib/logger.js';
import { exited, runCli, startCli } from '../helpers/cli.js';
import { overrideView } from '../helpers/override-fixture.js';

/**
 * The on-call commands as real processes against a real AdminApi on loopback, serving small fake
 * override routes written here (the real routes and the daemon are tested elsewhere). Records:
 * - api.example.com: every provider holds an override after HOLDS_AFTER polls of its effect;
 * - stuck.example.com: ns1 never holds it;
 * - web.example.com: refused unless forced (its pool is down);
 * - gone.example.com: the override is released by someone else before it holds.
 */

const TOKEN = 'override-cli-token-3f9a';
const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);
const HOUR = 3_600_000;
const HOLDS_AFTER = 3;
const PRIMARY = ['192.0.2.10', '192.0.2.11'];
const SECONDARY = ['198.51.100.20'];
const REFUSAL = 'pool secondary of web.example.com. A is down: 2 of 2 values down in 2 of 3 regions';

interface Made {
  view: OverrideView;
  polls: number;
}

interface Seen {
  creates: { body: CreateOverrideRequest; actor: string | null; token: string | null }[];
  releases: { path: string; query: string; body: unknown; actor: string | null }[];
  auditQueries: string[];
  requests: number;
}

const made = new Map<string, Made>();
const seen: Seen = { creates: [], releases: [], auditQueries: [], requests: 0 };
let nextId = 0;

function overrideId(): string {
  nextId += 1;
  return `o-${nextId.toString(16).padStart(12, '0')}`;
}

function server(host: string, holds: boolean, served: readonly string[] | null): ServerEffect {
  return { host, holds, served, message: holds ? null : served === null ? 'timed out after 2s' : `serves ${served.join(', ')}` };
}

/** r53 holds from the first poll; ns1 once `ns1Holds`. */
function effectOf(action: OverrideAction, ns1Holds: boolean): OverrideEffect {
  const wanted = action.kind === 'force-pool' ? SECONDARY : PRIMARY.filter((v) => v !== action.value);
  const expectation = action.kind === 'force-pool' ? wanted.join(', ') : `any values but ${action.value}`;
  const r53 = ['ns-1.awsdns-01.org.', 'ns-2.awsdns-02.net.', 'ns-3.awsdns-03.com.', 'ns-4.awsdns-04.co.uk.'].map((h) => server(h, true, wanted));
  const ns1 = ns1Holds
    ? ['dns1.p01.nsone.net.', 'dns2.p01.nsone.net.'].map((h) => server(h, true, wanted))
    : [server('dns1.p01.nsone.net.', false, PRIMARY), server('dns2.p01.nsone.net.', false, null)];
  return {
    expectation,
    holds: ns1Holds,
    providers: [
      { provider: 'r53', holds: true, servers: r53, error: null },
      { provider: 'ns1', holds: ns1Holds, servers: ns1, error: null },
    ],
    checkedAt: NOW + 1_000,
  };
}

function fqdn(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower : `${lower}.`;
}

const KNOWN = new Set(['api.example.com.', 'stuck.example.com.', 'web.example.com.', 'gone.example.com.']);

function isCreateRequest(body: unknown): body is CreateOverrideRequest {
  return typeof body === 'object' && body !== null && 'record' in body && 'action' in body && 'reason' in body;
}

function create(req: ApiRequest): Promise<{ status: number; body: unknown }> {
  seen.requests += 1;
  if (!isCreateRequest(req.body)) throw new ApiError(400, 'DQ_API_BAD_REQUEST', 'not an override request');
  const body = req.body;
  seen.creates.push({ body, actor: req.actor, token: req.tokenName });
  const name = fqdn(body.record);
  if (!KNOWN.has(name)) throw new ApiError(404, 'DQ_OVERRIDE_UNKNOWN', `${name} is not a failover record; failover records: ${[...KNOWN].join(', ')}`);
  if (name === 'web.example.com.' && body.force !== true) throw new ApiError(409, 'DQ_OVERRIDE_REFUSED', REFUSAL);
  const view: OverrideView = {
    id: overrideId(),
    zone: 'example.com.',
    name,
    type: 'A',
    action: body.action,
    actor: req.actor ?? req.tokenName ?? '?',
    token: req.tokenName ?? '?',
    reason: body.reason,
    forced: body.force === true,
    origin: 'us-east',
    createdAt: NOW,
    expiresAt: NOW + HOUR,
    state: 'active',
    released: null,
    stamp: { wall: NOW, logical: 0, replica: 'us-east' },
  };
  made.set(view.id, { view, polls: 0 });
  const warnings = body.force === true && name === 'web.example.com.' ? [`--force overrode: ${REFUSAL}`] : [];
  return Promise.resolve({ status: 201, body: { override: view, replaced: null, warnings } });
}

function effect(req: ApiRequest): Promise<{ status: number; body: unknown }> {
  seen.requests += 1;
  const entry = made.get(req.params.id ?? '');
  if (entry === undefined) throw new ApiError(404, 'DQ_OVERRIDE_UNKNOWN', `no override ${req.params.id ?? ''}`);
  entry.polls += 1;
  if (entry.view.name === 'gone.example.com.' && entry.polls >= 2) {
    entry.view = { ...entry.view, state: 'released', released: { at: NOW + 500, actor: 'bob', token: 'api', reason: 'not needed' } };
  }
  const holds = entry.view.name === 'api.example.com.' && entry.polls >= HOLDS_AFTER;
  const answer: OverrideAnswer = { override: entry.view, effect: entry.view.state === 'active' ? effectOf(entry.view.action, holds) : null };
  return Promise.resolve({ status: 200, body: answer });
}

function releaseOne(req: ApiRequest, entry: Made, reason: string): OverrideView {
  entry.view = { ...entry.view, state: 'released', released: { at: NOW + 2_000, actor: req.actor ?? req.tokenName ?? '?', token: req.tokenName ?? '?', reason } };
  return entry.view;
}

function reasonOf(body: unknown): string {
  return typeof body === 'object' && body !== null && 'reason' in body && typeof body.reason === 'string' ? body.reason : 'released by hand';
}

function releaseById(req: ApiRequest): Promise<{ status: number; body: unknown }> {
  seen.requests += 1;
  seen.releases.push({ path: req.path, query: req.query.toString(), body: req.body, actor: req.actor });
  const entry = made.get(req.params.id ?? '');
  if (entry?.view.state !== 'active') throw new ApiError(404, 'DQ_OVERRIDE_UNKNOWN', `no override ${req.params.id ?? ''} is in force`);
  return Promise.resolve({ status: 200, body: { released: [releaseOne(req, entry, reasonOf(req.body))] } });
}

function releaseByRecord(req: ApiRequest): Promise<{ status: number; body: unknown }> {
  seen.requests += 1;
  seen.releases.push({ path: req.path, query: req.query.toString(), body: req.body, actor: req.actor });
  const name = fqdn(req.params.name ?? '');
  if (!KNOWN.has(name)) throw new ApiError(404, 'DQ_OVERRIDE_UNKNOWN', `${name} is not a failover record`);
  const value = req.query.get('value');
  const released = [...made.values()]
    .filter((e) => e.view.name === name && e.view.state === 'active' && (value === null ? true : e.view.action.kind === 'drain' && e.view.action.value === value))
    .map((e) => releaseOne(req, e, reasonOf(req.body)));
  return Promise.resolve({ status: 200, body: { released } });
}

const AUDIT: AuditEvent[] = [
  {
    at: NOW - 120_000,
    region: 'us-east',
    action: 'refused',
    actor: 'alice',
    token: 'api',
    zone: 'example.com.',
    record: 'web.example.com.',
    type: 'A',
    what: 'force pool secondary for 1h',
    why: 'db\nmigration',
    result: `refused: ${REFUSAL}`,
    overrideId: null,
    provider: null,
  },
  {
    at: NOW - 60_000,
    region: 'eu-west',
    action: 'write',
    actor: 'dnsquorum',
    token: null,
    zone: 'example.com.',
    record: null,
    type: null,
    what: '2 changes at r53',
    why: 'primary: 2 of 2 values down in 2 of 3 regions',
    result: 'applied',
    overrideId: null,
    provider: 'r53',
  },
];

function audit(req: ApiRequest): Promise<{ status: number; body: unknown }> {
  seen.requests += 1;
  seen.auditQueries.push(req.query.toString());
  return Promise.resolve({ status: 200, body: { events: AUDIT } });
}

function statusReport(): DaemonStatusReport {
  return {
    region: 'us-east',
    state: 'running',
    startedAt: NOW - HOUR,
    now: NOW,
    config: { source: '/etc/dnsquorum/dnsquorum.yaml', loadedAt: NOW - HOUR, lastReload: null },
    hold: null,
    cluster: { region: 'us-east', writerCapable: true, freshRegions: ['us-east'], quorum: 1, seesQuorum: true, writer: 'us-east', peers: [], rejected: {}, clockSkewed: [] },
    endpoints: [],
    records: [{ zone: 'example.com.', name: 'api.example.com.', type: 'A', pool: 'secondary', values: SECONDARY, cause: 'override', reason: 'alice: db migration', since: NOW - 60_000 }],
    providers: [],
    overrides: [
      overrideView(NOW, { id: 'o-00000000abcd', reason: 'db migration', expiresAt: NOW + 59 * 60_000 }),
      {
        id: 'o-00000000beef',
        zone: 'example.com.',
        name: 'api.example.com.',
        type: 'A',
        action: { kind: 'drain', value: '192.0.2.11' },
        actor: 'bob',
        token: 'oncall',
        reason: 'disk full',
        forced: true,
        origin: 'eu-west',
        createdAt: NOW - 30_000,
        expiresAt: NOW + 2 * HOUR,
        state: 'active',
        released: null,
        stamp: { wall: NOW - 30_000, logical: 0, replica: 'eu-west' },
      },
    ],
  };
}

const ROUTES: Route[] = [
  { method: 'POST', path: '/v1/overrides', auth: true, handle: create },
  { method: 'GET', path: '/v1/overrides/:id', auth: true, handle: effect },
  { method: 'DELETE', path: '/v1/overrides/:id', auth: true, handle: releaseById },
  { method: 'DELETE', path: '/v1/records/:name/overrides', auth: true, handle: releaseByRecord },
  { method: 'GET', path: '/v1/audit', auth: true, handle: audit },
  statusRoute(statusReport),
];

describe('the on-call CLI against a live admin API', () => {
  const api = new AdminApi({ listen: { host: '127.0.0.1', port: 0 }, tokens: new Map([['api', TOKEN]]), routes: ROUTES, logger: silentLogger() });
  let url: string;

  beforeAll(async () => {
    await api.start();
    url = `http://127.0.0.1:${api.address().port}`;
  });
  afterAll(async () => {
    await api.close();
  });
  beforeEach(() => {
    seen.creates.length = 0;
    seen.releases.length = 0;
    seen.auditQueries.length = 0;
    seen.requests = 0;
  });

  // The environment of the test run must not leak an API address or token into the CLI.
  const env = { DNSQUORUM_API_URL: '', DNSQUORUM_API_TOKEN: TOKEN, DNSQUORUM_CONFIG: '/nonexistent/dnsquorum.yaml' };
  const cli = (args: readonly string[], extraEnv: Record<string, string> = {}): ReturnType<typeof runCli> => runCli([...args, '--api', url], { env: { ...env, ...extraEnv } });

  function activeIds(name: string): string[] {
    return [...made.values()].filter((e) => e.view.name === name && e.view.state === 'active').map((e) => e.view.id);
  }

  it('failover waits until every provider holds it, showing what is pending, then prints the override', async () => {
    const result = await cli(['failover', 'api.example.com', '--to', 'secondary', '--reason', 'db migration', '--for', '1h', '--actor', 'alice']);
    expect(result.code, result.stderr).toBe(0);
    expect(seen.creates).toEqual([
      { body: { record: 'api.example.com', action: { kind: 'force-pool', pool: 'secondary' }, reason: 'db migration', for: '1h' }, actor: 'alice', token: 'api' },
    ]);
    const id = activeIds('api.example.com.').at(-1) ?? '';
    expect(made.get(id)?.polls).toBe(HOLDS_AFTER);
    // Progress on stderr: what ns1's servers still serve; the same state is told once.
    expect(result.stderr).toContain(`override ${id} made: force pool secondary for api.example.com. A; waiting up to 2m for every provider to serve it (Ctrl-C stops waiting; the override stays)`);
    const waiting = result.stderr.split('\n').filter((l) => l.startsWith('waiting: '));
    expect(waiting).toEqual([
      'waiting: ns1 pending: 2 of 2 servers (dns1.p01.nsone.net. serves 192.0.2.10, 192.0.2.11; dns2.p01.nsone.net. no answer (timed out after 2s))',
    ]);
    const out = result.stdout;
    expect(out).toContain(`override ${id}: force pool secondary for api.example.com. A\n`);
    expect(out).toContain('  by alice (token api, at us-east), reason: db migration\n');
    expect(out).toContain('  expires 2025-01-15T13:00:00Z (in 59m 59s)\n');
    expect(out).toContain('every provider serves it (198.51.100.20):\n  r53  holds (4 servers)\n  ns1  holds (2 servers)\n');
  });

  it('drain sends the value and waits the same way', async () => {
    const result = await cli(['drain', 'API.example.com.', '192.0.2.10', '--reason', 'disk full', '--type', 'a']);
    expect(result.code, result.stderr).toBe(0);
    expect(seen.creates[0]?.body).toEqual({ record: 'API.example.com.', type: 'A', action: { kind: 'drain', value: '192.0.2.10' }, reason: 'disk full' });
    expect(seen.creates[0]?.actor).toBeNull();
    expect(result.stdout).toContain(': drain 192.0.2.10 for api.example.com. A\n');
    expect(result.stdout).toContain('every provider serves it (any values but 192.0.2.10):');
  });

  it('a refusal exits 1 with the reason and says --force makes it anyway; nothing is made', async () => {
    const before = made.size;
    const result = await cli(['failover', 'web.example.com', '--to', 'secondary', '--reason', 'try it']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`dnsquorum failover: DQ_OVERRIDE_REFUSED: ${REFUSAL}\nre-run with --force to make it anyway\n`);
    expect(made.size).toBe(before);
  });

  it('--force makes it, sends force: true and prints the warning (with --no-wait, no effect is asked)', async () => {
    const result = await cli(['failover', 'web.example.com', '--to', 'secondary', '--reason', 'on purpose', '--force', '--no-wait']);
    expect(result.code, result.stderr).toBe(0);
    expect(seen.creates[0]?.body.force).toBe(true);
    const id = activeIds('web.example.com.').at(-1) ?? '';
    expect(made.get(id)?.polls).toBe(0);
    expect(result.stdout).toContain('  made with --force: the safety check was overridden\n');
    expect(result.stdout).toContain(`  warning: --force overrode: ${REFUSAL}\n`);
    expect(result.stdout).toContain('not waiting for the providers (--no-wait)');
  });

  it('when the wait ends with a provider pending it exits 1 naming it, and says the override stays', async () => {
    const result = await cli(['failover', 'stuck.example.com', '--to', 'secondary', '--reason', 'x', '--wait', '1s']);
    expect(result.code).toBe(1);
    const id = activeIds('stuck.example.com.').at(-1) ?? '';
    expect(made.get(id)?.polls).toBeGreaterThanOrEqual(2);
    expect(result.stderr).toMatch(
      new RegExp(`dnsquorum failover: DQ_OVERRIDE_PENDING: override ${id} is in force, but after 1s not every provider serves it: ns1 pending: 2 of 2 servers \\(dns1\\.p01\\.nsone\\.net\\. serves 192\\.0\\.2\\.10, 192\\.0\\.2\\.11`),
    );
    expect(result.stderr).toContain(`It stays in force: follow it with "dnsquorum status", or end it with "dnsquorum release ${id}"`);
    expect(result.stdout).toContain('not every provider serves it yet (198.51.100.20):\n  r53  holds (4 servers)\n  ns1  pending: 2 of 2 servers');
  });

  it('an override released by someone else during the wait exits 1 saying so', async () => {
    const result = await cli(['failover', 'gone.example.com', '--to', 'secondary', '--reason', 'x']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/override o-[0-9a-f]{12} is no longer in force \(released by bob \(not needed\)\)/);
  });

  it('Ctrl-C during the wait stops waiting, exits 130 and says the override stays', async () => {
    const { child, stderr } = startCli(['failover', 'stuck.example.com', '--to', 'secondary', '--reason', 'x', '--api', url], { env });
    const code = exited(child);
    await vi.waitFor(() => {
      expect(stderr.join('')).toContain('waiting: ns1 pending');
    }, { timeout: 20_000, interval: 50 });
    child.kill('SIGINT');
    expect(await code).toBe(130);
    const id = activeIds('stuck.example.com.').at(-1) ?? '';
    expect(stderr.join('')).toContain(`interrupted: only the waiting stopped. Override ${id} stays in force until 2025-01-15T13:00:00Z`);
    expect(made.get(id)?.view.state).toBe('active');
  });

  it('a wrong token gets 401, exits 1 and makes nothing', async () => {
    const before = made.size;
    const result = await cli(['failover', 'api.example.com', '--to', 'secondary', '--reason', 'x'], { DNSQUORUM_API_TOKEN: `${TOKEN}-wrong` });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('dnsquorum failover: DQ_API_UNAUTHORIZED: the bearer token is wrong (token from DNSQUORUM_API_TOKEN)');
    expect(made.size).toBe(before);
    expect(seen.creates).toEqual([]);
  });

  it('a usage error is caught before any request, naming the flag', async () => {
    const result = await cli(['failover', 'api.example.com', '--to', 'secondary', '--for', '90']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('dnsquorum failover: --reason TEXT is required');
    expect(seen.requests).toBe(0);
  });

  describe('--json', () => {
    it('prints the created answer, the last effect and the outcome as one object', async () => {
      const result = await cli(['failover', 'api.example.com', '--to', 'secondary', '--reason', 'json', '--json']);
      expect(result.code, result.stderr).toBe(0);
      const printed = JSON.parse(result.stdout) as { created: { override: OverrideView }; latest: OverrideAnswer; outcome: string };
      expect(Object.keys(printed).sort()).toEqual(['created', 'latest', 'outcome']);
      expect(printed.outcome).toBe('holds');
      expect(printed.created.override).toMatchObject({ name: 'api.example.com.', action: { kind: 'force-pool', pool: 'secondary' }, reason: 'json' });
      expect(printed.latest.effect).toMatchObject({ holds: true, providers: [{ provider: 'r53', holds: true }, { provider: 'ns1', holds: true }] });
    });

    it('prints pending with the last effect, and exits 1', async () => {
      const result = await cli(['failover', 'stuck.example.com', '--to', 'secondary', '--reason', 'json', '--wait', '1s', '--json']);
      expect(result.code).toBe(1);
      const printed = JSON.parse(result.stdout) as { latest: OverrideAnswer; outcome: string };
      expect(printed.outcome).toBe('pending');
      expect(printed.latest.effect?.providers.find((p) => p.provider === 'ns1')?.holds).toBe(false);
    });

    it('prints the API error answer on a refusal', async () => {
      const result = await cli(['failover', 'web.example.com', '--to', 'secondary', '--reason', 'json', '--json']);
      expect(result.code).toBe(1);
      expect(JSON.parse(result.stdout)).toEqual({ error: { code: 'DQ_OVERRIDE_REFUSED', message: REFUSAL } });
    });

    it('prints not-waited with --no-wait', async () => {
      const result = await cli(['drain', 'api.example.com', '192.0.2.11', '--reason', 'json', '--no-wait', '--json']);
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ latest: null, outcome: 'not-waited', created: { override: { action: { kind: 'drain', value: '192.0.2.11' } } } });
    });
  });

  describe('release and undrain', () => {
    it('release by id ends that override, sending the reason and actor', async () => {
      const made1 = await cli(['failover', 'api.example.com', '--to', 'secondary', '--reason', 'r', '--no-wait']);
      expect(made1.code, made1.stderr).toBe(0);
      const id = activeIds('api.example.com.').at(-1) ?? '';
      const result = await cli(['release', id, '--reason', 'migration done', '--actor', 'carol']);
      expect(result.code, result.stderr).toBe(0);
      expect(seen.releases).toEqual([{ path: `/v1/overrides/${id}`, query: '', body: { reason: 'migration done' }, actor: 'carol' }]);
      expect(made.get(id)?.view.state).toBe('released');
      expect(result.stdout).toBe(`released ${id}: force pool secondary for api.example.com. A (made by api: r)\n  health decides api.example.com. A again (rise and hold-down apply)\n`);
    });

    it('release by record ends every override of it; with none left it says nothing was in force', async () => {
      await cli(['failover', 'stuck.example.com', '--to', 'secondary', '--reason', 'r', '--no-wait']);
      await cli(['drain', 'stuck.example.com', '192.0.2.10', '--reason', 'r', '--no-wait']);
      const ids = activeIds('stuck.example.com.');
      expect(ids.length).toBeGreaterThanOrEqual(2);
      const result = await cli(['release', 'stuck.example.com', '--type', 'A']);
      expect(result.code, result.stderr).toBe(0);
      expect(seen.releases[0]).toEqual({ path: '/v1/records/stuck.example.com/overrides', query: 'type=A', body: null, actor: null });
      for (const id of ids) expect(result.stdout).toContain(`released ${id}: `);
      expect(result.stdout).toContain('  192.0.2.10 of stuck.example.com. A is back under health checks\n');
      expect(activeIds('stuck.example.com.')).toEqual([]);
      const again = await cli(['release', 'stuck.example.com']);
      expect(again.code).toBe(0);
      expect(again.stdout).toBe('nothing to release: no override of stuck.example.com was in force\n');
    });

    it('undrain ends only the drain of that value', async () => {
      await cli(['drain', 'gone.example.com', '192.0.2.11', '--reason', 'r', '--no-wait']);
      const result = await cli(['undrain', 'gone.example.com', '192.0.2.11', '--json']);
      expect(result.code, result.stderr).toBe(0);
      expect(seen.releases.at(-1)).toMatchObject({ path: '/v1/records/gone.example.com/overrides', query: 'value=192.0.2.11' });
      const printed = JSON.parse(result.stdout) as { released: OverrideView[] };
      expect(printed.released.map((o) => o.action)).toEqual([{ kind: 'drain', value: '192.0.2.11' }]);
    });

    it.each([
      ['an unknown id', ['release', 'o-ffffffffffff'], 'DQ_OVERRIDE_UNKNOWN: no override o-ffffffffffff is in force'],
      ['an unknown record', ['release', 'nope.example.com'], 'DQ_OVERRIDE_UNKNOWN: nope.example.com. is not a failover record'],
    ])('%s exits 1 with the message', async (_name, args, message) => {
      const result = await cli(args);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain(`dnsquorum release: ${message}`);
    });
  });

  describe('audit', () => {
    it('prints a table with the time in UTC, oldest first, one line per event', async () => {
      const result = await cli(['audit']);
      expect(result.code, result.stderr).toBe(0);
      const lines = result.stdout.trimEnd().split('\n');
      expect(lines).toHaveLength(3);
      expect(lines[0]).toMatch(/^TIME \(UTC\) +REGION +ACTOR +ACTION +RECORD +WHAT +WHY +RESULT$/);
      expect(lines[1]).toMatch(/^2025-01-15T11:58:00Z +us-east +alice +refused +web\.example\.com\. A +force pool secondary for 1h +db migration +refused: pool secondary/);
      expect(lines[2]).toMatch(/^2025-01-15T11:59:00Z +eu-west +dnsquorum +write +- +2 changes at r53 +primary: 2 of 2 values down in 2 of 3 regions +applied$/);
      expect(seen.auditQueries).toEqual(['']);
    });

    it('passes --limit and an ISO --since as epoch ms; --json prints the answer', async () => {
      const result = await cli(['audit', '--limit', '5', '--since', '2025-01-15T11:00:00Z', '--json']);
      expect(result.code, result.stderr).toBe(0);
      expect(seen.auditQueries).toEqual([`limit=5&since=${NOW - HOUR}`]);
      expect(JSON.parse(result.stdout)).toEqual({ events: AUDIT });
    });
  });

  it('status shows the overrides after the failover records', async () => {
    const result = await cli(['status']);
    expect(result.code, result.stderr).toBe(0);
    const out = result.stdout;
    expect(out.indexOf('\nOverrides\n')).toBeGreaterThan(out.indexOf('\nFailover records\n'));
    expect(out.indexOf('\nOverrides\n')).toBeLessThan(out.indexOf('\nProviders\n'));
    expect(out).toMatch(/ {2}ID +RECORD +ACTION +BY +REASON +EXPIRES +FORCED\n/);
    expect(out).toMatch(/ {2}o-00000000abcd +api\.example\.com\. A +force pool secondary +alice +db migration +in 59m 0s +no\n/);
    expect(out).toMatch(/ {2}o-00000000beef +api\.example\.com\. A +drain 192\.0\.2\.11 +bob +disk full +in 2h 0m +yes\n/);
  });
});
