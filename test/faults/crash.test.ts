import { createServer, request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  API_TOKEN,
  WAIT,
  daemonConfig,
  daemonEnv,
  desiredSets,
  heldAtNs1,
  heldAtRoute53,
  startDaemon,
  startFakes,
  startProbePair,
  startProbeTarget,
  staticRecords,
  zoneStatus,
} from '../e2e/daemon-harness.js';
import type { FailoverRecord, Fakes, ProbeTarget, RunningDaemon, StaticRecord } from '../e2e/daemon-harness.js';
import { faultCases, recordFault } from './fault-table.js';

/**
 * Issue 10, item 2: a real daemon process writing to both fakes, with overrides in force, is
 * SIGKILLed at a seeded point of the pass that writes a pending change (a failover or failback,
 * or a changed record applied by SIGHUP), sometimes with Route53 slow so the kill lands mid-write.
 * It is started again on the same state directory; it must converge, keep every accepted
 * override, and never write a record back to a value it had already left (no flap).
 *
 * The daemon reaches each fake through a recording HTTP proxy: the proxy counts the API requests
 * (a kill point), can kill the daemon as a request arrives (the write never lands) or once the
 * provider answered it (the write landed, the daemon never heard), and snapshots what the
 * provider holds after every write, which gives each record's sequence of written values.
 *
 * Replay one case with DNSQUORUM_FAULT_SEED=<seed> (the first seed of the run).
 */

const FAULT = 'SIGKILL mid-pass';
const FIRST_SEED = Number(process.env.DNSQUORUM_FAULT_SEED ?? '1');
const SEEDS = Array.from({ length: faultCases(4, 20) }, (_, i) => FIRST_SEED + i);

/** Loopback addresses of this file's probe targets (no other test uses 127.0.41.x). */
const API = { name: 'api', primary: '127.0.41.1', secondary: '127.0.41.2' } as const;
const SVC = { name: 'svc', primary: '127.0.41.3', secondary: '127.0.41.4' } as const;
const WEB = { name: 'web', primary: '127.0.41.5', secondary: '127.0.41.6' } as const;
const ZONE_FQDN = 'example.com.';

// ---- seeded randomness ----

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(random: () => number, choices: readonly T[]): T {
  const choice = choices[Math.floor(random() * choices.length)];
  if (choice === undefined) throw new Error('pick from an empty list');
  return choice;
}

// ---- the recording proxy ----

type ProviderName = 'r53' | 'ns1';

/** What the proxy does with a request: pass it on, or cut the connection (the daemon is being killed). */
type Verdict = 'pass' | 'cut';

interface ProxyHooks {
  /** A request arrived from the daemon, before it is forwarded. */
  arrived(provider: ProviderName, write: boolean): Verdict;
  /** The provider answered it (and, for a write, changed its state), before the answer is relayed. */
  answered(provider: ProviderName, write: boolean): Verdict;
}

interface RecordingProxy {
  /** The URL to give the daemon in place of the fake's. */
  readonly url: string;
  close(): Promise<void>;
}

function readAll(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => { resolve(Buffer.concat(chunks)); });
    stream.on('error', reject);
  });
}

interface Upstream {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

function forward(target: URL, req: IncomingMessage, body: Buffer): Promise<Upstream> {
  return new Promise((resolve, reject) => {
    const out = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (res) => {
      readAll(res).then((data) => { resolve({ status: res.statusCode ?? 502, headers: res.headers, body: data }); }, reject);
    });
    out.on('error', reject);
    out.end(body);
  });
}

