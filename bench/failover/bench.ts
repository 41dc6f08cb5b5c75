import { setTimeout as sleep } from 'node:timers/promises';
import { percentile, table } from '../result.js';
import type { Bench, BenchResult } from '../result.js';
import type { LogLine } from './replicas.js';
import { CHECK, EXCHANGE_INTERVAL_MS, PRIMARY_HOST, RECORD_COUNT, SECONDARY_HOST, startSetup } from './setup.js';
import type { Setup } from './setup.js';
import { now, waitSteady, watchMove, writerIdle } from './watch.js';
import type { ProviderName } from './watch.js';

/**
 * bench/failover (issue 9, item 1): three real replicas, both fakes, 20 failover A records that all
 * share one primary and one secondary backend. Each trial cuts the primary backend and measures,
 * from the cut, (a) the writer's quorum decision, (b) both providers' APIs holding the secondary
 * for all 20 records, (c) every name server of both providers answering it over DNS. Then the
 * backend comes back and the records fail back (measured as a bonus) before the next trial.
 */

const FLOOR_MS = CHECK.intervalMs * CHECK.fall;
const TARGET_MS = FLOOR_MS + 1500;
const FAILBACK_FLOOR_MS = CHECK.intervalMs * CHECK.rise;
const FIRST_STEADY_MS = 60_000;
const MOVE_MS = 20_000;
const STEADY_MS = 20_000;
/** How long the log lines of a decision may trail behind the records moving (the pipe from the replica). */
const LOG_GRACE_MS = 3000;

interface Trial {
  /** ms after the cut: the first and the last of the 20 primary endpoints decided down by quorum at the writer. */
  readonly decisionFirst: number;
  readonly decisionAll: number;
  /** ms after the cut: the last record decision ("record ... now serves") at the writer. */
  readonly recordsDecided: number;
  readonly api: Readonly<Record<ProviderName, number>>;
  readonly dns: Readonly<Record<ProviderName, number>>;
  /** Writes ("applied N changes") per provider during the move, and when the last one ended (ms after the cut). */
  readonly writes: Readonly<Record<ProviderName, { readonly count: number; readonly lastEnd: number }>>;
  /** ms after the restore, when the records were back on the primary everywhere (undefined: not waited for). */
  failback?: { readonly api: number; readonly dns: number };
}

function isPrimaryDown(line: LogLine): boolean {
  const { endpoint, state } = line.fields;
  return line.msg.startsWith('endpoint ') && state === 'down' && typeof endpoint === 'string' && endpoint.endsWith(` ${PRIMARY_HOST}`);
}

/** Per endpoint, the first time the writer logged it down by quorum. */
function downTimes(lines: readonly LogLine[]): number[] {
  const first = new Map<string, number>();
  for (const line of lines) {
    if (!isPrimaryDown(line)) continue;
    const endpoint = String(line.fields.endpoint);
    if (!first.has(endpoint)) first.set(endpoint, line.at);
  }
  return [...first.values()];
}

/**
 * The writer's lines since the cut, once they tell the whole move: every endpoint decided and the
 * writer idle again (its last write logged). They come through a pipe, a little behind.
 */
async function writerLinesSince(setup: Setup, since: number, signal: AbortSignal): Promise<LogLine[]> {
  const deadline = now() + LOG_GRACE_MS;
  for (;;) {
    const idle = writerIdle(await setup.writer.status());
    const lines = setup.writer.lines(Math.floor(since));
    if ((idle && downTimes(lines).length >= RECORD_COUNT) || now() > deadline) return lines;
    await sleep(20, undefined, { signal });
  }
}

