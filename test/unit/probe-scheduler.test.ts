import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ServerResponse } from 'node:http';
import type { HostPort } from '../../src/config/types.js';
import type { EndpointId, ProbeResult } from '../../src/domain/health.js';
import { ManualClock, systemClock } from '../../src/lib/clock.js';
import { createProber } from '../../src/probe/prober.js';
import type { Prober, ProbeTarget } from '../../src/probe/prober.js';
import { ProbeScheduler } from '../../src/probe/scheduler.js';
import { startHttpServer, startSilentServer } from '../helpers/probe-servers.js';
import type { Handler } from '../helpers/probe-servers.js';
import { httpTarget } from '../helpers/probe-targets.js';

const prober = createProber({ clock: systemClock, resolve: new Map<string, HostPort>() });
const WAIT = { timeout: 15_000, interval: 5 };

const ok200: Handler = (_req, res) => {
  res.writeHead(200);
  res.end('ok');
};

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

async function server(handler: Handler = ok200) {
  const s = await startHttpServer(handler);
  cleanup.push(() => s.close());
  return s;
}

const fast = { intervalMs: 20 };

describe('ProbeScheduler', () => {
  it('probes every target again and again', async () => {
    const s = await server();
    const results = new Results();
    const targets = ['a', 'b', 'c'].map((name) => httpTarget('127.0.0.1', s.port, { ...fast, path: `/${name}` }, `${name}.example.com. A 127.0.0.1`));
    const scheduler = new ProbeScheduler({ prober, clock: systemClock, maxConcurrent: 8, onResult: results.onResult });
    scheduler.setTargets(targets);
    start(scheduler);
    await vi.waitFor(() => {
      for (const t of targets) expect(results.count(t.endpointId)).toBeGreaterThanOrEqual(3);
    }, WAIT);
    expect(results.all.every((r) => r.ok && r.detail === 'HTTP 200')).toBe(true);
    for (const path of ['/a', '/b', '/c']) expect(s.requests.filter((r) => r.path === path).length).toBeGreaterThanOrEqual(3);
    const counters = scheduler.counters;
    expect(counters.started).toBeGreaterThanOrEqual(counters.completed);
    expect(counters.completed).toBe(results.all.length);
  });

  it('stops probing removed targets, keeps the others, and starts replaced ones afresh', async () => {
    const s = await server();
    const results = new Results();
    const keep = httpTarget('127.0.0.1', s.port, { ...fast, path: '/keep' }, 'keep.example.com. A 127.0.0.1');
    const drop = httpTarget('127.0.0.1', s.port, { ...fast, path: '/drop' }, 'drop.example.com. A 127.0.0.1');
    const change = httpTarget('127.0.0.1', s.port, { ...fast, path: '/old' }, 'change.example.com. A 127.0.0.1');
    const scheduler = new ProbeScheduler({ prober, clock: systemClock, maxConcurrent: 8, onResult: results.onResult });
    scheduler.setTargets([keep, drop, change]);
    start(scheduler);
    await vi.waitFor(() => {
      for (const t of [keep, drop, change]) expect(results.count(t.endpointId)).toBeGreaterThanOrEqual(2);
    }, WAIT);

    scheduler.setTargets([keep, httpTarget('127.0.0.1', s.port, { ...fast, path: '/new' }, change.endpointId)]);
    const droppedResults = results.count(drop.endpointId);
    const keptResults = results.count(keep.endpointId);
    const oldPathRequests = () => s.requests.filter((r) => r.path === '/old').length;
    const oldPathAtSwitch = oldPathRequests();
    await vi.waitFor(() => {
      expect(results.count(keep.endpointId)).toBeGreaterThanOrEqual(keptResults + 5);
      expect(s.requests.filter((r) => r.path === '/new').length).toBeGreaterThanOrEqual(3);
    }, WAIT);
    expect(results.count(drop.endpointId)).toBe(droppedResults);
    // A request already on the wire when the target changed may still arrive; no new ones start.
    expect(oldPathRequests()).toBeLessThanOrEqual(oldPathAtSwitch + 1);
  });

  it('never has more than maxConcurrent probes in flight', async () => {
    const held: ServerResponse[] = [];
    let unanswered = 0;
    let mostUnanswered = 0;
    // Counted from request arrival to the moment the server answers: never more than the
    // prober has in flight, so seeing 3 here means the bound of 2 was broken.
    const s = await server((_req, res) => {
      unanswered++;
      mostUnanswered = Math.max(mostUnanswered, unanswered);
      held.push(res);
    });
    const release = (): void => {
      for (const res of held.splice(0)) {
        unanswered--;
        res.writeHead(200);
        res.end();
      }
    };
    const results = new Results();
    const targets = [1, 2, 3, 4, 5, 6].map((n) => httpTarget('127.0.0.1', s.port, { intervalMs: 10 }, `t${n}.example.com. A 127.0.0.1`));
    const scheduler = new ProbeScheduler({ prober, clock: systemClock, maxConcurrent: 2, onResult: results.onResult });
    scheduler.setTargets(targets);
    start(scheduler);
    for (let round = 0; round < 6; round++) {
      await vi.waitFor(() => {
        expect(held.length).toBeGreaterThanOrEqual(2);
      }, WAIT);
      expect(scheduler.counters.inFlight).toBeLessThanOrEqual(2);
      release();
    }
    await vi.waitFor(() => {
      expect(results.all.length).toBeGreaterThanOrEqual(10);
    }, WAIT);
    expect(mostUnanswered).toBe(2);
    expect(scheduler.counters.late).toBeGreaterThan(0);
    release();
  });

  it('a hanging target neither delays the others nor gets a second probe in flight', async () => {
    const hanging = await startSilentServer();
    cleanup.push(() => hanging.close());
    const s = await server();
    const results = new Results();
    const stuck = httpTarget('127.0.0.1', hanging.port, { intervalMs: 10, timeoutMs: 60_000 }, 'stuck.example.com. A 127.0.0.1');
    const healthy = httpTarget('127.0.0.1', s.port, fast, 'healthy.example.com. A 127.0.0.1');
    const scheduler = new ProbeScheduler({ prober, clock: systemClock, maxConcurrent: 4, onResult: results.onResult });
    scheduler.setTargets([stuck, healthy]);
    const { stop, running } = start(scheduler);

    await vi.waitFor(() => {
      expect(hanging.accepted()).toBe(1);
    }, WAIT);
    const before = results.count(healthy.endpointId);
    await vi.waitFor(() => {
      expect(results.count(healthy.endpointId)).toBeGreaterThanOrEqual(before + 5);
      expect(scheduler.counters.skippedInFlight).toBeGreaterThanOrEqual(3);
    }, WAIT);
    expect(hanging.accepted()).toBe(1);
    expect(hanging.closed()).toBe(0);
    expect(results.count(stuck.endpointId)).toBe(0);

    stop();
    await running;
    // The hanging probe was aborted and its socket closed; an aborted probe is not a verdict.
    await vi.waitFor(() => {
      expect(hanging.closed()).toBe(1);
    }, WAIT);
    expect(results.count(stuck.endpointId)).toBe(0);
    expect(scheduler.counters.cancelled).toBeGreaterThanOrEqual(1);
    expect(scheduler.counters.inFlight).toBe(0);
  });

  it('run() resolves after abort, refuses a second concurrent run, and returns at once when already aborted', async () => {
    const s = await server();
    const scheduler = new ProbeScheduler({ prober, clock: systemClock, maxConcurrent: 2, onResult: () => undefined });
    scheduler.setTargets([httpTarget('127.0.0.1', s.port, fast)]);
    const { stop, running } = start(scheduler);
    await expect(scheduler.run(new AbortController().signal)).rejects.toMatchObject({ code: 'DQ_INTERNAL' });
    await vi.waitFor(() => {
      expect(scheduler.counters.completed).toBeGreaterThanOrEqual(1);
    }, WAIT);
    stop();
    await expect(running).resolves.toBeUndefined();
    const startedAtStop = scheduler.counters.started;

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
    scheduler.setTargets([httpTarget('127.0.0.1', 1, fast, 'x.example.com. A 127.0.0.1')]);
    start(scheduler);
    await vi.waitFor(() => {
      expect(results.all.length).toBeGreaterThanOrEqual(1);
    }, WAIT);
    expect(results.all[0]).toEqual({ endpointId: 'x.example.com. A 127.0.0.1', ok: false, at: 5000, latencyMs: 0, detail: 'prober error: boom' });
  });

  it('stops and rejects run() with the error when onResult throws', async () => {
    const instant: Prober = { probe: (target: ProbeTarget) => Promise.resolve({ endpointId: target.endpointId, ok: true, at: 0, latencyMs: 0, detail: 'fine' }) };
    const scheduler = new ProbeScheduler({
      prober: instant,
      clock: systemClock,
      maxConcurrent: 1,
      onResult: () => {
        throw new Error('health board broke');
      },
    });
    scheduler.setTargets([httpTarget('127.0.0.1', 1, fast)]);
    await expect(scheduler.run(new AbortController().signal)).rejects.toThrow('health board broke');
  });

  it.each([
    { field: 'intervalMs', value: 0 },
    { field: 'timeoutMs', value: Number.NaN },
    { field: 'intervalMs', value: 3_000_000_000 },
  ])('refuses a target with $field $value', ({ field, value }) => {
    const scheduler = new ProbeScheduler({ prober, clock: systemClock, maxConcurrent: 1, onResult: () => undefined });
    expect(() => {
      scheduler.setTargets([httpTarget('127.0.0.1', 1, { [field]: value })]);
    }).toThrow(`check.${field} must be between 1 and`);
  });

  it.each([0, 1.5, -1])('refuses maxConcurrent %s', (maxConcurrent) => {
    expect(() => new ProbeScheduler({ prober, clock: systemClock, maxConcurrent, onResult: () => undefined })).toThrow('maxConcurrent');
  });
});