/** An HTTP proxy in front of one fake's API that tells `hooks` about every request. */
async function startRecordingProxy(provider: ProviderName, upstream: string, hooks: ProxyHooks): Promise<RecordingProxy> {
  const target = new URL(upstream);
  const relay = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readAll(req);
    const write = req.method !== 'GET' && req.method !== 'HEAD';
    if (hooks.arrived(provider, write) === 'cut') {
      req.socket.destroy();
      return;
    }
    let answer: Upstream;
    try {
      answer = await forward(target, req, body);
    } catch {
      // The fake dropped the connection (a fault knob): so does the proxy.
      req.socket.destroy();
      return;
    }
    if (hooks.answered(provider, write) === 'cut' || res.destroyed) {
      req.socket.destroy();
      return;
    }
    const headers = { ...answer.headers, 'content-length': String(answer.body.length) };
    delete headers['transfer-encoding'];
    res.writeHead(answer.status, headers).end(answer.body);
  };
  const server: Server = createServer((req, res) => {
    relay(req, res).catch(() => {
      req.socket.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${target.pathname}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => { resolve(); });
      }),
  };
}

// ---- what the providers hold, record by record ----

/** "name TYPE" -> "ttl values" for one provider (fake state), apex SOA left out. */
function holdings(lines: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of lines) {
    const [name = '', type = '', ...rest] = line.split(' ');
    out.set(`${name} ${type}`, rest.join(' '));
  }
  return out;
}

function heldBy(fakes: Fakes, provider: ProviderName): Map<string, string> {
  return holdings(provider === 'r53' ? heldAtRoute53(fakes) : heldAtNs1(fakes));
}

/**
 * Each record's sequence of values at each provider over one case: what it held when the case
 * began, then what it held after every write. A record that comes back to a value it had left is
 * a flap (desired -> other -> desired, or any A -> B -> A within one case, whose change goes one way).
 */
class WriteHistory {
  /** provider -> "name TYPE" -> the values it held, without repeats in a row. */
  private readonly sequences = new Map<ProviderName, Map<string, string[]>>([['r53', new Map()], ['ns1', new Map()]]);

  constructor(fakes: Fakes) {
    for (const provider of ['r53', 'ns1'] as const) this.note(provider, heldBy(fakes, provider));
  }

  note(provider: ProviderName, held: ReadonlyMap<string, string>): void {
    const records = this.sequences.get(provider) ?? new Map<string, string[]>();
    for (const key of new Set([...held.keys(), ...records.keys()])) {
      const sequence = records.get(key) ?? [];
      const value = held.get(key) ?? '(absent)';
      if (sequence.at(-1) !== value) sequence.push(value);
      records.set(key, sequence);
    }
    this.sequences.set(provider, records);
  }

  /** "ns1 svc.example.com. A: 30 127.0.41.3 -> 30 127.0.41.4 -> 30 127.0.41.3" for each flap. */
  flaps(): string[] {
    const out: string[] = [];
    for (const [provider, records] of this.sequences) {
      for (const [key, sequence] of records) {
        if (new Set(sequence).size !== sequence.length) out.push(`${provider} ${key}: ${sequence.join(' -> ')}`);
      }
    }
    return out;
  }
}

// ---- the case plan ----

type Change = 'failover' | 'changed-record';
type KillPoint =
  /** A seeded delay after the change starts. */
  | { readonly kind: 'delay'; readonly ms: number }
  /** The n-th API request after the change starts, as it arrives or once the provider answered it. */
  | { readonly kind: 'request'; readonly n: number; readonly when: 'arrival' | 'answered' }
  /** Once `provider` answered the first write, the other provider's writes held back meanwhile: the providers disagree. */
  | { readonly kind: 'first-write'; readonly provider: ProviderName };
type Slowness = { readonly kind: 'none' } | { readonly kind: 'change-delay'; readonly ms: number } | { readonly kind: 'answer-delay'; readonly ms: number };

interface CasePlan {
  readonly change: Change;
  readonly kill: KillPoint;
  /** Route53 while the change is written. */
  readonly slow: Slowness;
  /** The provider that answers slowly after the restart, so the other is read first. */
  readonly slowAtRestart: ProviderName | null;
}

const KILL_KINDS = ['first-write', 'request', 'delay'] as const;

/**
 * The change and the kind of kill point go round with the seed, so that any four consecutive
 * seeds try both changes and the first two kinds; the rest is drawn from the seed. A first-write
 * kill restarts with the provider that took the write slow: the one left behind is read first.
 */
