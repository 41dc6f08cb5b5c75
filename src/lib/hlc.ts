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

/** Negative when a is older than b, positive when newer, 0 only for the same stamp. */
export function compareStamps(a: HlcStamp, b: HlcStamp): number {
  if (a.wall !== b.wall) return a.wall - b.wall;
  if (a.logical !== b.logical) return a.logical - b.logical;
  return a.replica < b.replica ? -1 : a.replica > b.replica ? 1 : 0;
}

/**
 * Kulkarni et al.'s hybrid logical clock. A stamp made here is newer than every stamp made or
 * seen here before, even if the wall clock steps back or a peer's clock runs ahead: that is
 * what makes "last writer wins" mean the edit made last in causal order, not the one made on
 * the replica with the fastest clock.
 */
export class HybridLogicalClock {
  private wall = 0;
  private logical = 0;

  constructor(
    private readonly clock: Clock,
    readonly replica: string,
  ) {}

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

  /** Takes in a stamp seen from a peer (or read back from disk), so later local stamps are newer. */
  observe(stamp: HlcStamp): void {
    if (stamp.wall > this.wall) {
      this.wall = stamp.wall;
      this.logical = stamp.logical;
    } else if (stamp.wall === this.wall && stamp.logical > this.logical) {
      this.logical = stamp.logical;
    }
  }
}
