import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AdminApi } from '../../src/control/api/server.js';
import type { ApiRequest, Route } from '../../src/control/api/server.js';
import { overrideRoutes } from '../../src/control/api/override-routes.js';
import { FileAuditLog } from '../../src/control/audit/file-log.js';
import { FileOverrideStore } from '../../src/control/overrides/file-store.js';
import type { CreatedOverrideAnswer, ReleasedAnswer } from '../../src/control/overrides/wire.js';
import { endpointId } from '../../src/domain/health.js';
import type { EndpointHealth } from '../../src/domain/health.js';
import type { ZoneSpec } from '../../src/domain/zone.js';
import { systemClock } from '../../src/lib/clock.js';
import type { Clock } from '../../src/lib/clock.js';
import { HybridLogicalClock } from '../../src/lib/hlc.js';
import { silentLogger } from '../../src/lib/logger.js';
import { runCliInProcess } from '../helpers/cli.js';
import { failoverSpec } from '../helpers/failover-spec.js';
import { startLateProxy } from '../helpers/late-proxy.js';

/**
 * Issue 16, defects 3 and 4, with the CLI run in this process against the real override routes on
 * a real AdminApi (loopback), the real FileOverrideStore and audit log in a temporary directory:
 * - an API that cannot be reached and one that was sent the request but did not answer in time
 *   are told apart (exit 1 "nothing was sent" against exit 3 "may have done it", with the id);
 * - a failover whose first try's answer does not come in time is sent again with the same
 *   Idempotency-Key and makes exactly one override, whether the daemon took the first try late
 *   or answered it late; a key sent with another request is refused; a replica that learned the
 *   override from a peer answers a retry with it;
 * - `release RECORD` queued behind a failover answers what the store released, never a 404
 *   listing an override as active; releasing (or undraining) nothing exits 0.
 */

const TOKEN = 'idempotency-test-token-41ad';
const ZONE = 'example.com.';
const API = 'api.example.com.';
const HOUR = 3_600_000;
const apiRecord = failoverSpec(API, { primary: ['192.0.2.10', '192.0.2.11'], secondary: ['198.51.100.20'] });
const zone: ZoneSpec = {
  name: ZONE,
  providers: ['lab'],
  nameservers: 'manual',
  nameserverTtl: 3600,
  unmanaged: 'keep',
  drift: 'repair',
  maxChangeShare: 1,
  records: [apiRecord],
};
const ALL_UP = new Map<string, EndpointHealth>(
  ['192.0.2.10', '192.0.2.11', '198.51.100.20'].map((value) => {
    const id = endpointId(API, 'A', value);
    return [id, { endpointId: id, state: 'up', since: 0, reason: 'up in 3 of 3 regions', insufficientVantage: false, regions: [] }];
  }),
);

interface Daemon {
  readonly url: string;
  readonly port: number;
  readonly store: FileOverrideStore;
  readonly audit: FileAuditLog;
  readonly routes: Route[];
  readonly tokenFile: string;
  close(): Promise<void>;
}

const open: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((close) => close()));
});

/** One replica's override routes on a real AdminApi, on the real clock unless given one. */
async function daemon(region = 'us-east', clock: Clock = systemClock): Promise<Daemon> {
  const dir = await mkdtemp(join(tmpdir(), 'dq-idempotency-'));
  const store = await FileOverrideStore.open({ path: join(dir, 'overrides.json'), clock, hlc: new HybridLogicalClock(clock, region), logger: silentLogger() });
  const audit = new FileAuditLog({ path: join(dir, 'audit.jsonl'), logger: silentLogger() });
  const routes = overrideRoutes({
    region,
    zones: () => [zone],
    store,
    audit,
    clock,
    limits: () => ({ defaultDurationMs: HOUR, maxDurationMs: 24 * HOUR }),
    health: () => ALL_UP,
    served: () => new Map(),
    records: () => [],
    effect: () => Promise.reject(new Error('no effect checks here (--no-wait)')),
    changed: () => undefined,
    logger: silentLogger(),
  });
  const api = new AdminApi({ listen: { host: '127.0.0.1', port: 0 }, tokens: new Map([['api', TOKEN]]), routes, logger: silentLogger() });
  await api.start();
  const tokenFile = join(dir, 'token');
  await writeFile(tokenFile, TOKEN);
  const { port } = api.address();
  const close = async (): Promise<void> => {
    await api.close();
    await rm(dir, { recursive: true, force: true });
  };
  open.push(close);
  return { url: `http://127.0.0.1:${port}`, port, store, audit, routes, tokenFile, close };
}