function planCase(seed: number): CasePlan {
  const random = seeded(seed);
  const change: Change = seed % 2 === 1 ? 'failover' : 'changed-record';
  const kind = KILL_KINDS[Math.floor((seed - 1) / 2) % KILL_KINDS.length] ?? 'delay';
  const kill: KillPoint =
    kind === 'first-write'
      ? { kind, provider: pick(random, ['r53', 'ns1'] as const) }
      : kind === 'request'
        ? { kind, n: 1 + Math.floor(random() * 6), when: pick(random, ['arrival', 'answered'] as const) }
        : { kind, ms: Math.floor(random() * 1200) };
  const slow = pick<Slowness>(random, [{ kind: 'none' }, { kind: 'change-delay', ms: 300 }, { kind: 'answer-delay', ms: 60 }]);
  const slowAtRestart = kill.kind === 'first-write' ? kill.provider : pick(random, [null, 'r53', 'ns1'] as const);
  return { change, kill, slow, slowAtRestart };
}

function describePlan(seed: number, plan: CasePlan): string {
  const kill =
    plan.kill.kind === 'delay'
      ? `${plan.kill.ms} ms after the change`
      : plan.kill.kind === 'request'
        ? `at request ${plan.kill.n} (${plan.kill.when})`
        : `once ${plan.kill.provider} took the first write`;
  const slow = plan.slow.kind === 'none' ? 'route53 normal' : `route53 ${plan.slow.kind} ${plan.slow.ms} ms`;
  return `seed ${seed}: ${plan.change}, SIGKILL ${kill}, ${slow}, slow after restart: ${plan.slowAtRestart ?? 'none'}`;
}

// ---- the daemon under test and what it must converge to ----

let dir = '';
let configFile = '';
let fakes: Fakes | undefined;
let daemon: RunningDaemon | undefined;
const proxies: RecordingProxy[] = [];
const targets: ProbeTarget[] = [];
let svcPort = 0;
let svcPrimary: ProbeTarget | undefined;
/** The static records as the config now has them; host0's value changes with each changed-record case. */
let records: StaticRecord[] = staticRecords(5);
let recordVersion = 0;
const failoverRecords: FailoverRecord[] = [];
/** Ids of the overrides the API accepted. */
const accepted: string[] = [];

/** Set while a case waits for its kill point. */
let armed: { plan: KillPoint; requests: number; fire: () => void } | undefined;
let history: WriteHistory | undefined;

function bothFakes(): Fakes {
  if (fakes === undefined) throw new Error('setup failed');
  return fakes;
}

function running(): RunningDaemon {
  if (daemon === undefined) throw new Error('setup failed');
  return daemon;
}

const hooks: ProxyHooks = {
  arrived(provider, write) {
    if (armed === undefined) return 'pass';
    const { plan } = armed;
    if (plan.kind === 'first-write') return write && provider !== plan.provider ? 'cut' : 'pass';
    if (plan.kind !== 'request') return 'pass';
    armed.requests += 1;
    if (plan.when !== 'arrival' || armed.requests < plan.n) return 'pass';
    armed.fire();
    return 'cut';
  },
  answered(provider, write) {
    if (write) history?.note(provider, heldBy(bothFakes(), provider));
    if (armed === undefined) return 'pass';
    const { plan } = armed;
    const reached = plan.kind === 'first-write' ? write && provider === plan.provider : plan.kind === 'request' && plan.when === 'answered' && armed.requests >= plan.n;
    if (!reached) return 'pass';
    armed.fire();
    return 'cut';
  },
};

/** What every provider must hold: api on its forced pool, web off its drained value, svc by health. */
function desired(): string[] {
  const serving = new Map([
    [API.name, API.secondary],
    [WEB.name, WEB.secondary],
    [SVC.name, svcPrimary === undefined ? SVC.secondary : SVC.primary],
  ]);
  return desiredSets(bothFakes(), records, serving);
}

/** Desired record sets a provider does not hold exactly (missing or with other values). */
function missingAt(held: readonly string[]): string[] {
  return desired().filter((line) => !held.includes(line));
}

