import { access, readFile } from 'node:fs/promises';
import { loadConfigFile } from '../../config/load.js';
import type { HostPort, ResolvedConfig } from '../../config/types.js';
import { API_TOKEN_NAME } from '../../config/schema.js';
import { parseStatusReport } from '../../control/status.js';
import type { DaemonStatusReport } from '../../control/status.js';
import { DnsQuorumError, ERROR_CODES, UsageError, errorMessage } from '../../lib/errors.js';
import type { ErrorCode } from '../../lib/errors.js';
import type { ClusterStatus, EndpointStatus, PeerStatus } from '../../cluster/status.js';
import type { ProviderZoneStatus } from '../../sync/status.js';
import { configPath, parseCommand, stringOption } from '../args.js';
import type { CommandSpec } from '../args.js';
import type { CommandIo } from './io.js';

/** The daemon answers from memory; anything slower means it is stuck or the address is wrong. */
const FETCH_TIMEOUT_MS = 5_000;

export const statusSpec: CommandSpec = {
  name: 'status',
  summary:
    "Shows the running daemon's state from its admin API: what each failover record serves and why, each\n" +
    'provider per zone (in sync or lagging, last error, last write and how long it took to become visible, drift),\n' +
    "the cluster (who writes, which peers are heard, refused peer messages) and each endpoint's health with every\n" +
    "region's verdict and its age.\n" +
    "API address: --api, else $DNSQUORUM_API_URL, else the config's api.listen. Token: $DNSQUORUM_API_TOKEN,\n" +
    "else --token-file, else the config's api.token.\n" +
    'Exit 0: shown; 1: the API could not be reached or refused the request.',
  options: {
    api: { type: 'string', valueName: 'URL', description: 'admin API base URL, e.g. http://127.0.0.1:8053' },
    'token-file': { type: 'string', valueName: 'FILE', description: 'file holding the admin API token' },
    json: { type: 'boolean', description: 'print the report as the API gave it (JSON)' },
  },
};

function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** The address a client uses for api.listen: a wildcard listen address is reached on loopback. */
function apiUrlFromListen(listen: HostPort): string {
  const host = listen.host === '0.0.0.0' ? '127.0.0.1' : listen.host === '::' ? '::1' : listen.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${listen.port}`;
}

function statusUrl(base: string, from: string): URL {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new UsageError(`status: ${from} ${JSON.stringify(base)} is not a URL (expected e.g. http://127.0.0.1:8053)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`status: ${from} ${base}: only http: and https: URLs are supported`);
  // Relative resolution keeps a path prefix (a reverse proxy mounting the API under /dnsquorum/).
  return new URL('v1/status', url.href.endsWith('/') ? url.href : `${url.href}/`);
}

interface Target {
  readonly url: URL;
  readonly token: string | undefined;
  /** Where the token came from, for error messages. */
  readonly tokenFrom: string;
}

async function resolveTarget(values: Readonly<Record<string, string | boolean | undefined>>): Promise<Target> {
  const apiFlag = stringOption(values, 'api');
  const apiEnv = process.env.DNSQUORUM_API_URL;
  const tokenEnv = process.env.DNSQUORUM_API_TOKEN;
  const tokenFile = stringOption(values, 'token-file');
  const path = configPath(values);

  const needConfigForUrl = apiFlag === undefined && (apiEnv === undefined || apiEnv === '');
  const needConfigForToken = (tokenEnv === undefined || tokenEnv === '') && tokenFile === undefined;
  let config: ResolvedConfig | undefined;
  if (needConfigForUrl) {
    if (!(await exists(path))) {
      throw new UsageError(`status: no admin API address: pass --api URL, set DNSQUORUM_API_URL, or point --config at the daemon's config (${path}: no such file)`);
    }
    config = await loadConfigFile(path);
  } else if (needConfigForToken && (await exists(path))) {
    config = await loadConfigFile(path);
  }

  const url =
    apiFlag !== undefined ? statusUrl(apiFlag, '--api') : apiEnv !== undefined && apiEnv !== '' ? statusUrl(apiEnv, 'DNSQUORUM_API_URL') : statusUrl(apiUrlFromListen(requireConfig(config).api.listen), 'api.listen');

  if (tokenEnv !== undefined && tokenEnv !== '') return { url, token: tokenEnv, tokenFrom: 'DNSQUORUM_API_TOKEN' };
  if (tokenFile !== undefined) return { url, token: await readTokenFile(tokenFile), tokenFrom: `--token-file ${tokenFile}` };
  const configToken = config?.api.tokens.get(API_TOKEN_NAME);
  if (config !== undefined && configToken !== undefined) return { url, token: configToken, tokenFrom: `api.token in ${config.source}` };
  return { url, token: undefined, tokenFrom: 'nowhere (set DNSQUORUM_API_TOKEN or pass --token-file)' };
}

function requireConfig(config: ResolvedConfig | undefined): ResolvedConfig {
  if (config === undefined) throw new DnsQuorumError('DQ_INTERNAL', 'status: the config was needed for the API address but not loaded');
  return config;
}

async function readTokenFile(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
    throw new UsageError(`status: cannot read --token-file ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : errorMessage(err)}`);
  }
  const token = text.trim();
  if (token === '') throw new UsageError(`status: --token-file ${file} is empty`);
  return token;
}