async function overrideLines(d: Daemon): Promise<string[]> {
  return (await d.audit.read({ limit: 1000 })).filter((e) => e.action === 'override').map((e) => `${e.overrideId ?? '-'} ${e.result}`);
}

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** Takes connections and reads what comes, never answering (a daemon too busy to answer); keeps the Idempotency-Keys seen. */
async function silentServer(): Promise<{ url: string; keys: string[]; close: () => Promise<void> }> {
  const keys: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    let head = '';
    socket.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const key = /\r\nidempotency-key: *(\S+)\r\n/i.exec(head)?.[1];
      if (key !== undefined && head.includes('\r\n\r\n')) {
        keys.push(key);
        head = '';
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const close = async (): Promise<void> => {
    for (const socket of sockets) socket.destroy();
    server.close();
    await once(server, 'close');
  };
  open.push(close);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, keys, close };
}

/** The id an override made under `key` gets, on every replica (docs/overrides-api.md). */
function overrideIdForKey(key: string): string {
  return `o-${createHash('sha256').update(`dnsquorum override\n${key}`, 'utf8').digest('hex').slice(0, 12)}`;
}

const FAILOVER = ['failover', 'api.example.com', '--to', 'secondary', '--reason', 'INC-7: primary db failing over', '--no-wait'];

describe('the CLI tells "not reachable" from "sent, answer not seen"', () => {
  it('connection refused: exit 1, nothing was sent, no retry', async () => {
    const port = await closedPort();
    const result = await runCliInProcess([...FAILOVER, '--api', `http://127.0.0.1:${port}`, '--timeout', '1s']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`dnsquorum failover: DQ_API_UNREACHABLE: cannot reach the admin API at http://127.0.0.1:${port}/v1/overrides: connection refused`);
    expect(result.stderr).toContain('nothing was sent');
    expect(result.stderr).not.toContain('may have');
    expect(result.stderr).not.toContain('sending it again');
  });

  it('no such host: exit 1, nothing was sent', async () => {
    const result = await runCliInProcess(['release', 'api.example.com', '--api', 'http://no-such-host.invalid:8053', '--timeout', '3s']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/DQ_API_UNREACHABLE: cannot reach the admin API at http:\/\/no-such-host\.invalid:8053\/v1\/records\/api\.example\.com\/overrides: .*; nothing was sent/);
  });

  it('sent, and no answer to any try: exit 3, says it may have been made, its id, the key, and how to check', async () => {
    const silent = await silentServer();
    const result = await runCliInProcess([...FAILOVER, '--api', silent.url, '--timeout', '200ms']);
    expect(result.code).toBe(3);
    // Three tries, one key.
    expect(silent.keys).toHaveLength(3);
    const [key] = silent.keys;
    expect(new Set(silent.keys)).toEqual(new Set([key]));
    const id = overrideIdForKey(key ?? '');
    expect(result.stderr).toContain(`dnsquorum failover: DQ_API_NO_ANSWER: the request was sent to the admin API at ${silent.url}/v1/overrides, but no answer came in 3 tries`);
    expect(result.stderr).toContain('the daemon may have done it');
    expect(result.stderr).toContain(`If it did, the override is ${id} (Idempotency-Key ${key ?? ''})`);
    expect(result.stderr).toContain('"dnsquorum status"');
    expect(result.stderr).toContain(`--idempotency-key ${key ?? ''}`);
    expect(result.stderr).not.toContain('cannot reach');
    // Each retry is announced with the key.
    expect(result.stderr.match(/Sending it again with the same Idempotency-Key/g)).toHaveLength(2);
  });

  it('--json on no answer prints the key and the id for scripts', async () => {
    const silent = await silentServer();
    const result = await runCliInProcess([...FAILOVER, '--api', silent.url, '--timeout', '100ms', '--json', '--idempotency-key', 'inc-7-failover-1']);
    expect(result.code).toBe(3);
    expect(JSON.parse(result.stdout)).toMatchObject({ error: { code: 'DQ_API_NO_ANSWER' }, idempotencyKey: 'inc-7-failover-1', overrideId: overrideIdForKey('inc-7-failover-1') });
    expect(silent.keys).toEqual(['inc-7-failover-1', 'inc-7-failover-1', 'inc-7-failover-1']);
  });
});

