/** Runs a task when a slot is free; the answer is the task's own. */
export type ConcurrencyLimit = <T>(task: () => Promise<T>) => Promise<T>;

/**
 * Runs tasks with at most `max` of them in flight; the others wait their turn in arrival order.
 * A waiting task holds no socket, so a large zone times many servers costs no more than `max` at once.
 */
export function concurrencyLimit(max: number): ConcurrencyLimit {
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`at most ${max} in flight: must be a whole number of at least 1`);
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (active >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    else active += 1;
    try {
      return await task();
    } finally {
      // The slot passes straight to the next waiter, so `active` counts it without a gap.
      const next = waiting.shift();
      if (next === undefined) active -= 1;
      else next();
    }
  };
}
