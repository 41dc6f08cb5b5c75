import type { ChangeSet, RecordUpdate } from '../domain/change-set.js';
import { keyOf, recordSetsEqual } from '../domain/record.js';
import type { RecordKey, RecordSet } from '../domain/record.js';

/** A change set split by why each change is needed. */
export interface DriftSplit {
  /** Changes the desired state asks for because it changed since the provider was last brought to it. */
  readonly intended: ChangeSet;
  /** Changes that undo what was done at the provider behind our back. */
  readonly drift: ChangeSet;
}

/**
 * Splits the changes a provider needs into intended ones and drift. `converged` is the desired
 * state the provider was last brought to (every managed record set by key); a change whose record
 * set is desired exactly as it was then is needed only because the provider changed since: drift.
 * Without a converged state (the first pass after start) nothing can be called drift.
 *
 * Unmanaged record sets deleted under `unmanaged: delete` are never desired, so one that appears
 * later is drift too.
 */
export function splitDrift(changes: ChangeSet, desired: readonly RecordSet[], converged: ReadonlyMap<RecordKey, RecordSet> | undefined): DriftSplit {
  const empty: ChangeSet = { zone: changes.zone, creates: [], updates: [], deletes: [] };
  if (converged === undefined) return { intended: changes, drift: empty };

  const desiredByKey = new Map(desired.map((rs) => [keyOf(rs), rs]));
  const unchangedSinceConverged = (key: RecordKey): boolean => {
    const now = desiredByKey.get(key);
    const then = converged.get(key);
    if (now === undefined || then === undefined) return now === then;
    return recordSetsEqual(now, then);
  };
  const isDrift = (rs: RecordSet): boolean => unchangedSinceConverged(keyOf(rs));
  const isDriftUpdate = (u: RecordUpdate): boolean => isDrift(u.after);

  return {
    intended: {
      zone: changes.zone,
      creates: changes.creates.filter((rs) => !isDrift(rs)),
      updates: changes.updates.filter((u) => !isDriftUpdate(u)),
      deletes: changes.deletes.filter((rs) => !isDrift(rs)),
    },
    drift: {
      zone: changes.zone,
      creates: changes.creates.filter(isDrift),
      updates: changes.updates.filter(isDriftUpdate),
      deletes: changes.deletes.filter(isDrift),
    },
  };
}

/** "name type" of every record set a change set touches, for logs and status. */
export function changedRecordNames(changes: ChangeSet): string[] {
  return [...changes.creates, ...changes.updates.map((u) => u.after), ...changes.deletes].map((rs) => `${rs.name} ${rs.type}`);
}

/** The first `limit` names and how many more, so a log line stays short for a zone of any size. */
export function shortList(names: readonly string[], limit = 10): string[] {
  return names.length <= limit ? [...names] : [...names.slice(0, limit), `... and ${names.length - limit} more`];
}
