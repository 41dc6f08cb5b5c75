import type { ChangeSet, RecordUpdate } from '../domain/change-set.js';
import { canonicalValue, keyOf, normalizeRecordSet, recordKey, recordSetsEqual } from '../domain/record.js';
import type { RecordKey, RecordSet } from '../domain/record.js';
import { shortList } from './drift.js';

/**
 * The guardrails hold back the parts of a change set that look like a mistake, and only those:
 * every other change of the same pass is still written. A refused part never stops a failover.
 *
 * - empty-record-set: a create or update with no values. Never written, forced or not.
 * - nameserver-removal: an apex NS change that takes out one of the providers' OWN name servers
 *   (the delegation points at them). An entry that is no provider's own (added by hand at one
 *   provider) is taken out like any other drift. While some provider's own servers are unknown,
 *   any removal may be one of theirs and is held back. --force waives it.
 * - too-much-change: more than the zone's maxChangeShare of its record sets updated or deleted in
 *   one pass (a config that lost half its records). Those updates and deletes are held back;
 *   creates still go. --force waives it.
 *
 * Changes of failover records (decided by health and overrides) are never held back by a rule
 * --force may waive, and never count against the share: moving traffic is the point.
 */

export type GuardrailRule = 'empty-record-set' | 'nameserver-removal' | 'too-much-change';

/** Whose name servers the zone's apex NS must keep. */
export interface OwnNameservers {
  /** Each provider's own name servers, by provider. */
  readonly known: ReadonlyMap<string, readonly string[]>;
  /** Providers of the zone whose own name servers are not known (not read, or none listed). */
  readonly unknown: readonly string[];
}

export interface GuardrailOptions {
  /** Largest share (0..1) of the zone's current record sets one pass may update or delete. */
  readonly maxChangeShare: number;
  /** Below this many current record sets the share rule does not apply (small zones change wholesale). */
  readonly minRecordsForShare: number;
  /** Keys of the failover records: what health and overrides decide. */
  readonly decided: ReadonlySet<RecordKey>;
  readonly ownNameservers: OwnNameservers;
  /** Waive the rules that may be waived (nameserver-removal, too-much-change). */
  readonly force: boolean;
}

/** One reason a change is unsafe. */
export interface Violation {
  readonly rule: GuardrailRule;
  /** Whether --force may override it. An empty record set is never written. */
  readonly forceable: boolean;
  readonly message: string;
}

/** A part of a change set a guardrail holds back, and why. */
export interface Refusal extends Violation {
  /** "name TYPE" of the record sets whose change is held back, sorted. */
  readonly records: readonly string[];
  /**
   * The changes held back. For an apex NS update of which only the removal of own name servers is
   * refused, the update from what is written (`allowed`) to what was asked for.
   */
  readonly changes: ChangeSet;
}

export interface GuardedChanges {
  /** Every change no guardrail holds back: what may be written now. */
  readonly allowed: ChangeSet;
  /** What is held back, one entry per rule, in the order of GuardrailRule; empty when nothing is. */
  readonly refused: readonly Refusal[];
}

/** Splits `changes` into what may be written and what the guardrails hold back (after `force` waived what it may). */
export function guardChangeSet(changes: ChangeSet, current: readonly RecordSet[], options: GuardrailOptions): GuardedChanges {
  const refused: Refusal[] = [];
  /** Changes held back whole, by key. */
  const held = new Set<RecordKey>();
  /** Apex NS updates written in part: the update that is written instead. */
  const narrowed = new Map<RecordKey, RecordUpdate>();

  const empty = [...changes.creates, ...changes.updates.map((u) => u.after)].filter((rs) => rs.values.length === 0);
  if (empty.length > 0) {
    for (const rs of empty) held.add(keyOf(rs));
    const names = empty.map(keyOf);
    refused.push({
      rule: 'empty-record-set',
      forceable: false,
      message: `${shortList(names).join(', ')} would be written with no values; an empty record set is never written`,
      records: names,
      changes: only(changes, new Set(empty.map(keyOf))),
    });
  }

  if (!options.force) {
    const removal = nameserverRemoval(changes, options.ownNameservers, held);
    if (removal !== undefined) {
      refused.push(removal.refusal);
      if (removal.narrowed === undefined) held.add(recordKey(changes.zone, 'NS'));
      else narrowed.set(keyOf(removal.narrowed.after), removal.narrowed);
    }
    const share = tooMuchChange(changes, current, options);
    if (share !== undefined) {
      refused.push(share);
      for (const key of share.records) held.add(key);
    }
  }

  if (refused.length === 0) return { allowed: changes, refused };
  const allowed: ChangeSet = {
    zone: changes.zone,
    creates: changes.creates.filter((rs) => !held.has(keyOf(rs))),
    updates: changes.updates.filter((u) => !held.has(keyOf(u.after))).map((u) => narrowed.get(keyOf(u.after)) ?? u),
    deletes: changes.deletes.filter((rs) => !held.has(keyOf(rs))),
  };
  return { allowed, refused };
}

