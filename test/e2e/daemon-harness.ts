import { once } from 'node:events';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, vi } from 'vitest';
import { parseStatusReport } from '../../src/control/api/status.js';
import type { DaemonStatusReport } from '../../src/control/api/status.js';
import { answerValues, queryDns } from '../../src/lib/dns-query.js';
import type { ProviderZoneStatus } from '../../src/sync/status.js';
import { exited, startCli } from '../helpers/cli.js';
import { startTwoFakes } from './two-fakes.js';
import type { TwoFakes } from './two-fakes.js';

/**
 * What the daemon acceptance tests share: a real `dnsquorum run` process writing to the fake
 * Route53 and the fake NS1 (in the test process, each serving its zones over DNS on loopback and
 * reached through `resolve:`), with real HTTP probe targets on loopback addresses, watched through
 * its admin API, its log lines and the fakes' own state and request logs.
 */

export const ZONE = 'example.com';
export const API_TOKEN = 'daemon-acceptance-token-5f1d';
/** Every wait for the daemon is bounded; each one names what it waits for. */
export const WAIT = { timeout: 30_000, interval: 50 } as const;

// ---- records ----

/** A static record as the config names it (relative name) and as it must end up at every provider. */
export interface StaticRecord {
  readonly name: string;
  readonly type: 'A' | 'AAAA' | 'CNAME' | 'MX';
  readonly ttl: number;
  readonly values: readonly string[];
}

/** `count` static records of several types: A hosts, then one each of CNAME, AAAA and MX. */
export function staticRecords(count: number): StaticRecord[] {
  const extra: StaticRecord[] = [
    { name: 'www', type: 'CNAME', ttl: 300, values: ['edge.example.net.'] },
    { name: 'v6', type: 'AAAA', ttl: 600, values: ['2001:db8::1', '2001:db8::2'] },
    { name: 'mail', type: 'MX', ttl: 900, values: ['10 mx1.example.net.', '20 mx2.example.net.'] },
  ];
  const hosts = Array.from({ length: count - extra.length }, (_, i): StaticRecord => ({
    name: `host${i}`,
    type: 'A',
    ttl: 60 + (i % 5) * 60,
    values: [`10.${Math.floor(i / 250)}.${i % 250}.1`],
  }));
  return [...hosts, ...extra];
}

function recordYaml(r: StaticRecord): string {
  return `      ${r.name}: { type: ${r.type}, ttl: ${r.ttl}, values: [${r.values.map((v) => JSON.stringify(v)).join(', ')}] }`;
}

/** A failover A record: one primary and one secondary address, probed over HTTP on `port`. */
export interface FailoverRecord {
  readonly name: string;
  readonly port: number;
  readonly primary: string;
  readonly secondary: string;
}

export const FAILOVER_TTL = 30;

function failoverYaml(r: FailoverRecord): string {
  return [
    `      ${r.name}:`,
    '        type: A',
    `        ttl: ${FAILOVER_TTL}`,
    '        failover:',
    `          check: { protocol: http, port: ${r.port}, path: /healthz, expect: 200, interval: 200ms, timeout: 150ms, fall: 2, rise: 2 }`,
    '          pools:',
    `            - { name: primary, values: [${r.primary}] }`,
    `            - { name: secondary, values: [${r.secondary}] }`,
  ].join('\n');
}

// ---- probe targets ----

/** An HTTP health endpoint on one loopback address; answers 200 on /healthz until stopped. */
export interface ProbeTarget {
  readonly address: string;
  stop(): Promise<void>;
}

function healthServer(): Server {
  return createServer((req, res) => {
    res.writeHead(req.url === '/healthz' ? 200 : 404, { 'content-type': 'text/plain' }).end('ok\n');
  });
}

