import type { StartupHold } from '../quorum/startup.js';
import type { WriteMode } from '../sync/reconciler.js';

export interface WriteModeInputs {
  /** Why this replica is not the writer now (no quorum in view, another region writes), or undefined when it is. */
  readonly notWriter: string | undefined;
  /** This replica may write at all (cluster.writer). */
  readonly writerCapable: boolean;
  /** Some replica, this one or a peer, is the writer by the cluster's rule. */
  readonly writerInView: boolean;
  /**
   * Peers that are alive as far as this replica can tell (ClusterView.alivePeers): heard from,
   * answering its posts even to refuse them, or not yet proven gone.
   */
  readonly alivePeers: readonly string[];
  /** At least one override is active. */
  readonly overridesActive: boolean;
  readonly startup: StartupHold;
}

/**
 * Whether this replica writes now, and what. Overrides need no quorum: a writer-capable replica
 * that hears nobody at all (cut off from its peers, or all of them down) still writes its active
 * overrides, and health decides nothing meanwhile (break-glass). A peer that answers, even to
 * refuse our messages (clock skew, a wrong secret), is alive and may be the writer: then this
 * replica holds, or it would write its overrides while that writer writes health's decision back,
 * and the record would flip between them. During the startup hold, overrides are written and
 * health waits for every failover record's quorum data.
 */
export function writeMode(inputs: WriteModeInputs): WriteMode {
  const { notWriter, overridesActive, startup, alivePeers } = inputs;
  if (notWriter !== undefined) {
    if (overridesActive && inputs.writerCapable && !inputs.writerInView) {
      if (alivePeers.length === 0) {
        return { kind: 'overrides-only', reason: `break-glass: ${notWriter}; no peer answers, so overrides are written from here` };
      }
      return { kind: 'hold', reason: `${notWriter}; no break-glass: ${alivePeers.join(', ')} ${alivePeers.length === 1 ? 'is' : 'are'} alive (answering) and may be writing` };
    }
    return { kind: 'hold', reason: notWriter };
  }
  if (!startup.hold) return { kind: 'all' };
  return overridesActive ? { kind: 'overrides-only', reason: `startup: ${startup.reason}; overrides are written meanwhile` } : { kind: 'hold', reason: startup.reason };
}