async function writeConfig(): Promise<void> {
  const f = bothFakes();
  const [r53Proxy, ns1Proxy] = proxies;
  if (r53Proxy === undefined || ns1Proxy === undefined) throw new Error('proxies not started');
  const text = daemonConfig({ stateDir: join(dir, 'state'), fakes: f, drift: 'repair', records, failover: failoverRecords })
    .replace(`endpoint: ${f.route53.endpoint}, `, `endpoint: ${r53Proxy.url}, `)
    .replace(`endpoint: ${f.ns1.endpoint}, `, `endpoint: ${ns1Proxy.url}, `);
  await writeFile(configFile, text);
}

/** Waits until both fakes hold the desired zone and the daemon says it is writing and in sync. */
async function converged(): Promise<void> {
  await vi.waitFor(async () => {
    expect(missingAt(heldAtRoute53(bothFakes())), 'desired but not at route53').toEqual([]);
    expect(missingAt(heldAtNs1(bothFakes())), 'desired but not at ns1').toEqual([]);
    const report = await running().status();
    expect(report.hold).toBeNull();
    expect(zoneStatus(report, 'r53').state).toBe('in-sync');
    expect(zoneStatus(report, 'ns1').state).toBe('in-sync');
  }, WAIT);
}

async function activeOverrideIds(): Promise<string[]> {
  return (await running().status()).overrides.filter((o) => o.state === 'active').map((o) => o.id);
}

async function makeOverride(record: string, action: { kind: 'force-pool'; pool: string } | { kind: 'drain'; value: string }): Promise<void> {
  const response = await fetch(`${running().apiUrl}/v1/overrides`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ record: `${record}.${ZONE_FQDN}`, action, reason: 'crash test: must survive SIGKILL', for: '2h' }),
  });
  const text = await response.text();
  expect(response.status, text).toBe(201);
  const { override } = JSON.parse(text) as { override: { id: string } };
  accepted.push(override.id);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dq-fault-crash-'));
  configFile = join(dir, 'dnsquorum.yaml');
  fakes = await startFakes();
  proxies.push(await startRecordingProxy('r53', fakes.route53.endpoint, hooks), await startRecordingProxy('ns1', fakes.ns1.endpoint, hooks));
  for (const r of [API, SVC, WEB]) {
    const pair = await startProbePair(r.primary, r.secondary);
    targets.push(pair.secondary);
    if (r === SVC) {
      svcPort = pair.port;
      svcPrimary = pair.primary;
    } else {
      targets.push(pair.primary);
    }
    failoverRecords.push({ name: r.name, port: pair.port, primary: r.primary, secondary: r.secondary });
  }
  await writeConfig();
  daemon = await startDaemon(configFile, daemonEnv(fakes));
  await vi.waitFor(() => {
    expect(heldAtRoute53(bothFakes()).some((l) => l.startsWith(`${API.name}.${ZONE_FQDN} A`))).toBe(true);
    expect(heldAtNs1(bothFakes()).some((l) => l.startsWith(`${API.name}.${ZONE_FQDN} A`))).toBe(true);
  }, WAIT);
  await makeOverride(API.name, { kind: 'force-pool', pool: 'secondary' });
  await makeOverride(WEB.name, { kind: 'drain', value: WEB.primary });
  await converged();
}, 60_000);

afterAll(async () => {
  armed = undefined;
  await daemon?.stop();
  await Promise.all([...targets, ...(svcPrimary === undefined ? [] : [svcPrimary])].map((t) => t.stop()));
  await Promise.all(proxies.map((p) => p.close()));
  await fakes?.close();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
}, 30_000);

/** Starts the seeded change; returns once it is under way. */
async function startChange(change: Change): Promise<void> {
  if (change === 'failover') {
    if (svcPrimary === undefined) {
      svcPrimary = await startProbeTarget(SVC.primary, svcPort);
    } else {
      const stopping = svcPrimary;
      svcPrimary = undefined;
      await stopping.stop();
    }
    return;
  }
  recordVersion += 1;
  records = records.map((r) => (r.name === 'host0' ? { ...r, values: [`10.99.${recordVersion}.1`] } : r));
  await writeConfig();
  running().signal('SIGHUP');
}

