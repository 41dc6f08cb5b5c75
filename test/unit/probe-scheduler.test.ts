import { afterEach, describe, expect, it, vi } from 'vitest';
import type { HostPort } from '../../src/config/types.js';
import type { EndpointId, ProbeResult } from '../../src/domain/health.js';
import { ManualClock, systemClock } from '../../src/lib/clock.js';
import { createProber } from '../../src/probe/prober.js';
import type { Prober, ProbeTarget } from '../../src/probe/prober.js';
import { ProbeScheduler } from '../../src/probe/scheduler.js';
import { startHttpServer, startSilentServer } from '../helpers/probe-servers.js';
import type { Handler } from '../helpers/probe-servers.js';
import { httpTarget } from '../helpers/probe-targets.js';

/**
 * A prober whose probes finish only when the test says so, recording what it was asked and
 * which probes were aborted: the scheduler's timing runs on a ManualClock against it.
 */
class HeldProber implements Prober {
  readonly calls: { readonly endpointId: EndpointId; readonly signal: AbortSignal; readonly finish: (ok: boolean) => void }[] = [];
  /** When set, probes answer at once instead of waiting. */
  instant: boolean;
  constructor(private readonly clock: ManualClock, options: { instant?: boolean } = {}) {
    this.instant = options.instant ?? false;
  }
  probe(target: ProbeTarget, signal: AbortSignal): Promise<ProbeResult> {
    const at = this.clock.now();
    const result = (ok: boolean): ProbeResult => ({ endpointId: target.endpointId, ok, at: this.clock.now(), latencyMs: this.clock.now() - at, detail: ok ? 'HTTP 200' : 'HTTP 503' });
    if (this.instant) {
      this.calls.push({ endpointId: target.endpointId, signal, finish: () => undefined });
      return Promise.resolve(result(true));
    }
    return new Promise((resolve) => {
      const finish = (ok: boolean): void => {
        resolve(result(ok));
      };
      // An aborted probe settles at once, as the real probers do.
      signal.addEventListener('abort', () => { finish(false); }, { once: true });
      this.calls.push({ endpointId: target.endpointId, signal, finish });
    });
  }
  count(id: EndpointId): number {
    return this.calls.filter((c) => c.endpointId === id).length;
  }
  /** Probes started and neither finished nor aborted. */
  get open(): number {
    return this.calls.filter((c) => !c.signal.aborted && !this.done.has(c)).length;
  }
  private readonly done = new Set<object>();
  finishAll(ok = true): void {
    for (const call of this.calls) {
      if (this.done.has(call) || call.signal.aborted) continue;
      this.done.add(call);
      call.finish(ok);
    }
  }
}

