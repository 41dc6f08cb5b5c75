/**
 * Time is injected. Decision code (quorum, plan) reads `now()` from a Clock and nothing else; the
 * loops (reconciler, provider syncers, scheduler, sweeper, peer exchange) also wait on it, so a
 * test drives them with a ManualClock and never waits on real time.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms` on this clock; rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

function realSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export const systemClock: Clock = { now: () => Date.now(), sleep: realSleep };

interface ManualTimer {
  readonly at: number;
  /** Order of creation: timers due at the same time fire in the order they were set. */
  readonly seq: number;
  readonly resolve: () => void;
}

/**
 * A clock that only moves when told to. Its sleeps fire when `elapse` (or `runUntil`) moves the
 * clock past them, in time order, each seeing `now()` at its own due time, with the promise jobs
 * it starts run before the next one fires: a loop that sleeps and works behaves as it would in
 * real time, only at once.
 */
export class ManualClock implements Clock {
  private current: number;
  private timers: ManualTimer[] = [];
  private seq = 0;

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason as Error);
        return;
      }
      const timer: ManualTimer = {
        at: this.current + Math.max(0, ms),
        seq: this.seq++,
        resolve: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        this.timers = this.timers.filter((t) => t !== timer);
        reject(signal.reason as Error);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.timers.push(timer);
    });
  }

  /** Sleeps not yet fired. */
  get pendingTimers(): number {
    return this.timers.length;
  }

  /** When the next sleep fires, or undefined when none is pending. */
  nextTimerAt(): number | undefined {
    return this.next()?.at;
  }

  /**
   * Moves the clock forward by `ms` at once; the sleeps due by then are released, but the code
   * they wake sees the new time. For decision code that only reads `now()`; loops want `elapse`.
   */
  advance(ms: number): void {
    this.current += Math.max(0, ms);
    const due = this.timers.filter((t) => t.at <= this.current).sort((a, b) => a.at - b.at || a.seq - b.seq);
    this.timers = this.timers.filter((t) => t.at > this.current);
    for (const t of due) t.resolve();
  }

  /**
   * Moves the clock forward by `ms`, firing every sleep that falls due on the way (and those that
   * the woken code sets within the span), each at its own time. Resolves once the work they start
   * has run as far as it can without more time passing.
   */
  async elapse(ms: number): Promise<void> {
    const target = this.current + Math.max(0, ms);
    await settle();
    for (;;) {
      const timer = this.next();
      if (timer === undefined || timer.at > target) break;
      this.timers = this.timers.filter((t) => t !== timer);
      this.current = Math.max(this.current, timer.at);
      timer.resolve();
      await settle();
    }
    this.current = target;
    await settle();
  }

  /**
   * Advances in steps of `stepMs` until `done()` holds, at most `limitMs` of clock time; returns
   * how far it moved. Throws when the limit is reached first, saying so, so a test that waits for
   * something that never happens fails instead of hanging.
   */
  async runUntil(done: () => boolean, options: { stepMs?: number; limitMs: number }): Promise<number> {
    const step = options.stepMs ?? 100;
    const start = this.current;
    await settle();
    while (!done()) {
      if (this.current - start >= options.limitMs) throw new Error(`condition not met within ${options.limitMs} ms of clock time`);
      await this.elapse(step);
    }
    return this.current - start;
  }

  /** Sets the time outright (a clock jump, either way); sleeps are not fired by it. */
  set(ms: number): void {
    this.current = ms;
  }

  private next(): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    for (const t of this.timers) if (best === undefined || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    return best;
  }
}

/**
 * Lets pending promise jobs and I/O callbacks run: a few turns of the event loop, so that an
 * async chain woken by a timer (await after await) gets to its next sleep.
 */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i += 1) await new Promise<void>((resolve) => setImmediate(resolve));
}
