import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fqdn } from '../../src/domain/record.js';
import { FakeNs1 } from '../../fakes/ns1/server.js';
import { FakeRoute53 } from '../../fakes/route53/server.js';
import { Backend } from './backend.js';
import { Replica, freePorts } from './replicas.js';

/**
 * What the failover bench runs against: both fakes in this process (each serving its zone over DNS
 * on loopback, all four of its name servers on one address), two backends on loopback, and three
 * real replicas (regions a, b, c), each peered with the other two. Region a writes (the smallest
 * region name of those that see a quorum does).
 */

export const ZONE = 'failover.bench.example';
export const RECORD_COUNT = 20;
export const REGIONS = ['a', 'b', 'c'] as const;
export const WRITER = 'a';
/** The check of every failover record: the issue's interval 1 s and fall 2. */
export const CHECK = { intervalMs: 1000, timeoutMs: 500, fall: 2, rise: 2 } as const;
export const EXCHANGE_INTERVAL_MS = 200;
export const STALE_AFTER_MS = 5000;
/** The two backends every record moves between: one cut moves all 20 records. */
export const PRIMARY_HOST = '127.0.77.1';
export const SECONDARY_HOST = '127.0.77.2';

const API_TOKEN = 'failover-bench-token-5d1c';
const CLUSTER_SECRET = 'failover-bench-secret-9e27a4b1';
/** NS1's default buckets (e.g. POST 300/300 s) would pace 40 moves of 20 records within two minutes; the bench measures our latency, not NS1's quota. */
const GENEROUS = { limit: 100_000, periodSeconds: 1 };

export const RECORD_NAMES: readonly string[] = Array.from({ length: RECORD_COUNT }, (_, i) => `app${String(i).padStart(2, '0')}`);

export interface Setup {
  readonly route53: FakeRoute53;
  readonly ns1: FakeNs1;
  readonly primary: Backend;
  readonly secondary: Backend;
  readonly replicas: readonly Replica[];
  readonly writer: Replica;
  close(): Promise<void>;
}

/** Writer log lines the bench reads: quorum decisions, record decisions, writes, errors. */
function writerKeeps(msg: string): boolean {
  return (
    msg.startsWith('endpoint ') ||
    msg.startsWith('record ') ||
    msg.startsWith('applied ') ||
    msg.startsWith('change in sync') ||
    msg.startsWith('every name server') ||
    msg.startsWith('writes held') ||
    msg.startsWith('writing ') ||
    msg.includes('could not be brought')
  );
}

function replicaConfig(o: {
  region: string;
  stateDir: string;
  apiPort: number;
  peers: readonly { region: string; port: number }[];
  route53: FakeRoute53;
  ns1: FakeNs1;
  r53Servers: readonly string[];
  ns1Servers: readonly string[];
  backendPort: number;
}): string {
  const resolve = [
    ...o.r53Servers.map((s) => `  ${s.replace(/\.$/, '')}: ${o.route53.dnsAddress.host}:${o.route53.dnsAddress.port}`),
    ...o.ns1Servers.map((s) => `  ${s.replace(/\.$/, '')}: ${o.ns1.dnsAddress.host}:${o.ns1.dnsAddress.port}`),
  ];
  const check = `{ protocol: http, port: ${o.backendPort}, path: /healthz, expect: 200, interval: ${CHECK.intervalMs}ms, timeout: ${CHECK.timeoutMs}ms, fall: ${CHECK.fall}, rise: ${CHECK.rise} }`;
  const records = RECORD_NAMES.map(
    (name) =>
      `      ${name}:\n        type: A\n        ttl: 30\n        failover:\n          check: ${check}\n          maxWritesPerHour: 3600\n` +
      `          pools:\n            - { name: primary, values: [${PRIMARY_HOST}] }\n            - { name: secondary, values: [${SECONDARY_HOST}] }`,
  );
  return `region: ${o.region}
stateDir: ${o.stateDir}
resolve:
${resolve.join('\n')}
api: { listen: 127.0.0.1:${o.apiPort}, token: "\${DNSQUORUM_API_TOKEN}" }
cluster:
  peers:
${o.peers.map((p) => `    - { region: ${p.region}, url: "http://127.0.0.1:${p.port}" }`).join('\n')}
  secret: "\${DNSQUORUM_CLUSTER_SECRET}"
  quorum: majority
  staleAfter: ${STALE_AFTER_MS}ms
  warmup: 10s
  exchangeInterval: ${EXCHANGE_INTERVAL_MS}ms
sync: { interval: 1s, visibleTimeout: 5s }
providers:
  r53: { type: route53, endpoint: ${o.route53.endpoint} }
  ns1: { type: ns1, apiKey: "\${NS1_API_KEY}", endpoint: ${o.ns1.endpoint} }
zones:
  ${ZONE}:
    providers: [r53, ns1]
    records:
${records.join('\n')}
`;
}

