import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { PeerVerifier } from '../../src/cluster/auth.js';
import type { PeerMessage, PeerOverride } from '../../src/cluster/messages.js';
import { peerRoute } from '../../src/cluster/peer-route.js';
import { loadConfigFile } from '../../src/config/load.js';
import { AdminApi } from '../../src/control/api/server.js';
import type { ApiMethod, Route } from '../../src/control/api/server.js';
import { FileAuditLog } from '../../src/control/audit/file-log.js';
import { healthzRoute, readyzRoute, reloadRoute } from '../../src/control/api/lifecycle.js';
import { Metrics } from '../../src/control/metrics/metrics.js';
import { overrideRoutes } from '../../src/control/api/override-routes.js';
import { FileOverrideStore } from '../../src/control/overrides/file-store.js';
import { parseStatusReport, statusRoute } from '../../src/control/api/status.js';
import type { DaemonStatusReport } from '../../src/control/api/status.js';
import { endpointId } from '../../src/domain/health.js';
import { slotOf } from '../../src/domain/override.js';
import type { Override } from '../../src/domain/override.js';
import { systemClock } from '../../src/lib/clock.js';
import { HybridLogicalClock } from '../../src/lib/hlc.js';
import { silentLogger } from '../../src/lib/logger.js';
import { REPO, runCli } from '../helpers/cli.js';
import type { CliResult } from '../helpers/cli.js';
import { signedHeaders } from '../e2e/cluster-harness.js';
import { WAIT, desiredSets, heldAtRoute53, startDaemon, startFakes, startProbePair, staticRecords } from '../e2e/daemon-harness.js';
import type { Fakes, RunningDaemon, StaticRecord } from '../e2e/daemon-harness.js';
import { faultCases, recordFault } from './fault-table.js';

/**
 * Issue 10, item 5: nobody gets in, nothing leaks. One real `dnsquorum run` process (region sec-b)
 * writes to the fake Route53, holds a wrong NS1 key (every NS1 call is refused), has a second
 * Route53 provider whose API refuses every signature, an NS1 provider whose API refuses the key and
 * echoes it, a PagerDuty sink that refuses and echoes
 * what it got, and one peer (sec-a) played by this file: a test server takes the daemon's peer
 * messages, and signed heartbeats from "sec-a" give the daemon its quorum of two regions.
 *
 * - admin routes: every route the daemon serves (enumerated from the route factories main.ts
 *   assembles) is tried with every way of not holding the token; each answers 401 and nothing
 *   changes (overrides, audit, reload, what Route53 holds);
 * - peer forgery: bad and foreign signatures, replays, stale or future times, unknown regions,
 *   a signature over another body, and random one-character mutations of a signed message; each
 *   is refused 401 DQ_PEER_REJECTED, counted in status, and changes no health, writer or override;
 * - secret leakage: the five secrets appear in no log line, answer, CLI output, status, metrics,
 *   audit, state file or peer message, after driving the error paths that could echo them;
 * - exposure: the API binds loopback unless told otherwise; the image runs as a numeric non-root user.
 */

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
const SECRETS = {
  'API token': `apitok-${hex(16)}`,
  'cluster secret': `clsec-${hex(16)}`,
  'NS1 key': `ns1key-${hex(16)}`,
  'AWS secret key': `awssec-${hex(16)}`,
  'PagerDuty routing key': `pdkey-${hex(16)}`,
} as const;
const TOKEN = SECRETS['API token'];
const CLUSTER_SECRET = SECRETS['cluster secret'];

const ZONE = 'example.com';
const RECORD = `api.${ZONE}`;
const SELF_REGION = 'sec-b';
/** Sorts before sec-b: a peer message from it saying writer: true would take the writer's role. */
const PEER_REGION = 'sec-a';
const PRIMARY = '127.0.0.171';
const SECONDARY = '127.0.0.172';
const PRIMARY_ID = endpointId(`${RECORD}.`, 'A', PRIMARY);
const SECONDARY_ID = endpointId(`${RECORD}.`, 'A', SECONDARY);
const RECORDS: readonly StaticRecord[] = staticRecords(4);
/** Present only in the config written during the admin route test: a reload that got through would add it. */
const INTRUDER_RECORD: StaticRecord = { name: 'intruder', type: 'A', ttl: 60, values: ['203.0.113.66'] };
const HEARTBEAT_MS = 2000;

// ---------------------------------------------------------------------------------------------
// Small servers of the test: the peer sec-a, the refusing PagerDuty, the refusing Route53.

