import type { HealthView } from '../domain/health.js';

/** What the cluster side reports in status: plain JSON. Times are epoch ms of this replica's clock. */

export interface PeerStatus {
  readonly region: string;
  readonly url: string;
  /** When a valid message from it last arrived; null if never. */
  readonly lastHeardAt: number | null;
  /** Heard from within cluster.staleAfter. */
  readonly fresh: boolean;
  /** What it said of itself in its last message. */
  readonly writer: boolean;
  readonly seesQuorum: boolean;
  /** When our last message to it was accepted; null if never. */
  readonly lastSentAt: number | null;
  /** Why our last message to it failed, or null once one succeeded since. */
  readonly lastSendError: string | null;
  /** When it last answered one of our posts at all, accepting or refusing it; null if never. */
  readonly lastAnsweredAt: number | null;
  /**
   * Heard from, answering our posts (even to refuse them), or not yet proven gone. Break-glass
   * (overrides written without a quorum) happens only while no peer is alive.
   */
  readonly alive: boolean;
  /** Its last answer refused our message as stale: the two clocks differ by more than the replay window. */
  readonly refusesStale: boolean;
  /**
   * Its clock minus this replica's, in ms, as last measured: from the signed send time of its
   * last accepted message (give or take the transit), or from the signed clock in its last stale
   * answer; null until measured.
   */
  readonly clockOffsetMs: number | null;
  /** Override entries from it refused because their stamp was more than 5 min ahead of this replica's clock. */
  readonly stampsRefused: number;
}

export interface ClusterStatus {
  readonly region: string;
  /** This replica may write (cluster.writer). */
  readonly writerCapable: boolean;
  /** Fresh regions (this one included) and the number the quorum needs. */
  readonly freshRegions: readonly string[];
  readonly quorum: number;
  readonly seesQuorum: boolean;
  /** The region that writes now, by the deterministic rule; null when no replica may. */
  readonly writer: string | null;
  readonly peers: readonly PeerStatus[];
  /** Peer messages refused, by reason: bad-signature, stale, replayed, malformed, unknown-peer. */
  readonly rejected: Readonly<Record<string, number>>;
  /** Peers whose clocks differ from this one's by more than the replay window (they refuse its messages as stale). */
  readonly clockSkewed: readonly string[];
}

/** One endpoint's health across regions, for status. */
export interface EndpointStatus {
  readonly endpointId: string;
  readonly state: string;
  readonly reason: string;
  readonly insufficientVantage: boolean;
  readonly since: number;
  readonly regions: readonly { readonly region: string; readonly state: string; readonly ageMs: number; readonly reason: string }[];
}

/** Every endpoint's health across regions as status shows it, with ages at `now`. */
export function endpointStatus(health: HealthView, now: number): EndpointStatus[] {
  return [...health.values()].map((h) => ({
    endpointId: h.endpointId,
    state: h.state,
    reason: h.reason,
    insufficientVantage: h.insufficientVantage,
    since: h.since,
    regions: h.regions.map((r) => ({ region: r.region, state: r.state, ageMs: Math.max(0, now - r.observedAt), reason: r.reason })),
  }));
}