/** Why a fetch failed, in words: undici hides the socket error in `cause`. */
function fetchFailure(err: unknown): string {
  if (err instanceof Error && err.name === 'TimeoutError') return `no answer within ${FETCH_TIMEOUT_MS / 1000} s`;
  const cause = err instanceof Error ? err.cause : undefined;
  if (typeof cause === 'object' && cause !== null && 'code' in cause && typeof cause.code === 'string') {
    const words: Record<string, string> = {
      ECONNREFUSED: 'connection refused (is the daemon running, and is api.listen this address?)',
      ECONNRESET: 'the connection was reset',
      ENOTFOUND: 'no such host',
      EHOSTUNREACH: 'host unreachable',
      ETIMEDOUT: 'the connection timed out',
    };
    return words[cause.code] ?? `${cause.code}: ${errorMessage(cause)}`;
  }
  return errorMessage(cause ?? err);
}

/** The API's `{ error: { code, message } }`, when the answer has that shape. */
function apiError(text: string): { code: string; message: string } | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || !('error' in parsed)) return undefined;
    const { error } = parsed;
    if (typeof error !== 'object' || error === null || !('code' in error) || !('message' in error)) return undefined;
    return typeof error.code === 'string' && typeof error.message === 'string' ? { code: error.code, message: error.message } : undefined;
  } catch {
    return undefined;
  }
}

async function fetchStatus(target: Target): Promise<{ text: string; json: unknown }> {
  const where = target.url.href;
  let response: Response;
  let text: string;
  try {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (target.token !== undefined) headers.authorization = `Bearer ${target.token}`;
    response = await fetch(target.url, { headers, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'error' });
    text = await response.text();
  } catch (err) {
    throw new DnsQuorumError('DQ_API_UNREACHABLE', `cannot reach the admin API at ${where}: ${fetchFailure(err)}`, { cause: err });
  }
  if (!response.ok) {
    const error = apiError(text);
    if (error === undefined) {
      throw new DnsQuorumError('DQ_API_BAD_ANSWER', `the admin API at ${where} answered HTTP ${response.status} without an error body (is this the dnsquorum admin API?)`);
    }
    const hint = response.status === 401 ? ` (token from ${target.tokenFrom})` : '';
    throw new DnsQuorumError(isErrorCode(error.code) ? error.code : 'DQ_API_BAD_ANSWER', `${error.message}${hint}`);
  }
  try {
    return { text, json: JSON.parse(text) as unknown };
  } catch (err) {
    throw new DnsQuorumError('DQ_API_BAD_ANSWER', `the admin API at ${where} answered with invalid JSON: ${errorMessage(err)}`);
  }
}

