import type { ChangeSet, RecordUpdate } from '../domain/change-set.js';
import { compareRecordSets, keyOf, recordSetsEqual } from '../domain/record.js';
import type { RecordKey, RecordSet } from '../domain/record.js';
import type { UnmanagedPolicy } from '../domain/zone.js';

export interface DiffOptions {
  readonly zone: string;
  /** Keys dnsquorum manages; a managed key absent from desired is deleted. */
  readonly managed: ReadonlySet<RecordKey>;
  /** What to do with record sets the provider holds that dnsquorum does not manage. */
  readonly unmanaged: UnmanagedPolicy;
}

export interface Diff {
  readonly changes: ChangeSet;
  /** Unmanaged record sets left in place (reported, never touched under `keep`). */
  readonly unmanagedKept: readonly RecordSet[];
}

/**
 * The change set that turns `current` into `desired` for one provider's copy of a zone.
 * Deterministic (sorted by name, then type), and empty when nothing differs. The apex SOA is the
 * provider's and is never part of a change; the apex NS is only touched when it is managed.
 *
 *   desired | current        | change
 *   x       | (none)         | create x
 *   x       | x              | nothing
 *   x'      | x              | update x -> x'
 *   (none)  | x, managed     | delete x
 *   (none)  | x, unmanaged   | delete x under `unmanaged: delete`, else kept and reported
 *   (none)  | x, unwritable  | kept and reported (the provider can never write it)
 */
export function diffRecords(desired: readonly RecordSet[], current: readonly RecordSet[], options: DiffOptions): Diff {
  const currentByKey = new Map(current.map((rs) => [keyOf(rs), rs]));
  const desiredKeys = new Set(desired.map(keyOf));
  const creates: RecordSet[] = [];
  const updates: RecordUpdate[] = [];
  const deletes: RecordSet[] = [];
  const unmanagedKept: RecordSet[] = [];

  for (const want of desired) {
    const have = currentByKey.get(keyOf(want));
    if (have === undefined) creates.push(want);
    else if (!recordSetsEqual(have, want)) updates.push({ before: have, after: want });
  }
  for (const have of current) {
    const key = keyOf(have);
    if (desiredKeys.has(key) || isProviderOwned(have, options)) continue;
    if (have.unwritable !== undefined) unmanagedKept.push(have);
    else if (options.managed.has(key) || options.unmanaged === 'delete') deletes.push(have);
    else unmanagedKept.push(have);
  }

  creates.sort(compareRecordSets);
  deletes.sort(compareRecordSets);
  unmanagedKept.sort(compareRecordSets);
  updates.sort((a, b) => compareRecordSets(a.after, b.after));
  return { changes: { zone: options.zone, creates, updates, deletes }, unmanagedKept };
}

/** The apex SOA always, and the apex NS unless dnsquorum manages it: these belong to the provider. */
function isProviderOwned(rs: RecordSet, options: DiffOptions): boolean {
  if (rs.name !== options.zone) return false;
  if (rs.type === 'SOA') return true;
  return rs.type === 'NS' && !options.managed.has(keyOf(rs));
}