/** Results by endpoint, as onResult delivered them. */
class Results {
  readonly all: ProbeResult[] = [];
  readonly onResult = (result: ProbeResult): void => {
    this.all.push(result);
  };
  count(id: EndpointId): number {
    return this.all.filter((r) => r.endpointId === id).length;
  }
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** Starts run() and registers its stop for afterEach; returns the abort and the run promise. */
function start(scheduler: ProbeScheduler): { stop: () => void; running: Promise<void> } {
  const controller = new AbortController();
  const running = scheduler.run(controller.signal);
  cleanup.push(async () => {
    controller.abort();
    await running.catch(() => undefined);
  });
  return {
    stop: () => {
      controller.abort();
    },
    running,
  };
}

const target = (name: string, intervalMs = 1_000): ProbeTarget => httpTarget('127.0.0.1', 1, { intervalMs, path: `/${name}` }, `${name}.example.com. A 127.0.0.1`);

describe('ProbeScheduler on a manual clock', () => {
  it('spreads first probes over one interval and then probes each target once per interval, within the jitter', async () => {
    const clock = new ManualClock(0);
    const prober = new HeldProber(clock, { instant: true });
    const results = new Results();
    const targets = ['a', 'b', 'c'].map((name) => target(name));
    let draw = 0;
    // First delays 0, 1/3 and 2/3 of the interval; later turns at the extremes of the jitter.
    const random = (): number => [0, 1 / 3, 2 / 3][draw++] ?? (draw % 2 === 0 ? 0 : 0.999);
    const scheduler = new ProbeScheduler({ prober, clock, maxConcurrent: 8, onResult: results.onResult, random });
    scheduler.setTargets(targets);
    start(scheduler);

    await clock.elapse(1);
    expect(prober.calls.map((c) => c.endpointId)).toEqual([targets[0]?.endpointId]);
    await clock.elapse(699);
    expect(prober.calls.map((c) => c.endpointId)).toEqual(targets.map((t) => t.endpointId));
    await clock.elapse(10_300);
    // 11 s of clock time at 1 s ± 10%: each target probed between 10 and 13 times.
    for (const t of targets) {
      expect(results.count(t.endpointId)).toBeGreaterThanOrEqual(10);
      expect(results.count(t.endpointId)).toBeLessThanOrEqual(13);
    }
    expect(scheduler.counters).toMatchObject({ started: prober.calls.length, completed: results.all.length, cancelled: 0, late: 0 });
  });

  it('stops probing removed targets at once, keeps the others on their schedule, and starts replaced ones afresh', async () => {
    const clock = new ManualClock(0);
    const prober = new HeldProber(clock);
    const results = new Results();
    const keep = target('keep');
    const drop = target('drop');
    const change = target('change');
    const scheduler = new ProbeScheduler({ prober, clock, maxConcurrent: 8, onResult: results.onResult, random: () => 0.5 });
    scheduler.setTargets([keep, drop, change]);
    start(scheduler);
    await clock.elapse(500);
    expect(prober.open).toBe(3);

    const changed = { ...change, check: { ...change.check, path: '/new' } };
    scheduler.setTargets([keep, changed]);
    // The dropped and the changed target's probes in flight are aborted, and their results dropped.
    expect(prober.calls.filter((c) => c.signal.aborted).map((c) => c.endpointId).sort()).toEqual([change.endpointId, drop.endpointId].sort());
    prober.finishAll();
    await clock.elapse(0);
    expect(results.all.map((r) => r.endpointId)).toEqual([keep.endpointId]);

    for (let second = 0; second < 6; second++) {
      await clock.elapse(1_000);
      prober.finishAll();
    }
    await clock.elapse(0);
    expect(prober.count(drop.endpointId)).toBe(1);
    expect(prober.count(keep.endpointId)).toBeGreaterThanOrEqual(5);
    // The replaced target starts over with a first delay of its own, then probes every interval.
    expect(prober.count(change.endpointId)).toBeGreaterThanOrEqual(5);
    expect(scheduler.counters.cancelled).toBe(2);
  });

  it('never has more than maxConcurrent probes in flight; a due probe waits in line and counts as late', async () => {
    const clock = new ManualClock(0);
    const prober = new HeldProber(clock);
    const results = new Results();
    const targets = [1, 2, 3, 4, 5, 6].map((n) => target(`t${n}`, 100));
    const scheduler = new ProbeScheduler({ prober, clock, maxConcurrent: 2, onResult: results.onResult, random: () => 0.5 });
    scheduler.setTargets(targets);
    start(scheduler);
    let mostOpen = 0;
    for (let round = 0; round < 20; round++) {
      await clock.elapse(10);
      mostOpen = Math.max(mostOpen, prober.open);
      expect(scheduler.counters.inFlight).toBeLessThanOrEqual(2);
      prober.finishAll();
    }
    expect(mostOpen).toBe(2);
    expect(results.all.length).toBeGreaterThanOrEqual(10);
    expect(scheduler.counters.late).toBeGreaterThan(0);
    // Every target got its turns, none starved by the others.
    for (const t of targets) expect(prober.count(t.endpointId)).toBeGreaterThanOrEqual(1);
  });

  it('a hanging target neither delays the others nor gets a second probe in flight', async () => {
    const clock = new ManualClock(0);
    const prober = new HeldProber(clock);
    const results = new Results();
    const stuck = target('stuck', 100);
    const healthy = target('healthy', 100);
    const scheduler = new ProbeScheduler({ prober, clock, maxConcurrent: 4, onResult: results.onResult, random: () => 0.5 });
    scheduler.setTargets([stuck, healthy]);
    const { stop, running } = start(scheduler);
    for (let round = 0; round < 10; round++) {
      await clock.elapse(100);
      // Only the healthy target's probes are answered.
      for (const call of prober.calls) if (call.endpointId === healthy.endpointId && !call.signal.aborted) call.finish(true);
    }
    expect(prober.count(stuck.endpointId)).toBe(1);
    expect(results.count(healthy.endpointId)).toBeGreaterThanOrEqual(9);
    expect(scheduler.counters.skippedInFlight).toBeGreaterThanOrEqual(8);

    stop();
    await running;
    // The hanging probe was aborted; an aborted probe is not a verdict.
    expect(prober.calls.find((c) => c.endpointId === stuck.endpointId)?.signal.aborted).toBe(true);
    expect(results.count(stuck.endpointId)).toBe(0);
    expect(scheduler.counters).toMatchObject({ cancelled: 1, inFlight: 0, waiting: 0 });
    // Nothing keeps sleeping after the run ended.
    expect(clock.pendingTimers).toBe(0);
  });

  it('run() resolves after abort, refuses a second concurrent run, and returns at once when already aborted', async () => {
    const clock = new ManualClock(0);
    const prober = new HeldProber(clock, { instant: true });
    const scheduler = new ProbeScheduler({ prober, clock, maxConcurrent: 2, onResult: () => undefined });
    scheduler.setTargets([target('a')]);
    const { stop, running } = start(scheduler);
    await expect(scheduler.run(new AbortController().signal)).rejects.toMatchObject({ code: 'DQ_INTERNAL' });
    await clock.elapse(1_000);
    expect(scheduler.counters.completed).toBe(1);
    stop();
    await expect(running).resolves.toBeUndefined();
    const startedAtStop = scheduler.counters.started;
    await clock.elapse(10_000);
    expect(scheduler.counters.started).toBe(startedAtStop);

    const aborted = new AbortController();
    aborted.abort();
    await expect(scheduler.run(aborted.signal)).resolves.toBeUndefined();
    expect(scheduler.counters.started).toBe(startedAtStop);
  });

  it('turns a prober that throws into a failed result', async () => {
    const clock = new ManualClock(5000);
    const throwing: Prober = { probe: () => Promise.reject(new Error('boom')) };
    const results = new Results();
    const scheduler = new ProbeScheduler({ prober: throwing, clock, maxConcurrent: 1, onResult: results.onResult, random: () => 0 });
    scheduler.setTargets([target('x', 20)]);
    start(scheduler);
    await clock.elapse(1);
    expect(results.all[0]).toEqual({ endpointId: 'x.example.com. A 127.0.0.1', ok: false, at: 5001, latencyMs: 0, detail: 'prober error: boom' });
  });

  it('stops and rejects run() with the error when onResult throws', async () => {
    const clock = new ManualClock(0);
    const scheduler = new ProbeScheduler({
      prober: new HeldProber(clock, { instant: true }),
      clock,
      maxConcurrent: 1,
      onResult: () => {
        throw new Error('health board broke');
      },
    });
    scheduler.setTargets([target('a', 20)]);
    const outcome = scheduler.run(new AbortController().signal).then(
      () => 'resolved',
      (error: unknown) => error,
    );
    await clock.elapse(20);
    expect(await outcome).toMatchObject({ message: 'health board broke' });
  });

  it.each([
    { field: 'intervalMs', value: 0 },
    { field: 'timeoutMs', value: Number.NaN },
    { field: 'intervalMs', value: 3_000_000_000 },
  ])('refuses a target with $field $value', ({ field, value }) => {
    const scheduler = new ProbeScheduler({ prober: new HeldProber(new ManualClock()), clock: new ManualClock(), maxConcurrent: 1, onResult: () => undefined });
    expect(() => {
      scheduler.setTargets([httpTarget('127.0.0.1', 1, { [field]: value })]);
    }).toThrow(`check.${field} must be between 1 and`);
  });

  it.each([0, 1.5, -1])('refuses maxConcurrent %s', (maxConcurrent) => {
    expect(() => new ProbeScheduler({ prober: new HeldProber(new ManualClock()), clock: new ManualClock(), maxConcurrent, onResult: () => undefined })).toThrow('maxConcurrent');
  });
});

describe('ProbeScheduler with real probes on loopback', () => {
  const WAIT = { timeout: 15_000, interval: 5 };
  const ok200: Handler = (_req, res) => {
    res.writeHead(200);
    res.end('ok');
  };

  it('probes real servers on the system clock and closes a hanging probe’s socket when it stops', async () => {
    const prober = createProber({ clock: systemClock, resolve: new Map<string, HostPort>() });
    const hanging = await startSilentServer();
    cleanup.push(() => hanging.close());
    const s = await startHttpServer(ok200);
    cleanup.push(() => s.close());
    const results = new Results();
    const stuck = httpTarget('127.0.0.1', hanging.port, { intervalMs: 10, timeoutMs: 60_000 }, 'stuck.example.com. A 127.0.0.1');
    const healthy = httpTarget('127.0.0.1', s.port, { intervalMs: 20 }, 'healthy.example.com. A 127.0.0.1');
    const scheduler = new ProbeScheduler({ prober, clock: systemClock, maxConcurrent: 4, onResult: results.onResult });
    scheduler.setTargets([stuck, healthy]);
    const { stop, running } = start(scheduler);

    await vi.waitFor(() => {
      expect(hanging.accepted()).toBe(1);
      expect(results.count(healthy.endpointId)).toBeGreaterThanOrEqual(3);
    }, WAIT);
    expect(results.all.every((r) => r.ok && r.detail === 'HTTP 200')).toBe(true);
    expect(s.requests.length).toBeGreaterThanOrEqual(3);

    stop();
    await running;
    await vi.waitFor(() => {
      expect(hanging.closed()).toBe(1);
    }, WAIT);
    expect(hanging.accepted()).toBe(1);
    expect(results.count(stuck.endpointId)).toBe(0);
  });
});
