import { endpointId } from '../domain/health.js';
import type { EndpointHealth, HealthView } from '../domain/health.js';
import { describeAction, isOverrideActive, slotOf } from '../domain/override.js';
import type { Override, OverrideAction } from '../domain/override.js';
import { canonicalValue, fqdn } from '../domain/record.js';
import type { RecordKey } from '../domain/record.js';
import type { FailoverRecordSpec, ZoneSpec } from '../domain/zone.js';
import { DnsQuorumError } from '../lib/errors.js';
import { desiredZone } from './desired.js';
import type { RecordDecision } from './desired.js';
import { shortList } from './drift.js';

/**
 * The safety check a manual override passes before it is made: the record must keep something in
 * service, and must not be sent to a pool that health says is down. It is judged by the planner
 * itself (desiredZone with the override in place), so the check and what will be served never
 * disagree. Unknown records, pools and values are errors, not refusals: --force cannot make them.
 */

export interface FoundFailoverRecord {
  readonly zone: ZoneSpec;
  readonly spec: FailoverRecordSpec;
}

/** "api.example.com. A" */
function label(spec: Pick<FailoverRecordSpec, 'name' | 'type'>): string {
  return `${spec.name} ${spec.type}`;
}

function unknown(message: string): DnsQuorumError {
  return new DnsQuorumError('DQ_OVERRIDE_UNKNOWN', message);
}

function failoverRecordsOf(zones: readonly ZoneSpec[]): FoundFailoverRecord[] {
  return zones.flatMap((zone) => zone.records.flatMap((spec) => (spec.kind === 'failover' ? [{ zone, spec }] : [])));
}

/**
 * The failover record a user named: an FQDN (trailing dot optional, any case) and, when the name
 * has failover records of several types, the type. Throws DQ_OVERRIDE_UNKNOWN listing what exists.
 */
export function findFailoverRecord(zones: readonly ZoneSpec[], name: string, type?: string): FoundFailoverRecord {
  const all = failoverRecordsOf(zones);
  const existing = (): string =>
    all.length === 0 ? 'the config has no failover records' : `failover records: ${shortList(all.map((r) => label(r.spec)), 20).join(', ')}`;
  const trimmed = name.trim();
  if (trimmed === '' || trimmed === '.') throw unknown(`no record name given; ${existing()}`);
  const wanted = fqdn(trimmed);
  const matches = all.filter((r) => r.spec.name === wanted);

  if (matches.length === 0) {
    const staticOne = zones.flatMap((z) => z.records).find((r) => r.name === wanted);
    const what = staticOne === undefined ? `no failover record ${wanted}` : `${wanted} is a static ${staticOne.type} record, not a failover record`;
    throw unknown(`${what}; ${existing()}`);
  }
  const types = [...new Set(matches.map((r) => r.spec.type))];
  if (type !== undefined) {
    const upper = type.trim().toUpperCase();
    const found = matches.find((r) => r.spec.type === upper);
    if (found === undefined) throw unknown(`${wanted} has no failover record of type ${upper}; it has ${types.join(', ')}`);
    return found;
  }
  const [first] = matches;
  if (first === undefined || types.length > 1) {
    throw unknown(`${wanted} has failover records of several types (${types.join(', ')}); say which type`);
  }
  return first;
}

function describePools(spec: FailoverRecordSpec): string {
  return spec.failover.pools.map((p) => `${p.name} (${p.values.join(', ')})`).join(', ');
}

/**
 * The action in the record's own terms: a pool named as in the config (an exact match first, else
 * the one pool whose name matches ignoring case), a value in canonical form. Throws
 * DQ_OVERRIDE_UNKNOWN listing the pools or values when the record has no such pool or value.
 */