/** Resolves once the kill point is reached; a point the pass never reaches is a kill once the change is written. */
async function killPoint(plan: KillPoint): Promise<void> {
  if (plan.kind === 'delay') {
    // The kill point itself is what this test varies; nothing waits on it to pass.
    await new Promise((resolve) => setTimeout(resolve, plan.ms));
    return;
  }
  const current = armed;
  if (current === undefined) throw new Error('not armed');
  await Promise.race([
    new Promise<void>((resolve) => {
      current.fire = resolve;
    }),
    // Fewer requests than n in the pass: the kill lands after it, once the fakes hold the change
    // (for a first-write point, the one provider whose writes are let through).
    vi.waitFor(() => {
      for (const provider of ['r53', 'ns1'] as const) {
        if (plan.kind === 'first-write' && plan.provider !== provider) continue;
        expect(missingAt(provider === 'r53' ? heldAtRoute53(bothFakes()) : heldAtNs1(bothFakes()))).toEqual([]);
      }
    }, WAIT),
  ]);
}

/** The other provider is read first, and this one still well before the probes have decided anything (about 2 intervals). */
const RESTART_SLOWNESS_MS = 60;

function slowDown(f: Fakes, provider: ProviderName | null, ms: number): void {
  if (provider === 'r53') f.route53.setFaults({ delayMs: ms });
  if (provider === 'ns1') f.ns1.setFaults({ delayMs: ms });
}

describe('SIGKILL in the middle of a pass, with overrides in force', () => {
  it.for(SEEDS)('seed %i: restarts to the desired zone, keeps every override, and never flaps', { timeout: 90_000 }, async (seed, context) => {
    const plan = planCase(seed);
    const what = describePlan(seed, plan);
    const f = bothFakes();
    await converged();
    const before = await activeOverrideIds();

    history = new WriteHistory(f);
    if (plan.slow.kind === 'change-delay') f.route53.setChangeDelay(plan.slow.ms);
    if (plan.slow.kind === 'answer-delay') f.route53.setFaults({ delayMs: plan.slow.ms });
    armed = { plan: plan.kill, requests: 0, fire: () => undefined };
    let problem: string | undefined;
    try {
      await startChange(plan.change);
      await killPoint(plan.kill);
      running().signal('SIGKILL');
      await running().exited();
      armed = undefined;
      slowDown(f, plan.slowAtRestart, RESTART_SLOWNESS_MS);
      daemon = await startDaemon(configFile, daemonEnv(f));
      await converged();
    } catch (err) {
      problem = err instanceof Error ? err.message : String(err);
    } finally {
      armed = undefined;
      f.route53.setChangeDelay(0);
      f.route53.setFaults({ delayMs: 0 });
      f.ns1.setFaults({ delayMs: 0 });
    }

    const after = await activeOverrideIds().catch(() => [] as string[]);
    const lostOverrides = accepted.filter((id) => !after.includes(id));
    const lostRecords = [...missingAt(heldAtRoute53(f)).map((l) => `route53: ${l}`), ...missingAt(heldAtNs1(f)).map((l) => `ns1: ${l}`)];
    const flaps = history.flaps();
    history = undefined;
    const lost = lostOverrides.length + lostRecords.length;
    const ok = problem === undefined && lost === 0 && flaps.length === 0;
    recordFault(context, { fault: FAULT, cases: 1, passed: ok ? 1 : 0, lost });

    expect(before, `${what}: overrides in force before the kill`).toEqual(expect.arrayContaining(accepted));
    expect(problem, `${what}: did not converge after the restart`).toBeUndefined();
    expect(lostOverrides, `${what}: accepted overrides gone after the restart`).toEqual([]);
    expect(lostRecords, `${what}: desired record sets missing or wrong`).toEqual([]);
    expect(flaps, `${what}: records written back to a value they had left`).toEqual([]);
  });
});
