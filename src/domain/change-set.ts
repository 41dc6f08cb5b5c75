import type { RecordSet } from './record.js';

export interface RecordUpdate {
  readonly before: RecordSet;
  readonly after: RecordSet;
}

/**
 * What one provider must do to one zone to reach the desired state. Plain data: it can be
 * printed as a plan, serialised to JSON, and applied. Each list is sorted by name then type.
 */
export interface ChangeSet {
  /** Zone FQDN, e.g. "example.com." */
  readonly zone: string;
  readonly creates: readonly RecordSet[];
  readonly updates: readonly RecordUpdate[];
  readonly deletes: readonly RecordSet[];
}

export function emptyChangeSet(zone: string): ChangeSet {
  return { zone, creates: [], updates: [], deletes: [] };
}

export function changeCount(cs: ChangeSet): number {
  return cs.creates.length + cs.updates.length + cs.deletes.length;
}

export function isEmptyChangeSet(cs: ChangeSet): boolean {
  return changeCount(cs) === 0;
}
