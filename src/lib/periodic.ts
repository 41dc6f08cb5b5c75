import { Wakeup } from './wakeup.js';

/** A task that calls `tick` every `everyMs` until its signal aborts; a tick that throws is the task failing. */
export function periodic(everyMs: number, tick: () => void): { run(signal: AbortSignal): Promise<void> } {
  return {
    async run(signal: AbortSignal): Promise<void> {
      const wakeup = new Wakeup();
      while (!signal.aborted) {
        tick();
        await wakeup.wait(everyMs, signal);
      }
    },
  };
}
