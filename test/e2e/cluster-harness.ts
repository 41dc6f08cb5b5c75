import { createHmac, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, vi } from 'vitest';
import { z } from 'zod';
import { exited, startCli } from '../helpers/cli.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import type { ProxiedRequest, TcpProxy } from '../helpers/tcp-proxy.js';
import { startTwoFakes } from './two-fakes.js';
import type { TwoFakes } from './two-fakes.js';

/**
 * What the three-replica acceptance tests of issue 6 share: three real `dnsquorum run` processes
 * (regions a, b and c) on loopback, all writing to the same fake Route53 and fake NS1 (in the test
 * process), every byte between them going through a TCP proxy the test controls:
 *
 * - peer links: replica X's `cluster.peers` URL for Y is a proxy in front of Y's admin API, one
 *   proxy per direction, so a replica can be cut off from the others (`cutOff`) or one link broken;
 * - probe paths: the zone has one CNAME failover record, `www`, whose pools are two CDN host names
 *   (a.cdn.test., b.cdn.test.); each replica's `resolve:` sends each host name to its own proxy in
 *   front of that CDN's health server, so a CDN can be made unreachable from one region alone
 *   (cut that replica's proxy) or down for every region (stop the CDN's server);
 * - provider APIs: each replica reaches each fake's API through its own proxy, which records the
 *   HTTP request lines, so the tests can tell which replica wrote.
 *
 * Clock skew: a replica started with `skewMs` gets env DNSQUORUM_CLOCK_SKEW_MS, which shifts the
 * daemon's injected clock; only the clock-skew tests use it (a restart can change it).
 */

export const ZONE = 'example.com';
export const API_TOKEN = 'cluster-acceptance-token-8c2e';
export const CLUSTER_SECRET = 'cluster-acceptance-secret-3b9f0d1e';
export const REGIONS = ['a', 'b', 'c'] as const;
export type Region = (typeof REGIONS)[number];
export const CDNS = ['a', 'b'] as const;
export type CdnName = (typeof CDNS)[number];
/** The two values the failover record moves between. */
export const CDN_HOST: Readonly<Record<CdnName, string>> = { a: 'a.cdn.test', b: 'b.cdn.test' };
export const STALE_AFTER_MS = 5000;
export const EXCHANGE_INTERVAL_MS = 200;
/** Every wait is bounded; each one names what it waits for. */
export const WAIT = { timeout: 30_000, interval: 50 } as const;
/** Long enough for a test's waits to fail with their own message rather than the test's timeout. */
export const TEST_TIMEOUT_MS = 60_000;
export const SETUP_TIMEOUT_MS = 60_000;

// ---- the CDNs (probe targets) ----

/** One CDN's health server on loopback: 200 on /healthz while up. */
export interface Cdn {
  readonly name: CdnName;
  readonly port: number;
  /** Stops the server: the CDN is down for every region. */
  down(): Promise<void>;
  /** Serves again on the same port. */
  up(): Promise<void>;
}

async function closeServer(server: Server): Promise<void> {
  if (!server.listening) return;
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
}

