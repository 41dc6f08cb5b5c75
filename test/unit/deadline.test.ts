import { getEventListeners } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { abortable, startDeadline, withDeadline } from '../../src/lib/deadline.js';
import { exposedGc } from '../helpers/gc.js';

describe('startDeadline', () => {
  it('aborts with the first parent’s reason, and leaves nothing attached to the parents once disposed', () => {
    const parent = new AbortController();
    for (let i = 0; i < 100; i++) startDeadline(parent.signal, 60_000).dispose();
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(0);

    const other = new AbortController();
    const deadline = startDeadline([parent.signal, other.signal], 60_000);
    const stop = new Error('shutting down');
    parent.abort(stop);
    expect(deadline.signal.aborted).toBe(true);
    expect(deadline.signal.reason).toBe(stop);
    expect(deadline.timedOut()).toBe(false);
    deadline.dispose();
    expect(getEventListeners(other.signal, 'abort')).toHaveLength(0);
  });

  it('puts one listener on a parent however many deadlines follow it, and aborts them all with it', () => {
    const parent = new AbortController();
    const deadlines = Array.from({ length: 50 }, () => startDeadline(parent.signal, 60_000));
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(1);
    for (const deadline of deadlines.slice(0, 10)) deadline.dispose();
    const stop = new Error('stop');
    parent.abort(stop);
    expect(deadlines.slice(0, 10).every((d) => !d.signal.aborted)).toBe(true);
    expect(deadlines.slice(10).every((d) => d.signal.reason === stop)).toBe(true);
    for (const deadline of deadlines) deadline.dispose();
    // A new follower of an aborted parent starts aborted rather than waiting for an event already past.
    expect(startDeadline(parent.signal).signal.reason).toBe(stop);
  });

  it('aborts as timed out, with a TimeoutError naming the time, after its timeout and not before', () => {
    vi.useFakeTimers();
    try {
      const deadline = startDeadline([], 100);
      vi.advanceTimersByTime(99);
      expect(deadline.signal.aborted).toBe(false);
      vi.advanceTimersByTime(1);
      expect(deadline.signal.aborted).toBe(true);
      expect(deadline.timedOut()).toBe(true);
      expect(deadline.signal.reason).toMatchObject({ name: 'TimeoutError', message: 'no answer within 100 ms' });
      deadline.dispose();
    } finally {
      vi.useRealTimers();
    }
  });

  it('never times out without a timeout, and never after dispose()', () => {
    vi.useFakeTimers();
    try {
      const open = startDeadline(new AbortController().signal);
      const disposed = startDeadline([], 100);
      disposed.dispose();
      vi.advanceTimersByTime(1_000_000);
      expect(open.signal.aborted).toBe(false);
      expect(disposed.signal.aborted).toBe(false);
      open.dispose();
    } finally {
      vi.useRealTimers();
    }
  });

  it('starts aborted under a parent that already is, and sets no timer', () => {
    const parent = new AbortController();
    parent.abort(new Error('gone'));
    const deadline = startDeadline([new AbortController().signal, parent.signal], 100);
    expect(deadline.signal.aborted).toBe(true);
    expect(deadline.timedOut()).toBe(false);
    deadline.dispose();
  });

  it('still fires when only its signal is held, through garbage collections (AbortSignal.any with AbortSignal.timeout does not)', async () => {
    const gc = exposedGc();
    const parent = new AbortController();
    const signals = Array.from({ length: 20 }, () => startDeadline(parent.signal, 20).signal);
    gc();
    await vi.waitFor(() => {
      gc();
      expect(signals.filter((s) => !s.aborted)).toEqual([]);
    }, { timeout: 10_000, interval: 10 });
    expect(signals.every((s) => (s.reason as Error).name === 'TimeoutError')).toBe(true);
  });
});

describe('withDeadline', () => {
  it('gives the work the deadline’s signal and disposes of it whether the work resolves or rejects', async () => {
    const parent = new AbortController();
    await expect(withDeadline(parent.signal, 60_000, (signal) => Promise.resolve(signal.aborted))).resolves.toBe(false);
    await expect(withDeadline(parent.signal, 60_000, () => Promise.reject(new Error('failed')))).rejects.toThrow('failed');
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(0);
  });
});

describe('abortable', () => {
  it('settles like the promise, or rejects as soon as the signal aborts', async () => {
    await expect(abortable(Promise.resolve(7), new AbortController().signal)).resolves.toBe(7);
    const controller = new AbortController();
    const pending = abortable(new Promise<number>(() => undefined), controller.signal);
    controller.abort(new Error('stop'));
    await expect(pending).rejects.toThrow('aborted');
    const already = new AbortController();
    already.abort();
    await expect(abortable(Promise.resolve(1), already.signal)).rejects.toThrow('aborted');
  });
});