async function runTrial(setup: Setup, restoreAfter: boolean, signal: AbortSignal): Promise<Trial> {
  const cutAt = now();
  await setup.primary.cut();
  const moved = await watchMove(setup, SECONDARY_HOST, now() + MOVE_MS, signal);
  const lines = await writerLinesSince(setup, cutAt, signal);
  const downs = downTimes(lines);
  const after = (t: number): number => t - cutAt;
  const recordLines = lines.filter((l) => l.msg.startsWith('record ') && l.fields.pool === 'secondary');
  const writesOf = (provider: ProviderName): { count: number; lastEnd: number } => {
    // The writer was idle at the cut and nothing else changes until the restore: every write since is this move's.
    const applied = lines.filter((l) => l.msg.startsWith('applied ') && l.fields.provider === provider);
    return { count: applied.length, lastEnd: applied.length === 0 ? Number.NaN : after(Math.max(...applied.map((l) => l.at))) };
  };
  const trial: Trial = {
    decisionFirst: downs.length === 0 ? Number.NaN : after(Math.min(...downs)),
    decisionAll: downs.length < RECORD_COUNT ? Number.NaN : after(Math.max(...downs)),
    recordsDecided: recordLines.length === 0 ? Number.NaN : after(Math.max(...recordLines.map((l) => l.at))),
    api: { r53: after(moved.api.r53), ns1: after(moved.api.ns1) },
    dns: { r53: after(moved.dns.r53), ns1: after(moved.dns.ns1) },
    writes: { r53: writesOf('r53'), ns1: writesOf('ns1') },
  };
  if (restoreAfter) {
    const restoredAt = now();
    await setup.primary.restore();
    const back = await watchMove(setup, PRIMARY_HOST, now() + MOVE_MS, signal);
    trial.failback = { api: Math.max(back.api.r53, back.api.ns1) - restoredAt, dns: Math.max(back.dns.r53, back.dns.ns1) - restoredAt };
    await waitSteady(setup, PRIMARY_HOST, now() + STEADY_MS, signal);
  }
  return trial;
}

const seconds = (ms: number): string => (Number.isFinite(ms) ? (ms / 1000).toFixed(2) : 'n/a');
const ratio = (ms: number, floor: number): string => (Number.isFinite(ms) ? `${(ms / floor).toFixed(2)}x` : 'n/a');

function figureRow(label: string, values: readonly number[], floor: number): string[] {
  const known = values.filter(Number.isFinite);
  const [p50, p95, max] = [percentile(known, 50), percentile(known, 95), known.length === 0 ? Number.NaN : Math.max(...known)];
  return [label, seconds(p50), seconds(p95), seconds(max), ratio(p50, floor), ratio(p95, floor), ratio(max, floor), `${known.length}`];
}

function report(trials: readonly Trial[], out: (text: string) => void): number {
  const both = (t: Trial, key: 'api' | 'dns'): number => Math.max(t[key].r53, t[key].ns1);
  const header = ['from the cut of the primary backend to ...', 'p50 s', 'p95 s', 'max s', 'p50/floor', 'p95/floor', 'max/floor', 'n'];
  out(`floor = probe interval ${CHECK.intervalMs / 1000} s x fall ${CHECK.fall} = ${FLOOR_MS / 1000} s; target: p95 of (c) <= floor + 1.5 s = ${TARGET_MS / 1000} s\n\n`);
  out(
    table([
      header,
      figureRow('(a) quorum decision at the writer, all 20 endpoints', trials.map((t) => t.decisionAll), FLOOR_MS),
      figureRow('    first of the 20 endpoints', trials.map((t) => t.decisionFirst), FLOOR_MS),
      figureRow("(b) both providers' APIs hold it, all 20 records", trials.map((t) => both(t, 'api')), FLOOR_MS),
      figureRow('    Route53 API', trials.map((t) => t.api.r53), FLOOR_MS),
      figureRow('    NS1 API', trials.map((t) => t.api.ns1), FLOOR_MS),
      figureRow('(c) every name server answers it, all 20 records', trials.map((t) => both(t, 'dns')), FLOOR_MS),
      figureRow('    Route53 name servers', trials.map((t) => t.dns.r53), FLOOR_MS),
      figureRow('    NS1 name servers', trials.map((t) => t.dns.ns1), FLOOR_MS),
    ]),
  );
  out('(each fake serves all 4 of its name servers on one DNS address: every record is asked once per provider, and that answer is every name server\'s)\n\n');

  const median = (values: readonly number[]): string => seconds(percentile(values.filter(Number.isFinite), 50));
  const count = (values: readonly number[]): string => {
    const known = values.filter(Number.isFinite);
    return known.length === 0 ? 'n/a' : `${percentile(known, 50)} / ${Math.max(...known)}`;
  };
  out('where the time goes (p50 over the trials, s after the cut; writer = region a):\n');
  out(
    table([
      ['stage', 'p50 s'],
      ['first endpoint down by quorum', median(trials.map((t) => t.decisionFirst))],
      ['last endpoint down by quorum', median(trials.map((t) => t.decisionAll))],
      ['last record decision (record ... now serves)', median(trials.map((t) => t.recordsDecided))],
      ['last Route53 write done (incl. INSYNC)', median(trials.map((t) => t.writes.r53.lastEnd))],
      ['last NS1 write done', median(trials.map((t) => t.writes.ns1.lastEnd))],
      ['every name server answers', median(trials.map((t) => both(t, 'dns')))],
      ['write passes per move, Route53 (p50 / max)', count(trials.map((t) => t.writes.r53.count))],
      ['write passes per move, NS1 (p50 / max)', count(trials.map((t) => t.writes.ns1.count))],
    ]),
  );
  const failbacks = trials.flatMap((t) => (t.failback === undefined ? [] : [t.failback]));
  if (failbacks.length > 0) {
    out(`\nfailback (bonus): from the restore of the primary backend; floor = interval x rise = ${FAILBACK_FLOOR_MS / 1000} s\n`);
    out(
      table([
        ['from the restore to ...', 'p50 s', 'p95 s', 'max s', 'p50/floor', 'p95/floor', 'max/floor', 'n'],
        figureRow("both providers' APIs hold the primary", failbacks.map((f) => f.api), FAILBACK_FLOOR_MS),
        figureRow('every name server answers it', failbacks.map((f) => f.dns), FAILBACK_FLOOR_MS),
      ]),
    );
  }

  const p95c = percentile(trials.map((t) => both(t, 'dns')), 95);
  out('\nanchors (failover-anchors.md section 8) beside ours:\n');
  out(
    table([
      ['system', 'probe interval x threshold', 'detection / end-to-end'],
      ['Route53 health checks', 'fast 10 s x 3; default 30 s x 3', '~10-16 s fast, ~90 s default (+ DNS TTL; measured ~61 s)'],
      ['Azure Traffic Manager', 'fast 10 s; default 30 s x (3+1)', '"under 10 s" (fast, 0 tolerated, TTL 0)'],
      ['Cloudflare LB', 'Ent 10 s, Biz 15 s, Pro 60 s', '~10-25 s fast, ~60-75 s default'],
      ['gdnsd', '1 s min; default 10 s x 10', '~1 s fast (interval x down_thresh), ~100 s default'],
      ['PowerDNS LUA', '5 s x 1 default (1 s min)', '~5-7 s'],
      ['dnsquorum (this bench)', `${CHECK.intervalMs / 1000} s x ${CHECK.fall}, 3 regions, quorum 2`, `p95 ${seconds(p95c)} s to every name server (floor ${FLOOR_MS / 1000} s)`],
    ]),
  );
  return p95c;
}

