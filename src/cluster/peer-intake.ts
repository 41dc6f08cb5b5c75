import type { EndpointHealth, EndpointId, RegionVerdict } from '../domain/health.js';
import { describeAction, entryState } from '../domain/override.js';
import type { OverrideEntry } from '../domain/override.js';
import type { Clock } from '../lib/clock.js';
import type { HybridLogicalClock } from '../lib/hlc.js';
import type { Logger } from '../lib/logger.js';
import type { HealthBoard } from '../quorum/health-board.js';
import type { OverrideStore } from '../control/overrides/store.js';
import type { ClusterView } from './cluster-view.js';
import type { PeerMessage } from './messages.js';
import { fromPeerOverride, toPeerOverride } from './override-exchange.js';

/**
 * What crosses between replicas, turned into this replica's own terms: a peer's ages become
 * times on this replica's clock (a peer's clock never enters a decision), and its overrides are
 * merged into the replicated set, except those stamped further ahead of this replica's clock than
 * the hybrid logical clock takes (HLC_MAX_FORWARD_MS): kept, such an entry would win every edit
 * of its slot made anywhere until real time caught up with the peer's wrong clock.
 */

/** Refused override entries remembered (so each is logged once); far above any real number of overrides. */
const MAX_REMEMBERED_REFUSALS = 10_000;

/** A peer's verdicts as of `receivedAt` on this replica's clock. */
export function verdictsFrom(message: PeerMessage, receivedAt: number): RegionVerdict[] {
  return message.verdicts.map((v) => ({ region: message.region, endpointId: v.endpointId, state: v.state, observedAt: receivedAt - v.ageMs, reason: v.reason }));
}

export interface PeerIntakeOptions {
  readonly cluster: ClusterView;
  readonly board: HealthBoard;
  readonly store: OverrideStore;
  readonly clock: Clock;
  /** This replica's hybrid logical clock: takes in each override stamp, or refuses one too far ahead. */
  readonly hlc: HybridLogicalClock;
  readonly logger: Logger;
  /** The endpoints whose health the peer's verdicts changed (announce them, decide again). */
  readonly healthChanged: (changed: readonly EndpointHealth[]) => void;
  /** Overrides learned from the peer were adopted (decide again, tell the other peers). */
  readonly overridesAdopted: (adopted: readonly OverrideEntry[]) => void;
}

/** Takes in one authenticated peer message: who it says writes, its verdicts, its overrides. */
export function peerIntake(options: PeerIntakeOptions): (message: PeerMessage, receivedAt: number, sentAt?: number) => void {
  const { cluster, board, store, clock, hlc, logger } = options;
  // A peer sends its whole set every round: each refused entry is counted and logged once.
  const refused = new Set<string>();
  return (message, receivedAt, sentAt) => {
    cluster.received(message, receivedAt, sentAt);
    board.ingestPeerVerdicts(verdictsFrom(message, receivedAt));
    // Only the endpoints the message speaks of can have changed; stale votes age out on the
    // daemon's own re-evaluation beat.
    const touched: EndpointId[] = [...new Set(message.verdicts.map((v) => v.endpointId))];
    const { changed } = board.evaluate(touched.filter((id) => board.tracks(id)));
    if (changed.length > 0) options.healthChanged(changed);
    const admitted = message.overrides.filter((o) => {
      const receipt = hlc.receive(o.stamp);
      if (receipt.accepted) return true;
      const key = `${message.region}/${o.slot}/${o.stamp.replica}/${o.stamp.wall}/${o.stamp.logical}`;
      if (refused.has(key)) return false;
      if (refused.size >= MAX_REMEMBERED_REFUSALS) refused.clear();
      refused.add(key);
      cluster.stampRefused(message.region);
      logger.warn(
        { from: message.region, override: o.override.id, slot: o.slot, stamp: o.stamp, aheadMs: receipt.aheadMs, maxForwardMs: hlc.maxForwardMs },
        `clock skew: refused override ${o.override.id} from ${message.region}: its stamp is ${(receipt.aheadMs / 1000).toFixed(1)} s ahead of this replica's clock (at most ${hlc.maxForwardMs / 1000} s is taken); the replica that made it has a clock that is ahead`,
      );
      return false;
    });
    if (admitted.length === 0) return;
    store.merge(admitted.map((o) => fromPeerOverride(o, receivedAt))).then(
      (adopted) => {
        for (const entry of adopted) {
          logger.info(
            { override: entry.override.id, from: message.region, state: entryState(entry, clock.now()) },
            `learned override ${entry.override.id} (${describeAction(entry.override.action)} on ${entry.override.name}) from ${message.region}`,
          );
        }
        if (adopted.length > 0) options.overridesAdopted(adopted);
      },
      (err: unknown) => {
        logger.error({ err, from: message.region }, 'could not take in the overrides a peer sent');
      },
    );
  };
}

export interface PeerMessageOptions {
  readonly region: string;
  /** This replica may write (cluster.writer). */
  readonly writer: boolean;
  readonly cluster: ClusterView;
  readonly board: HealthBoard;
  readonly store: OverrideStore;
  readonly clock: Clock;
}

/** What this replica tells its peers now: its own verdicts and every override entry, with times as ages. */
export function peerMessage(options: PeerMessageOptions): () => PeerMessage {
  const { region, writer, cluster, board, store, clock } = options;
  return () => {
    const now = clock.now();
    return {
      v: 1,
      region,
      writer,
      seesQuorum: cluster.seesQuorum(),
      verdicts: board.localVerdicts().map((v) => ({ endpointId: v.endpointId, state: v.state, ageMs: Math.max(0, now - v.observedAt), reason: v.reason })),
      overrides: store.entries().map((e) => toPeerOverride(e, now)),
    };
  };
}
