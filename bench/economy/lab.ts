import { createHash } from 'node:crypto';
import type { HostPort } from '../../src/config/types.js';
import type { EndpointHealth } from '../../src/domain/health.js';
import { fqdn } from '../../src/domain/record.js';
import type { ZoneSpec } from '../../src/domain/zone.js';
import { FakeNs1 } from '../../fakes/ns1/server.js';
import { FakeRoute53 } from '../../fakes/route53/server.js';
import { ManualClock, systemClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/logger.js';
import { Ns1Provider } from '../../src/providers/ns1/provider.js';
import type { DnsProvider } from '../../src/providers/provider.js';
import { Route53Provider } from '../../src/providers/route53/provider.js';
import { Reconciler } from '../../src/sync/reconciler.js';
import type { ProviderZoneStatus, SyncObserver } from '../../src/sync/status.js';
import { concurrencyLimit } from '../../src/verify/limit.js';
import { addressOf, verifyServer } from '../../src/verify/servers.js';
import type { ServerVerification } from '../../src/verify/servers.js';
import type { ConcurrencyLimit } from '../../src/verify/limit.js';
import type { Expectation } from '../../src/verify/compare.js';
import { queryDns } from '../../src/lib/dns-query.js';
import { desiredExpectations } from '../../src/plan/expectations.js';

/**
 * Both fakes in-process on loopback, the real Route53 and NS1 providers against them, and the
 * real Reconciler on a manual clock: the bench moves simulated time and asks for passes, and
 * counts what reached each fake's API from the fakes' own request logs.
 */

/** The daemon's defaults (src/config/schema.ts SYNC_DEFAULTS): compare every minute, read the API every 15 minutes. */
export const SYNC_INTERVAL_MS = 60_000;
export const READ_INTERVAL_MS = 15 * 60_000;
/** As src/main.ts: DNS questions in flight at once, over every provider's name servers. */
const MAX_DNS_QUESTIONS_IN_FLIGHT = 64;
/** As src/main.ts. */
const PASS_TIMEOUT_MS = 120_000;
/**
 * NS1 splits a zone's record list into pages (octoDNS notes pages of about 2,500 records); the
 * fake does it when told a page size, so a full read costs what it would at NS1.
 */
export const NS1_PAGE_SIZE = 2500;
/** Far above anything the bench sends: the bench counts calls, and NS1's recorded limits (PUT 100 per 200 s) would make the first sync take hours. */
const UNLIMITED = { limit: 1_000_000, periodSeconds: 1 };
/** Dummy credentials for the SDK's signature; the fake ignores them. Never real keys. */
const AWS_ENV: Readonly<Record<string, string>> = {
  AWS_ACCESS_KEY_ID: 'AKIDDNSQUORUMBENCH',
  AWS_SECRET_ACCESS_KEY: 'dnsquorum-bench-secret',
  AWS_SESSION_TOKEN: '',
  AWS_PROFILE: '',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

export interface ApiCount {
  readonly provider: 'r53' | 'ns1';
  /** Route53's operation name; NS1's "METHOD route" ("GET zone", "PUT record"). */
  readonly operation: string;
  readonly write: boolean;
  readonly calls: number;
}

export interface Lab {
  readonly clock: ManualClock;
  readonly health: Map<string, EndpointHealth>;
  readonly reconciler: Reconciler;
  readonly route53: FakeRoute53;
  readonly ns1: FakeNs1;
  /** Passes ended per provider, and how the providers were compared. */
  readonly passes: Map<string, number>;
  readonly dnsChecks: Map<string, number>;
  readonly apiChecks: Map<string, number>;
  /** DNS questions the syncers asked for (comparisons and visibility watches): what the daemon sends. */
  dnsQuestions: number;
  /** DNS questions the bench really sent (see RememberedAnswers). */
  readonly dnsQuestionsSent: number;
  /** API calls logged by both fakes since the last clearRequests, by provider and operation. */
  counts(): ApiCount[];
  /**
   * One name server's share of a minute's comparison, asked in full (the daemon asks `servers`
   * of them each minute): questions, wall and CPU seconds, the fake's DNS server included.
   */
  fullComparison(): Promise<{ questions: number; seconds: number; cpuSeconds: number; servers: number }>;
  /** Change elements of each ChangeResourceRecordSets request since the last clearRequests. */
  changeSizes(): number[];
  clearRequests(): void;
  /** Starts the reconciler (its first pass is the first sync). */
  start(): void;
  /** Waits (in real time, at most `timeoutMs`) until every provider holds the latest target, has no pass due and its last write is visible. */
  settled(timeoutMs: number): Promise<void>;
  /** One sync interval of simulated time, and waits for the pass it brings at every provider. */
  tick(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/** Polls `ready` every few ms until it holds or `timeoutMs` passes (then throws with `what`). */
export async function until(ready: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!ready()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export async function startLab(zone: ZoneSpec, health: Map<string, EndpointHealth>): Promise<Lab> {
  const savedEnv = Object.fromEntries(Object.keys(AWS_ENV).map((k) => [k, process.env[k]]));
  Object.assign(process.env, AWS_ENV);
  const restoreEnv = (): void => {
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) Reflect.deleteProperty(process.env, k);
      else process.env[k] = v;
    }
  };
  const cleanups: (() => Promise<void>)[] = [async () => { restoreEnv(); return Promise.resolve(); }];
  const closeAll = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };
  try {
    const route53 = await FakeRoute53.start();
    cleanups.push(() => route53.close());
    const ns1 = await FakeNs1.start({ pageSize: NS1_PAGE_SIZE, rateLimits: { GET: UNLIMITED, PUT: UNLIMITED, POST: UNLIMITED, DELETE: UNLIMITED } });
    cleanups.push(() => ns1.close());

    // The zone exists at both, with nothing but the providers' own apex SOA and NS.
    const hosted = route53.createZone(zone.name);
    const ns1Zone = ns1.createZone(zone.name);
    const resolve = new Map<string, HostPort>([
      ...hosted.nameservers.map((ns) => [fqdn(ns).slice(0, -1), route53.dnsAddress] as const),
      ...ns1Zone.dnsServers.map((ns) => [fqdn(ns).slice(0, -1), ns1.dnsAddress] as const),
    ]);

    // Providers pace and time themselves on the real clock (their token bucket and INSYNC wait
    // run in real time); only the reconciler's schedule runs on simulated time.
    const logger = silentLogger();
    const providers = new Map<string, DnsProvider>([
      [
        'r53',
        new Route53Provider({
          // Route53's default 5 requests/s would only stretch real time; the calls are the same.
          config: { type: 'route53', name: 'r53', endpoint: route53.endpoint, hostedZoneIds: { [zone.name]: hosted.id }, rateLimit: 10_000, insyncPollIntervalMs: 5 },
          clock: systemClock,
          logger,
          env: {},
          rateBurst: 1000,
        }),
      ],
      ['ns1', new Ns1Provider({ config: { type: 'ns1', name: 'ns1', apiKey: ns1.apiKey, endpoint: ns1.endpoint }, clock: systemClock, logger })],
    ]);
    cleanups.push(async () => { for (const p of providers.values()) await p.close(); });

    const passes = new Map<string, number>();
    const dnsChecks = new Map<string, number>();
    const apiChecks = new Map<string, number>();
    const bump = (map: Map<string, number>, key: string): void => { map.set(key, (map.get(key) ?? 0) + 1); };
    const observer: SyncObserver = {
      pass: (e) => { bump(passes, e.provider); },
      write: () => undefined,
      drift: () => undefined,
      driftCleared: () => undefined,
      visible: () => undefined,
      check: (e) => { bump(e.via === 'dns' ? dnsChecks : apiChecks, e.provider); },
    };
    const clock = new ManualClock(1_700_000_000_000);
    const dns = new RememberedAnswers(zone.name, resolve, concurrencyLimit(MAX_DNS_QUESTIONS_IN_FLIGHT));
    const stop = new AbortController();
    let running: Promise<void> | undefined;
    const servers = [hosted.nameservers.map(fqdn), ns1Zone.dnsServers.map(fqdn)];
    const lab: Lab = {
      clock,
      health,
      route53,
      ns1,
      passes,
      dnsChecks,
      apiChecks,
      dnsQuestions: 0,
      get dnsQuestionsSent() {
        return dns.sent;
      },
      reconciler: new Reconciler({
        zones: [zone],
        providers,
        clock,
        logger,
        health: () => health,
        overrides: () => [],
        writeMode: () => ({ kind: 'all' }),
        sync: { intervalMs: SYNC_INTERVAL_MS, readIntervalMs: READ_INTERVAL_MS, visibleTimeoutMs: 5 * 60_000 },
        askServers: (hosts, expectations, signal) => {
          lab.dnsQuestions += hosts.length * expectations.length;
          return dns.ask(hosts, expectations, signal);
        },
        observer,
        passTimeoutMs: PASS_TIMEOUT_MS,
      }),
      counts: () => countRequests(route53, ns1),
      fullComparison: async () => {
        const latestDesired = lab.reconciler.target(zone.name)?.desired;
        if (latestDesired === undefined) throw new Error('no comparison has been made yet');
        const expectations = desiredExpectations(zone, latestDesired, []);
        const cpu = process.cpuUsage();
        const started = performance.now();
        const signal = AbortSignal.timeout(120_000);
        const host = servers[0]?.[0];
        if (host === undefined) throw new Error('Route53 gave the zone no name servers');
        await verifyServer(host, expectations, { resolve, limit: concurrencyLimit(MAX_DNS_QUESTIONS_IN_FLIGHT), signal });
        const used = process.cpuUsage(cpu);
        return { questions: expectations.length, seconds: (performance.now() - started) / 1000, cpuSeconds: (used.user + used.system) / 1e6, servers: servers.flat().length };
      },
      changeSizes: () => route53.requests.filter((r) => r.operation === 'ChangeResourceRecordSets').map((r) => r.changes ?? 0),
      clearRequests: () => {
        route53.clearRequests();
        ns1.clearRequests();
      },
      settled: (timeoutMs) => until(() => isSettled(lab), timeoutMs, () => `both providers to settle: ${JSON.stringify(zoneStates(lab))}`),
      tick: async (timeoutMs) => {
        const before = new Map(passes);
        clock.advance(SYNC_INTERVAL_MS);
        // The syncers sleep in real time towards a pass due in simulated time; wake them for it.
        lab.reconciler.checkNow(false);
        await until(
          () => [...providers.keys()].every((p) => (passes.get(p) ?? 0) > (before.get(p) ?? 0)) && isSettled(lab),
          timeoutMs,
          () => `a pass at every provider: ${JSON.stringify(zoneStates(lab))}`,
        );
      },
      start: () => {
        running ??= lab.reconciler.run(stop.signal);
      },
      close: async () => {
        stop.abort();
        // Fakes first: a request in flight fails at once instead of holding the pass to its time limit.
        await closeAll();
        await running?.catch(() => undefined);
      },
    };
    return lab;
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/**
 * The syncers' DNS questions, asked for real at the fakes' name servers, except that a server
 * whose zone serial has not moved since it answered the same questions gives its earlier answers
 * again. The fakes raise the serial on every change (real Route53 keeps it at 1, so the daemon
 * cannot do this), so the answers are exactly what asking again would give: the outcome of every
 * comparison, and so every API call it leads to, is unchanged, while a simulated hour of a 10,000
 * record zone costs one SOA question per server and minute instead of 10,000.
 */
class RememberedAnswers {
  sent = 0;
  private readonly answers = new Map<string, { serial: number; verification: ServerVerification }>();

  constructor(
    private readonly zone: string,
    private readonly resolve: ReadonlyMap<string, HostPort>,
    private readonly limit: ConcurrencyLimit,
  ) {}

  async ask(hosts: readonly string[], expectations: readonly Expectation[], signal: AbortSignal): Promise<ServerVerification[]> {
    const questions = createHash('sha256').update(JSON.stringify(expectations)).digest('hex');
    return Promise.all(
      hosts.map(async (host) => {
        const key = `${host} ${questions}`;
        const serial = await this.serialOf(host, signal);
        const known = this.answers.get(key);
        if (serial !== undefined && known?.serial === serial) return known.verification;
        this.sent += expectations.length;
        const verification = await verifyServer(host, expectations, { resolve: this.resolve, limit: this.limit, signal });
        // The serial was read before the questions: a change made while they were asked moves it, and the next check asks again.
        if (serial !== undefined) this.answers.set(key, { serial, verification });
        return verification;
      }),
    );
  }

  private async serialOf(host: string, signal: AbortSignal): Promise<number | undefined> {
    try {
      const server = await addressOf(host, { resolve: this.resolve });
      this.sent += 1;
      const reply = await this.limit(() => queryDns(server, this.zone, 'SOA', { signal }));
      const soa = reply.packet.answers?.find((a) => a.type === 'SOA');
      return soa?.type === 'SOA' ? soa.data.serial : undefined;
    } catch {
      return undefined;
    }
  }
}

function zoneStates(lab: Lab): ProviderZoneStatus[] {
  return lab.reconciler.status().providers.flatMap((p) => p.zones);
}

function isSettled(lab: Lab): boolean {
  const now = lab.clock.now();
  return zoneStates(lab).every(
    (z) => z.state === 'in-sync' && z.lagMs === 0 && (z.nextPassAt ?? 0) > now && (z.lastWrite === null || z.lastWrite.visible === 'visible'),
  );
}

const R53_WRITES = new Set(['ChangeResourceRecordSets', 'CreateHostedZone', 'DeleteHostedZone']);

function countRequests(route53: FakeRoute53, ns1: FakeNs1): ApiCount[] {
  const counts = new Map<string, ApiCount>();
  const add = (provider: 'r53' | 'ns1', operation: string, write: boolean): void => {
    const key = `${provider} ${operation}`;
    const seen = counts.get(key);
    counts.set(key, { provider, operation, write, calls: (seen?.calls ?? 0) + 1 });
  };
  for (const r of route53.requests) add('r53', r.operation, R53_WRITES.has(r.operation));
  for (const r of ns1.requests) add('ns1', `${r.method} ${r.route}`, r.method !== 'GET');
  return [...counts.values()];
}
