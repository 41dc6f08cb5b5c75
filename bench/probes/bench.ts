import type { ChildProcess } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { table } from '../result.js';
import type { Bench, BenchResult } from '../result.js';
import { forkSibling, nextMessage, stopChild } from './ipc.js';
import type { LoadFigures, LoadPlan } from './ipc.js';

/**
 * bench/probes (issue 9, item 2): how many HTTP probes per second one prober process sustains, and
 * what they cost. 5,000 endpoints probed every second (the fastest interval the anchors offer,
 * and timeout below interval as the config demands) against loopback servers in a child process;
 * the real ProbeScheduler and createProber in a second child, whose CPU and RSS are the figures.
 *
 * BENCH_PROBES_CPU_PROF=DIR runs the prober with `node --cpu-prof --cpu-prof-dir=DIR`.
 */

const ENDPOINTS = 5_000;
const INTERVAL_MS = 1_000;
const TIMEOUT_MS = 500;
/** As the daemon runs it (src/main.ts MAX_CONCURRENT_PROBES). */
const MAX_CONCURRENT = 512;
const ASKED_PER_SECOND = (ENDPOINTS * 1000) / INTERVAL_MS;

const TARGET_PER_CORE = 4_000;
const TARGET_P99_LATENESS_MS = 250;
const TARGET_RSS_MB = 300;
/** Below this share of the asked rate the run did not put the load on the prober that it claims to. */
const MIN_SHARE_OF_ASKED_RATE = 0.95;

const CHILD_START_MS = 15_000;
const CHILD_STOP_MS = 10_000;

const MB = 1024 * 1024;
const fixed = (n: number, digits: number): string => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
const whole = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');

export const probesBench: Bench = async ({ quick, out }) => {
  const warmupMs = quick ? 2_000 : 5_000;
  const windowMs = quick ? 8_000 : 40_000;
  const children: ChildProcess[] = [];
  try {
    const targets = forkSibling('./targets.js');
    children.push(targets);
    const { listeners } = await nextMessage(targets, 'targets-ready', CHILD_START_MS);

    const profileDir = process.env['BENCH_PROBES_CPU_PROF'];
    const load = forkSibling('./load.js', profileDir === undefined || profileDir === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]);
    children.push(load);
    const plan: LoadPlan = { kind: 'load-plan', listeners, endpoints: ENDPOINTS, intervalMs: INTERVAL_MS, timeoutMs: TIMEOUT_MS, maxConcurrent: MAX_CONCURRENT, warmupMs, windowMs };
    const figuresComing = nextMessage(load, 'load-figures', CHILD_START_MS + warmupMs + windowMs + CHILD_START_MS);
    load.send(plan);
    out(
      `${ENDPOINTS.toLocaleString('en-US')} HTTP endpoints every ${INTERVAL_MS} ms (timeout ${TIMEOUT_MS} ms, maxConcurrent ${MAX_CONCURRENT}) ` +
        `= ${ASKED_PER_SECOND.toLocaleString('en-US')} probes/s asked, on ${listeners.length} loopback HTTP servers in another process; ` +
        `warm-up ${warmupMs / 1000} s, measured ${windowMs / 1000} s\n\n`,
    );
    const figures = await figuresComing;
    // Lateness is sensitive to anything else running: say how busy the machine was.
    const [oneMinute] = loadavg();
    out(`machine: ${availableParallelism()} cores, load average ${fixed(oneMinute ?? Number.NaN, 2)} at the end of the window\n\n`);
    return report(figures, out);
  } finally {
    await Promise.all(children.map((child) => stopChild(child, CHILD_STOP_MS)));
  }
};

