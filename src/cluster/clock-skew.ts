import { clockSkewClearedNotification, clockSkewNotification } from '../control/notify/events.js';
import type { NotificationEvent } from '../control/notify/notifier.js';
import type { ClusterStatus } from './status.js';

/**
 * Turns the cluster status into "peers refuse this replica's messages as stale" (clock-skew) and,
 * once none does, "over" (clock-skew-cleared): one condition per replica, tied by one dedupKey.
 * Pure apart from its memory of which peers the open condition names; the caller passes the
 * status and the time, as often as it likes.
 */
export class ClockSkewWatch {
  /** The peers named by the open condition, sorted and joined; undefined while none is open. */
  private named: string | undefined;

  constructor(
    private readonly region: string,
    private readonly windowMs: number,
  ) {}

  observe(status: ClusterStatus, now: number): NotificationEvent[] {
    const skewed = [...status.clockSkewed].sort();
    if (skewed.length === 0) {
      if (this.named === undefined) return [];
      this.named = undefined;
      return [clockSkewClearedNotification(this.region, now)];
    }
    const named = skewed.join(',');
    if (named === this.named) return [];
    this.named = named;
    const peers = skewed.map((region) => ({ region, offsetMs: status.peers.find((p) => p.region === region)?.clockOffsetMs ?? null }));
    return [clockSkewNotification(peers, this.windowMs, this.region, now)];
  }
}
