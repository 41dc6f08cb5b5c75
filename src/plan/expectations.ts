import { compareRecordSets, keyOf, recordKey } from '../domain/record.js';
import type { RecordSet, RecordType } from '../domain/record.js';
import type { ZoneSpec } from '../domain/zone.js';
import type { DesiredZone } from './desired.js';

/** What one question should get: a record set, or (expected null) nothing of that name and type. */
export interface Expectation {
  /** Lowercase FQDN with trailing dot. */
  readonly name: string;
  readonly type: RecordType;
  readonly expected: RecordSet | null;
  /**
   * The name is a delegation inside the zone (NS below the apex): its servers answer with a
   * referral, the NS records in the authority section and AA clear, and that is the right answer.
   */
  readonly referral?: boolean;
  /**
   * An address record at or below a delegation inside the zone: glue, which the zone's servers
   * give in the additional section of their referral, not as an answer (the config refuses any
   * other record there).
   */
  readonly glue?: boolean;
}

/** True when `name` is at or below one of the delegations (NS names below the apex). */
function belowDelegation(name: string, delegations: readonly string[]): boolean {
  return delegations.some((cut) => name === cut || name.endsWith(`.${cut}`));
}

/**
 * The questions for one provider's servers: the apex NS first (it doubles as the reachability
 * probe), then every desired record set, then the managed keys that must be absent. The apex NS
 * is expected as desired when the zone syncs it, else as the provider lists it (`listed`; with
 * listed = [] it is asked only when desired holds it). NS record sets below the apex are
 * delegations, which the zone's servers answer with a referral; the A/AAAA sets below them are
 * their glue.
 */
export function desiredExpectations(zone: ZoneSpec, desired: DesiredZone, listed: readonly RecordSet[]): Expectation[] {
  const desiredKeys = new Set(desired.records.map(keyOf));
  const apexKey = recordKey(zone.name, 'NS');
  const apexNs = desired.records.find((r) => keyOf(r) === apexKey) ?? listed.find((r) => keyOf(r) === apexKey);
  const first: Expectation[] = apexNs === undefined ? [] : [{ name: apexNs.name, type: 'NS', expected: apexNs }];
  const delegations = desired.records.filter((r) => r.type === 'NS' && r.name !== zone.name).map((r) => r.name);
  const glue = (name: string, type: RecordType): { glue?: true } => ((type === 'A' || type === 'AAAA') && belowDelegation(name, delegations) ? { glue: true } : {});
  const rest = desired.records
    .filter((r) => keyOf(r) !== apexKey)
    .sort(compareRecordSets)
    .map((r): Expectation => (r.type === 'NS' ? { name: r.name, type: r.type, expected: r, referral: true } : { name: r.name, type: r.type, expected: r, ...glue(r.name, r.type) }));
  // Only failover records can be absent (fail-closed); the apex NS is managed only when desired.
  const gone = zone.records
    .filter((r) => desired.managed.has(recordKey(r.name, r.type)) && !desiredKeys.has(recordKey(r.name, r.type)))
    .map((r): Expectation => ({ name: r.name, type: r.type, expected: null, ...glue(r.name, r.type) }));
  return [...first, ...rest, ...gone];
}