async function listenOn(server: Server, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      reject(err);
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

async function closeServer(server: Server): Promise<void> {
  if (!server.listening) return;
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
}

function target(server: Server, address: string): ProbeTarget {
  return { address, stop: () => closeServer(server) };
}

const SAME_PORT_TRIES = 20;

/**
 * Two health endpoints on two loopback addresses sharing one ephemeral port (a failover record has
 * one check port for all its values): the first address picks the port, the second takes the same
 * one; when that port is taken there, both are given up and tried again.
 */
export async function startProbePair(primary: string, secondary: string): Promise<{ port: number; primary: ProbeTarget; secondary: ProbeTarget }> {
  for (let attempt = 1; ; attempt++) {
    const first = healthServer();
    const second = healthServer();
    const port = await listenOn(first, primary, 0);
    try {
      await listenOn(second, secondary, port);
      return { port, primary: target(first, primary), secondary: target(second, secondary) };
    } catch (err) {
      await closeServer(first);
      if (attempt >= SAME_PORT_TRIES || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }
}

/** One health endpoint on `address`:`port` again (after a stop), as a target comes back up. */
export async function startProbeTarget(address: string, port: number): Promise<ProbeTarget> {
  const server = healthServer();
  await listenOn(server, address, port);
  return target(server, address);
}

// ---- fakes ----

/** Both fakes with the zone created, so its name servers are known before the config is written. */
export type Fakes = TwoFakes;

export function startFakes(): Promise<Fakes> {
  return startTwoFakes(ZONE);
}

export interface ConfigOptions {
  readonly stateDir: string;
  readonly fakes: Fakes;
  readonly drift: 'repair' | 'report';
  readonly records: readonly StaticRecord[];
  readonly failover: readonly FailoverRecord[];
}

/** A config with short timings: DNS comparison every second, the API read only when DNS differs. */
export function daemonConfig(o: ConfigOptions): string {
  const { route53, ns1 } = o.fakes;
  const resolve = [
    ...o.fakes.r53Servers.map((s) => `  ${s.slice(0, -1)}: ${route53.dnsAddress.host}:${route53.dnsAddress.port}`),
    ...o.fakes.ns1Servers.map((s) => `  ${s.slice(0, -1)}: ${ns1.dnsAddress.host}:${ns1.dnsAddress.port}`),
  ];
  return `region: test
stateDir: ${o.stateDir}
resolve:
${resolve.join('\n')}
api: { listen: 127.0.0.1:0, token: "\${DNSQUORUM_API_TOKEN}" }
cluster: { warmup: 5s }
sync: { interval: 1s, readInterval: 10m, visibleTimeout: 5s }
providers:
  r53: { type: route53, endpoint: ${route53.endpoint}, rateLimit: 200, insyncPollInterval: 10ms, requestTimeout: 5s }
  ns1: { type: ns1, apiKey: "\${NS1_API_KEY}", endpoint: ${ns1.endpoint}, requestTimeout: 5s }
zones:
  ${ZONE}:
    providers: [r53, ns1]
    nameservers: sync
    drift: ${o.drift}
    records:
${o.records.map(recordYaml).join('\n')}
${o.failover.map(failoverYaml).join('\n')}
`;
}

/** What the daemon and the CLI need from the environment: dummy AWS keys (the fake ignores them), the NS1 key, the API token. */
export function daemonEnv(fakes: Fakes): NodeJS.ProcessEnv {
  return { ...fakes.env, DNSQUORUM_API_TOKEN: API_TOKEN, DNSQUORUM_API_URL: '', DNSQUORUM_REGION: '', DNSQUORUM_LOG_LEVEL: 'info' };
}

// ---- the daemon ----

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly provider?: string;
  readonly [key: string]: unknown;
}

export interface RunningDaemon {
  /** "http://127.0.0.1:PORT" of its admin API. */
  readonly apiUrl: string;
  /** Its JSON log lines so far. */
  logs(): LogLine[];
  /** GET /v1/status, checked against the status schema. */
  status(): Promise<DaemonStatusReport>;
  /** SIGTERM, then the exit code (SIGKILL if it does not stop within 15 s). */
  stop(): Promise<number | null>;
  /** Sends a signal (SIGHUP to reload). */
  signal(name: NodeJS.Signals): void;
  /** Resolves with the exit code once the process has exited on its own. */
  exited(): Promise<number | null>;
}

function parseLines(lines: readonly string[]): LogLine[] {
  const out: LogLine[] = [];
  for (const line of lines) {
    try {
      const parsed = JSON.parse(line) as unknown;
      if (typeof parsed === 'object' && parsed !== null && 'msg' in parsed && 'level' in parsed) out.push(parsed as LogLine);
    } catch {
      // Not a log line (none expected); the JSON ones are what the tests read.
    }
  }
  return out;
}

const STOP_GRACE_MS = 15_000;

/** `dnsquorum run` as a real process; resolves once its admin API listens. */
export async function startDaemon(configFile: string, env: NodeJS.ProcessEnv): Promise<RunningDaemon> {
  const daemon = startCli(['run', '--config', configFile], { env });
  const logs = (): LogLine[] => parseLines(daemon.lines);
  let listen: string;
  try {
    listen = await vi.waitFor(() => {
      if (daemon.child.exitCode !== null) throw new Error(`the daemon exited (${daemon.child.exitCode}): ${daemon.stderr.join('')}${daemon.lines.join('\n')}`);
      const line = logs().find((l) => l.msg === 'admin API listening');
      if (typeof line?.listen !== 'string') throw new Error('the admin API is not listening yet');
      return line.listen;
    }, WAIT);
  } catch (err) {
    // Nobody else holds the process yet: it must not outlive the failed start.
    daemon.child.kill('SIGKILL');
    throw err;
  }
  const apiUrl = `http://${listen}`;
  return {
    apiUrl,
    logs,
    status: async () => {
      const response = await fetch(`${apiUrl}/v1/status`, { headers: { authorization: `Bearer ${API_TOKEN}` }, signal: AbortSignal.timeout(5000) });
      const text = await response.text();
      if (response.status !== 200) throw new Error(`GET /v1/status answered ${response.status}: ${text}`);
      return parseStatusReport(JSON.parse(text) as unknown);
    },
    signal: (name) => {
      daemon.child.kill(name);
    },
    exited: () => (daemon.child.exitCode !== null || daemon.child.signalCode !== null ? Promise.resolve(daemon.child.exitCode) : exited(daemon.child)),
    stop: async () => {
      if (daemon.child.exitCode !== null || daemon.child.signalCode !== null) return daemon.child.exitCode;
      daemon.child.kill('SIGTERM');
      const timer = setTimeout(() => daemon.child.kill('SIGKILL'), STOP_GRACE_MS);
      try {
        return await exited(daemon.child);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** One provider's status for the zone; fails the wait when the provider or zone is missing. */
export function zoneStatus(report: DaemonStatusReport, provider: string): ProviderZoneStatus {
  const zone = report.providers.find((p) => p.provider === provider)?.zones.find((z) => z.zone === `${ZONE}.`);
  if (zone === undefined) throw new Error(`no status for ${provider} / ${ZONE}. in ${JSON.stringify(report.providers)}`);
  return zone;
}

/** The "drift:" warnings (pino level 40) the daemon logged about `provider`. */
export function driftLines(logs: readonly LogLine[], provider: string): LogLine[] {
  return logs.filter((l) => l.level === 40 && l.msg.startsWith('drift:') && l.provider === provider);
}

// ---- what the fakes hold ----

/** One value, comparable across providers: lowercase, no trailing dots on host names. */
function canonicalValue(value: string): string {
  return value
    .split(/\s+/)
    .map((token) => (token.length > 1 ? token.replace(/\.$/, '') : token))
    .join(' ')
    .toLowerCase();
}

function canonicalSet(name: string, type: string, ttl: number, values: readonly string[]): string {
  const fqdnName = name.endsWith('.') ? name.toLowerCase() : `${name.toLowerCase()}.`;
  return `${fqdnName} ${type} ${ttl} ${values.map(canonicalValue).sort().join(' | ')}`;
}

/** Every record set Route53 holds for the zone but the SOA (the provider's own), as "name TYPE ttl v | v". */
export function heldAtRoute53(fakes: Fakes): string[] {
  return fakes.route53
    .zoneRecords(ZONE)
    .filter((rs) => rs.type !== 'SOA')
    .map((rs) => canonicalSet(rs.name, rs.type, rs.ttl, rs.values))
    .sort();
}

/** The same for NS1, whose answers are field lists ([10, "mx.example.net"]). */
export function heldAtNs1(fakes: Fakes): string[] {
  return fakes.ns1
    .zoneRecords(ZONE)
    .filter((r) => r.type !== 'SOA')
    .map((r) => canonicalSet(r.domain, r.type, r.ttl, r.answers.map((a) => a.answer.map(String).join(' '))))
    .sort();
}

/** The values (without the TTL) a provider holds for one record set (fake state), or undefined when it has none. */
export function heldValues(held: readonly string[], name: string, type: string): string | undefined {
  const prefix = `${name}.${ZONE}. ${type} `;
  return held.find((line) => line.startsWith(prefix))?.slice(prefix.length).replace(/^\d+ /, '');
}

/** Long enough for a test's waits to fail with their own message rather than the test's timeout. */
export const TEST_TIMEOUT_MS = 60_000;

/** What every provider must hold: the static records, each failover record's serving value, and the apex NS of all 8 servers. */
export function desiredSets(fakes: Fakes, records: readonly StaticRecord[], serving: ReadonlyMap<string, string>, nameserverTtl = 3600): string[] {
  return [
    ...records.map((r) => canonicalSet(`${r.name}.${ZONE}`, r.type, r.ttl, r.values)),
    ...[...serving].map(([name, value]) => canonicalSet(`${name}.${ZONE}`, 'A', FAILOVER_TTL, [value])),
    canonicalSet(ZONE, 'NS', nameserverTtl, [...fakes.r53Servers, ...fakes.ns1Servers]),
  ].sort();
}

/** The A values one fake's DNS server answers for `name` (asked over UDP, as a resolver would). */
export async function servedOverDns(server: { host: string; port: number }, name: string): Promise<string[]> {
  return answerValues((await queryDns(server, `${name}.${ZONE}`, 'A')).packet, 'A');
}

/** Fails with the difference when a fake does not hold exactly the desired record sets. */
export function expectHolds(held: readonly string[], desired: readonly string[]): void {
  expect(held.filter((line) => !desired.includes(line)), 'held but not desired').toEqual([]);
  expect(desired.filter((line) => !held.includes(line)), 'desired but not held').toEqual([]);
}