/** Keys of every record set a change set touches. */
export function touchedKeys(changes: ChangeSet): Set<RecordKey> {
  return new Set([...changes.creates.map(keyOf), ...changes.updates.map((u) => keyOf(u.after)), ...changes.deletes.map(keyOf)]);
}

function only(changes: ChangeSet, keys: ReadonlySet<RecordKey>): ChangeSet {
  return {
    zone: changes.zone,
    creates: changes.creates.filter((rs) => keys.has(keyOf(rs))),
    updates: changes.updates.filter((u) => keys.has(keyOf(u.after))),
    deletes: changes.deletes.filter((rs) => keys.has(keyOf(rs))),
  };
}

/**
 * The apex NS change, when it takes out one of the providers' own name servers (or may, while
 * some provider's are unknown). The rest of that change (new servers, foreign entries taken out)
 * is still written: `narrowed` is the update that keeps the own servers, undefined when nothing
 * of the change is left to write.
 */
function nameserverRemoval(changes: ChangeSet, own: OwnNameservers, held: ReadonlySet<RecordKey>): { refusal: Refusal; narrowed: RecordUpdate | undefined } | undefined {
  const apexKey = recordKey(changes.zone, 'NS');
  if (held.has(apexKey)) return undefined;
  const update = changes.updates.find((u) => keyOf(u.before) === apexKey);
  const deleted = changes.deletes.find((rs) => keyOf(rs) === apexKey);
  const before = update?.before ?? deleted;
  if (before === undefined) return undefined;
  const after = update?.after.values ?? [];
  const removed = before.values.filter((v) => !after.includes(v));
  if (removed.length === 0) return undefined;

  const owners = ownersOf(own);
  const unknown = own.unknown.length > 0;
  const protectedOnes = unknown ? removed : removed.filter((v) => owners.has(canonicalValue('NS', v)));
  if (protectedOnes.length === 0) return undefined;

  const whose = (v: string): string => {
    const of = owners.get(canonicalValue('NS', v));
    return of === undefined ? v : `${v} (${of.join(', ')}'s own)`;
  };
  const message = unknown
    ? `apex NS of ${changes.zone} would lose ${protectedOnes.join(', ')}; the own name servers of ${own.unknown.join(', ')} are not known, so any removal may take out one of theirs and needs --force`
    : `apex NS of ${changes.zone} would lose ${protectedOnes.map(whose).join(', ')}; removing a provider's own name servers needs --force`;

  let narrowed: RecordUpdate | undefined;
  if (update !== undefined) {
    const kept = normalizeRecordSet({ ...update.after, values: [...update.after.values, ...protectedOnes] });
    if (!recordSetsEqual(kept, before)) narrowed = { before, after: kept };
  }
  const heldBack: ChangeSet =
    update === undefined
      ? { zone: changes.zone, creates: [], updates: [], deletes: [before] }
      : { zone: changes.zone, creates: [], updates: [{ before: narrowed?.after ?? before, after: update.after }], deletes: [] };
  return { refusal: { rule: 'nameserver-removal', forceable: true, message, records: [apexKey], changes: heldBack }, narrowed };
}

/** Each own name server (canonical) with the providers it belongs to. */
function ownersOf(own: OwnNameservers): Map<string, string[]> {
  const owners = new Map<string, string[]>();
  for (const [provider, hosts] of own.known) {
    for (const host of hosts) {
      const key = canonicalValue('NS', host);
      owners.set(key, [...(owners.get(key) ?? []), provider]);
    }
  }
  return owners;
}

function tooMuchChange(changes: ChangeSet, current: readonly RecordSet[], options: GuardrailOptions): Refusal | undefined {
  // The apex SOA and NS are the providers' (the NS has its own rule): neither counts, either way.
  const isApex = (rs: RecordSet): boolean => rs.name === changes.zone && (rs.type === 'SOA' || rs.type === 'NS');
  const counted = current.filter((rs) => !isApex(rs));
  if (counted.length < options.minRecordsForShare) return undefined;
  const touched = [...changes.updates.map((u) => u.after), ...changes.deletes].filter((rs) => !options.decided.has(keyOf(rs)) && !isApex(rs));
  const share = touched.length / counted.length;
  if (share <= options.maxChangeShare) return undefined;
  const records = touched.map(keyOf).sort();
  return {
    rule: 'too-much-change',
    forceable: true,
    message: `would update or delete ${touched.length} of ${counted.length} record sets (${(share * 100).toFixed(1)}%, limit ${(options.maxChangeShare * 100).toFixed(0)}%); needs --force`,
    records,
    changes: only(changes, new Set(records)),
  };
}
