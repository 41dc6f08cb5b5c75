import type { ChangeSet } from '../domain/change-set.js';
import { keyOf } from '../domain/record.js';
import type { RecordKey, RecordSet } from '../domain/record.js';
import type { ZoneSpec } from '../domain/zone.js';
import { ProviderError } from '../lib/errors.js';
import type { DesiredZone } from '../plan/desired.js';
import { diffRecords } from '../plan/diff.js';
import { blockingViolations, checkChangeSet } from '../plan/guardrails.js';
import type { Violation } from '../plan/guardrails.js';
import type { DnsProvider } from '../providers/provider.js';

/** Below this many record sets a zone may change wholesale: the share rule would block every edit. */
const MIN_RECORDS_FOR_SHARE = 10;

export interface ProviderPlan {
  readonly changes: ChangeSet;
  /** Record sets the provider holds that the config does not name, left in place. */
  readonly unmanagedKept: readonly RecordSet[];
}

/** The changes one provider needs to serve `desired`; shared by `sync` and the daemon. */
export function planProvider(zone: ZoneSpec, desired: DesiredZone, current: readonly RecordSet[]): ProviderPlan {
  return diffRecords(desired.records, current, { zone: zone.name, managed: desired.managed, unmanaged: zone.unmanaged });
}

/**
 * `desired` as one provider should hold it: a record in `keptAsHeld` keeps the values this
 * provider serves (see ZoneTarget.keptAsHeld); a provider without it gets `desired`'s copy.
 */
export function desiredAt(desired: DesiredZone, keptAsHeld: ReadonlySet<RecordKey>, current: readonly RecordSet[]): DesiredZone {
  if (keptAsHeld.size === 0) return desired;
  const held = new Map(current.map((rs) => [keyOf(rs), rs]));
  const records = desired.records.map((rs) => {
    const here = keptAsHeld.has(keyOf(rs)) ? held.get(keyOf(rs)) : undefined;
    return here === undefined ? rs : { ...rs, values: here.values };
  });
  return { ...desired, records };
}

/**
 * The guardrail violations that stop `changes` (after --force waived what it may). Health-driven
 * failover changes never count against the zone's maxChangeShare: they are the point.
 */
export function unsafeChanges(zone: ZoneSpec, desired: DesiredZone, changes: ChangeSet, current: readonly RecordSet[], force: boolean): Violation[] {
  const healthDriven = new Set(desired.decisions.filter((d) => d.cause !== 'override').map((d) => d.key));
  return blockingViolations(checkChangeSet(changes, current, { maxChangeShare: zone.maxChangeShare, minRecordsForShare: MIN_RECORDS_FOR_SHARE, healthDriven }), force);
}

/** What reading one provider's copy of a zone gave. */
export type Listing = { ok: true; records: RecordSet[]; zoneMissing: boolean } | { ok: false; error: unknown };

export async function readZone(provider: DnsProvider, zone: string, signal: AbortSignal): Promise<Listing> {
  try {
    return { ok: true, records: await provider.listRecords(zone, signal), zoneMissing: false };
  } catch (err) {
    if (err instanceof ProviderError && err.code === 'DQ_ZONE_NOT_FOUND') return { ok: true, records: [], zoneMissing: true };
    return { ok: false, error: err };
  }
}

/**
 * Creates the zone at a provider that does not hold it, and re-reads it: a new zone comes with the
 * provider's own SOA and NS, and the plan must be made against what it really holds. The listing
 * keeps zoneMissing, so reports can say the zone was created.
 */
export async function createIfMissing(provider: DnsProvider, zone: string, listing: Listing, signal: AbortSignal): Promise<Listing> {
  if (!listing.ok || !listing.zoneMissing) return listing;
  try {
    await provider.ensureZone(zone, signal);
    return { ok: true, records: await provider.listRecords(zone, signal), zoneMissing: true };
  } catch (err) {
    return { ok: false, error: err };
  }
}
