import type { HealthState } from '../domain/health.js';
import type { Override, OverrideRelease } from '../domain/override.js';
import type { HlcStamp } from '../lib/hlc.js';

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
  /**
   * Every override entry the sender holds, tombstones included: the whole replicated set, so a
   * replica that missed a message, or restarted with an old file, catches up from any one peer.
   */
  readonly overrides: readonly PeerOverride[];
}

/**
 * An override entry on the wire. Like verdicts, its times are relative to the send (ages and
 * time left), so a peer's clock never decides when an override ends here. The HLC stamp is the
 * one clock reading that crosses replicas, and it only orders edits.
 */
export interface PeerOverride {
  readonly slot: string;
  readonly stamp: HlcStamp;
  readonly override: Omit<Override, 'createdAt' | 'expiresAt'> & {
    readonly createdAgoMs: number;
    /** Negative once expired. */
    readonly expiresInMs: number;
  };
  readonly released: (Omit<OverrideRelease, 'at'> & { readonly agoMs: number }) | null;
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
