import { API_CLIENT_OPTIONS, API_TARGET_HELP, ApiClient, jsonLine, resolveApiTarget } from '../api-client.js';
import { parseStatusReport } from '../../control/api/status.js';
import type { CorruptStateFileStatus, DaemonStatusReport } from '../../control/api/status.js';
import type { OverrideView } from '../../control/overrides/wire.js';
import { describeAction } from '../../domain/override.js';
import type { ClusterStatus, EndpointStatus, PeerStatus } from '../../cluster/status.js';
import type { ProviderZoneStatus } from '../../sync/status.js';
import { parseCommand } from '../args.js';
import type { CommandSpec } from '../args.js';
import { ago, formatDuration, isoSeconds, oneLine, table } from '../format.js';
import type { CommandIo } from './io.js';

export { formatDuration } from '../format.js';

export const statusSpec: CommandSpec = {
  name: 'status',
  summary:
    "Shows the running daemon's state from its admin API: what each failover record serves and why, the manual\n" +
    'overrides in force, each provider per zone (in sync or lagging, last error, last write and how long it took to\n' +
    'become visible, drift, changes a guardrail holds back), the cluster (who writes, which peers are heard,\n' +
    "refused peer messages) and each endpoint's health with every region's verdict and its age.\n" +
    `${API_TARGET_HELP}\n` +
    'Exit 0: shown; 1: the API could not be reached or refused the request.',
  options: {
    ...API_CLIENT_OPTIONS,
    json: { type: 'boolean', description: 'print the report as the API gave it (JSON)' },
  },
};

export async function statusCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseCommand(statusSpec, argv);
  if (values.help === true) {
    io.out(io.help(statusSpec));
    return 0;
  }
  const client = new ApiClient(await resolveApiTarget('status', values));
  const { text, json } = await client.get('v1/status');
  const report = parseStatusReport(json);
  io.out(values.json === true ? jsonLine(text) : formatStatusReport(report));
  return 0;
}

// ---- the report for people ----





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

/** "+1.2 s": the peer's clock minus this replica's, as last measured. */
function offsetCell(peer: PeerStatus): string {
  if (peer.clockOffsetMs === null) return '-';
  return `${peer.clockOffsetMs >= 0 ? '+' : '-'}${(Math.abs(peer.clockOffsetMs) / 1000).toFixed(1)} s${peer.refusesStale ? ' (refuses us: stale)' : ''}`;
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
      offsetCell(p),
    ]);
    lines.push(...table(['PEER', 'HEARD', 'MAY WRITE', 'SEES QUORUM', 'LAST SENT', 'LAST SEND ERROR', 'CLOCK OFFSET'], rows, '  '));
  }
  const refused = Object.entries(cluster.rejected)
    .filter(([, n]) => n > 0)
    .sort(([a], [b]) => a.localeCompare(b));
  lines.push(`  refused peer messages: ${refused.length === 0 ? 'none' : refused.map(([reason, n]) => `${reason} ${n}`).join(', ')}`);
  lines.push(
    `  clock skew: ${cluster.clockSkewed.length === 0 ? 'none' : `${cluster.clockSkewed.join(', ')} refuse${cluster.clockSkewed.length === 1 ? 's' : ''} this replica's messages as stale (clocks more than the replay window apart)`}`,
  );
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

function expiresCell(o: OverrideView, now: number): string {
  if (o.state !== 'active') return o.state;
  return o.expiresAt > now ? `in ${formatDuration(o.expiresAt - now)}` : 'now';
}

function overrideLines(overrides: readonly OverrideView[], now: number): string[] {
  if (overrides.length === 0) return ['  (none)'];
  const rows = [...overrides]
    .sort((a, b) => a.name.localeCompare(b.name) || a.type.localeCompare(b.type) || a.createdAt - b.createdAt)
    .map((o) => [o.id, `${o.name} ${o.type}`, describeAction(o.action), o.actor, oneLine(o.reason), expiresCell(o, now), o.forced ? 'yes' : 'no']);
  return table(['ID', 'RECORD', 'ACTION', 'BY', 'REASON', 'EXPIRES', 'FORCED'], rows, '  ');
}

/** A local provider's state file that did not load at this start, and what became of it. */
function corruptStateFileLine(file: CorruptStateFileStatus, now: number): string {
  const found = `${file.provider}: state file ${file.path} did not load at start (${ago(file.at, now)}): ${file.problem}`;
  return file.movedTo !== null
    ? `${found}; moved aside to ${file.movedTo}, its zones rebuilt from the config (state below)`
    : `${found}; could not be moved aside (${file.moveError ?? ''}): its zones are not served until it is moved away`;
}

/**
 * The status for people: the hold, the cluster, the endpoints, the failover records, the manual
 * overrides, then every provider per zone.
 */
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

  lines.push('', 'Overrides', ...overrideLines(report.overrides, now));

  lines.push('', 'Providers');
  for (const file of report.corruptStateFiles ?? []) lines.push(`  ${corruptStateFileLine(file, now)}`);
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
      for (const r of z.refused ?? []) {
        const fix = r.forceable ? '`sync --apply --force` writes it' : 'never written';
        lines.push(`    ${p.provider} holds back (${r.rule}, since ${ago(r.since, now)}; ${fix}): ${oneLine(r.message)} [${r.records.join(', ')}]`);
      }
    }
  }
  return `${lines.join('\n')}\n`;
}