function report(f: LoadFigures, out: (text: string) => void): BenchResult {
  const perSecond = f.completed / f.windowSeconds;
  const cores = f.cpuSeconds / f.windowSeconds;
  const perCore = perSecond / cores;
  const cpuPerThousand = (f.cpuSeconds / f.completed) * 1000;
  const rssMb = f.rssPeakBytes / MB;

  out(
    table([
      ['', 'probes/s', 'CPU cores used', 'probes/s per core', 'CPU s per 1,000', 'p99 lateness', 'peak RSS'],
      ['dnsquorum (this run)', whole(perSecond), fixed(cores, 2), whole(perCore), fixed(cpuPerThousand, 3), `${whole(f.latenessMs.p99)} ms`, `${whole(rssMb)} MB`],
      ['CoreDNS-GSLB (Go, published)', '2,000', '~0.5', '~4,000', '~0.25', '-', '433 MB'],
      ['Uptime Kuma (Node, published)', '~12-23 (struggles)', '-', '-', '-', '-', '-'],
      ['target', `${whole(ASKED_PER_SECOND)} asked`, '-', `>= ${whole(TARGET_PER_CORE)}`, `<= ${fixed(1000 / TARGET_PER_CORE, 3)}`, `< ${TARGET_P99_LATENESS_MS} ms`, `< ${TARGET_RSS_MB} MB`],
    ]),
  );
  out('\n');
  const failures = f.failures.length === 0 ? 'none' : f.failures.map(([detail, count]) => `${count} x ${detail}`).join('; ');
  out(
    table([
      ['detail', 'value'],
      ['window', `${fixed(f.windowSeconds, 1)} s`],
      ['probes started / completed / failed', `${whole(f.started)} / ${whole(f.completed)} / ${whole(f.failed)}`],
      ['turns skipped (previous probe in flight)', whole(f.skippedInFlight)],
      ['probes that waited for a free slot', whole(f.waitedForSlot)],
      ['lateness p50 / p99 / max', `${whole(f.latenessMs.p50)} / ${whole(f.latenessMs.p99)} / ${whole(f.latenessMs.max)} ms`],
      ['probe latency p50 / p99', `${fixed(f.probeLatencyMs.p50, 0)} / ${fixed(f.probeLatencyMs.p99, 0)} ms`],
      ['event-loop utilization', `${fixed(f.loopUtilization * 100, 0)}%`],
      ['event-loop delay p50 / p99 / max', `${fixed(f.loopDelayMs.p50, 1)} / ${fixed(f.loopDelayMs.p99, 1)} / ${fixed(f.loopDelayMs.max, 1)} ms`],
      ['CPU seconds in window (of which kernel)', `${fixed(f.cpuSeconds, 2)} (${fixed(f.cpuSystemSeconds, 2)})`],
      ['RSS before start / peak', `${whole(f.rssBaselineBytes / MB)} / ${whole(rssMb)} MB`],
      ['heap used, peak', `${whole(f.heapPeakBytes / MB)} MB`],
    ]),
  );
  out(`failures: ${failures}\n`);

  // A loop busy most of the window on much less than that share of a core was runnable but not
  // running: other processes had the CPUs, and lateness then measures the machine, not the prober.
  if (f.loopUtilization > 0.8 && cores < 0.7 * f.loopUtilization) {
    out(`note: the prober's event loop was busy ${fixed(f.loopUtilization * 100, 0)}% of the window on ${fixed(cores, 2)} cores of CPU: most of the rest it was likely waiting for a CPU (other processes running), so lateness says more about the machine than the prober\n`);
  }
  const loadHeld = perSecond >= MIN_SHARE_OF_ASKED_RATE * ASKED_PER_SECOND;
  if (!loadHeld) out(`note: the prober completed ${whole(perSecond)} of the ${whole(ASKED_PER_SECOND)} probes/s asked: it did not keep up\n`);
  const ok = loadHeld && perCore >= TARGET_PER_CORE && f.latenessMs.p99 < TARGET_P99_LATENESS_MS && rssMb < TARGET_RSS_MB;
  return {
    name: 'probes',
    figure: `${whole(perCore)} probes/s per CPU core (${whole(perSecond)} probes/s on ${fixed(cores, 2)} cores; p99 lateness ${whole(f.latenessMs.p99)} ms; peak RSS ${whole(rssMb)} MB)`,
    target: `>= ${whole(TARGET_PER_CORE)}/s per core at >= ${MIN_SHARE_OF_ASKED_RATE * 100}% of ${whole(ASKED_PER_SECOND)}/s asked, p99 lateness < ${TARGET_P99_LATENESS_MS} ms, RSS < ${TARGET_RSS_MB} MB`,
    ok,
  };
}