interface Received {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

interface TestServer {
  readonly url: string;
  readonly received: Received[];
  close(): Promise<void>;
}

async function startServer(answer: (req: Received) => { status: number; type: string; body: string }): Promise<TestServer> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const got: Received = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(got);
      const out = answer(got);
      if (out.status === 204) res.writeHead(204).end();
      else res.writeHead(out.status, { 'content-type': out.type }).end(out.body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** Echoes everything it was sent, headers included, in its refusal: the daemon must scrub what it logs of it. */
function echoRefusal(status: number) {
  return (req: Received): { status: number; type: string; body: string } => ({
    status,
    type: 'application/json',
    body: JSON.stringify({ status: 'invalid event', message: 'Event object is invalid', errors: [`got ${req.body}`, `headers ${JSON.stringify(req.headers)}`] }),
  });
}

/** Route53 refusing the signature, as AWS does for a wrong secret key; it echoes the Authorization header it got. */
function signatureRefusal(req: Received): { status: number; type: string; body: string } {
  const authorization = typeof req.headers.authorization === 'string' ? req.headers.authorization : '';
  return {
    status: 403,
    type: 'text/xml',
    body:
      '<?xml version="1.0"?>\n<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Error><Type>Sender</Type>' +
      '<Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided. ' +
      `Check your AWS Secret Access Key and signing method. Authorization: ${authorization.replace(/[<&]/g, '')}</Message></Error>` +
      `<RequestId>${hex(8)}</RequestId></ErrorResponse>`,
  };
}

/** NS1 refusing the key, echoing the X-NSONE-Key it got (real NS1 does not; a proxy in between might). */
function keyRefusal(req: Received): { status: number; type: string; body: string } {
  const key = req.headers['x-nsone-key'];
  return { status: 401, type: 'application/json', body: JSON.stringify({ message: `Unauthorized: key ${typeof key === 'string' ? key : '(none)'} is not valid` }) };
}

// ---------------------------------------------------------------------------------------------
// The daemon, its config and environment.

let dir = '';
let configFile = '';
let invalidConfigFile = '';
let fakes: Fakes | undefined;
let daemon: RunningDaemon | undefined;
let peer: TestServer | undefined;
let sink: TestServer | undefined;
let deniedRoute53: TestServer | undefined;
let deniedNs1: TestServer | undefined;
let stopProbes: (() => Promise<void>) | undefined;
let heartbeats: ReturnType<typeof setInterval> | undefined;
let heartbeatPaused = false;
let heartbeatInFlight: Promise<unknown> = Promise.resolve();
/** Ids of the overrides this file made with the token: each must still be active at the end. */
const accepted: string[] = [];
/** Every answer the daemon gave this file, for the leak check. */
const answers: string[] = [];
/** What the CLI printed in this file, for the leak check. */
const cliOutputs: string[] = [];

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`setup failed: no ${what}`);
  return value;
}

function running(): RunningDaemon {
  return need(daemon, 'daemon');
}

function theFakes(): Fakes {
  return need(fakes, 'fakes');
}

function recordLine(r: StaticRecord): string {
  return `      ${r.name}: { type: ${r.type}, ttl: ${r.ttl}, values: [${r.values.map((v) => JSON.stringify(v)).join(', ')}] }`;
}

interface ConfigParts {
  readonly probePort: number;
  /** Where the secret references go: their places, or misplaced into fields whose errors quote values. */
  readonly misplaced?: boolean;
  readonly records?: readonly StaticRecord[];
}

function configText(parts: ConfigParts): string {
  const f = theFakes();
  const resolve = [
    ...f.r53Servers.map((s) => `  ${s.slice(0, -1)}: ${f.route53.dnsAddress.host}:${f.route53.dnsAddress.port}`),
    ...f.ns1Servers.map((s) => `  ${s.slice(0, -1)}: ${f.ns1.dnsAddress.host}:${f.ns1.dnsAddress.port}`),
  ];
  const wrong = parts.misplaced === true;
  return `region: ${SELF_REGION}
stateDir: ${join(dir, 'state')}
resolve:
${resolve.join('\n')}
api: { listen: ${wrong ? '"${DNSQUORUM_API_TOKEN}"' : '127.0.0.1:0'}, token: "\${DNSQUORUM_API_TOKEN}" }
cluster:
  peers: [ { region: ${PEER_REGION}, url: ${wrong ? '"${DNSQUORUM_CLUSTER_SECRET}"' : need(peer, 'peer').url} } ]
  secret: "\${DNSQUORUM_CLUSTER_SECRET}"
  staleAfter: 60s
  exchangeInterval: 1s
  warmup: 3s
sync: { interval: 1s, readInterval: 10m, visibleTimeout: 5s }
notifications:
  providerFailingAfter: 1s
  sinks:
    - { name: pager, type: pagerduty, routingKey: "\${PD_ROUTING_KEY}", url: ${wrong ? '"${PD_ROUTING_KEY}"' : `${need(sink, 'sink').url}/v2/enqueue`} }
providers:
  r53: { type: route53, endpoint: ${wrong ? '"${AWS_SECRET_ACCESS_KEY}"' : f.route53.endpoint}, rateLimit: 200, insyncPollInterval: 10ms, requestTimeout: 5s }
  ns1: { type: ns1, apiKey: "\${NS1_API_KEY}", endpoint: ${wrong ? '"${NS1_API_KEY}"' : f.ns1.endpoint}, requestTimeout: 5s }
  denied: { type: route53, endpoint: ${need(deniedRoute53, 'refusing Route53').url}, requestTimeout: 5s }
  echoing: { type: ns1, apiKey: "\${NS1_API_KEY}", endpoint: ${need(deniedNs1, 'refusing NS1').url}/v1/, requestTimeout: 5s }
zones:
  ${ZONE}:
    providers: [r53, ns1]
    nameservers: manual
    records:
${(parts.records ?? RECORDS).map(recordLine).join('\n')}
      api:
        type: A
        ttl: 30
        failover:
          check: { protocol: http, port: ${parts.probePort}, path: /healthz, expect: 200, interval: 200ms, timeout: 150ms, fall: 2, rise: 2 }
          pools:
            - { name: primary, values: [${PRIMARY}] }
            - { name: secondary, values: [${SECONDARY}] }
  denied.example:
    providers: [denied]
    nameservers: manual
    records:
      www: { type: A, ttl: 60, values: [192.0.2.1] }
  echoing.example:
    providers: [echoing]
    nameservers: manual
    records:
      www: { type: A, ttl: 60, values: [192.0.2.1] }
`;
}

