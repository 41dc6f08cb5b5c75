import { once } from 'node:events';
import type { EndpointId, ProbeResult } from '../domain/health.js';
import type { Clock } from '../lib/clock.js';
import { DnsQuorumError, errorMessage } from '../lib/errors.js';
import type { Prober, ProbeTarget } from './prober.js';

export interface ProbeSchedulerOptions {
  readonly prober: Prober;
  /** Times the probes (each target sleeps on it until due) and stamps a thrown prober's result. */
  readonly clock: Clock;
  /** Probes in flight at once, over all targets. */
  readonly maxConcurrent: number;
  /**
   * Receives every result of a probe that ran to its end. Results of probes cut short because
   * their target was removed or the scheduler stopped are dropped: they say nothing about the
   * endpoint. If it throws, the scheduler stops and run() rejects with that error.
   */
  readonly onResult: (result: ProbeResult) => void;
  /** [0, 1); Math.random by default. */
  readonly random?: () => number;
  /**
   * Told as each probe starts, with the clock time it was due and the time it started (later when
   * it waited for a free slot or the event loop was busy): benches measure lateness with it.
   * Must not throw.
   */
  readonly onStart?: (endpointId: EndpointId, scheduledAt: number, startedAt: number) => void;
}

/** Running totals since construction, plus two gauges, for metrics and status. */
export interface ProbeCounters {
  readonly started: number;
  /** Probes whose result was delivered to onResult. */
  readonly completed: number;
  /** Probes aborted because their target was removed or replaced, or the scheduler stopped. */
  readonly cancelled: number;
  /** Due probes not started because the target's previous probe was still in flight or waiting. */
  readonly skippedInFlight: number;
  /** Probes that started late because they had to wait for a free slot (maxConcurrent). */
  readonly late: number;
  readonly inFlight: number;
  readonly waiting: number;
}

/** Later probes land within ±10% of the interval, so targets that start together drift apart. */
const INTERVAL_JITTER = 0.1;
/**
 * Due times are rounded to this grid (for short intervals, to a finer one within the jitter),
 * so that probes due within the same few milliseconds start on one timer wake-up: at thousands
 * of probes a second, waking the event loop for every millisecond costs more CPU than the
 * scheduling itself.
 */
const TIMER_GRID_MS = 10;
/** Node's timers turn longer delays into 1 ms. */
const MAX_TIMER_MS = 2_147_483_647;

interface Slot {
  readonly target: ProbeTarget;
  /** Cancels the sleep until the next due time. */
  timer: AbortController | undefined;
  /** Clock time the timer is due. */
  timerDueAt: number;
  /** Clock time the probe waiting for a slot (or starting now) was due. */
  probeDueAt: number;
  state: 'idle' | 'waiting' | 'probing';
  probe: AbortController | undefined;
  removed: boolean;
}

/**
 * Probes every target every `check.intervalMs`. Each target has its own timer, so a slow or
 * hanging target never holds up another one; a target whose previous probe is still running
 * skips its turn instead of stacking probes; and at most `maxConcurrent` probes run at once (a
 * due probe that finds no free slot waits in line and is counted as late).
 */
