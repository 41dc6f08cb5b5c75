import type { Clock } from '../../lib/clock.js';
import { sleep } from '../../lib/backoff.js';
import type { Sleep } from '../../lib/backoff.js';
import { settledOrAborted } from '../../lib/abort.js';

// The sleep moved to src/lib/backoff.ts (shared with the NS1 client); re-exported for existing importers.
export { sleep };
export type { Sleep };

export interface TokenBucketOptions {
  /** Tokens added per second: the sustained request rate. */
  readonly ratePerSecond: number;
  /** Tokens the bucket holds when full: how many requests may go at once after a quiet spell. */
  readonly burst: number;
  readonly clock: Clock;
  readonly sleep?: Sleep;
}

/**
 * A client-side token bucket: `burst` tokens when full, refilled at `ratePerSecond`, one token per
 * request. Callers are served one at a time in arrival order, and each takes its token at the
 * moment it is let through (by the clock, after its wait), so in any window of W ms at most
 * burst + W·rate/1000 requests go out — a late timer can delay a request but never bunch the
 * next ones up behind it.
 */
export class TokenBucket {
  readonly ratePerSecond: number;
  readonly burst: number;
  private readonly clock: Clock;
  private readonly sleep: Sleep;
  private tokens: number;
  private refilledAt: number | undefined;
  /** Settles when the caller ahead of the next one is through (or gave up). */
  private turn: Promise<void> = Promise.resolve();

  constructor(options: TokenBucketOptions) {
    if (!(options.ratePerSecond > 0)) throw new RangeError(`ratePerSecond must be positive, got ${options.ratePerSecond}`);
    if (!(options.burst >= 1)) throw new RangeError(`burst must be at least 1, got ${options.burst}`);
    this.ratePerSecond = options.ratePerSecond;
    this.burst = Math.floor(options.burst);
    this.tokens = this.burst;
    this.clock = options.clock;
    this.sleep = options.sleep ?? sleep;
  }

  /** Takes one token, waiting for it behind every earlier caller. */
  async acquire(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    const ahead = this.turn;
    let done = (): void => undefined;
    const mine = new Promise<void>((resolve) => {
      done = resolve;
    });
    // The next caller waits for the one ahead of us too, in case we give up early.
    this.turn = ahead.then(() => mine);
    try {
      await settledOrAborted(ahead, signal);
      for (;;) {
        this.refill();
        if (this.tokens >= 1) {
          this.tokens -= 1;
          return;
        }
        await this.sleep(Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSecond), signal);
      }
    } finally {
      done();
    }
  }

  private refill(): void {
    const now = this.clock.now();
    if (this.refilledAt !== undefined && now > this.refilledAt) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) * this.ratePerSecond) / 1000);
    }
    this.refilledAt = this.refilledAt === undefined ? now : Math.max(this.refilledAt, now);
  }
}

