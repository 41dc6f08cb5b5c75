import { afterEach, describe, expect, it } from 'vitest';
import type { EndpointId, ProbeResult } from '../../src/domain/health.js';
import { ManualClock } from '../../src/lib/clock.js';
import type { Prober, ProbeTarget } from '../../src/probe/prober.js';
import { ProbeScheduler } from '../../src/probe/scheduler.js';
import { httpTarget } from '../helpers/probe-targets.js';

/** A prober whose probes finish only when the test releases them. */
class HeldProber implements Prober {
  private readonly held: (() => void)[] = [];
  get pending(): number {
    return this.held.length;
  }
  probe(target: ProbeTarget): Promise<ProbeResult> {
    return new Promise((resolve) => {
      this.held.push(() => {
        resolve({ endpointId: target.endpointId, ok: true, at: 0, latencyMs: 0, detail: 'HTTP 200' });
      });
    });
  }
  releaseAll(): void {
    for (const release of this.held.splice(0)) release();
  }
}

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

describe('ProbeScheduler onStart', () => {
  it('reports when each probe was due and when it started, keeping the due time of a probe that waited for a slot', async () => {
    const clock = new ManualClock(1_000);
    const prober = new HeldProber();
    const starts: { endpointId: EndpointId; scheduledAt: number; startedAt: number }[] = [];
    const scheduler = new ProbeScheduler({
      prober,
      clock,
      maxConcurrent: 1,
      onResult: () => undefined,
      // First delays of 0 are rounded up to 1 ms: both targets are due at 1,001.
      random: () => 0,
      onStart: (endpointId, scheduledAt, startedAt) => {
        starts.push({ endpointId, scheduledAt, startedAt });
      },
    });
    const first = httpTarget('127.0.0.1', 1, { intervalMs: 20 }, 'a.example.com. A 127.0.0.1');
    const second = httpTarget('127.0.0.1', 1, { intervalMs: 20 }, 'b.example.com. A 127.0.0.1');
    scheduler.setTargets([first, second]);
    const controller = new AbortController();
    const running = scheduler.run(controller.signal);
    stops.push(async () => {
      controller.abort();
      prober.releaseAll();
      await running;
    });

    await clock.elapse(1);
    expect(scheduler.counters.waiting).toBe(1);
    expect(prober.pending).toBe(1);
    expect(starts).toEqual([{ endpointId: first.endpointId, scheduledAt: 1_001, startedAt: 1_001 }]);

    // The waiting probe's own timer fires again meanwhile (a skipped turn): its due time stays.
    await clock.elapse(49);
    expect(scheduler.counters.skippedInFlight).toBeGreaterThanOrEqual(2);
    await clock.elapse(450);
    expect(clock.now()).toBe(1_500);
    prober.releaseAll();
    await clock.elapse(0);
    expect(starts.length).toBe(2);
    expect(starts[1]).toEqual({ endpointId: second.endpointId, scheduledAt: 1_001, startedAt: 1_500 });
  });
});
