import { describe, expect, it } from 'vitest';
import { TaskSlot } from '../../src/lib/task-slot.js';

/** A task that records when it starts and stops, and finishes its "write in flight" before returning. */
function recorder(name: string, events: string[], finishing?: Promise<void>): { run(signal: AbortSignal): Promise<void> } {
  return {
    async run(signal: AbortSignal): Promise<void> {
      events.push(`${name} start`);
      await new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        else signal.addEventListener('abort', () => { resolve(); }, { once: true });
      });
      await finishing;
      events.push(`${name} stop`);
    },
  };
}

describe('TaskSlot', () => {
  it('stops the old task, waiting for what it has in flight, before the new one starts', async () => {
    const events: string[] = [];
    let finishWrite = (): void => undefined;
    const write = new Promise<void>((resolve) => { finishWrite = resolve; });
    const slot = new TaskSlot(recorder('a', events, write));
    const stop = new AbortController();
    const running = slot.run(stop.signal);
    const switched = slot.replace(recorder('b', events));
    expect(slot.current).not.toBeUndefined();
    events.push('write finishing');
    finishWrite();
    await switched;
    stop.abort();
    await running;
    expect(events).toEqual(['a start', 'write finishing', 'a stop', 'b start', 'b stop']);
  });

  it('keeps only the newest of two quick replacements, and resolves both', async () => {
    const events: string[] = [];
    const slot = new TaskSlot(recorder('a', events));
    const stop = new AbortController();
    const running = slot.run(stop.signal);
    await Promise.all([slot.replace(recorder('b', events)), slot.replace(recorder('c', events))]);
    stop.abort();
    await running;
    expect(events).toEqual(['a start', 'a stop', 'c start', 'c stop']);
  });

  it('takes a replacement at once when not running, and resolves one that comes while stopping for good', async () => {
    const events: string[] = [];
    const slot = new TaskSlot(recorder('a', events));
    await slot.replace(recorder('b', events));
    const stop = new AbortController();
    const running = slot.run(stop.signal);
    stop.abort();
    await running;
    expect(events).toEqual(['b start', 'b stop']);
  });
});
