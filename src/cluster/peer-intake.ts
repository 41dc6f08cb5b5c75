import type { EndpointHealth, EndpointId, RegionVerdict } from '../domain/health.js';
import { describeAction, entryState } from '../domain/override.js';
import type { OverrideEntry } from '../domain/override.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { HealthBoard } from '../quorum/health-board.js';
import type { OverrideStore } from '../control/overrides/store.js';
import type { ClusterView } from './cluster-view.js';
import type { PeerMessage } from './messages.js';
import { fromPeerOverride, toPeerOverride } from './override-exchange.js';

/**
 * What crosses between replicas, turned into this replica's own terms: a peer's ages become
 * times on this replica's clock (a peer's clock never enters a decision), and its overrides are
 * merged into the replicated set.
 */

/** A peer's verdicts as of `receivedAt` on this replica's clock. */
export function verdictsFrom(message: PeerMessage, receivedAt: number): RegionVerdict[] {
  return message.verdicts.map((v) => ({ region: message.region, endpointId: v.endpointId, state: v.state, observedAt: receivedAt - v.ageMs, reason: v.reason }));
}

export interface PeerIntakeOptions {
  readonly cluster: ClusterView;
  readonly board: HealthBoard;
  readonly store: OverrideStore;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The endpoints whose health the peer's verdicts changed (announce them, decide again). */
  readonly healthChanged: (changed: readonly EndpointHealth[]) => void;
  /** Overrides learned from the peer were adopted (decide again, tell the other peers). */
  readonly overridesAdopted: (adopted: readonly OverrideEntry[]) => void;
}

/** Takes in one authenticated peer message: who it says writes, its verdicts, its overrides. */
export function peerIntake(options: PeerIntakeOptions): (message: PeerMessage, receivedAt: number) => void {
  const { cluster, board, store, clock, logger } = options;
  return (message, receivedAt) => {
    cluster.received(message, receivedAt);
    board.ingestPeerVerdicts(verdictsFrom(message, receivedAt));
    // Only the endpoints the message speaks of can have changed; stale votes age out on the
    // daemon's own re-evaluation beat.
    const touched: EndpointId[] = [...new Set(message.verdicts.map((v) => v.endpointId))];
    const { changed } = board.evaluate(touched.filter((id) => board.tracks(id)));
    if (changed.length > 0) options.healthChanged(changed);
    if (message.overrides.length === 0) return;
    store.merge(message.overrides.map((o) => fromPeerOverride(o, receivedAt))).then(
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
