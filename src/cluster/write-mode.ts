import type { StartupHold } from '../quorum/startup.js';
import type { WriteMode } from '../sync/reconciler.js';

export interface WriteModeInputs {
  /** Why this replica is not the writer now (no quorum in view, another region writes), or undefined when it is. */
  readonly notWriter: string | undefined;
  /** This replica may write at all (cluster.writer). */
  readonly writerCapable: boolean;
  /** Some replica, this one or a peer, is the writer by the cluster's rule. */
  readonly writerInView: boolean;
  /** At least one override is active. */
  readonly overridesActive: boolean;
  readonly startup: StartupHold;
}

/**
 * Whether this replica writes now, and what. Overrides need no quorum: with no writer in view
 * (this replica cut off from its peers, or all of them down) an active override is still written
 * from a writer-capable replica, and health decides nothing meanwhile (break-glass). During the
 * startup hold, overrides are written and health waits for every failover record's quorum data.
 */
export function writeMode(inputs: WriteModeInputs): WriteMode {
  const { notWriter, overridesActive, startup } = inputs;
  if (notWriter !== undefined) {
    if (overridesActive && inputs.writerCapable && !inputs.writerInView) {
      return { kind: 'overrides-only', reason: `break-glass: ${notWriter}; no replica can write, so overrides are written from here` };
    }
    return { kind: 'hold', reason: notWriter };
  }
  if (!startup.hold) return { kind: 'all' };
  return overridesActive ? { kind: 'overrides-only', reason: `startup: ${startup.reason}; overrides are written meanwhile` } : { kind: 'hold', reason: startup.reason };
}