export async function statusCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseCommand(statusSpec, argv);
  if (values.help === true) {
    io.out(io.help(statusSpec));
    return 0;
  }
  const target = await resolveTarget(values);
  const { text, json } = await fetchStatus(target);
  const report = parseStatusReport(json);
  io.out(values.json === true ? (text.endsWith('\n') ? text : `${text}\n`) : formatStatusReport(report));
  return 0;
}

// ---- the report for people ----

/** "0s", "850ms", "12.3s", "4m 10s", "2h 3m", "3d 4h" */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(Math.round(ms / 100) / 10).toString()}s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
}

function ago(at: number, now: number): string {
  const d = now - at;
  return d >= 0 ? `${formatDuration(d)} ago` : `in ${formatDuration(-d)}`;
}

function isoSeconds(at: number): string {
  return new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Columns padded to the widest cell; the last column is not padded, so no line ends in spaces. */
function table(header: readonly string[], rows: readonly (readonly string[])[], indent = ''): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    indent + cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

function stateCell(z: ProviderZoneStatus, now: number): string {
  const parts: string[] = [z.state];
  if (z.consecutiveFailures > 0) parts.push(`${z.consecutiveFailures} failed in a row`);
  if (z.state !== 'in-sync' && z.nextPassAt !== null) parts.push(`next pass ${ago(z.nextPassAt, now)}`);
  return parts.length === 1 ? z.state : `${z.state} (${parts.slice(1).join(', ')})`;
}

function writeCell(z: ProviderZoneStatus, now: number): string {
  const w = z.lastWrite;
  if (w === null) return '-';
  const head = `${w.changes} change${w.changes === 1 ? '' : 's'} ${ago(w.at, now)}`;
  const seen =
    w.visible === 'visible' && w.timeToVisibleMs !== null
      ? `visible in ${formatDuration(w.timeToVisibleMs)}`
      : w.visible === 'pending'
        ? 'not visible yet'
        : w.visible === 'timed-out'
          ? 'not visible in time'
          : 'superseded';
  return `${head}, ${seen}`;
}

function driftCell(z: ProviderZoneStatus): string {
  return `${z.drift.detected} found, ${z.drift.repaired} repaired, ${z.drift.current.length} now`;
}

/** A verdict's age, short enough to list one per region on a line: "0.4s", "12.0s", "4m 10s". */
function formatAge(ms: number): string {
  const d = Math.max(0, ms);
  return d < 60_000 ? `${(d / 1000).toFixed(1)}s` : formatDuration(d);
}

function yesNo(b: boolean): string {
  return b ? 'yes' : 'no';
}

function heardCell(peer: PeerStatus, now: number): string {
  if (peer.lastHeardAt === null) return 'never heard';
  const age = formatAge(Math.max(0, now - peer.lastHeardAt));
  return peer.fresh ? `fresh (${age} ago)` : `silent for ${age}`;
}

function clusterLines(cluster: ClusterStatus, now: number): string[] {
  const lines: string[] = [
    `  this region: ${cluster.region} (${cluster.writerCapable ? 'may write' : 'prober only'})`,
    `  writer: ${cluster.writer ?? 'none (no replica may write now)'}`,
    `  fresh regions: ${cluster.freshRegions.length} of ${cluster.peers.length + 1} (${cluster.freshRegions.join(', ') || 'none'}), quorum ${cluster.quorum}: ${cluster.seesQuorum ? 'sees quorum' : 'NO QUORUM in view'}`,
  ];
  if (cluster.peers.length === 0) lines.push('  peers: (none)');
  else {
    const rows = cluster.peers.map((p) => [
      p.region,
      heardCell(p, now),
      yesNo(p.writer),
      yesNo(p.seesQuorum),
      p.lastSentAt === null ? '-' : ago(p.lastSentAt, now),
      p.lastSendError ?? '-',
    ]);
    lines.push(...table(['PEER', 'HEARD', 'MAY WRITE', 'SEES QUORUM', 'LAST SENT', 'LAST SEND ERROR'], rows, '  '));
  }
  const refused = Object.entries(cluster.rejected)
    .filter(([, n]) => n > 0)
    .sort(([a], [b]) => a.localeCompare(b));
  lines.push(`  refused peer messages: ${refused.length === 0 ? 'none' : refused.map(([reason, n]) => `${reason} ${n}`).join(', ')}`);
  return lines;
}

function endpointStateCell(e: EndpointStatus): string {
  return e.insufficientVantage ? `${e.state} (too few regions)` : e.state;
}

/** "us-east up 0.4s  eu-west down 1.1s" */
function regionsCell(e: EndpointStatus): string {
  return e.regions.length === 0 ? '-' : e.regions.map((r) => `${r.region} ${r.state} ${formatAge(r.ageMs)}`).join('  ');
}

function endpointLines(endpoints: readonly EndpointStatus[], now: number): string[] {
  if (endpoints.length === 0) return ['  (none)'];
  const rows = [...endpoints]
    .sort((a, b) => a.endpointId.localeCompare(b.endpointId))
    .map((e) => [e.endpointId, endpointStateCell(e), ago(e.since, now), e.reason, regionsCell(e)]);
  return table(['ENDPOINT', 'STATE', 'SINCE', 'REASON', 'REGIONS (verdict, age)'], rows, '  ');
}

/** The status for people: the hold, the cluster, the endpoints, the failover records, then every provider per zone. */
export function formatStatusReport(report: DaemonStatusReport): string {
  const { now } = report;
  const lines: string[] = [
    `dnsquorum ${report.region}: ${report.state}, up ${formatDuration(Math.max(0, now - report.startedAt))} (since ${isoSeconds(report.startedAt)})`,
  ];
  if (report.hold !== null) lines.push(`writes held: ${report.hold}`);

  lines.push('', 'Cluster', ...clusterLines(report.cluster, now));
  lines.push('', 'Endpoints', ...endpointLines(report.endpoints, now));

  lines.push('', 'Failover records');
  if (report.records.length === 0) lines.push('  (none)');
  else {
    const rows = report.records.map((r) => [
      r.zone,
      r.name,
      r.type,
      r.pool ?? '-',
      r.values === null ? '(none)' : r.values.join(', '),
      r.cause,
      ago(r.since, now),
      r.reason,
    ]);
    lines.push(...table(['ZONE', 'RECORD', 'TYPE', 'POOL', 'VALUES', 'CAUSE', 'SINCE', 'REASON'], rows, '  '));
  }

  lines.push('', 'Providers');
  const zones = [...new Set(report.providers.flatMap((p) => p.zones.map((z) => z.zone)))].sort();
  if (zones.length === 0) lines.push('  (none)');
  for (const zone of zones) {
    lines.push(`  zone ${zone}`);
    const entries = report.providers.flatMap((p) => p.zones.filter((z) => z.zone === zone).map((z) => ({ p, z })));
    const rows = entries.map(({ p, z }) => [
      p.provider,
      p.type,
      stateCell(z, now),
      formatDuration(z.lagMs),
      writeCell(z, now),
      driftCell(z),
      z.lastError === null ? '-' : `${z.lastError.code}: ${z.lastError.message} (${ago(z.lastError.at, now)})`,
    ]);
    lines.push(...table(['PROVIDER', 'TYPE', 'STATE', 'LAG', 'LAST WRITE', 'DRIFT', 'LAST ERROR'], rows, '    '));
    for (const { p, z } of entries) {
      if (z.drift.current.length > 0) lines.push(`    ${p.provider} differs now (drift: report): ${z.drift.current.join(', ')}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
