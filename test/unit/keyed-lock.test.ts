import { describe, expect, it } from 'vitest';
import { KeyedLock } from '../../src/lib/keyed-lock.js';

/** A task that records when it starts and ends, and ends only when the test says so. */
function gatedTask(name: string, log: string[]): { run: () => Promise<string>; finish: () => void; fail: (err: Error) => void } {
  let finish = (): void => undefined;
  let fail: (err: Error) => void = () => undefined;
  const gate = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  return {
    run: async () => {
      log.push(`${name} start`);
      try {
        await gate;
      } finally {
        log.push(`${name} end`);
      }
      return name;
    },
    finish: () => {
      finish();
    },
    fail: (err) => {
      fail(err);
    },
  };
}

/** Lets every promise callback that can run now run (a macrotask turn; no time passes on any clock). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const never = new AbortController().signal;

describe('KeyedLock', () => {
  it('runs two writers to one key one after the other, in the order they came', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    const a = gatedTask('a', log);
    const b = gatedTask('b', log);
    const first = lock.run('example.com.', never, a.run);
    const second = lock.run('example.com.', never, b.run);
    await settle();
    expect(log).toEqual(['a start']);

    a.finish();
    await expect(first).resolves.toBe('a');
    await settle();
    expect(log).toEqual(['a start', 'a end', 'b start']);
    b.finish();
    await expect(second).resolves.toBe('b');
  });

  it('runs writers to different keys at once', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    const a = gatedTask('a', log);
    const b = gatedTask('b', log);
    const first = lock.run('example.com.', never, a.run);
    const second = lock.run('example.org.', never, b.run);
    await settle();
    expect(log).toEqual(['a start', 'b start']);
    b.finish();
    await expect(second).resolves.toBe('b');
    a.finish();
    await expect(first).resolves.toBe('a');
  });

  it('lets an aborted waiter leave at once; the next still waits for the run ahead, and no longer', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    const a = gatedTask('a', log);
    const b = gatedTask('b', log);
    const c = gatedTask('c', log);
    const gaveUp = new AbortController();
    const first = lock.run('example.com.', never, a.run);
    const second = lock.run('example.com.', gaveUp.signal, b.run);
    const third = lock.run('example.com.', never, c.run);
    await settle();

    const reason = new Error('pass cancelled');
    gaveUp.abort(reason);
    await expect(second).rejects.toBe(reason);
    await settle();
    expect(log).toEqual(['a start']);

    a.finish();
    await expect(first).resolves.toBe('a');
    await settle();
    expect(log).toEqual(['a start', 'a end', 'c start']);
    c.finish();
    await expect(third).resolves.toBe('c');
    expect(log).not.toContain('b start');
  });

  it('does not start a task whose signal has already aborted', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    const a = gatedTask('a', log);
    const gone = new AbortController();
    gone.abort(new Error('gone'));
    await expect(lock.run('example.com.', gone.signal, a.run)).rejects.toThrow('gone');
    expect(log).toEqual([]);
  });

  it('lets the next writer in after a task fails', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    const a = gatedTask('a', log);
    const b = gatedTask('b', log);
    const first = lock.run('example.com.', never, a.run);
    const second = lock.run('example.com.', never, b.run);
    a.fail(new Error('provider refused'));
    await expect(first).rejects.toThrow('provider refused');
    await settle();
    expect(log).toEqual(['a start', 'a end', 'b start']);
    b.finish();
    await expect(second).resolves.toBe('b');
  });
});
