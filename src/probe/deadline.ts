import { clearTimeout, setTimeout } from 'node:timers';

/** The caller's signal combined with a per-probe timeout. */
export interface Deadline {
  readonly signal: AbortSignal;
  /** Why the signal fired: "timeout after 2000ms", or "aborted" when the caller gave up first. */
  reason(): string;
  /** Clears the timer and the listener on the caller's signal. Call once the probe has settled. */
  dispose(): void;
}

/**
 * Starts a deadline. Written out instead of AbortSignal.any + AbortSignal.timeout so that every
 * probe releases its timer and its listener on the long-lived caller signal as soon as it
 * settles: the scheduler runs thousands of probes against one signal.
 */
export function startDeadline(caller: AbortSignal, timeoutMs: number): Deadline {
  const controller = new AbortController();
  let timedOut = false;
  const onCallerAbort = (): void => {
    controller.abort(caller.reason);
  };
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`timeout after ${timeoutMs}ms`));
  }, timeoutMs);
  if (caller.aborted) onCallerAbort();
  else caller.addEventListener('abort', onCallerAbort, { once: true });
  return {
    signal: controller.signal,
    reason: () => (timedOut ? `timeout after ${timeoutMs}ms` : 'aborted'),
    dispose: () => {
      clearTimeout(timer);
      caller.removeEventListener('abort', onCallerAbort);
    },
  };
}

/** Settles like `promise`, or rejects as soon as `signal` aborts (for work that takes no signal). */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error('aborted', { cause: signal.reason }));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(new Error('aborted', { cause: signal.reason }));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