/** The daemon's environment: the real secrets, and an NS1 key the fake NS1 does not take. */
function daemonEnvironment(): NodeJS.ProcessEnv {
  return {
    ...theFakes().env,
    AWS_SECRET_ACCESS_KEY: SECRETS['AWS secret key'],
    NS1_API_KEY: SECRETS['NS1 key'],
    DNSQUORUM_API_TOKEN: TOKEN,
    DNSQUORUM_CLUSTER_SECRET: CLUSTER_SECRET,
    PD_ROUTING_KEY: SECRETS['PagerDuty routing key'],
    DNSQUORUM_API_URL: '',
    DNSQUORUM_REGION: '',
    // Every line the daemon can write, so every line is checked.
    DNSQUORUM_LOG_LEVEL: 'debug',
  };
}

let probePort = 0;

// ---------------------------------------------------------------------------------------------
// Talking to the daemon.

interface Answer {
  readonly status: number;
  readonly text: string;
  readonly headers: Headers;
}

async function call(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  const response = await fetch(`${running().apiUrl}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body }),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  answers.push(text);
  return { status: response.status, text, headers: response.headers };
}

const withToken = { authorization: `Bearer ${TOKEN}` };

async function status(): Promise<DaemonStatusReport> {
  const answer = await call('GET', '/v1/status', withToken);
  if (answer.status !== 200) throw new Error(`GET /v1/status answered ${answer.status}: ${answer.text}`);
  return parseStatusReport(JSON.parse(answer.text) as unknown);
}

const overridesSchema = z.object({ overrides: z.array(z.object({ id: z.string(), state: z.string(), action: z.object({ kind: z.string() }).loose(), released: z.unknown() }).loose()) });
const auditSchema = z.object({ events: z.array(z.object({ token: z.string().nullable(), action: z.string(), overrideId: z.string().nullable() }).loose()) });
const errorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

async function allOverrides(): Promise<z.infer<typeof overridesSchema>['overrides']> {
  const answer = await call('GET', '/v1/overrides?all=1', withToken);
  expect(answer.status).toBe(200);
  return overridesSchema.parse(JSON.parse(answer.text)).overrides;
}

/** The audit lines of admin API actions (the daemon's own writes carry no token). */
async function apiAudit(): Promise<unknown[]> {
  const answer = await call('GET', '/v1/audit?limit=1000', withToken);
  expect(answer.status).toBe(200);
  return auditSchema.parse(JSON.parse(answer.text)).events.filter((e) => e.token !== null);
}

function cli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return runCli(args, { env: { ...daemonEnvironment(), DNSQUORUM_LOG_LEVEL: 'info', ...env }, timeoutMs: 30_000 }).then((result) => {
    cliOutputs.push(`$ dnsquorum ${args.join(' ')}\n${result.stdout}\n${result.stderr}`);
    return result;
  });
}

/** What Route53 must hold: the static records and api serving the override's pool (secondary). */
function route53Missing(records: readonly StaticRecord[] = RECORDS): string[] {
  const held = heldAtRoute53(theFakes());
  const desired = desiredSets(theFakes(), records, new Map([['api', SECONDARY]])).filter((line) => !line.includes(' NS '));
  return desired.filter((line) => !held.includes(line));
}

/** Overrides this file made that are no longer active, plus record sets Route53 should hold and does not. */
async function lostNow(): Promise<number> {
  const active = new Set((await allOverrides()).filter((o) => o.state === 'active').map((o) => o.id));
  return accepted.filter((id) => !active.has(id)).length + route53Missing().length;
}

// ---- the peer sec-a ----

function heartbeatMessage(): PeerMessage {
  return {
    v: 1,
    region: PEER_REGION,
    writer: false,
    seesQuorum: true,
    verdicts: [PRIMARY_ID, SECONDARY_ID].map((id) => ({ endpointId: id, state: 'up' as const, ageMs: 0, reason: 'sec-a heartbeat: 200' })),
    overrides: [],
  };
}

interface SignedRequest {
  readonly body: string;
  readonly headers: Record<string, string>;
}

function signed(message: PeerMessage | string, options: { secret?: string; time?: number; nonce?: string } = {}): SignedRequest {
  const body = typeof message === 'string' ? message : JSON.stringify(message);
  return { body, headers: signedHeaders(options.secret ?? CLUSTER_SECRET, body, options.time ?? Date.now(), options.nonce) };
}

async function postPeer(request: SignedRequest): Promise<Answer> {
  return call('POST', '/v1/peer/exchange', request.headers, request.body);
}

async function sendHeartbeat(): Promise<SignedRequest> {
  const request = signed(heartbeatMessage());
  const answer = await postPeer(request);
  if (answer.status !== 204) throw new Error(`the heartbeat of ${PEER_REGION} was refused: ${answer.status} ${answer.text}`);
  return request;
}

// ---------------------------------------------------------------------------------------------

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dq-faults-security-'));
  fakes = await startFakes();
  peer = await startServer(() => ({ status: 204, type: '', body: '' }));
  sink = await startServer(echoRefusal(400));
  deniedRoute53 = await startServer(signatureRefusal);
  deniedNs1 = await startServer(keyRefusal);
  const pair = await startProbePair(PRIMARY, SECONDARY);
  probePort = pair.port;
  stopProbes = async () => {
    await Promise.all([pair.primary.stop(), pair.secondary.stop()]);
  };
  configFile = join(dir, 'dnsquorum.yaml');
  invalidConfigFile = join(dir, 'misplaced-secrets.yaml');
  await writeFile(configFile, configText({ probePort }));
  await writeFile(invalidConfigFile, configText({ probePort, misplaced: true }));
  daemon = await startDaemon(configFile, daemonEnvironment());
  await sendHeartbeat();
  heartbeats = setInterval(() => {
    if (heartbeatPaused) return;
    heartbeatInFlight = sendHeartbeat().catch(() => undefined);
  }, HEARTBEAT_MS);

  // The daemon writes (it sees sec-a) and both regions' verdicts are in.
  await vi.waitFor(async () => {
    const report = await status();
    expect(report.cluster.writer).toBe(SELF_REGION);
    expect(report.hold).toBeNull();
    const primary = report.endpoints.find((e) => e.endpointId === PRIMARY_ID);
    expect(primary?.regions.map((r) => `${r.region} ${r.state}`).sort()).toEqual([`${PEER_REGION} up`, `${SELF_REGION} up`]);
  }, WAIT);

  // One override made with the token, the state the rest of the file must not disturb.
  const made = await call('POST', '/v1/overrides', withToken, JSON.stringify({ record: RECORD, action: { kind: 'force-pool', pool: 'secondary' }, reason: 'security faults: baseline', for: '2h' }));
  if (made.status !== 201) throw new Error(`the baseline override was refused: ${made.status} ${made.text}`);
  accepted.push(z.object({ override: z.object({ id: z.string() }) }).parse(JSON.parse(made.text)).override.id);
  await vi.waitFor(() => {
    expect(route53Missing()).toEqual([]);
  }, WAIT);
}, 90_000);

afterAll(async () => {
  if (heartbeats !== undefined) clearInterval(heartbeats);
  await heartbeatInFlight;
  await daemon?.stop();
  await Promise.all([peer?.close(), sink?.close(), deniedRoute53?.close(), deniedNs1?.close(), stopProbes?.()]);
  await fakes?.close();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
}, 30_000);

// ---------------------------------------------------------------------------------------------
// Every route the daemon serves, from the factories main.ts assembles its routes from.

async function factoryRoutes(): Promise<Route[]> {
  const logger = silentLogger();
  const clock = systemClock;
  const store = await FileOverrideStore.open({ path: join(dir, 'routes', 'overrides.json'), clock, hlc: new HybridLogicalClock(clock, 'routes'), logger });
  const audit = new FileAuditLog({ path: join(dir, 'routes', 'audit.jsonl'), logger });
  const never = (): Promise<never> => Promise.reject(new Error('not called: only the route list is used'));
  const metrics = new Metrics(() => undefined);
  return [
    statusRoute(() => {
      throw new Error('not called');
    }),
    metrics.route(),
    healthzRoute(() => 'running'),
    readyzRoute(() => ({ ready: true, checks: [] })),
    reloadRoute(never),
    ...overrideRoutes({
      region: 'routes',
      zones: () => [],
      store,
      audit,
      clock,
      limits: () => ({ defaultDurationMs: 3_600_000, maxDurationMs: 86_400_000 }),
      health: () => new Map(),
      served: () => new Map(),
      records: () => [],
      effect: never,
      changed: () => undefined,
      logger,
    }),
    peerRoute({ verifier: new PeerVerifier({ secret: 'routes', clock }), peers: [], clock, logger, onMessage: () => undefined }).route,
  ];
}

interface BadAuth {
  readonly name: string;
  readonly headers: Record<string, string>;
  /** Added to the path's query string. */
  readonly query?: string;
}

function lastCharChanged(text: string): string {
  const last = text.at(-1) ?? 'a';
  return `${text.slice(0, -1)}${last === 'a' ? 'b' : 'a'}`;
}

const BAD_AUTH: readonly BadAuth[] = [
  { name: 'no Authorization header', headers: {} },
  { name: 'an empty Authorization header', headers: { authorization: '' } },
  { name: 'Basic scheme carrying the token', headers: { authorization: `Basic ${Buffer.from(`api:${TOKEN}`).toString('base64')}` } },
  { name: 'Token scheme', headers: { authorization: `Token ${TOKEN}` } },
  { name: 'the token without a scheme', headers: { authorization: TOKEN } },
  { name: 'Bearer without a token', headers: { authorization: 'Bearer' } },
  { name: 'a wrong token', headers: { authorization: `Bearer ${hex(20)}` } },
  { name: 'the cluster secret as token', headers: { authorization: `Bearer ${CLUSTER_SECRET}` } },
  { name: 'the token and one more character', headers: { authorization: `Bearer ${TOKEN}0` } },
  { name: 'the token less its last character', headers: { authorization: `Bearer ${TOKEN.slice(0, -1)}` } },
  { name: 'the first 8 characters of the token', headers: { authorization: `Bearer ${TOKEN.slice(0, 8)}` } },
  { name: 'the token with its last character changed', headers: { authorization: `Bearer ${lastCharChanged(TOKEN)}` } },
  { name: 'the token in upper case', headers: { authorization: `Bearer ${TOKEN.toUpperCase()}` } },
  { name: 'the token twice', headers: { authorization: `Bearer ${TOKEN} ${TOKEN}` } },
  { name: 'the token in the query string only', headers: {}, query: `access_token=${TOKEN}&token=${TOKEN}` },
  { name: 'the token in other headers', headers: { 'x-dnsquorum-token': TOKEN, 'x-api-key': TOKEN, cookie: `token=${TOKEN}` } },
];

/** The request a route gets: its :params filled with things that exist, and a body that would act. */
function requestFor(route: Route, overrideId: string): { path: string; body?: string } {
  const path = route.path.replace(':id', overrideId).replace(':name', RECORD);
  if (route.method === 'POST' && route.path === '/v1/overrides') {
    return { path, body: JSON.stringify({ record: RECORD, action: { kind: 'force-pool', pool: 'primary' }, reason: 'intruder', for: '1h', force: true }) };
  }
  return { path };
}

/** A 401 that asks for the bearer token and says nothing of it. */
function isRefusal(answer: Answer): boolean {
  const parsed = errorSchema.safeParse(JSON.parse(answer.text));
  return (
    answer.status === 401 &&
    parsed.success &&
    parsed.data.error.code === 'DQ_API_UNAUTHORIZED' &&
    (answer.headers.get('www-authenticate') ?? '').startsWith('Bearer') &&
    !answer.text.includes(TOKEN)
  );
}

async function stateSnapshot(): Promise<string> {
  const report = await status();
  return JSON.stringify({
    overrides: (await allOverrides()).map((o) => ({ id: o.id, state: o.state, action: o.action, released: o.released })),
    audit: await apiAudit(),
    lastReload: report.config.lastReload,
    loadedAt: report.config.loadedAt,
    served: report.records.map((r) => `${r.name} ${r.pool ?? '-'} ${r.cause}`),
  });
}

/** A string that is not the token: random text, or the token with one character changed, added or dropped. */
function notTheToken(): fc.Arbitrary<string> {
  const printable = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 80 });
  const mutated = fc
    .record({ at: fc.nat({ max: TOKEN.length - 1 }), with: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), how: fc.constantFrom('replace', 'insert', 'delete') })
    .map(({ at, with: char, how }) => (how === 'replace' ? `${TOKEN.slice(0, at)}${char}${TOKEN.slice(at + 1)}` : how === 'insert' ? `${TOKEN.slice(0, at)}${char}${TOKEN.slice(at)}` : `${TOKEN.slice(0, at)}${TOKEN.slice(at + 1)}`));
  return fc.oneof(printable, mutated).filter((s) => s.trim() !== TOKEN);
}

describe('security faults', { timeout: 120_000 }, () => {
  it('admin route without a valid token', async (context) => {
    const routes = await factoryRoutes();
    const open = routes.filter((r) => !r.auth).map((r) => `${r.method} ${r.path}`);
    const authRoutes = routes.filter((r) => r.auth);
    const overrideId = need(accepted[0], 'baseline override');
    const before = await stateSnapshot();
    // A reload that got through would take this config and add the intruder record at Route53.
    await writeFile(configFile, configText({ probePort, records: [...RECORDS, INTRUDER_RECORD] }));

    const failures: string[] = [];
    let cases = 0;
    let passed = 0;
    const attempt = async (method: ApiMethod, path: string, headers: Record<string, string>, body: string | undefined, what: string): Promise<void> => {
      cases += 1;
      const answer = await call(method, path, headers, body);
      if (isRefusal(answer)) passed += 1;
      else failures.push(`${method} ${path} with ${what}: ${answer.status} ${answer.text.slice(0, 200)}`);
    };
    for (const route of authRoutes) {
      const { path, body } = requestFor(route, overrideId);
      for (const bad of BAD_AUTH) {
        const target = bad.query === undefined ? path : `${path}${path.includes('?') ? '&' : '?'}${bad.query}`;
        await attempt(route.method, target, bad.headers, body, bad.name);
      }
    }
    const seed = Date.now();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...authRoutes), fc.constantFrom('Bearer ', 'bearer ', 'BEARER  ', ''), notTheToken(), async (route, scheme, offered) => {
        const { path, body } = requestFor(route, overrideId);
        await attempt(route.method, path, { authorization: `${scheme}${offered}` }, body, `Authorization "${scheme}${offered}"`);
      }),
      { numRuns: faultCases(30, 1000), seed },
    );

    // The open routes are served without a token and say nothing secret.
    const openAnswers = await Promise.all(['/metrics', '/healthz', '/readyz'].map(async (path) => ({ path, answer: await call('GET', path) })));
    for (const { path, answer } of openAnswers) {
      cases += 1;
      const leaked = Object.entries(SECRETS).filter(([, secret]) => answer.text.includes(secret)).map(([name]) => name);
      if ((answer.status === 200 || (path === '/readyz' && answer.status === 503)) && leaked.length === 0) passed += 1;
      else failures.push(`GET ${path}: ${answer.status}, carries ${leaked.join(', ') || 'no secret'}`);
    }

    const after = await stateSnapshot();
    await writeFile(configFile, configText({ probePort }));
    const intruderHeld = route53Missing([INTRUDER_RECORD]).length === 0;
    const unchanged = after === before && !intruderHeld;
    const lost = await lostNow();
    recordFault(context, { fault: 'admin route without a valid token', cases, passed: unchanged ? passed : Math.min(passed, cases - 1), lost });

    expect(open.sort(), 'only these routes are served without the bearer token').toEqual(['GET /healthz', 'GET /metrics', 'GET /readyz', 'POST /v1/peer/exchange']);
    expect(authRoutes.length).toBeGreaterThanOrEqual(9);
    expect(failures, `fast-check seed ${seed}`).toEqual([]);
    expect(after, 'overrides, audit, reloads and decisions are as before').toBe(before);
    expect(intruderHeld, 'no reload was made from the config written meanwhile').toBe(false);
    expect(lost).toBe(0);
  });

  it('peer message forgery', async (context) => {
    heartbeatPaused = true;
    await heartbeatInFlight;
    // The last genuine message: its capture is replayed below.
    const genuine = await sendHeartbeat();
    const before = await status();
    const overridesBefore = JSON.stringify(await allOverrides());
    const heardBefore = before.cluster.peers.find((p) => p.region === PEER_REGION)?.lastHeardAt;
    const rejectedBefore = Object.values(before.cluster.rejected).reduce((a, b) => a + b, 0);

    const now = Date.now();
    // Everything a forger would want: the writer's role, both endpoints down, and overrides of its own.
    const forgedOverride = (action: Override['action'], id: string): PeerOverride => {
      const override = { id, zone: `${ZONE}.`, name: `${RECORD}.`, type: 'A' as const, action, actor: 'forger', token: 'api', reason: 'forged', forced: true, origin: PEER_REGION };
      return { slot: slotOf(override), stamp: { wall: now + 60_000, logical: 0, replica: PEER_REGION }, override: { ...override, createdAgoMs: 0, expiresInMs: 3_600_000 }, released: null };
    };
    const forged = (region = PEER_REGION): PeerMessage => ({
      v: 1,
      region,
      writer: true,
      seesQuorum: true,
      verdicts: [PRIMARY_ID, SECONDARY_ID].map((id) => ({ endpointId: id, state: 'down' as const, ageMs: 0, reason: 'forged: down' })),
      overrides: [forgedOverride({ kind: 'force-pool', pool: 'primary' }, `o-${hex(6)}`), forgedOverride({ kind: 'drain', value: SECONDARY }, `o-${hex(6)}`)],
    });
    const forgedBody = JSON.stringify(forged());
    const WINDOW_MS = 5 * 60_000;
    const genuineNonce = genuine.headers['x-dnsquorum-nonce'] ?? '';
    const fixed: { name: string; request: SignedRequest; reason: string }[] = [
      { name: 'no signature headers', request: { body: forgedBody, headers: { 'content-type': 'application/json' } }, reason: 'malformed' },
      { name: 'signed with another secret', request: signed(forgedBody, { secret: `not-${CLUSTER_SECRET}` }), reason: 'bad-signature' },
      { name: 'a random signature', request: { body: forgedBody, headers: { ...signed(forgedBody).headers, 'x-dnsquorum-signature': `v1=${hex(32)}` } }, reason: 'bad-signature' },
      { name: 'an unknown signature version', request: { body: forgedBody, headers: { ...signed(forgedBody).headers, 'x-dnsquorum-signature': `v2=${hex(32)}` } }, reason: 'malformed' },
      { name: 'a signature over another body', request: { body: forgedBody, headers: signed(heartbeatMessage()).headers }, reason: 'bad-signature' },
      { name: 'the genuine message replayed', request: genuine, reason: 'replayed' },
      { name: 'a used nonce, re-signed with a fresh time', request: signed(forgedBody, { nonce: genuineNonce }), reason: 'replayed' },
      { name: 'signed 5 min 30 s ago', request: signed(forgedBody, { time: now - WINDOW_MS - 30_000 }), reason: 'stale' },
      { name: 'signed 5 min 30 s ahead', request: signed(forgedBody, { time: now + WINDOW_MS + 30_000 }), reason: 'stale' },
      { name: 'signed a day ago', request: signed(forgedBody, { time: now - 86_400_000 }), reason: 'stale' },
      { name: 'from a region not in cluster.peers', request: signed(forged('sec-z')), reason: 'unknown-peer' },
      { name: 'from this replica\'s own region', request: signed(forged(SELF_REGION)), reason: 'unknown-peer' },
    ];

    const failures: string[] = [];
    let cases = 0;
    let passed = 0;
    const expectRefused = async (request: SignedRequest, what: string, reason?: string): Promise<void> => {
      cases += 1;
      const answer = await postPeer(request);
      const parsed = errorSchema.safeParse(JSON.parse(answer.text === '' ? 'null' : answer.text));
      const ok = answer.status === 401 && parsed.success && parsed.data.error.code === 'DQ_PEER_REJECTED' && (reason === undefined || parsed.data.error.message.endsWith(`: ${reason}`));
      if (ok) passed += 1;
      else failures.push(`${what}: ${answer.status} ${answer.text.slice(0, 200)}`);
    };
    for (const { name, request, reason } of fixed) await expectRefused(request, name, reason);

    // One character of a correctly signed forged message changed: its body, time, nonce or signature.
    const printable = (avoid: string): fc.Arbitrary<string> => fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)).filter((c) => c !== avoid);
    const part = fc.constantFrom('body', 'x-dnsquorum-time', 'x-dnsquorum-nonce', 'x-dnsquorum-signature');
    const seed = Date.now();
    await fc.assert(
      fc.asyncProperty(
        part.chain((which) => {
          const request = signed(forgedBody);
          const text = which === 'body' ? request.body : (request.headers[which] ?? '');
          return fc.nat({ max: text.length - 1 }).chain((at) => printable(text.charAt(at)).map((char) => ({ which, request, text, at, char })));
        }),
        async ({ which, request, text, at, char }) => {
          const changed = `${text.slice(0, at)}${char}${text.slice(at + 1)}`;
          const mutated: SignedRequest = which === 'body' ? { ...request, body: changed } : { ...request, headers: { ...request.headers, [which]: changed } };
          await expectRefused(mutated, `${which} with character ${at} changed to ${JSON.stringify(char)}`);
        },
      ),
      { numRuns: faultCases(30, 1000), seed },
    );

    const after = await status();
    const rejectedAfter = Object.values(after.cluster.rejected).reduce((a, b) => a + b, 0);
    const peerAfter = after.cluster.peers.find((p) => p.region === PEER_REGION);
    const forgedVerdicts = after.endpoints.flatMap((e) => e.regions).filter((r) => r.reason.startsWith('forged'));
    const overridesAfter = JSON.stringify(await allOverrides());
    const record = after.records.find((r) => r.name === `${RECORD}.`);
    heartbeatPaused = false;
    const lost = await lostNow();
    const unaffected =
      rejectedAfter - rejectedBefore === cases &&
      peerAfter !== undefined &&
      peerAfter.lastHeardAt === heardBefore &&
      !peerAfter.writer &&
      after.cluster.writer === SELF_REGION &&
      forgedVerdicts.length === 0 &&
      overridesAfter === overridesBefore &&
      record?.pool === 'secondary';
    recordFault(context, { fault: 'peer message forgery', cases, passed: unaffected ? passed : Math.min(passed, cases - 1), lost });

    expect(failures, `fast-check seed ${seed}`).toEqual([]);
    expect(rejectedAfter - rejectedBefore, 'every refusal is counted in status').toBe(cases);
    for (const reason of ['malformed', 'bad-signature', 'replayed', 'stale', 'unknown-peer']) {
      expect(after.cluster.rejected[reason] ?? 0, reason).toBeGreaterThan(before.cluster.rejected[reason] ?? 0);
    }
    expect(peerAfter?.lastHeardAt, `${PEER_REGION} was not heard from meanwhile`).toBe(heardBefore);
    expect(peerAfter?.writer).toBe(false);
    expect(after.cluster.writer).toBe(SELF_REGION);
    expect(forgedVerdicts).toEqual([]);
    expect(overridesAfter, 'no forged override was taken in').toBe(overridesBefore);
    expect(record).toMatchObject({ pool: 'secondary', cause: 'override' });
    expect(lost).toBe(0);
  });

  it('secret leakage', async (context) => {
    const secretsBefore = await readStateFiles();
    // Provider authentication errors: NS1 refuses the key, the other Route53 refuses the signature.
    await vi.waitFor(async () => {
      const report = await status();
      const lastError = (provider: string): string | undefined => report.providers.find((p) => p.provider === provider)?.zones[0]?.lastError?.message;
      expect(lastError('ns1')).toBeDefined();
      expect(lastError('denied')).toBeDefined();
      expect(lastError('echoing')).toBeDefined();
    }, WAIT);
    // The refusing PagerDuty was asked (the baseline override, providers failing) and said no.
    await vi.waitFor(() => {
      expect(need(sink, 'sink').received.length).toBeGreaterThan(0);
      expect(running().logs().some((l) => JSON.stringify(l).includes('pager') && l.level >= 40)).toBe(true);
    }, WAIT);
    // Refused requests, and a refused peer message.
    await call('GET', '/v1/status', { authorization: `Bearer ${lastCharChanged(TOKEN)}` });
    await call('DELETE', `/v1/records/${RECORD}/overrides`, { authorization: `Basic ${Buffer.from(`api:${TOKEN}`).toString('base64')}` });
    await postPeer(signed(heartbeatMessage(), { secret: `x${CLUSTER_SECRET}` }));
    // Invalid reloads, from the API and from SIGHUP, of a config that has each secret's reference in the wrong field.
    await writeFile(configFile, await readFile(invalidConfigFile, 'utf8'));
    const reload = await call('POST', '/v1/reload', withToken);
    running().signal('SIGHUP');
    await vi.waitFor(() => {
      expect(running().logs().filter((l) => l.msg.startsWith('config reload invalid')).length).toBeGreaterThanOrEqual(2);
    }, WAIT);
    await writeFile(configFile, configText({ probePort }));
    // The CLI on the error paths: a wrong token, the providers refusing, the misplaced references.
    const api = ['--api', running().apiUrl];
    const wrongToken = { DNSQUORUM_API_TOKEN: lastCharChanged(TOKEN) };
    const runs = await Promise.all([
      cli(['status', ...api]),
      cli(['status', '--json', ...api]),
      cli(['status', ...api], wrongToken),
      cli(['failover', RECORD, '--to', 'primary', '--reason', 'leak check', ...api], wrongToken),
      cli(['plan', '--config', configFile]),
      cli(['validate', '--config', invalidConfigFile]),
      cli(['run', '--config', invalidConfigFile]),
    ]);

    const sources: { name: string; text: string }[] = [
      { name: 'daemon log lines', text: running().logs().map((l) => JSON.stringify(l)).join('\n') },
      { name: 'API answers', text: answers.join('\n') },
      { name: 'CLI output', text: cliOutputs.join('\n') },
      { name: 'status', text: JSON.stringify(await status()) },
      { name: 'metrics', text: (await call('GET', '/metrics')).text },
      { name: 'readyz', text: (await call('GET', '/readyz')).text },
      { name: 'audit', text: (await call('GET', '/v1/audit?limit=1000', withToken)).text },
      { name: 'state files', text: `${secretsBefore}\n${await readStateFiles()}` },
      { name: 'peer messages sent', text: need(peer, 'peer').received.map((r) => `${r.body}\n${JSON.stringify(r.headers)}`).join('\n') },
      // A PagerDuty event must carry the routing key; it must carry no other secret.
      { name: 'notifications sent', text: need(sink, 'sink').received.map((r) => `${r.body}\n${JSON.stringify(r.headers)}`.replaceAll(SECRETS['PagerDuty routing key'], '<routing key>')).join('\n') },
    ];
    const leaks: string[] = [];
    let cases = 0;
    for (const source of sources) {
      for (const [name, secret] of Object.entries(SECRETS)) {
        cases += 1;
        // The whole secret, or a long piece of it (a truncated or partly masked echo).
        if (source.text.includes(secret) || source.text.includes(secret.slice(4, 20))) leaks.push(`${name} in ${source.name}`);
      }
    }
    const lost = await lostNow();
    recordFault(context, { fault: 'secret leakage', cases, passed: cases - leaks.length, lost });

    // The error paths were taken for real.
    expect(reload.status).toBe(400);
    expect(errorSchema.parse(JSON.parse(reload.text)).error.code).toBe('DQ_CONFIG_INVALID');
    expect(runs.map((r) => r.code)).toEqual([0, 0, 1, 1, 1, 1, 1]);
    expect(leaks).toEqual([]);
    expect(lost).toBe(0);
  });

  it('exposure', async (context) => {
    const checks: { name: string; ok: boolean; detail: string }[] = [];
    const check = (name: string, ok: boolean, detail: string): void => {
      checks.push({ name, ok, detail });
    };
    const env = { DNSQUORUM_API_TOKEN: TOKEN, DNSQUORUM_REGION: '' };
    const minimal = `region: here\nstateDir: ${join(dir, 'exposure')}\n`;
    const noApi = join(dir, 'no-api.yaml');
    const noListen = join(dir, 'no-listen.yaml');
    await writeFile(noApi, minimal);
    await writeFile(noListen, `${minimal}api: { token: "\${DNSQUORUM_API_TOKEN}" }\n`);
    const defaults = await Promise.all([noApi, noListen].map((file) => loadConfigFile(file, env)));
    for (const [i, config] of defaults.entries()) {
      const listen = config.api.listen;
      check(`${i === 0 ? 'no api section' : 'api without listen'}: default address`, listen.host === '127.0.0.1' && listen.port === 8053, JSON.stringify(listen));
    }
    // The shipped configs, loaded for real (dummy secrets): both keep the API on loopback.
    const shippedEnv = { ...env, DNSQUORUM_CLUSTER_SECRET: CLUSTER_SECRET, NS1_API_KEY: SECRETS['NS1 key'], DNSQUORUM_STATE_DIR: join(dir, 'exposure') };
    for (const shipped of ['config/example.yaml', 'config/demo.yaml']) {
      const { listen } = (await loadConfigFile(join(REPO, shipped), shippedEnv)).api;
      check(`${shipped}: api.listen on loopback`, listen.host.startsWith('127.'), JSON.stringify(listen));
    }

    // The default host, bound for real (on an ephemeral port: 8053 may be anyone's): reachable on
    // 127.0.0.1, refused on 127.0.0.2, which a wildcard bind would answer.
    const defaultHost = need(defaults[1], 'config').api.listen.host;
    const local = new AdminApi({ listen: { host: defaultHost, port: 0 }, tokens: new Map([['api', TOKEN]]), routes: [healthzRoute(() => 'running')], logger: silentLogger() });
    await local.start();
    try {
      const bound = local.address();
      check('default host: the socket is bound to 127.0.0.1', bound.host === '127.0.0.1', JSON.stringify(bound));
      check('default host: answers on 127.0.0.1', await connects('127.0.0.1', bound.port), `127.0.0.1:${bound.port}`);
      check('default host: refuses on 127.0.0.2', !(await connects('127.0.0.2', bound.port)), `127.0.0.2:${bound.port}`);
    } finally {
      await local.close();
    }
    const daemonPort = Number(new URL(running().apiUrl).port);
    check('the daemon (api.listen 127.0.0.1:0): refuses on 127.0.0.2', !(await connects('127.0.0.2', daemonPort)), `127.0.0.2:${daemonPort}`);

    // The image: the runtime stage's last USER is a numeric, non-root uid (and gid).
    const dockerfile = await readFile(join(REPO, 'Dockerfile'), 'utf8');
    const stages = dockerfile.split(/^FROM\s/m);
    const users = [...(stages.at(-1) ?? '').matchAll(/^USER\s+(\S+)\s*$/gm)].map((m) => m[1] ?? '');
    const user = users.at(-1) ?? '';
    const ids = /^(\d+)(?::(\d+))?$/.exec(user);
    check('Dockerfile: final USER is numeric and not root', ids !== null && Number(ids[1]) > 0 && (ids[2] === undefined || Number(ids[2]) > 0), `USER ${user}`);

    const passed = checks.filter((c) => c.ok).length;
    recordFault(context, { fault: 'exposure', cases: checks.length, passed, lost: 0 });
    expect(checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`)).toEqual([]);
  });
});

/** The daemon's state files (overrides, audit), as text. */
async function readStateFiles(): Promise<string> {
  const read = (name: string): Promise<string> => readFile(join(dir, 'state', name), 'utf8').catch(() => '');
  return `${await read('overrides.json')}\n${await read('audit.jsonl')}`;
}

/** Whether a TCP connection to host:port is accepted. */
function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(5000, () => {
      done(false);
    });
    socket.once('connect', () => {
      done(true);
    });
    socket.once('error', () => {
      done(false);
    });
  });
}
