/**
 * Injected failures of the fake NS1, decided per request in a fixed order so that a seeded
 * `random` tells the same story every run: drop (before anything else), then, once the request
 * is authenticated and charged to its bucket, the counted 500s, then random 5xx; record writes
 * stop after `failWritesAfter` successful ones. `random` is only drawn for knobs that are on.
 */

export interface FakeNs1Faults {
  /** The next N requests get 500 {"message":"internal error"} whatever they ask; counts down. */
  serverErrorsNext: number;
  /** Share (0..1) of requests answered 500 / 502 / 503. */
  serverErrorRate: number;
  /** Share (0..1) of requests whose connection is destroyed without an answer. */
  dropRate: number;
  /** Every answer is delayed this long. */
  delayMs: number;
  /** After this many successful record writes (PUT/POST/DELETE on records), every further record write fails with 500 until reset (undefined = off). */
  failWritesAfter: number | undefined;
}

export const NO_FAULTS: Readonly<FakeNs1Faults> = Object.freeze({
  serverErrorsNext: 0,
  serverErrorRate: 0,
  dropRate: 0,
  delayMs: 0,
  failWritesAfter: undefined,
});

/** The statuses a random server error picks from, as a proxy in front of an API hands them out. */
export const RANDOM_SERVER_ERRORS = [500, 502, 503] as const;
export type ServerErrorStatus = (typeof RANDOM_SERVER_ERRORS)[number];

function checkShare(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0 || value > 1) throw new RangeError(`fault ${name} must be a share from 0 to 1, not ${value}`);
}

function checkCount(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`fault ${name} must be a number of at least 0, not ${value}`);
}

export class FaultInjector {
  private current: FakeNs1Faults = { ...NO_FAULTS };
  private writesSucceeded = 0;

  constructor(private readonly random: () => number) {}

  get faults(): Readonly<FakeNs1Faults> {
    return this.current;
  }

  /**
   * Merges `faults` into the current ones; throws RangeError for out-of-range values. Setting
   * `failWritesAfter` (to a number or to undefined) starts its count of successful writes afresh.
   */
  set(faults: Partial<FakeNs1Faults>): void {
    const next: FakeNs1Faults = { ...this.current };
    if (faults.serverErrorsNext !== undefined) next.serverErrorsNext = faults.serverErrorsNext;
    if (faults.serverErrorRate !== undefined) next.serverErrorRate = faults.serverErrorRate;
    if (faults.dropRate !== undefined) next.dropRate = faults.dropRate;
    if (faults.delayMs !== undefined) next.delayMs = faults.delayMs;
    const resetsWrites = 'failWritesAfter' in faults;
    if (resetsWrites) next.failWritesAfter = faults.failWritesAfter;
    checkCount('serverErrorsNext', next.serverErrorsNext);
    checkShare('serverErrorRate', next.serverErrorRate);
    checkShare('dropRate', next.dropRate);
    checkCount('delayMs', next.delayMs);
    if (next.failWritesAfter !== undefined) checkCount('failWritesAfter', next.failWritesAfter);
    this.current = next;
    if (resetsWrites) this.writesSucceeded = 0;
  }

  /** Whether this request's connection is cut without an answer. */
  drop(): boolean {
    return this.current.dropRate > 0 && this.random() < this.current.dropRate;
  }

  /** The 5xx status this request gets instead of its answer, if any. */
  serverError(): ServerErrorStatus | undefined {
    const f = this.current;
    if (f.serverErrorsNext > 0) {
      this.current = { ...f, serverErrorsNext: f.serverErrorsNext - 1 };
      return 500;
    }
    if (f.serverErrorRate > 0 && this.random() < f.serverErrorRate) {
      return RANDOM_SERVER_ERRORS[Math.floor(this.random() * RANDOM_SERVER_ERRORS.length)] ?? 500;
    }
    return undefined;
  }

  /** True once `failWritesAfter` successful record writes have happened. */
  writesBlocked(): boolean {
    const limit = this.current.failWritesAfter;
    return limit !== undefined && this.writesSucceeded >= limit;
  }

  noteWriteSucceeded(): void {
    this.writesSucceeded += 1;
  }
}
