/** Something that runs until its signal aborts, and finishes what it has in flight first. */
export interface RunnableTask {
  run(signal: AbortSignal): Promise<void>;
}

/**
 * Runs one task at a time in a slot whose occupant can be replaced while it runs (a config
 * reload): the old one is stopped the way a shutdown stops it (its signal aborts, it finishes what
 * it has in flight) before the new one starts, so two never work at once.
 */
export class TaskSlot<T extends RunnableTask> {
  private occupant: T;
  private stopCurrent: AbortController | undefined;
  private queued: T | undefined;
  /** Callers of replace() waiting for the switch (a second replace before the switch replaces the first's task). */
  private waiters: (() => void)[] = [];

  constructor(initial: T) {
    this.occupant = initial;
  }

  /** The task in the slot now (the new one as soon as replace() was called). */
  get current(): T {
    return this.queued ?? this.occupant;
  }

  /**
   * Puts `next` in the slot. Resolves once the previous occupant has stopped and `next` runs
   * (at once when the slot is not running).
   */
  replace(next: T): Promise<void> {
    if (this.stopCurrent === undefined) {
      this.occupant = next;
      return Promise.resolve();
    }
    this.queued = next;
    const switched = new Promise<void>((resolve) => {
      this.waiters.push(resolve);
    });
    this.stopCurrent.abort();
    return switched;
  }

  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const stop = new AbortController();
      this.stopCurrent = stop;
      const onAbort = (): void => { stop.abort(); };
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        await this.occupant.run(stop.signal);
      } finally {
        signal.removeEventListener('abort', onAbort);
        this.stopCurrent = undefined;
      }
      const next = this.queued;
      if (next === undefined) break;
      this.occupant = next;
      this.queued = undefined;
      this.release();
    }
    // A replace() that came while stopping for good resolves too: nothing will run anyway.
    this.release();
  }

  private release(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}
