import { changeCount } from '../../domain/change-set.js';
import type { ChangeSet } from '../../domain/change-set.js';
import { CONFIGURABLE_TYPES, compareRecordSets, fqdn, isInZone, keyOf, normalizeRecordSet, recordSetsEqual } from '../../domain/record.js';
import type { RecordKey, RecordSet } from '../../domain/record.js';
import { ProviderError } from '../../lib/errors.js';
import { formatSoa, parseSoa } from '../../dns/rdata.js';
import { recordSetProblems } from './rdata.js';
import type { LocalZoneState } from './state.js';

/**
 * How the local provider turns a change set into the next content of a zone. Pure: the caller
 * reads the state under the lock, calls applyChangeSet, and writes the result.
 */

/** TTL of the apex SOA and NS the provider creates. */
export const APEX_TTL = 3600;
/** SOA timers (RFC 1912 2.2 ranges). MINIMUM is the negative-caching TTL (RFC 2308). */
export const SOA_REFRESH = 7200;
export const SOA_RETRY = 3600;
export const SOA_EXPIRE = 1_209_600;
export const SOA_MINIMUM = 300;

/** SOA serials are unsigned 32-bit and compared with serial-number arithmetic (RFC 1982). */
export function nextSerial(serial: number): number {
  return (serial + 1) % 2 ** 32;
}

function soaRecord(zone: string, nameserver: string, serial: number): RecordSet {
  const value = formatSoa({
    mname: nameserver,
    rname: `hostmaster.${zone}`,
    serial,
    refresh: SOA_REFRESH,
    retry: SOA_RETRY,
    expire: SOA_EXPIRE,
    minimum: SOA_MINIMUM,
  });
  return { name: zone, type: 'SOA', ttl: APEX_TTL, values: [value] };
}

/** A new zone: apex SOA naming `nameserver` and apex NS pointing at it. */
export function newZoneState(zone: string, nameserver: string, serial: number): LocalZoneState {
  const apex = fqdn(zone);
  const records = [soaRecord(apex, fqdn(nameserver), serial), { name: apex, type: 'NS' as const, ttl: APEX_TTL, values: [fqdn(nameserver)] }];
  return { serial, records: records.sort(compareRecordSets) };
}

/** The zone with its SOA serial raised by one. Rebuilds the SOA from the provider's defaults if a hand edit lost it. */
function withNextSerial(zone: string, nameserver: string, current: LocalZoneState, records: RecordSet[]): LocalZoneState {
  const serial = nextSerial(current.serial);
  const index = records.findIndex((rs) => rs.type === 'SOA' && rs.name === zone);
  const held = index >= 0 ? records[index] : undefined;
  const fields = held?.values[0] === undefined ? undefined : parseSoa(held.values[0]);
  const soa: RecordSet =
    held === undefined || fields === undefined ? soaRecord(zone, nameserver, serial) : { ...held, values: [formatSoa({ ...fields, serial })] };
  const next = index >= 0 ? records.map((rs, i) => (i === index ? soa : rs)) : [...records, soa];
  return { serial, records: next.sort(compareRecordSets) };
}

const CONFIGURABLE = new Set(CONFIGURABLE_TYPES);
const MESSAGE_VALUE_CHARS = 60;

/** A record set as a person reads it in an error message; long TXT values are shortened. */
export function describeRecordSet(rs: RecordSet): string {
  const values = rs.values.map((v) => (v.length > MESSAGE_VALUE_CHARS ? `${v.slice(0, MESSAGE_VALUE_CHARS)}…(${v.length} chars)` : v));
  return `${rs.name} ${rs.type} ttl ${rs.ttl} [${values.join(', ')}]`;
}

type Operation = { readonly kind: 'put'; readonly rs: RecordSet } | { readonly kind: 'remove'; readonly key: RecordKey; readonly name: string };

export interface ApplyResult {
  /** The zone after the change set, serial raised by one. */
  readonly zone: LocalZoneState;
  /** Changes that altered the zone; the others were already in place and were skipped. */
  readonly applied: number;
  readonly skipped: number;
}

/**
 * Validates the whole change set against `current`, then applies it. Throws ProviderError
 * DQ_PROVIDER_REJECTED for invalid input (every problem listed) and DQ_PROVIDER_CONFLICT when an
 * update or delete names a `before` that is not what the zone holds, or a create meets a different
 * record set; nothing is applied then. Returns undefined when every change is already in place.
 */