export function resolveAction(spec: FailoverRecordSpec, action: OverrideAction): OverrideAction {
  const { pools } = spec.failover;
  if (action.kind === 'force-pool') {
    const exact = pools.find((p) => p.name === action.pool);
    if (exact !== undefined) return { kind: 'force-pool', pool: exact.name };
    const folded = pools.filter((p) => p.name.toLowerCase() === action.pool.trim().toLowerCase());
    const [only] = folded;
    if (only !== undefined && folded.length === 1) return { kind: 'force-pool', pool: only.name };
    throw unknown(`${label(spec)} has no pool "${action.pool}"; its pools: ${describePools(spec)}`);
  }
  const typed = action.value.trim();
  if (typed !== '') {
    const value = canonicalValue(spec.type, typed);
    if (pools.some((p) => p.values.includes(value))) return { kind: 'drain', value };
  }
  const values = pools.flatMap((p) => p.values.map((v) => `${v} (${p.name})`));
  throw unknown(`${label(spec)} has no value "${action.value}" in any pool; its values: ${[...new Set(values)].join(', ')}`);
}

export interface OverrideCheckInput {
  readonly zone: ZoneSpec;
  readonly spec: FailoverRecordSpec;
  /** The override asked for; its action in the record's terms (see resolveAction). */
  readonly override: Override;
  /** Every override in force now (any record); the new one replaces the one in its slot. */
  readonly active: readonly Override[];
  readonly health: HealthView;
  /** What each failover record serves now, as far as this replica knows. */
  readonly lastServed: ReadonlyMap<RecordKey, readonly string[]>;
  readonly recentWrites?: ReadonlyMap<RecordKey, readonly number[]>;
  /** Health decides nothing now (break-glass writes without a quorum): see DesiredZoneInputs. */
  readonly healthPaused?: boolean;
  readonly now: number;
}

export type OverrideCheckResult = { readonly ok: true; readonly warnings: string[] } | { readonly ok: false; readonly reason: string };

/** "192.0.2.10 down (down in 2 of 3 regions)", "192.0.2.20 unknown (not probed yet)". */
function describeHealth(value: string, health: EndpointHealth | undefined, drained: ReadonlySet<string>): string {
  if (drained.has(value)) return `${value} drained`;
  if (health === undefined) return `${value} unknown (no health reported yet)`;
  return `${value} ${health.state} (${health.reason})`;
}

function recordOverrides(input: Pick<OverrideCheckInput, 'zone' | 'spec' | 'now'>, overrides: readonly Override[]): Override[] {
  const { zone, spec, now } = input;
  return overrides.filter((o) => o.zone === zone.name && o.name === spec.name && o.type === spec.type && isOverrideActive(o, now));
}

function drainedBy(overrides: readonly Override[]): Set<string> {
  return new Set(overrides.flatMap((o) => (o.action.kind === 'drain' ? [o.action.value] : [])));
}

/** The force-pool the planner obeys: the newest one, as desiredZone picks it. */
function forcedPoolOf(overrides: readonly Override[]): string | undefined {
  const forced = overrides
    .flatMap((o) => (o.action.kind === 'force-pool' ? [{ at: o.createdAt, pool: o.action.pool }] : []))
    .sort((a, b) => b.at - a.at)[0];
  return forced?.pool;
}

function decide(input: OverrideCheckInput, overrides: readonly Override[]): RecordDecision {
  const result = desiredZone({
    // Only this record: the rest of the zone does not bear on its decision.
    zone: { ...input.zone, records: [input.spec] },
    health: input.health,
    overrides,
    lastServed: input.lastServed,
    recentWrites: input.recentWrites ?? new Map(),
    ...(input.healthPaused === undefined ? {} : { healthPaused: input.healthPaused }),
    now: input.now,
  });
  const [decision] = result.decisions;
  if (decision === undefined) throw new DnsQuorumError('DQ_INTERNAL', `the planner made no decision for ${label(input.spec)}`);
  return decision;
}