export class ProbeScheduler {
  private readonly prober: Prober;
  private readonly clock: Clock;
  private readonly maxConcurrent: number;
  private readonly onResult: (result: ProbeResult) => void;
  private readonly random: () => number;
  private readonly onStart: ((endpointId: EndpointId, scheduledAt: number, startedAt: number) => void) | undefined;
  private readonly slots = new Map<EndpointId, Slot>();
  private readonly waiting: Slot[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly counts = { started: 0, completed: 0, cancelled: 0, skippedInFlight: 0, late: 0 };
  /** Set while run() is running; aborting it stops the run. */
  private stopping: AbortController | undefined;
  private resultHandlerError: { readonly error: unknown } | undefined;

  constructor(options: ProbeSchedulerOptions) {
    if (!Number.isInteger(options.maxConcurrent) || options.maxConcurrent < 1) {
      throw new DnsQuorumError('DQ_INTERNAL', `ProbeScheduler: maxConcurrent must be a whole number of at least 1, got ${options.maxConcurrent}`);
    }
    this.prober = options.prober;
    this.clock = options.clock;
    this.maxConcurrent = options.maxConcurrent;
    this.onResult = options.onResult;
    this.random = options.random ?? Math.random;
    this.onStart = options.onStart;
  }

  get counters(): ProbeCounters {
    return { ...this.counts, inFlight: this.inFlight.size, waiting: this.waiting.length };
  }

  /**
   * Replaces the set of targets, keyed by endpointId. New targets start (with a random first
   * delay) if the scheduler is running; removed ones stop at once, their probe in flight aborted;
   * a target whose address or check changed starts over as a new one; the others carry on.
   */
  setTargets(targets: readonly ProbeTarget[]): void {
    const next = new Map<EndpointId, ProbeTarget>();
    for (const target of targets) {
      checkTiming(target);
      next.set(target.endpointId, target);
    }
    for (const slot of this.slots.values()) {
      const wanted = next.get(slot.target.endpointId);
      if (wanted === undefined || !sameTarget(slot.target, wanted)) this.remove(slot);
    }
    for (const target of next.values()) {
      if (this.slots.has(target.endpointId)) continue;
      const slot: Slot = { target, timer: undefined, timerDueAt: 0, probeDueAt: 0, state: 'idle', probe: undefined, removed: false };
      this.slots.set(target.endpointId, slot);
      if (this.stopping !== undefined) this.scheduleFirst(slot);
    }
  }

  /** Probes until `signal` aborts, then aborts the probes in flight and resolves once they settle. */
  async run(signal: AbortSignal): Promise<void> {
    if (this.stopping !== undefined) throw new DnsQuorumError('DQ_INTERNAL', 'ProbeScheduler.run() is already running');
    if (signal.aborted) return;
    const stopping = new AbortController();
    this.stopping = stopping;
    const onAbort = (): void => {
      stopping.abort();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    for (const slot of this.slots.values()) this.scheduleFirst(slot);

    await once(stopping.signal, 'abort');
    signal.removeEventListener('abort', onAbort);
    this.stopping = undefined;
    for (const slot of this.slots.values()) {
      slot.timer?.abort();
      slot.timer = undefined;
      slot.probe?.abort();
      if (slot.state === 'waiting') slot.state = 'idle';
    }
    this.waiting.length = 0;
    await Promise.all(this.inFlight);
    const failure = this.resultHandlerError;
    this.resultHandlerError = undefined;
    if (failure !== undefined) throw failure.error;
  }

  private scheduleFirst(slot: Slot): void {
    // Spread over a whole interval, so that a restart or a new config does not probe
    // everything in the same instant.
    this.schedule(slot, this.random() * slot.target.check.intervalMs);
  }

  private schedule(slot: Slot, delayMs: number): void {
    const now = this.clock.now();
    const grid = Math.min(TIMER_GRID_MS, Math.max(1, Math.floor(slot.target.check.intervalMs * INTERVAL_JITTER)));
    const dueAt = Math.max(now + 1, Math.round((now + delayMs) / grid) * grid);
    slot.timerDueAt = dueAt;
    const timer = new AbortController();
    slot.timer = timer;
    this.clock.sleep(Math.min(MAX_TIMER_MS, dueAt - now), timer.signal).then(
      () => {
        if (slot.timer === timer) this.due(slot);
      },
      // Aborted: the target was removed or the run stopped.
      () => undefined,
    );
  }

  private due(slot: Slot): void {
    const { intervalMs } = slot.target.check;
    const dueAt = slot.timerDueAt;
    this.schedule(slot, intervalMs * (1 + (2 * this.random() - 1) * INTERVAL_JITTER));
    if (slot.state !== 'idle') {
      this.counts.skippedInFlight++;
      return;
    }
    slot.probeDueAt = dueAt;
    if (this.inFlight.size < this.maxConcurrent) {
      this.start(slot);
    } else {
      slot.state = 'waiting';
      this.waiting.push(slot);
    }
  }

  private start(slot: Slot): void {
    const controller = new AbortController();
    slot.state = 'probing';
    slot.probe = controller;
    this.counts.started++;
    this.onStart?.(slot.target.endpointId, slot.probeDueAt, this.clock.now());
    const settled: Promise<void> = this.probeSafely(slot.target, controller.signal).then((result) => {
      this.inFlight.delete(settled);
      slot.probe = undefined;
      if (!slot.removed) slot.state = 'idle';
      if (controller.signal.aborted) {
        this.counts.cancelled++;
      } else {
        this.counts.completed++;
        this.deliver(result);
      }
      this.startWaiting();
    });
    this.inFlight.add(settled);
  }

  private startWaiting(): void {
    while (this.stopping !== undefined && this.inFlight.size < this.maxConcurrent) {
      const slot = this.waiting.shift();
      if (slot === undefined) return;
      this.counts.late++;
      this.start(slot);
    }
  }

  private remove(slot: Slot): void {
    slot.removed = true;
    slot.timer?.abort();
    slot.timer = undefined;
    slot.probe?.abort();
    const queued = this.waiting.indexOf(slot);
    if (queued >= 0) this.waiting.splice(queued, 1);
    this.slots.delete(slot.target.endpointId);
  }

  private deliver(result: ProbeResult): void {
    try {
      this.onResult(result);
    } catch (error) {
      this.resultHandlerError ??= { error };
      this.stopping?.abort();
    }
  }

  /** A Prober must not throw; if one does anyway, that is a failed probe, not a dead scheduler. */
  private async probeSafely(target: ProbeTarget, signal: AbortSignal): Promise<ProbeResult> {
    const startedAt = this.clock.now();
    try {
      return await this.prober.probe(target, signal);
    } catch (err) {
      const at = this.clock.now();
      return { endpointId: target.endpointId, ok: false, at, latencyMs: at - startedAt, detail: `prober error: ${errorMessage(err)}` };
    }
  }
}

function checkTiming(target: ProbeTarget): void {
  for (const [field, value] of [['intervalMs', target.check.intervalMs], ['timeoutMs', target.check.timeoutMs]] as const) {
    if (!Number.isFinite(value) || value < 1 || value > MAX_TIMER_MS) {
      throw new DnsQuorumError('DQ_PROBE_FAILED', `probe target ${target.endpointId}: check.${field} must be between 1 and ${MAX_TIMER_MS} ms, got ${value}`);
    }
  }
}

/** Targets are plain data from the resolved config, so their JSON form compares them exactly. */
function sameTarget(a: ProbeTarget, b: ProbeTarget): boolean {
  return a.address === b.address && JSON.stringify(a.check) === JSON.stringify(b.check);
}
