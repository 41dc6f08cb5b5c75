import { fullJitterMs } from '../../lib/backoff.js';
import { ProviderError, errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { Sleep, TokenBucket } from './rate-limiter.js';

/**
 * Every Route53 request goes through callWithRetries: one token from the shared bucket per
 * attempt, a deadline per attempt, and our own bounded retries (the SDK's are switched off with
 * maxAttempts 1, so every retry is ours, counted, paced by the bucket and abortable).
 */

export interface RetryPolicy {
  /** Attempts per call, the first included. */
  readonly maxAttempts: number;
  /** Backoff base after Throttling or PriorRequestNotComplete. */
  readonly throttleBaseMs: number;
  /** Backoff base after a 5xx, a network error or a timed-out attempt. */
  readonly transientBaseMs: number;
  /** No single backoff is longer than this. */
  readonly capMs: number;
}

/**
 * Bases as the SDK's standard mode uses them (1 s after throttling, shorter otherwise); more
 * attempts than its 3, because PriorRequestNotComplete lasts until another writer's change is in
 * sync, which Route53 says usually takes up to 60 s.
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 6, throttleBaseMs: 1000, transientBaseMs: 100, capMs: 20_000 };

export type FailureKind = 'throttled' | 'transient' | 'fatal';

/** Error names Route53 (or the SDK's list of throttling codes) uses for "slow down". */
const THROTTLING_NAMES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'SlowDown',
  'PriorRequestNotComplete',
]);

const TRANSIENT_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'InternalFailure', 'InternalError', 'ServiceUnavailable']);

/** Node and undici codes of connections that failed or broke before an answer. */
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

/** The HTTP status an SDK error carries, if it got that far. */
export function httpStatusOf(err: unknown): number | undefined {
  const status = field(field(err, '$metadata'), 'httpStatusCode') ?? field(field(err, '$response'), 'statusCode');
  return typeof status === 'number' ? status : undefined;
}

export function classifyFailure(err: unknown): FailureKind {
  const name = field(err, 'name');
  const code = field(err, 'code');
  const status = httpStatusOf(err);
  if (status === 429 || (typeof name === 'string' && THROTTLING_NAMES.has(name))) return 'throttled';
  if (status !== undefined && status >= 500) return 'transient';
  if (typeof name === 'string' && TRANSIENT_NAMES.has(name)) return 'transient';
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return 'transient';
  return 'fatal';
}

/** Full-jitter exponential backoff: uniform in [0, min(cap, base·2^retryIndex)). */
export function backoffMs(kind: Exclude<FailureKind, 'fatal'>, retryIndex: number, policy: RetryPolicy, random: () => number): number {
  const base = kind === 'throttled' ? policy.throttleBaseMs : policy.transientBaseMs;
  return fullJitterMs(base, retryIndex, policy.capMs, random);
}

/** What the calls of one provider went through, for logs, status and tests. */
export interface CallStats {
  /** Calls made (each may take several attempts). */
  calls: number;
  /** Requests sent, retries included. */
  attempts: number;
  retries: number;
  throttled: number;
  serverErrors: number;
  networkErrors: number;
  timeouts: number;
}

export function newCallStats(): CallStats {
  return { calls: 0, attempts: 0, retries: 0, throttled: 0, serverErrors: 0, networkErrors: 0, timeouts: 0 };
}

export interface CallerOptions {
  readonly provider: string;
  readonly limiter: TokenBucket;
  readonly policy: RetryPolicy;
  /** Longest one attempt may take; the request is aborted then and counts as transient. */
  readonly requestTimeoutMs: number;
  readonly random: () => number;
  readonly sleep: Sleep;
  readonly logger: Logger;
  readonly stats: CallStats;
}

/**
 * Runs one API call: each attempt waits for a token, runs under AbortSignal(caller ∪ deadline),
 * and is retried after a full-jitter backoff when it was throttled or failed transiently.
 * Exhausted retries become ProviderError DQ_PROVIDER_THROTTLED or DQ_PROVIDER_UNAVAILABLE (both
 * transient: the next pass tries again); any other error is rethrown as it is. When the caller's
 * signal aborts, its reason is thrown at once, whether during a request, a backoff or a wait for
 * a token.
 */
export async function callWithRetries<T>(operation: string, attempt: (signal: AbortSignal) => Promise<T>, signal: AbortSignal, options: CallerOptions): Promise<T> {
  const { stats, policy } = options;
  stats.calls++;
  for (let attemptNo = 1; ; attemptNo++) {
    await options.limiter.acquire(signal);
    stats.attempts++;
    const deadline = new AbortController();
    const onAbort = (): void => {
      deadline.abort(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => {
      deadline.abort(new Error(`${operation} took longer than ${options.requestTimeoutMs} ms`));
    }, options.requestTimeoutMs);
    let failure: unknown;
    let timedOut = false;
    try {
      return await attempt(deadline.signal);
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      failure = err;
      timedOut = deadline.signal.aborted;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }

    const kind = timedOut ? 'transient' : classifyFailure(failure);
    if (kind === 'fatal') throw failure;
    if (timedOut) stats.timeouts++;
    else if (kind === 'throttled') stats.throttled++;
    else if ((httpStatusOf(failure) ?? 0) >= 500) stats.serverErrors++;
    else stats.networkErrors++;

    const reason = timedOut ? `no answer within ${options.requestTimeoutMs} ms` : describeFailure(failure);
    if (attemptNo >= policy.maxAttempts) {
      const message = `Route53 ${operation} failed ${attemptNo} times; last: ${reason}`;
      throw kind === 'throttled'
        ? new ProviderError('DQ_PROVIDER_THROTTLED', options.provider, message, { cause: failure })
        : new ProviderError('DQ_PROVIDER_UNAVAILABLE', options.provider, message, { cause: failure });
    }
    const delay = backoffMs(kind, attemptNo - 1, policy, options.random);
    stats.retries++;
    options.logger.debug({ operation, attempt: attemptNo, kind, reason, delayMs: delay }, 'Route53 call failed; retrying');
    await options.sleep(delay, signal);
  }
}

function describeFailure(err: unknown): string {
  const name = field(err, 'name');
  const code = field(err, 'code');
  const status = httpStatusOf(err);
  const parts = [typeof name === 'string' && name !== 'Error' ? name : undefined, typeof code === 'string' ? code : undefined, status === undefined ? undefined : `HTTP ${status}`];
  const label = parts.filter((p) => p !== undefined).join(' ');
  return label === '' ? errorMessage(err) : `${label}: ${errorMessage(err)}`;
}