describe('a retry with the same Idempotency-Key makes exactly one override', () => {
  it.each([
    ['the daemon takes the first try after the CLI gave up on it', 'request'],
    ['the daemon answers the first try after the CLI gave up on it', 'answer'],
  ] as const)('%s', async (_name, side) => {
    const d = await daemon();
    const proxy = await startLateProxy({ host: '127.0.0.1', port: d.port });
    open.push(() => proxy.close());
    proxy.holdNext({ side, ms: 900 });
    const result = await runCliInProcess([...FAILOVER, '--api', proxy.url, '--token-file', d.tokenFile, '--timeout', '300ms']);
    await proxy.settled();
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('Sending it again with the same Idempotency-Key');
    const [key] = proxy.keys;
    expect(key).toBeTypeOf('string');
    expect(new Set(proxy.keys)).toEqual(new Set([key]));
    expect(proxy.keys.length).toBeGreaterThanOrEqual(2);
    const id = overrideIdForKey(key ?? '');
    expect(result.stdout).toContain(`override ${id}: force pool secondary for api.example.com. A`);
    expect(d.store.entries().map((e) => e.override.id)).toEqual([id]);
    expect(await overrideLines(d)).toEqual([`${id} accepted`]);
  });
});

describe('the override routes and Idempotency-Key', () => {
  const post = async (d: Daemon, key: string | undefined, body: Record<string, unknown>): Promise<{ status: number; body: unknown }> => {
    const res = await fetch(`${d.url}/v1/overrides`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'x-dnsquorum-actor': 'alice', ...(key === undefined ? {} : { 'idempotency-key': key }) },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: JSON.parse(await res.text()) as unknown };
  };
  const failover = { record: 'api.example.com', action: { kind: 'force-pool', pool: 'secondary' }, reason: 'INC-7' };

  it('the same key again answers the first answer; the key with another request is 422', async () => {
    const d = await daemon();
    const first = await post(d, '"k-1"', failover);
    expect(first.status).toBe(201);
    const made = (first.body as CreatedOverrideAnswer).override;
    expect(made.id).toBe(overrideIdForKey('k-1'));
    expect(await post(d, 'k-1', failover)).toEqual(first);
    const other = await post(d, 'k-1', { ...failover, reason: 'something else' });
    expect(other).toMatchObject({ status: 422, body: { error: { code: 'DQ_API_KEY_REUSED' } } });
    expect(await post(d, 'bad key', failover)).toMatchObject({ status: 400, body: { error: { code: 'DQ_API_BAD_REQUEST', message: expect.stringContaining('Idempotency-Key') as string } } });
    expect(d.store.entries().map((e) => e.override.id)).toEqual([made.id]);
    expect(await overrideLines(d)).toEqual([`${made.id} accepted`]);
  });

  it('a replica that holds the override from a peer answers a retry with it and makes none', async () => {
    const a = await daemon('us-east');
    const b = await daemon('eu-west');
    const made = (await post(a, 'k-2', failover)).body as CreatedOverrideAnswer;
    await b.store.merge(a.store.entries());
    const retry = await post(b, 'k-2', failover);
    expect(retry.status).toBe(200);
    const answer = retry.body as CreatedOverrideAnswer;
    expect(answer.override).toMatchObject({ id: made.override.id, origin: 'us-east', state: 'active' });
    expect(answer.warnings).toEqual([`this request was made before (Idempotency-Key k-2): override ${made.override.id}, taken at us-east, is active`]);
    expect(b.store.entries().map((e) => e.override.id)).toEqual([made.override.id]);
    expect(await overrideLines(b)).toEqual([]);
    // Someone else's request under the key is not answered with the override.
    expect(await post(b, 'k-2', { ...failover, reason: 'not the same' })).toMatchObject({ status: 422, body: { error: { code: 'DQ_API_KEY_REUSED' } } });
  });

  it('two replicas that both took the request made one override, which the exchange merges', async () => {
    const a = await daemon('us-east');
    const b = await daemon('eu-west');
    await post(a, 'k-3', failover);
    await post(b, 'k-3', failover);
    await a.store.merge(b.store.entries());
    await b.store.merge(a.store.entries());
    expect(a.store.active().map((o) => o.id)).toEqual([overrideIdForKey('k-3')]);
    expect(b.store.active().map((o) => o.id)).toEqual([overrideIdForKey('k-3')]);
  });
});

