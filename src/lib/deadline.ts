import type { Clock } from './clock.js';

/**
 * Signals that abort when a parent does or when time runs out. Every bounded wait in the daemon
 * goes through here instead of AbortSignal.any([parent, AbortSignal.timeout(ms)]), for two reasons
 * seen on Node 20:
 * - AbortSignal.any holds its sources weakly. A timeout signal that nothing else holds can be
 *   garbage collected before its time, and then never fires: a request to a peer that never answers
 *   stays pending for good (test/e2e/cluster-exchange.test.ts reproduces it with forced GCs).
 * - Each AbortSignal.any leaves an entry in every parent for as long as the parent lives (about
 *   70 bytes), and a daemon's signal lives for months.
 * Here the timer holds the controller strongly, each parent carries one listener however many
 * deadlines follow it, and dispose() clears the timer and detaches as soon as the work has settled.
 */

export interface Deadline {
  readonly signal: AbortSignal;
  /** True when the time ran out first (rather than a parent aborting). */
  timedOut(): boolean;
  /** Clears the timer and detaches from the parents. Call once the work has settled. */
  dispose(): void;
}

/**
 * A signal that aborts with the first parent to abort (with its reason) or, given timeoutMs, after
 * that long with a TimeoutError "no answer within N ms". The time is measured on `clock` when one
 * is given (a ManualClock in tests), else by a real timer.
 */
export function startDeadline(parents: AbortSignal | readonly AbortSignal[], timeoutMs?: number, clock?: Clock): Deadline {
  const controller = new AbortController();
  let timedOut = false;
  const detach: (() => void)[] = [];
  const abort = (reason: unknown): void => {
    controller.abort(reason);
  };
  for (const parent of parents instanceof AbortSignal ? [parents] : parents) {
    if (parent.aborted) {
      controller.abort(parent.reason);
      break;
    }
    detach.push(follow(parent, abort));
  }
  const expire = (): void => {
    timedOut = true;
    controller.abort(new DOMException(`no answer within ${timeoutMs ?? 0} ms`, 'TimeoutError'));
  };
  const armed = timeoutMs !== undefined && !controller.signal.aborted;
  const timer = armed && clock === undefined ? setTimeout(expire, timeoutMs) : undefined;
  // The pending sleep holds `expire`, and with it the controller, as strongly as a timer would.
  const stopSleep = armed && clock !== undefined ? new AbortController() : undefined;
  if (stopSleep !== undefined && clock !== undefined) clock.sleep(timeoutMs ?? 0, stopSleep.signal).then(expire, () => undefined);
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    dispose: () => {
      clearTimeout(timer);
      stopSleep?.abort();
      for (const d of detach.splice(0)) d();
    },
  };
}

interface Followers {
  readonly aborts: Set<(reason: unknown) => void>;
  readonly onAbort: () => void;
}

/**
 * The deadlines following each parent, behind one listener on it: a probe round or a verification
 * runs hundreds of deadlines under one signal, and a listener each would trip Node's leak warning.
 */
const followersOf = new WeakMap<AbortSignal, Followers>();

/** Aborts with the parent's reason when it aborts; the returned function stops following it. */
function follow(parent: AbortSignal, abort: (reason: unknown) => void): () => void {
  let followers = followersOf.get(parent);
  if (followers === undefined) {
    const aborts = new Set<(reason: unknown) => void>();
    const onAbort = (): void => {
      followersOf.delete(parent);
      for (const each of aborts) each(parent.reason);
    };
    followers = { aborts, onAbort };
    followersOf.set(parent, followers);
    parent.addEventListener('abort', onAbort, { once: true });
  }
  const { aborts, onAbort } = followers;
  aborts.add(abort);
  return () => {
    if (!aborts.delete(abort) || aborts.size > 0 || followersOf.get(parent)?.aborts !== aborts) return;
    followersOf.delete(parent);
    parent.removeEventListener('abort', onAbort);
  };
}

/** Runs work under a deadline, and disposes of the deadline however the work ends. */
export async function withDeadline<T>(
  parents: AbortSignal | readonly AbortSignal[],
  timeoutMs: number | undefined,
  work: (signal: AbortSignal, deadline: Deadline) => Promise<T>,
  clock?: Clock,
): Promise<T> {
  const deadline = startDeadline(parents, timeoutMs, clock);
  try {
    return await work(deadline.signal, deadline);
  } finally {
    deadline.dispose();
  }
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
