import type { HealthState } from '../domain/health.js';

/**
 * What one replica tells each of its peers, every cluster.exchangeInterval and whenever one of its
 * own verdicts changes: its own region's verdicts and whether it may and can write. Plain JSON.
 * Times are ages (milliseconds before sending), never timestamps: the receiver turns an age into
 * its own clock, so clock skew between replicas never changes a decision. The only timestamp is
 * the signed send time in the headers, used for the replay window (see auth.ts), not for health.
 */
export interface PeerMessage {
  /** Protocol version; a receiver refuses versions it does not know. */
  readonly v: 1;
  /** The sender's region (must be one of the receiver's cluster.peers). */
  readonly region: string;
  /** The sender may write (cluster.writer, default true); a prober-only replica says false. */
  readonly writer: boolean;
  /** The sender hears from enough fresh regions (itself included) to reach the quorum. */
  readonly seesQuorum: boolean;
  /** The sender's own region's verdict on each endpoint it probes. */
  readonly verdicts: readonly PeerVerdict[];
}

export interface PeerVerdict {
  readonly endpointId: string;
  readonly state: HealthState;
  /** How long ago the sender's last probe confirmed this verdict. */
  readonly ageMs: number;
  readonly reason: string;
}

/** The HTTP route peers post to, on the admin API's address (no bearer token: the HMAC authenticates). */
export const PEER_PATH = '/v1/peer/exchange';