/** Both backends on one port (the check's), at two loopback addresses. */
async function startBackends(): Promise<{ primary: Backend; secondary: Backend }> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const primary = await Backend.start(PRIMARY_HOST, 0);
    try {
      return { primary, secondary: await Backend.start(SECONDARY_HOST, primary.port) };
    } catch (err) {
      // That port is taken at the second address; try another pair.
      lastError = err;
      await primary.close();
    }
  }
  throw new Error(`could not listen on one port at both ${PRIMARY_HOST} and ${SECONDARY_HOST}`, { cause: lastError });
}

export async function startSetup(): Promise<Setup> {
  const closers: (() => Promise<void>)[] = [];
  const close = async (): Promise<void> => {
    for (const closer of closers.reverse()) {
      try {
        await closer();
      } catch {
        // Cleaning up goes on: every other part is still closed.
      }
    }
  };
  try {
    const dir = await mkdtemp(join(tmpdir(), 'dq-bench-failover-'));
    closers.push(() => rm(dir, { recursive: true, force: true }));
    const route53 = await FakeRoute53.start();
    closers.push(() => route53.close());
    const ns1 = await FakeNs1.start({ rateLimits: { GET: GENEROUS, PUT: GENEROUS, POST: GENEROUS, DELETE: GENEROUS } });
    closers.push(() => ns1.close());
    const r53Servers = route53.createZone(ZONE).nameservers.map(fqdn);
    const ns1Servers = ns1.createZone(ZONE).dnsServers.map(fqdn);
    const { primary, secondary } = await startBackends();
    closers.push(() => primary.close(), () => secondary.close());

    const ports = await freePorts(REGIONS.length);
    const portOf = (region: string): number => ports[REGIONS.indexOf(region as (typeof REGIONS)[number])] ?? 0;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      AWS_ACCESS_KEY_ID: 'AKIDDNSQUORUMBENCH',
      AWS_SECRET_ACCESS_KEY: 'dnsquorum-bench-secret',
      AWS_SESSION_TOKEN: '',
      AWS_REGION: '',
      AWS_PROFILE: '',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      NS1_API_KEY: ns1.apiKey,
      DNSQUORUM_API_TOKEN: API_TOKEN,
      DNSQUORUM_CLUSTER_SECRET: CLUSTER_SECRET,
      DNSQUORUM_API_URL: '',
      DNSQUORUM_REGION: '',
      DNSQUORUM_LOG_LEVEL: 'info',
      DNSQUORUM_CLOCK_SKEW_MS: '',
    };
    const replicas: Replica[] = [];
    closers.push(() => Promise.all(replicas.map((r) => r.stop())).then(() => undefined));
    for (const region of REGIONS) {
      const configFile = join(dir, `replica-${region}.yaml`);
      await writeFile(
        configFile,
        replicaConfig({
          region,
          stateDir: join(dir, `state-${region}`),
          apiPort: portOf(region),
          peers: REGIONS.filter((r) => r !== region).map((r) => ({ region: r, port: portOf(r) })),
          route53,
          ns1,
          r53Servers,
          ns1Servers,
          backendPort: primary.port,
        }),
      );
      replicas.push(
        Replica.spawn({ region, apiUrl: `http://127.0.0.1:${portOf(region)}`, token: API_TOKEN, configFile, env, keep: region === WRITER ? writerKeeps : () => false }),
      );
    }
    const writer = replicas.find((r) => r.region === WRITER);
    if (writer === undefined) throw new Error(`no replica for region ${WRITER}`);
    return { route53, ns1, primary, secondary, replicas, writer, close };
  } catch (err) {
    await close();
    throw err;
  }
}
