import { createHash } from 'node:crypto';
import { ApiError } from '../../lib/api-route.js';
import type { ApiResponse } from '../../lib/api-route.js';
import type { Clock } from '../../lib/clock.js';
import { KeyedLock } from '../../lib/keyed-lock.js';

/**
 * Idempotency keys for the override routes: a client names each change it asks for with an
 * `Idempotency-Key` header, so that sending the same request again (because its answer did not
 * arrive) answers what the first one did instead of acting twice.
 *
 * Two things remember a key. This replica keeps the answer it gave for each key (bounded in
 * count and age, in memory), which covers every route. And an override made under a key gets an
 * id derived from the key alone, the same on every replica: a retry that reaches a replica
 * which holds the override (made there, replicated to it, or read back after a restart) finds
 * it by that id, and two replicas that both took the request made the same override, which the
 * exchange merges into one.
 */

/** The header, lower-case as node:http gives it. */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
export const MAX_IDEMPOTENCY_KEY_LENGTH = 200;
/** How many keys one replica remembers the answer of; the oldest is forgotten first. */
export const MAX_REMEMBERED_KEYS = 1000;
/** How long an answer is remembered: longer than any client's retries, as long as ended overrides are kept. */
export const KEY_MEMORY_MS = 24 * 60 * 60 * 1000;

/** Visible ASCII: what a header value can carry without quoting rules. */
const KEY_CHARACTERS = /^[\x21-\x7e]+$/;

/** Why `key` cannot be an idempotency key, in words; undefined when it can. */
export function idempotencyKeyProblem(key: string): string | undefined {
  if (key === '') return 'must not be empty';
  if (key.length > MAX_IDEMPOTENCY_KEY_LENGTH) return `must be at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`;
  if (!KEY_CHARACTERS.test(key)) return 'must be visible ASCII characters (no spaces, quotes or control characters)';
  if (key.includes('"')) return 'must not contain a double quote';
  return undefined;
}

/**
 * The request's key, undefined when it sent none. The IETF draft writes the value as a
 * structured-field string ("…"); the quotes are taken off. A bad key is a 400: acting without it
 * would give the client a retry that is not safe while it believes it is.
 */
export function idempotencyKeyOf(headers: Readonly<Record<string, string | readonly string[] | undefined>> | undefined): string | undefined {
  const raw = headers?.[IDEMPOTENCY_KEY_HEADER];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string') throw new ApiError(400, 'DQ_API_BAD_REQUEST', 'Idempotency-Key must be sent once');
  const key = raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
  const problem = idempotencyKeyProblem(key);
  if (problem !== undefined) throw new ApiError(400, 'DQ_API_BAD_REQUEST', `Idempotency-Key ${problem}`);
  return key;
}

/** The id of the override a request with `key` makes: "o-" and 12 hex digits of the key's SHA-256. */
export function overrideIdForKey(key: string): string {
  return `o-${createHash('sha256').update(`dnsquorum override\n${key}`, 'utf8').digest('hex').slice(0, 12)}`;
}

interface Remembered {
  /** What the request asked, so that the key sent with another request is refused rather than answered. */
  readonly fingerprint: string;
  readonly answer: ApiResponse;
  readonly at: number;
}

export interface IdempotencyMemoryOptions {
  readonly clock: Clock;
  readonly maxKeys?: number;
  readonly maxAgeMs?: number;
}

/** The answers given per key, and one request at a time per key. */
export class IdempotencyMemory {
  private readonly clock: Clock;
  private readonly maxKeys: number;
  private readonly maxAgeMs: number;
  /** In the order remembered, so the oldest come first. */
  private readonly answers = new Map<string, Remembered>();
  private readonly lock = new KeyedLock();
  /** A request that has reached the daemon is answered, whoever gave up waiting for it. */
  private readonly never = new AbortController().signal;

  constructor(options: IdempotencyMemoryOptions) {
    this.clock = options.clock;
    this.maxKeys = options.maxKeys ?? MAX_REMEMBERED_KEYS;
    this.maxAgeMs = options.maxAgeMs ?? KEY_MEMORY_MS;
  }

  /** How many keys are remembered now. */
  get size(): number {
    this.forgetOld();
    return this.answers.size;
  }

  /**
   * Answers a request that carries `key`. The first one runs `act`; its answer, when it is a
   * success, is kept and given again to every later request with the key and the same
   * `fingerprint`. One with another fingerprint is refused (422 DQ_API_KEY_REUSED). A failure is
   * not kept: it changed nothing, so the next try acts again. Requests with one key run one at a
   * time, so a retry that comes while the first is still being answered waits for its answer.
   */
  run(key: string, fingerprint: string, act: () => Promise<ApiResponse>): Promise<ApiResponse> {
    return this.lock.run(key, this.never, async () => {
      this.forgetOld();
      const known = this.answers.get(key);
      if (known !== undefined) {
        if (known.fingerprint !== fingerprint) throw reused(key);
        return known.answer;
      }
      const answer = await act();
      if (answer.status >= 200 && answer.status < 300) this.remember(key, { fingerprint, answer, at: this.clock.now() });
      return answer;
    });
  }

  private remember(key: string, remembered: Remembered): void {
    this.answers.delete(key);
    this.answers.set(key, remembered);
    for (const oldest of this.answers.keys()) {
      if (this.answers.size <= this.maxKeys) break;
      this.answers.delete(oldest);
    }
  }

  private forgetOld(): void {
    const now = this.clock.now();
    for (const [key, remembered] of this.answers) {
      if (now - remembered.at <= this.maxAgeMs) break;
      this.answers.delete(key);
    }
  }
}

/** The key came with another request than the one it first named. */
export function reused(key: string, what = 'another request'): ApiError {
  return new ApiError(422, 'DQ_API_KEY_REUSED', `Idempotency-Key ${key} was already used for ${what}; a key names one request: send a new key for a new request`);
}
