import { settledOrAborted } from './abort.js';

/**
 * One run at a time per key (a provider's writes to one zone): a run starts once every earlier run
 * for its key has finished, while runs for different keys go on at once. A waiter whose signal
 * aborts leaves at once, rejecting with the signal's reason, and does not hold up those queued
 * behind it: they still wait for the run ahead of it, and no longer.
 */
export class KeyedLock {
  /** Key -> a promise that settles when the last run queued for the key is over; absent when none is. */
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, signal: AbortSignal, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release = (): void => undefined;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    try {
      await settledOrAborted(previous, signal);
      // The signal may have aborted in the same turn the run ahead finished: do not start work whose caller has gone.
      signal.throwIfAborted();
      return await task();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
