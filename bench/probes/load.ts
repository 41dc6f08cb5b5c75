import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { HostPort } from '../../src/config/types.js';
import type { ProbeResult } from '../../src/domain/health.js';
import { systemClock } from '../../src/lib/clock.js';
import { createProber } from '../../src/probe/prober.js';
import type { ProbeTarget } from '../../src/probe/prober.js';
import { ProbeScheduler } from '../../src/probe/scheduler.js';
import { percentile } from '../result.js';
import type { LoadFigures, LoadPlan } from './ipc.js';

/**
 * Forked by bench.ts: the prober under measurement. Runs the real ProbeScheduler and createProber
 * against the target servers, warms up, then measures one window: results, CPU of this process,
 * RSS, lateness of each probe's start against its schedule.
 */

const RSS_SAMPLE_MS = 100;
const FAILURE_KINDS_REPORTED = 5;

function isLoadPlan(value: unknown): value is LoadPlan {
  return typeof value === 'object' && value !== null && 'kind' in value && value.kind === 'load-plan';
}

function targetsFor(plan: LoadPlan): ProbeTarget[] {
  const targets: ProbeTarget[] = [];
  for (let i = 0; i < plan.endpoints; i++) {
    const listener = plan.listeners[i % plan.listeners.length];
    if (listener === undefined) throw new Error('load plan without listeners');
    const host = `e${i}.bench.example.com`;
    targets.push({
      endpointId: `${host}. A ${listener.host}:${listener.port}`,
      address: listener.host,
      check: {
        protocol: 'http',
        port: listener.port,
        path: '/healthz',
        expect: [200],
        host,
        sni: host,
        tlsVerify: false,
        intervalMs: plan.intervalMs,
        timeoutMs: plan.timeoutMs,
        fall: 3,
        rise: 3,
      },
    });
  }
  return targets;
}

const delay = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

async function measure(plan: LoadPlan): Promise<LoadFigures> {
  let measuring = false;
  let completed = 0;
  let failed = 0;
  const failures = new Map<string, number>();
  const lateness: number[] = [];
  const latency: number[] = [];
  const onResult = (result: ProbeResult): void => {
    if (!measuring) return;
    completed++;
    latency.push(result.latencyMs);
    if (result.ok) return;
    failed++;
    failures.set(result.detail, (failures.get(result.detail) ?? 0) + 1);
  };
  const onStart = (_endpointId: string, scheduledAt: number, startedAt: number): void => {
    if (measuring) lateness.push(startedAt - scheduledAt);
  };

  const scheduler = new ProbeScheduler({
    prober: createProber({ clock: systemClock, resolve: new Map<string, HostPort>() }),
    clock: systemClock,
    maxConcurrent: plan.maxConcurrent,
    onResult,
    onStart,
  });
  scheduler.setTargets(targetsFor(plan));

  const rssBaselineBytes = process.memoryUsage().rss;
  let rssPeakBytes = rssBaselineBytes;
  let heapPeakBytes = 0;
  const sampler = setInterval(() => {
    const memory = process.memoryUsage();
    rssPeakBytes = Math.max(rssPeakBytes, memory.rss);
    heapPeakBytes = Math.max(heapPeakBytes, memory.heapUsed);
  }, RSS_SAMPLE_MS);
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });

  const stop = new AbortController();
  const running = scheduler.run(stop.signal);
  try {
    await delay(plan.warmupMs);
    const before = scheduler.counters;
    const cpuBefore = process.cpuUsage();
    const loopBefore = performance.eventLoopUtilization();
    const wallBefore = performance.now();
    loopDelay.enable();
    measuring = true;
    await delay(plan.windowMs);
    measuring = false;
    const cpu = process.cpuUsage(cpuBefore);
    const loop = performance.eventLoopUtilization(loopBefore);
    const windowSeconds = (performance.now() - wallBefore) / 1000;
    loopDelay.disable();
    const after = scheduler.counters;
    const ms = (ns: number): number => ns / 1e6;
    return {
      kind: 'load-figures',
      windowSeconds,
      completed,
      failed,
      failures: [...failures.entries()].sort((a, b) => b[1] - a[1]).slice(0, FAILURE_KINDS_REPORTED),
      started: after.started - before.started,
      skippedInFlight: after.skippedInFlight - before.skippedInFlight,
      waitedForSlot: after.late - before.late,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      cpuSystemSeconds: cpu.system / 1e6,
      latenessMs: { p50: percentile(lateness, 50), p99: percentile(lateness, 99), max: percentile(lateness, 100) },
      probeLatencyMs: { p50: percentile(latency, 50), p99: percentile(latency, 99) },
      loopUtilization: loop.utilization,
      loopDelayMs: { p50: ms(loopDelay.percentile(50)), p99: ms(loopDelay.percentile(99)), max: ms(loopDelay.max) },
      rssBaselineBytes,
      rssPeakBytes,
      heapPeakBytes,
    };
  } finally {
    stop.abort();
    await running;
    clearInterval(sampler);
  }
}

process.on('message', (message: unknown) => {
  if (message === 'stop') {
    process.exit(0);
  }
  if (!isLoadPlan(message)) return;
  measure(message).then(
    (figures) => {
      process.send?.(figures, () => {
        process.disconnect();
      });
    },
    (err: unknown) => {
      process.stderr.write(`bench probes load: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
});
// The bench died without telling us: do not outlive it.
process.on('disconnect', () => {
  process.exit(0);
});