export function applyChangeSet(provider: string, nameserver: string, current: LocalZoneState, changes: ChangeSet): ApplyResult | undefined {
  const zone = fqdn(changes.zone);
  const rejected = (problems: string[]): ProviderError =>
    new ProviderError('DQ_PROVIDER_REJECTED', provider, `zone ${zone}: change set refused:\n  ${problems.join('\n  ')}`);

  const problems: string[] = [];
  const inspect = (rs: RecordSet, role: string): void => {
    const where = `${role} ${rs.name} ${rs.type}`;
    if (rs.type === 'SOA') {
      problems.push(`${where}: the apex SOA belongs to the provider and cannot be created, changed or deleted`);
      return;
    }
    if (!CONFIGURABLE.has(rs.type)) problems.push(`${where}: record type ${rs.type} is not supported`);
    if (!isInZone(rs.name, zone)) problems.push(`${where}: name is not in zone ${zone}`);
    problems.push(...recordSetProblems(rs).map((p) => `${role} ${p}`));
  };
  changes.creates.forEach((rs) => {
    inspect(rs, 'create');
  });
  changes.updates.forEach((u) => {
    inspect(u.before, 'update (before)');
    inspect(u.after, 'update (after)');
  });
  changes.deletes.forEach((rs) => {
    inspect(rs, 'delete');
  });
  if (problems.length > 0) throw rejected(problems);

  const creates = changes.creates.map(normalizeRecordSet);
  const updates = changes.updates.map((u) => ({ before: normalizeRecordSet(u.before), after: normalizeRecordSet(u.after) }));
  const deletes = changes.deletes.map(normalizeRecordSet);

  const seen = new Set<RecordKey>();
  const claim = (rs: RecordSet, role: string): void => {
    const key = keyOf(rs);
    if (seen.has(key)) problems.push(`${role} ${key}: the change set names this record set more than once`);
    seen.add(key);
  };
  creates.forEach((rs) => {
    claim(rs, 'create');
  });
  for (const u of updates) {
    if (keyOf(u.before) !== keyOf(u.after)) problems.push(`update ${keyOf(u.before)} -> ${keyOf(u.after)}: an update cannot change name or type`);
    claim(u.before, 'update');
  }
  for (const rs of deletes) {
    claim(rs, 'delete');
    if (rs.name === zone && rs.type === 'NS') problems.push(`delete ${keyOf(rs)}: the apex NS cannot be deleted (update it instead)`);
  }
  if (problems.length > 0) throw rejected(problems);

  const held = new Map<RecordKey, RecordSet>(current.records.map((rs) => [keyOf(rs), rs]));
  const conflicts: string[] = [];
  const operations: Operation[] = [];
  const heldText = (rs: RecordSet | undefined): string => (rs === undefined ? 'nothing' : describeRecordSet(rs));

  for (const rs of deletes) {
    const now = held.get(keyOf(rs));
    if (now === undefined) continue;
    if (recordSetsEqual(now, rs)) operations.push({ kind: 'remove', key: keyOf(rs), name: rs.name });
    else conflicts.push(`delete ${describeRecordSet(rs)}: the zone holds ${heldText(now)}`);
  }
  for (const { before, after } of updates) {
    const now = held.get(keyOf(before));
    if (now !== undefined && recordSetsEqual(now, after)) continue;
    if (now !== undefined && recordSetsEqual(now, before)) operations.push({ kind: 'put', rs: after });
    else conflicts.push(`update ${describeRecordSet(before)}: the zone holds ${heldText(now)}`);
  }
  for (const rs of creates) {
    const now = held.get(keyOf(rs));
    if (now === undefined) operations.push({ kind: 'put', rs });
    else if (!recordSetsEqual(now, rs)) conflicts.push(`create ${describeRecordSet(rs)}: the zone already holds ${heldText(now)}`);
  }
  if (conflicts.length > 0) {
    throw new ProviderError('DQ_PROVIDER_CONFLICT', provider, `zone ${zone}: the zone changed behind our back:\n  ${conflicts.join('\n  ')}`);
  }
  if (operations.length === 0) return undefined;

  const next = new Map(held);
  const touchedNames = new Set<string>();
  for (const op of operations) {
    if (op.kind === 'put') {
      next.set(keyOf(op.rs), op.rs);
      touchedNames.add(op.rs.name);
    } else {
      next.delete(op.key);
      touchedNames.add(op.name);
    }
  }
  // RFC 1034 3.6.2 / RFC 2181 10.1: a CNAME is the only data its name may have.
  const typesByName = new Map<string, string[]>();
  for (const rs of next.values()) {
    if (touchedNames.has(rs.name)) typesByName.set(rs.name, [...(typesByName.get(rs.name) ?? []), rs.type]);
  }
  for (const [name, types] of typesByName) {
    if (types.includes('CNAME') && types.length > 1) {
      problems.push(`${name}: a CNAME cannot share its name with other record sets (would hold ${types.sort().join(', ')})`);
    }
  }
  if (problems.length > 0) throw rejected(problems);

  return {
    zone: withNextSerial(zone, fqdn(nameserver), current, [...next.values()]),
    applied: operations.length,
    skipped: changeCount(changes) - operations.length,
  };
}