export const failoverBench: Bench = async ({ quick, out }): Promise<BenchResult> => {
  const trialCount = quick ? 3 : 20;
  // Bounded whatever happens: every wait below also has its own deadline.
  const signal = AbortSignal.timeout(quick ? 90_000 : 300_000);
  const startedAt = now();
  const setup = await startSetup();
  try {
    out(`3 replicas (regions a, b, c; quorum 2; exchangeInterval ${EXCHANGE_INTERVAL_MS} ms), both fakes, ${RECORD_COUNT} failover A records sharing one primary (${PRIMARY_HOST}) and one secondary (${SECONDARY_HOST}) backend\n`);
    out(`check: http every ${CHECK.intervalMs} ms, timeout ${CHECK.timeoutMs} ms, fall ${CHECK.fall}, rise ${CHECK.rise}; sync.interval 1 s; ${trialCount} trials\n`);
    await waitSteady(setup, PRIMARY_HOST, now() + FIRST_STEADY_MS, signal);
    out(`steady after ${seconds(now() - startedAt)} s (daemon start, warm-up, first sync)\n`);
    const trials: Trial[] = [];
    for (let i = 0; i < trialCount; i++) {
      // The last trial's failback is not waited for: nothing comes after it.
      const trial = await runTrial(setup, i < trialCount - 1, signal);
      trials.push(trial);
      out(
        `trial ${String(i + 1).padStart(2)}: (a) ${seconds(trial.decisionAll)} s  (b) ${seconds(Math.max(trial.api.r53, trial.api.ns1))} s  (c) ${seconds(Math.max(trial.dns.r53, trial.dns.ns1))} s` +
          `  writes r53 ${trial.writes.r53.count}, ns1 ${trial.writes.ns1.count}${trial.failback === undefined ? '' : `  failback ${seconds(trial.failback.dns)} s`}\n`,
      );
    }
    out('\n');
    const p95c = report(trials, out);
    return {
      name: 'failover',
      figure: `p95 ${seconds(p95c)} s from the cut to every name server of both providers (${trialCount} trials, floor ${FLOOR_MS / 1000} s)`,
      target: `p95 <= floor + 1.5 s = ${TARGET_MS / 1000} s`,
      ok: p95c <= TARGET_MS,
    };
  } finally {
    await setup.close();
  }
};
