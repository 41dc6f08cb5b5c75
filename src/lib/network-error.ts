import { errorMessage } from './errors.js';

/**
 * A failed fetch as one line, e.g. "fetch failed: connect ECONNREFUSED 127.0.0.1:9" or
 * "fetch failed: other side closed (UND_ERR_SOCKET)". fetch's own message says only that it
 * failed; undici says what happened in the cause chain, so the chain is walked (a few levels)
 * and each error's code is added unless its message already names it.
 */
export function describeNetworkError(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as Error & { code?: unknown }).code;
    parts.push(typeof code === 'string' && !current.message.includes(code) ? `${current.message} (${code})` : current.message);
    current = current.cause;
  }
  return parts.length === 0 ? errorMessage(err) : parts.join(': ');
}