/** The route asked directly, as the server would; the answer's status and JSON body. */
async function ask(d: Daemon, method: string, path: string, fields: Partial<ApiRequest>): Promise<{ status: number; body: unknown }> {
  const route = d.routes.find((r) => r.method === method && r.path === path);
  if (route === undefined) throw new Error(`no route ${method} ${path}`);
  const answer = await route.handle({ method: route.method, path, params: {}, query: new URLSearchParams(), body: null, headers: {}, actor: null, tokenName: 'api', ...fields });
  if (!('body' in answer)) throw new Error(`${method} ${path} answered text`);
  return answer;
}

describe('release RECORD racing a failover', () => {
  it('answers what the store released at the moment of the release, never a 404 listing an active override', async () => {
    const d = await daemon();
    const body = { record: 'api.example.com', action: { kind: 'force-pool', pool: 'secondary' }, reason: 'first' };
    const old = (await ask(d, 'POST', '/v1/overrides', { body })).body as CreatedOverrideAnswer;
    // A second failover on the record is being stored when the release comes in.
    const replacing = ask(d, 'POST', '/v1/overrides', { body: { ...body, reason: 'second' } });
    const release = ask(d, 'DELETE', '/v1/records/:name/overrides', { params: { name: 'api.example.com' } });
    const [made, released] = await Promise.all([replacing, release]);
    const newer = (made.body as CreatedOverrideAnswer).override;
    expect(newer.id).not.toBe(old.override.id);
    expect(released.status).toBe(200);
    // Queued after the failover, the release ended the override in force then: the newer one.
    expect((released.body as ReleasedAnswer).released.map((o) => o.id)).toEqual([newer.id]);
    expect(d.store.active()).toEqual([]);
    const releases = (await d.audit.read({ limit: 100 })).filter((e) => e.action === 'release').map((e) => e.overrideId);
    expect(releases).toEqual([newer.id]);
  });
});

describe('release and undrain with nothing to release', () => {
  it.each([
    [['release', 'api.example.com'], 'nothing to release: no override of api.example.com was in force\n'],
    [['undrain', 'api.example.com', '192.0.2.10'], 'nothing to release: 192.0.2.10 of api.example.com was not drained\n'],
  ])('%j exits 0 and says so', async (args, said) => {
    const d = await daemon();
    const result = await runCliInProcess([...args, '--api', d.url, '--token-file', d.tokenFile]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(said);
  });

  it('release of an id that ended exits 0 saying who ended it; an id never held exits 1', async () => {
    const d = await daemon();
    const made = (await ask(d, 'POST', '/v1/overrides', { body: { record: 'api.example.com', action: { kind: 'drain', value: '192.0.2.10' }, reason: 'disk' } })).body as CreatedOverrideAnswer;
    const first = await runCliInProcess(['release', made.override.id, '--reason', 'disk replaced', '--api', d.url, '--token-file', d.tokenFile]);
    expect(first.code, first.stderr).toBe(0);
    const again = await runCliInProcess(['release', made.override.id, '--api', d.url, '--token-file', d.tokenFile]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`^nothing to release: override ${made.override.id} was not in force \\(released by api at \\S+: disk replaced\\)\\n$`));
    const unknown = await runCliInProcess(['release', 'o-ffffffffffff', '--api', d.url, '--token-file', d.tokenFile]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('DQ_OVERRIDE_UNKNOWN: no override o-ffffffffffff');
  });
});
