/**
 * Waits until `promise` settles (fulfilled or rejected: the caller only needs to know it is over),
 * or rejects with the signal's reason as soon as the signal aborts. Used to wait for one's turn in
 * a queue without being stuck there after giving up.
 */
export function settledOrAborted(promise: Promise<unknown>, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const done = (): void => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    };
    promise.then(done, done);
  });
}
