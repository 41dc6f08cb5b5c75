import type { Clock } from './clock.js';
import { Wakeup } from './wakeup.js';

/** A task that calls `tick` every `everyMs` on the clock until its signal aborts; a tick that throws is the task failing. */
export function periodic(clock: Clock, everyMs: number, tick: () => void): { run(signal: AbortSignal): Promise<void> } {
  return {
    async run(signal: AbortSignal): Promise<void> {
      const wakeup = new Wakeup(clock);
      while (!signal.aborted) {
        tick();
        await wakeup.wait(everyMs, signal);
      }
    },
  };
}