/** Why the record would have nothing in service under these overrides, or undefined. */
function nothingInService(input: OverrideCheckInput, overrides: readonly Override[], decision: RecordDecision): string | undefined {
  const { spec } = input;
  const mine = recordOverrides(input, overrides);
  const drained = drainedBy(mine);
  const healthOf = (v: string): EndpointHealth | undefined => input.health.get(endpointId(spec.name, spec.type, v));
  const everyValue = (): string =>
    spec.failover.pools.map((p) => `pool ${p.name}: ${p.values.map((v) => describeHealth(v, healthOf(v), drained)).join(', ')}`).join('; ');

  if (decision.values === null) return `no pool would be in service and whenAllDown fail-closed would remove the record (${everyValue()})`;
  if (decision.cause === 'all-down') {
    return `no pool would be in service (${everyValue()}); whenAllDown ${spec.failover.whenAllDown} would serve ${decision.values.join(', ')} only as a last resort`;
  }
  const forced = forcedPoolOf(mine);
  const pool = spec.failover.pools.find((p) => p.name === forced);
  if (pool !== undefined && pool.values.every((v) => drained.has(v))) {
    return `every value of pool ${pool.name} (${pool.values.join(', ')}) would be drained, so nothing of the forced pool is in service`;
  }
  return undefined;
}

/**
 * Whether `override` may be made: refused when the record would be left with nothing in service
 * (whenAllDown, a fail-closed removal, a forced pool with every value drained) or sent to values
 * health says are all down. Values of unknown health are served with a warning, not refused.
 * Throws DQ_OVERRIDE_UNKNOWN when the override names a pool or value the record does not have.
 */
export function checkOverride(input: OverrideCheckInput): OverrideCheckResult {
  const { spec, override } = input;
  if (override.zone !== input.zone.name || override.name !== spec.name || override.type !== spec.type) {
    throw new DnsQuorumError('DQ_INTERNAL', `override ${override.id} is for ${override.name} ${override.type} in ${override.zone}, not for ${label(spec)} in ${input.zone.name}`);
  }
  const action = override.action;
  if (action.kind === 'force-pool' && !spec.failover.pools.some((p) => p.name === action.pool)) {
    throw unknown(`${label(spec)} has no pool "${action.pool}"; its pools: ${describePools(spec)}`);
  }
  if (action.kind === 'drain' && !spec.failover.pools.some((p) => p.values.includes(action.value))) {
    throw unknown(`${label(spec)} has no value "${action.value}" in any pool; its values: ${[...new Set(spec.failover.pools.flatMap((p) => p.values))].join(', ')}`);
  }

  const slot = slotOf(override);
  const before = input.active.filter((o) => isOverrideActive(o, input.now));
  const after = [...before.filter((o) => slotOf(o) !== slot), override];
  const decision = decide(input, after);
  const doing = action.kind === 'force-pool' ? `forcing pool ${action.pool}` : `draining ${action.value}`;
  const healthOf = (v: string): EndpointHealth | undefined => input.health.get(endpointId(spec.name, spec.type, v));
  const drained = drainedBy(recordOverrides(input, after));

  const empty = nothingInService(input, after, decision);
  if (empty !== undefined) {
    const already = nothingInService(input, before, decide(input, before)) !== undefined ? '; it has nothing in service without this override either' : '';
    return { ok: false, reason: `${label(spec)}: ${doing} would leave nothing in service: ${empty}${already}` };
  }

  const values = decision.values ?? [];
  if (values.length > 0 && values.every((v) => healthOf(v)?.state === 'down')) {
    const where = decision.pool === null ? values.join(', ') : `pool ${decision.pool} (${values.join(', ')})`;
    return {
      ok: false,
      reason: `${label(spec)}: ${doing} would send it to ${where}, which health says is down: ${values.map((v) => describeHealth(v, healthOf(v), drained)).join(', ')}`,
    };
  }

  const warnings: string[] = [];
  for (const v of values) {
    const h = healthOf(v);
    if (h === undefined || h.state === 'unknown') warnings.push(`health of ${v} not known yet${h === undefined ? '' : `: ${h.reason}`}`);
    else if (h.state === 'down') warnings.push(`${v} is down (${h.reason}) and is served anyway while ${describeAction(action)} holds`);
  }
  if (action.kind === 'drain' && values.includes(action.value)) {
    warnings.push(`${action.value} stays served for now: ${decision.reason}`);
  }
  return { ok: true, warnings };
}
