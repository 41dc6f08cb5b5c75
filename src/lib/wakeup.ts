import type { Clock } from './clock.js';

/**
 * A level-triggered wake-up: `notify()` any number of times, and the next `wait()` returns at
 * once; otherwise `wait()` returns after `ms` on the clock or when the signal aborts. Notifications
 * made while nobody waits are not lost.
 */
export class Wakeup {
  private pending = false;
  private release: (() => void) | undefined;

  constructor(private readonly clock: Clock) {}

  notify(): void {
    this.pending = true;
    this.release?.();
  }

  async wait(ms: number, signal: AbortSignal): Promise<void> {
    if (this.pending || signal.aborted) {
      this.pending = false;
      return;
    }
    const timer = new AbortController();
    const onAbort = (): void => { timer.abort(); };
    signal.addEventListener('abort', onAbort, { once: true });
    const notified = new Promise<void>((resolve) => {
      this.release = resolve;
    });
    try {
      await Promise.race([notified, this.clock.sleep(ms, timer.signal).catch(() => undefined)]);
    } finally {
      timer.abort();
      signal.removeEventListener('abort', onAbort);
      this.release = undefined;
      this.pending = false;
    }
  }
}