async function startCdn(name: CdnName): Promise<Cdn> {
  const server = createServer((req, res) => {
    res.writeHead(req.url === '/healthz' ? 200 : 404, { 'content-type': 'text/plain' }).end('ok\n');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    name,
    port,
    down: () => closeServer(server),
    async up() {
      if (server.listening) return;
      server.listen(port, '127.0.0.1');
      await once(server, 'listening');
    },
  };
}

// ---- status ----

const regionVerdictSchema = z.object({ region: z.string(), state: z.string(), ageMs: z.number(), reason: z.string() });
const endpointSchema = z.object({
  endpointId: z.string(),
  state: z.string(),
  reason: z.string(),
  insufficientVantage: z.boolean(),
  since: z.number(),
  regions: z.array(regionVerdictSchema),
});
const peerSchema = z.object({
  region: z.string(),
  url: z.string(),
  lastHeardAt: z.number().nullable(),
  fresh: z.boolean(),
  writer: z.boolean(),
  seesQuorum: z.boolean(),
  lastSentAt: z.number().nullable(),
  lastSendError: z.string().nullable(),
  refusesStale: z.boolean().default(false),
  clockOffsetMs: z.number().nullable().default(null),
});
const clusterSchema = z.object({
  region: z.string(),
  writerCapable: z.boolean(),
  freshRegions: z.array(z.string()),
  quorum: z.number(),
  seesQuorum: z.boolean(),
  writer: z.string().nullable(),
  peers: z.array(peerSchema),
  rejected: z.record(z.string(), z.number()),
  clockSkewed: z.array(z.string()).default([]),
});
const zoneSchema = z.object({
  zone: z.string(),
  state: z.string(),
  lastError: z.object({ code: z.string(), message: z.string() }).nullable(),
  lastDnsCheckAt: z.number().nullable(),
  lastWrite: z.object({ at: z.number(), changes: z.number() }).nullable(),
});
/** The parts of GET /v1/status these tests read, cluster and endpoints included. */
const clusterReportSchema = z.object({
  region: z.string(),
  now: z.number(),
  hold: z.string().nullable(),
  records: z.array(z.object({ name: z.string(), type: z.string(), pool: z.string().nullable(), values: z.array(z.string()).nullable() })),
  providers: z.array(z.object({ provider: z.string(), zones: z.array(zoneSchema) })),
  cluster: clusterSchema,
  endpoints: z.array(endpointSchema),
  overrides: z.array(z.object({ id: z.string(), name: z.string(), origin: z.string(), state: z.string(), action: z.looseObject({ kind: z.string() }) })),
});
export type ClusterReport = z.infer<typeof clusterReportSchema>;
export type EndpointReport = z.infer<typeof endpointSchema>;

/** The status of the `www` failover record: which pool serves. */
export function wwwPool(report: ClusterReport): string | null {
  const record = report.records.find((r) => r.name.toLowerCase().replace(/\.$/, '') === `www.${ZONE}` && r.type === 'CNAME');
  if (record === undefined) throw new Error(`replica ${report.region} reports no www CNAME: ${JSON.stringify(report.records)}`);
  return record.pool;
}

/** The endpoint of the failover record whose value is the given CDN's host name. */
export function cdnEndpoint(report: ClusterReport, cdn: CdnName): EndpointReport {
  const host = CDN_HOST[cdn];
  const found = report.endpoints.find((e) => e.endpointId.toLowerCase().includes(host));
  if (found === undefined) throw new Error(`no endpoint for ${host} in ${JSON.stringify(report.endpoints.map((e) => e.endpointId))}`);
  return found;
}

/** One region's verdict on a CDN, as a replica sees it; undefined when it has none. */
export function verdictOf(report: ClusterReport, cdn: CdnName, region: Region): string | undefined {
  return cdnEndpoint(report, cdn).regions.find((r) => r.region === region)?.state;
}

// ---- the replicas ----

export interface ReplicaOptions {
  /** DNSQUORUM_CLOCK_SKEW_MS for this replica (the clock-skew tests only). */
  readonly skewMs?: number;
}

export interface Replica {
  readonly region: Region;
  /** "http://127.0.0.1:PORT" of its admin API (direct, not through a proxy); empty until started. */
  readonly apiUrl: string;
  /** Its JSON log lines so far (as raw objects). */
  logs(): Record<string, unknown>[];
  status(): Promise<ClusterReport>;
  /** Its own proxy in front of each CDN (what its probes go through). */
  readonly probeProxy: Readonly<Record<CdnName, TcpProxy>>;
  /** Its own proxy in front of each fake's API. */
  readonly apiProxy: { readonly r53: TcpProxy; readonly ns1: TcpProxy };
  /** The write requests it sent to either provider at or after `since` (epoch ms of this test process). */
  writes(since?: number): ProxiedRequest[];
  /** SIGKILL: the replica dies without a word. */
  kill(): Promise<void>;
  /** SIGTERM, then the exit code (SIGKILL after 15 s). */
  stop(): Promise<number | null>;
  /**
   * Starts it again (after stop or kill) on the same config; `freshState` empties its state
   * directory first; `skewMs` sets its clock skew from now on (0: none).
   */
  start(options?: { freshState?: boolean; skewMs?: number }): Promise<void>;
  readonly running: boolean;
}

/** Route53 ChangeResourceRecordSets, or an NS1 record PUT/POST/DELETE. */
function isWrite(provider: 'r53' | 'ns1', request: ProxiedRequest): boolean {
  if (provider === 'r53') return request.method === 'POST' && /\/rrset\/?(?:\?|$)/.test(request.path);
  return request.method !== 'GET' && /^\/v1\/zones\/[^/]+\/[^/]+\/[^/?]+/.test(request.path);
}

export interface Cluster {
  readonly fakes: TwoFakes;
  readonly cdns: Readonly<Record<CdnName, Cdn>>;
  readonly replicas: Readonly<Record<Region, Replica>>;
  /** The proxy `from` sends its peer messages to `to` through. */
  link(from: Region, to: Region): TcpProxy;
  /** Cuts every peer link to and from `region` (its own messages are swallowed, the others' refused). */
  cutOff(region: Region): void;
  heal(region: Region): void;
  /** Every replica's status, in region order (running replicas only). */
  statuses(): Promise<ClusterReport[]>;
  /** What each fake holds for www CNAME (host name without the trailing dot), undefined when none. */
  held(): { r53: string | undefined; ns1: string | undefined };
  close(): Promise<void>;
}

function withoutDot(value: string): string {
  return value.replace(/\.$/, '').toLowerCase();
}

function replicaConfig(o: {
  region: Region;
  stateDir: string;
  fakes: TwoFakes;
  probe: Readonly<Record<CdnName, TcpProxy>>;
  peers: readonly { region: Region; url: string }[];
  r53Endpoint: string;
  ns1Endpoint: string;
}): string {
  const { route53, ns1 } = o.fakes;
  const resolve = [
    ...o.fakes.r53Servers.map((s) => `  ${s.slice(0, -1)}: ${route53.dnsAddress.host}:${route53.dnsAddress.port}`),
    ...o.fakes.ns1Servers.map((s) => `  ${s.slice(0, -1)}: ${ns1.dnsAddress.host}:${ns1.dnsAddress.port}`),
    ...CDNS.map((cdn) => `  ${CDN_HOST[cdn]}: ${o.probe[cdn].address}`),
  ];
  return `region: ${o.region}
stateDir: ${o.stateDir}
resolve:
${resolve.join('\n')}
api: { listen: 127.0.0.1:0, token: "\${DNSQUORUM_API_TOKEN}" }
cluster:
  peers:
${o.peers.map((p) => `    - { region: ${p.region}, url: "${p.url}" }`).join('\n')}
  secret: "\${DNSQUORUM_CLUSTER_SECRET}"
  quorum: majority
  staleAfter: ${STALE_AFTER_MS}ms
  warmup: 5s
  exchangeInterval: ${EXCHANGE_INTERVAL_MS}ms
sync: { interval: 1s, readInterval: 10m, visibleTimeout: 5s }
providers:
  r53: { type: route53, endpoint: ${o.r53Endpoint}, rateLimit: 200, insyncPollInterval: 10ms, requestTimeout: 5s }
  ns1: { type: ns1, apiKey: "\${NS1_API_KEY}", endpoint: ${o.ns1Endpoint}, requestTimeout: 5s }
zones:
  ${ZONE}:
    providers: [r53, ns1]
    drift: repair
    records:
      www:
        type: CNAME
        ttl: 60
        failover:
          check: { protocol: http, port: 80, path: /healthz, expect: 200, interval: 200ms, timeout: 150ms, fall: 2, rise: 2 }
          pools:
            - { name: cdn-a, values: [${CDN_HOST.a}.] }
            - { name: cdn-b, values: [${CDN_HOST.b}.] }
`;
}

/** The endpoint URL with its host:port swapped for the proxy's. */
function through(endpoint: string, proxy: TcpProxy): string {
  const url = new URL(endpoint);
  url.host = proxy.address;
  return url.toString().replace(/\/$/, endpoint.endsWith('/') ? '/' : '');
}

const STOP_GRACE_MS = 15_000;

async function launch(region: Region, configFile: string, env: NodeJS.ProcessEnv): Promise<{ apiUrl: string; proc: ReturnType<typeof startCli> }> {
  const proc = startCli(['run', '--config', configFile], { env });
  const parsed = (): Record<string, unknown>[] => parseLines(proc.lines);
  try {
    const listen = await vi.waitFor(() => {
      if (proc.child.exitCode !== null) throw new Error(`replica ${region} exited (${proc.child.exitCode}): ${proc.stderr.join('')}${proc.lines.join('\n')}`);
      const line = parsed().find((l) => l.msg === 'admin API listening');
      if (typeof line?.listen !== 'string') throw new Error(`replica ${region}: the admin API is not listening yet`);
      return line.listen;
    }, WAIT);
    return { apiUrl: `http://${listen}`, proc };
  } catch (err) {
    proc.child.kill('SIGKILL');
    throw err;
  }
}

function parseLines(lines: readonly string[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of lines) {
    try {
      const parsed = JSON.parse(line) as unknown;
      if (typeof parsed === 'object' && parsed !== null && 'msg' in parsed) out.push(parsed);
    } catch {
      // Not a log line; only the JSON ones are read.
    }
  }
  return out;
}

export async function fetchStatus(apiUrl: string): Promise<ClusterReport> {
  const response = await fetch(`${apiUrl}/v1/status`, { headers: { authorization: `Bearer ${API_TOKEN}` }, signal: AbortSignal.timeout(5000) });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`GET ${apiUrl}/v1/status answered ${response.status}: ${text}`);
  const result = clusterReportSchema.safeParse(JSON.parse(text));
  if (!result.success) throw new Error(`status of ${apiUrl} lacks what the cluster tests read: ${result.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return result.data;
}

/**
 * Starts the fakes, both CDNs, every proxy and the three replicas, each with its own config, and
 * points the peer proxies at the replicas' admin APIs once those listen.
 */
export async function startCluster(options: Partial<Record<Region, ReplicaOptions>> = {}): Promise<Cluster> {
  const dir = await mkdtemp(join(tmpdir(), 'dq-cluster-'));
  const fakes = await startTwoFakes(ZONE);
  const opened: { close(): Promise<void> }[] = [];
  const started: Replica[] = [];
  const closeAll = async (): Promise<void> => {
    await Promise.all(started.map((r) => r.stop()));
    await Promise.all(opened.map((o) => o.close()));
    await fakes.close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const cdnA = await startCdn('a');
    const cdnB = await startCdn('b');
    const cdns = { a: cdnA, b: cdnB };
    opened.push({ close: () => cdnA.down() }, { close: () => cdnB.down() });
    const proxy = async (target?: { host: string; port: number }): Promise<TcpProxy> => {
      const p = await startTcpProxy(target);
      opened.push(p);
      return p;
    };
    const links = new Map<string, TcpProxy>();
    for (const from of REGIONS) for (const to of REGIONS) if (from !== to) links.set(`${from}>${to}`, await proxy());
    const link = (from: Region, to: Region): TcpProxy => {
      const found = links.get(`${from}>${to}`);
      if (found === undefined) throw new Error(`no link ${from} -> ${to}`);
      return found;
    };
    const r53Target = new URL(fakes.route53.endpoint);
    const ns1Target = new URL(fakes.ns1.endpoint);

    const replicas = {} as Record<Region, Replica>;
    for (const region of REGIONS) {
      const probe = { a: await proxy({ host: '127.0.0.1', port: cdnA.port }), b: await proxy({ host: '127.0.0.1', port: cdnB.port }) };
      const apiProxy = {
        r53: await proxy({ host: r53Target.hostname, port: Number(r53Target.port) }),
        ns1: await proxy({ host: ns1Target.hostname, port: Number(ns1Target.port) }),
      };
      const configFile = join(dir, `replica-${region}.yaml`);
      await writeFile(
        configFile,
        replicaConfig({
          region,
          stateDir: join(dir, `state-${region}`),
          fakes,
          probe,
          peers: REGIONS.filter((r) => r !== region).map((r) => ({ region: r, url: `http://${link(region, r).address}` })),
          r53Endpoint: through(fakes.route53.endpoint, apiProxy.r53),
          ns1Endpoint: through(fakes.ns1.endpoint, apiProxy.ns1),
        }),
      );
      const skew = options[region]?.skewMs;
      let env: NodeJS.ProcessEnv = {
        ...fakes.env,
        DNSQUORUM_API_TOKEN: API_TOKEN,
        DNSQUORUM_CLUSTER_SECRET: CLUSTER_SECRET,
        DNSQUORUM_API_URL: '',
        DNSQUORUM_REGION: '',
        DNSQUORUM_LOG_LEVEL: 'info',
        DNSQUORUM_CLOCK_SKEW_MS: skew === undefined ? '' : String(skew),
      };
      const stateDir = join(dir, `state-${region}`);
      let { apiUrl, proc } = await launch(region, configFile, env);
      const running = (): boolean => proc.child.exitCode === null && proc.child.signalCode === null;
      const pointLinksAt = (url: string): void => {
        const api = new URL(url);
        for (const from of REGIONS) if (from !== region) link(from, region).retarget({ host: api.hostname, port: Number(api.port) });
      };
      const replica: Replica = {
        region,
        get apiUrl() {
          return apiUrl;
        },
        logs: () => parseLines(proc.lines),
        status: () => fetchStatus(apiUrl),
        probeProxy: probe,
        apiProxy,
        writes: (since = 0) => [
          ...apiProxy.r53.requests.filter((r) => r.at >= since && isWrite('r53', r)),
          ...apiProxy.ns1.requests.filter((r) => r.at >= since && isWrite('ns1', r)),
        ],
        async kill() {
          if (!running()) return;
          proc.child.kill('SIGKILL');
          await exited(proc.child);
        },
        async stop() {
          if (!running()) return proc.child.exitCode;
          proc.child.kill('SIGTERM');
          const timer = setTimeout(() => proc.child.kill('SIGKILL'), STOP_GRACE_MS);
          try {
            return await exited(proc.child);
          } finally {
            clearTimeout(timer);
          }
        },
        async start(startOptions) {
          if (running()) throw new Error(`replica ${region} is still running`);
          if (startOptions?.freshState === true) await rm(stateDir, { recursive: true, force: true });
          if (startOptions?.skewMs !== undefined) env = { ...env, DNSQUORUM_CLOCK_SKEW_MS: startOptions.skewMs === 0 ? '' : String(startOptions.skewMs) };
          ({ apiUrl, proc } = await launch(region, configFile, env));
          pointLinksAt(apiUrl);
        },
        get running() {
          return running();
        },
      };
      started.push(replica);
      replicas[region] = replica;
      pointLinksAt(apiUrl);
    }

    return {
      fakes,
      cdns,
      replicas,
      link,
      cutOff(region) {
        for (const other of REGIONS) {
          if (other === region) continue;
          link(region, other).cut('blackhole');
          link(other, region).cut('reset');
        }
      },
      heal(region) {
        for (const other of REGIONS) {
          if (other === region) continue;
          link(region, other).restore();
          link(other, region).restore();
        }
      },
      statuses: () => Promise.all(REGIONS.filter((r) => replicas[r].running).map((r) => replicas[r].status())),
      held() {
        const r53 = fakes.route53.zoneRecords(ZONE).find((rs) => withoutDot(rs.name) === `www.${ZONE}` && rs.type === 'CNAME');
        const ns1 = fakes.ns1.zoneRecords(ZONE).find((r) => withoutDot(r.domain) === `www.${ZONE}` && r.type === 'CNAME');
        const first = (values: readonly string[] | undefined): string | undefined => (values?.[0] === undefined ? undefined : withoutDot(values[0]));
        return { r53: first(r53?.values), ns1: first(ns1?.answers.map((a) => a.answer.map(String).join(' '))) };
      },
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/**
 * Starts a cluster before the describe block's tests and closes it after them; the returned
 * function gives the running cluster (and fails the test clearly when setup did not finish).
 */
export function useCluster(options: Partial<Record<Region, ReplicaOptions>> = {}, ready?: (cluster: Cluster) => Promise<void>): () => Cluster {
  let cluster: Cluster | undefined;
  beforeAll(async () => {
    cluster = await startCluster(options);
    await ready?.(cluster);
  }, SETUP_TIMEOUT_MS);
  afterEach(async (context) => {
    if (cluster === undefined || context.task.result?.state !== 'fail') return;
    process.stderr.write(await describeCluster(cluster, context.task.name));
  });
  afterAll(async () => {
    await cluster?.close();
  }, 30_000);
  return () => {
    if (cluster === undefined) throw new Error('cluster setup failed');
    return cluster;
  };
}

/** How many of each replica's last log lines a failed test prints (warn and above are all printed). */
const DUMP_TAIL_LINES = 40;

/**
 * What a failed test prints, so a failure seen once in CI can be understood from its output: each
 * running replica's cluster view (peers, last send errors), its warnings and errors, and its last lines.
 */
async function describeCluster(cluster: Cluster, testName: string): Promise<string> {
  const parts = [`\n---- cluster state after the failed test "${testName}" ----\n`];
  for (const region of REGIONS) {
    const replica = cluster.replicas[region];
    if (!replica.running) {
      parts.push(`replica ${region}: not running\n`);
      continue;
    }
    const view = await replica.status().then(
      (report) => JSON.stringify({ now: report.now, hold: report.hold, cluster: report.cluster }),
      (err: unknown) => `status failed: ${String(err)}`,
    );
    const lines = replica.logs();
    const warnings = lines.filter((line) => typeof line.level === 'number' && line.level >= 40);
    parts.push(
      `replica ${region}: ${view}\n`,
      `  warnings and errors (${warnings.length}):\n`,
      ...warnings.map((line) => `    ${JSON.stringify(line)}\n`),
      `  last ${DUMP_TAIL_LINES} of ${lines.length} log lines:\n`,
      ...lines.slice(-DUMP_TAIL_LINES).map((line) => `    ${JSON.stringify(line)}\n`),
    );
  }
  return parts.join('');
}

// ---- settled ----

/**
 * Throws (for vi.waitFor) until every running replica agrees that `writer` writes, sees a quorum
 * with exactly the running regions fresh, the writer holds nothing and has every provider zone
 * in sync, and every other replica holds its writes naming the writer.
 */
export async function expectSettled(cluster: Cluster, writer: Region): Promise<ClusterReport[]> {
  const reports = await cluster.statuses();
  const running = reports.map((r) => r.region).sort();
  for (const report of reports) {
    expect(report.cluster, `replica ${report.region}: ${JSON.stringify({ hold: report.hold, cluster: report.cluster })}`).toMatchObject({ writer, seesQuorum: true });
    expect([...report.cluster.freshRegions].sort(), `fresh regions at replica ${report.region}`).toEqual(running);
    if (report.region === writer) {
      expect(report.hold, `hold at the writer ${writer}`).toBeNull();
      for (const provider of report.providers) for (const zone of provider.zones) expect(zone.state, `${provider.provider} at the writer`).toBe('in-sync');
    } else {
      expect(report.hold ?? '', `hold at replica ${report.region}`).toContain(`region ${writer} writes`);
    }
  }
  return reports;
}

// ---- forged peer messages ----

/** The headers a peer signs its message with (src/cluster/auth.ts), computed here independently from the protocol. */
export function signedHeaders(secret: string, body: string, time: number, nonce = randomBytes(16).toString('hex')): Record<string, string> {
  const signature = createHmac('sha256', secret).update(`${time}\n${nonce}\n${body}`).digest('hex');
  return {
    'content-type': 'application/json',
    'x-dnsquorum-time': String(time),
    'x-dnsquorum-nonce': nonce,
    'x-dnsquorum-signature': `v1=${signature}`,
  };
}

/** POSTs a peer message to a replica's peer route directly (no proxy); the HTTP status. */
export async function postPeerMessage(apiUrl: string, body: string, headers: Record<string, string>): Promise<number> {
  const response = await fetch(`${apiUrl}/v1/peer/exchange`, { method: 'POST', headers, body, signal: AbortSignal.timeout(5000) });
  await response.text();
  return response.status;
}
