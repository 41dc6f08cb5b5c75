import type { Clock } from './clock.js';

/**
 * A hybrid logical clock stamp: wall time in ms, a counter for events within the same ms (or
 * while the wall clock lags a stamp already seen), and the replica that made it. Stamps order
 * every edit in the cluster the same way on every replica: by wall, then logical, then replica.
 */
export interface HlcStamp {
  readonly wall: number;
  readonly logical: number;
  readonly replica: string;
}

/**
 * How far ahead of this replica's clock a stamp from a peer may be. The same bound as the peer
 * exchange's replay window (src/cluster/auth.ts): a peer whose clock is further off than that has
 * its messages refused anyway, so a stamp further ahead can only come from a clock that is wrong.
 * Without a bound, one peer an hour ahead would pin every replica's clock an hour ahead: its edits
 * would win every edit made anywhere until real time caught up.
 */
export const HLC_MAX_FORWARD_MS = 5 * 60_000;

/** Negative when a is older than b, positive when newer, 0 only for the same stamp. */
export function compareStamps(a: HlcStamp, b: HlcStamp): number {
  if (a.wall !== b.wall) return a.wall - b.wall;
  if (a.logical !== b.logical) return a.logical - b.logical;
  return a.replica < b.replica ? -1 : a.replica > b.replica ? 1 : 0;
}

/** Whether a peer's stamp was taken in, or refused for being too far ahead of this replica's clock. */
export type StampReceipt = { readonly accepted: true } | { readonly accepted: false; readonly aheadMs: number };

/**
 * Kulkarni et al.'s hybrid logical clock. A stamp made here is newer than every stamp made or
 * seen here before, even if the wall clock steps back or a peer's clock runs ahead: that is
 * what makes "last writer wins" mean the edit made last in causal order, not the one made on
 * the replica with the fastest clock. A peer's clock may pull this one ahead by at most
 * maxForwardMs (receive); further, the stamp is refused, as CockroachDB refuses a node beyond
 * its maximum clock offset.
 */
export class HybridLogicalClock {
  private wall = 0;
  private logical = 0;
  readonly maxForwardMs: number;

  constructor(
    private readonly clock: Clock,
    readonly replica: string,
    options: { readonly maxForwardMs?: number } = {},
  ) {
    this.maxForwardMs = options.maxForwardMs ?? HLC_MAX_FORWARD_MS;
  }

  /** A new stamp for an edit made here. */
  now(): HlcStamp {
    const physical = this.clock.now();
    if (physical > this.wall) {
      this.wall = physical;
      this.logical = 0;
    } else {
      this.logical += 1;
    }
    return { wall: this.wall, logical: this.logical, replica: this.replica };
  }

  /**
   * Takes in a stamp this replica already holds (read back from its own file, or a peer's stamp
   * already received), so later local stamps are newer. Unbounded on purpose: an edit here must
   * always be newer than the entry it replaces, even after this replica's clock stepped back.
   */
  observe(stamp: HlcStamp): void {
    if (stamp.wall > this.wall) {
      this.wall = stamp.wall;
      this.logical = stamp.logical;
    } else if (stamp.wall === this.wall && stamp.logical > this.logical) {
      this.logical = stamp.logical;
    }
  }

  /**
   * Takes in a stamp from a peer, unless its wall time is more than maxForwardMs ahead of this
   * replica's clock: then the clock does not move, and the caller must not keep what the stamp
   * orders (it would win every later edit here until real time caught up).
   */
  receive(stamp: HlcStamp): StampReceipt {
    const aheadMs = stamp.wall - this.clock.now();
    if (aheadMs > this.maxForwardMs) return { accepted: false, aheadMs };
    this.observe(stamp);
    return { accepted: true };
  }
}
