import { endpointId } from '../domain/health.js';
import type { EndpointHealth, HealthView } from '../domain/health.js';
import { isOverrideActive } from '../domain/override.js';
import type { Override } from '../domain/override.js';
import { keyOf, normalizeRecordSet, recordKey, recordSetsEqual } from '../domain/record.js';
import type { RecordKey, RecordSet } from '../domain/record.js';
import type { FailoverRecordSpec, PoolSpec, StaticRecordSpec, ZoneSpec } from '../domain/zone.js';

/**
 * Why a failover record serves what it serves. `health` and `all-down` are health-driven and
 * count against the record's hourly write budget; the others do not move traffic on their own.
 */
export type DecisionCause = 'health' | 'override' | 'all-down' | 'unknown-health' | 'write-budget' | 'health-paused';

export interface RecordDecision {
  readonly key: RecordKey;
  readonly name: string;
  readonly type: string;
  /** The pool whose values are served; null when the values come from several pools or none. */
  readonly pool: string | null;
  /** What to serve; null means the record set is removed (whenAllDown: fail-closed). */
  readonly values: readonly string[] | null;
  readonly cause: DecisionCause;
  readonly reason: string;
  /** True when this decision changes what the record served before (lastServed). */
  readonly changes: boolean;
  /**
   * True when this is a health-driven move away from values that were served: it spends one unit
   * of the record's hourly write budget once written. A record's first creation does not.
   */
  readonly spendsBudget: boolean;
}

export interface DesiredZoneInputs {
  readonly zone: ZoneSpec;
  readonly health: HealthView;
  readonly overrides: readonly Override[];
  /** What each failover record serves now (from the providers), for keep-last and change detection. */
  readonly lastServed: ReadonlyMap<RecordKey, readonly string[]>;
  /** Times of the health-driven changes each record made recently, for the hourly write budget. */
  readonly recentWrites: ReadonlyMap<RecordKey, readonly number[]>;
  /** The union of every provider's own name servers, when the zone's nameservers are synced. */
  readonly apexNameservers?: readonly string[];
  /**
   * Health decides nothing: records keep what they serve and only overrides change them. Set
   * while a replica writes overrides without a quorum (break-glass), when its own view of health
   * may be stale or partial.
   */
  readonly healthPaused?: boolean;
  readonly now: number;
}

export interface DesiredZone {
  readonly zone: string;
  /** Every record set dnsquorum wants served, normalised and sorted by name and type. */
  readonly records: readonly RecordSet[];
  /**
   * Keys dnsquorum manages. A managed key missing from `records` must be deleted (a fail-closed
   * record); keys outside this set are left to the zone's `unmanaged` policy.
   */
  readonly managed: ReadonlySet<RecordKey>;
  readonly decisions: readonly RecordDecision[];
}

const HOUR_MS = 3_600_000;

/**
 * The record sets a zone should serve, from its spec, endpoint health and manual overrides.
 *
 *   override force-pool      -> that pool's values (minus drained ones; never empty)
 *   first pool, in order,
 *     with a usable value    -> its usable values           (usable: up, not drained, past hold-down)
 *     with an unknown value  -> keep what is served          (no traffic moves on missing data)
 *   no pool in service       -> whenAllDown: keep-last | all | fail-closed (record removed)
 *   budget spent this hour   -> keep what is served
 *   health paused            -> keep what is served (minus drained values), unless an override forces a pool
 */
export function desiredZone(inputs: DesiredZoneInputs, previous?: PreviousDecision): DesiredZone {
  if (previous?.touched !== undefined) return redecide(inputs, previous.desired, previous.touched);
  const { zone } = inputs;
  const records: RecordSet[] = [];
  const managed = new Set<RecordKey>();
  const decisions: RecordDecision[] = [];

  for (const spec of zone.records) {
    const key = recordKey(spec.name, spec.type);
    managed.add(key);
    if (spec.kind === 'static') {
      records.push(normalizedStatic(spec));
      continue;
    }
    const decision = decideFailover(spec, inputs);
    decisions.push(decision);
    if (decision.values !== null) records.push(failoverRecordSet(spec, decision.values));
  }

  const apexNs = apexNameserverSet(inputs);
  if (apexNs !== undefined) {
    managed.add(keyOf(apexNs));
    records.push(apexNs);
  }

  // Keys made once, not twice per comparison: for a 10,000-record zone the comparator's string
  // building was most of the cost of the decision the daemon repeats every second.
  const sorted = records.map((rs) => ({ key: keyOf(rs), rs })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { zone: zone.name, records: sorted.map((k) => k.rs), managed, decisions };
}

/**
 * The decision this one follows. With `touched`, only those failover records (and the apex NS)
 * are decided again and every other decision is taken over as it was: a health change costs work
 * in proportion to the records it touches, not the zone. The caller names every record whose
 * inputs changed (its endpoints' health, its overrides, what it serves); rules that move with time
 * alone (hold-down, expiry, the hourly budget) are caught by a full decision, without `touched`.
 */
export interface PreviousDecision {
  readonly desired: DesiredZone;
  readonly touched?: ReadonlySet<RecordKey>;
}

function redecide(inputs: DesiredZoneInputs, previous: DesiredZone, touched: ReadonlySet<RecordKey>): DesiredZone {
  const { zone } = inputs;
  const index = specIndex(zone);
  const records = [...previous.records];
  const decisions = [...previous.decisions];
  let managed = previous.managed;
  const place = (key: RecordKey, rs: RecordSet | undefined): void => {
    const at = lowerBound(records, key);
    const here = records[at] !== undefined && keyOf(records[at]) === key;
    if (rs === undefined) {
      if (here) records.splice(at, 1);
    } else if (here) records[at] = rs;
    else records.splice(at, 0, rs);
  };
  for (const key of touched) {
    const entry = index.get(key);
    if (entry === undefined) continue;
    const decision = decideFailover(entry.spec, inputs);
    decisions[entry.decisionIndex] = decision;
    place(key, decision.values === null ? undefined : failoverRecordSet(entry.spec, decision.values));
  }
  const apexKey = recordKey(zone.name, 'NS');
  const apexNs = apexNameserverSet(inputs);
  if (zone.nameservers === 'sync' && (apexNs !== undefined) !== previous.managed.has(apexKey)) {
    const next = new Set(previous.managed);
    if (apexNs === undefined) next.delete(apexKey);
    else next.add(apexKey);
    managed = next;
  }
  if (zone.nameservers === 'sync') place(apexKey, apexNs);
  return { zone: zone.name, records, managed, decisions };
}

/** The decision on one failover record of `desired`, found without a scan. */
export function decisionFor(zone: ZoneSpec, desired: DesiredZone, key: RecordKey): RecordDecision | undefined {
  const entry = specIndex(zone).get(key);
  return entry === undefined ? undefined : desired.decisions[entry.decisionIndex];
}

/** The record set `desired` holds for `key`, found by binary search. */
export function recordFor(desired: DesiredZone, key: RecordKey): RecordSet | undefined {
  const at = desired.records[lowerBound(desired.records, key)];
  return at !== undefined && keyOf(at) === key ? at : undefined;
}

/**
 * The keys whose record set differs between two decisions of one zone; with `touched`, only those
 * keys and the apex NS are compared (the others were taken over unchanged).
 */
export function changedKeys(zone: ZoneSpec, before: DesiredZone, after: DesiredZone, touched?: ReadonlySet<RecordKey>): RecordKey[] {
  const same = (a: RecordSet | undefined, b: RecordSet | undefined): boolean => a === b || (a !== undefined && b !== undefined && recordSetsEqual(a, b));
  if (touched !== undefined) {
    const keys = zone.nameservers === 'sync' ? [...touched, recordKey(zone.name, 'NS')] : [...touched];
    return keys.filter((key) => !same(recordFor(before, key), recordFor(after, key)));
  }
  const changed = new Set<RecordKey>();
  const beforeByKey = new Map(before.records.map((rs) => [keyOf(rs), rs]));
  for (const rs of after.records) {
    const key = keyOf(rs);
    if (!same(beforeByKey.get(key), rs)) changed.add(key);
    beforeByKey.delete(key);
  }
  for (const key of beforeByKey.keys()) changed.add(key);
  return [...changed];
}

/** The index of the first record set whose key is not below `key` (records are sorted by key). */
function lowerBound(records: readonly RecordSet[], key: RecordKey): number {
  let lo = 0;
  let hi = records.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const at = records[mid];
    if (at !== undefined && keyOf(at) < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

interface IndexedFailover {
  readonly spec: FailoverRecordSpec;
  /** Where its decision stands in DesiredZone.decisions (the zone's failover records in order). */
  readonly decisionIndex: number;
}

/** Failover records by key, made once per zone spec (specs are frozen for the life of a config). */
const specIndexes = new WeakMap<ZoneSpec, ReadonlyMap<RecordKey, IndexedFailover>>();

function specIndex(zone: ZoneSpec): ReadonlyMap<RecordKey, IndexedFailover> {
  let index = specIndexes.get(zone);
  if (index === undefined) {
    const built = new Map<RecordKey, IndexedFailover>();
    for (const spec of zone.records) if (spec.kind === 'failover') built.set(recordKey(spec.name, spec.type), { spec, decisionIndex: built.size });
    index = built;
    specIndexes.set(zone, index);
  }
  return index;
}

function failoverRecordSet(spec: FailoverRecordSpec, values: readonly string[]): RecordSet {
  return normalizeRecordSet({ name: spec.name, type: spec.type, ttl: spec.ttl, values });
}

function apexNameserverSet(inputs: DesiredZoneInputs): RecordSet | undefined {
  const { zone, apexNameservers } = inputs;
  if (zone.nameservers !== 'sync' || apexNameservers === undefined || apexNameservers.length === 0) return undefined;
  return normalizeRecordSet({ name: zone.name, type: 'NS', ttl: zone.nameserverTtl, values: apexNameservers });
}

/**
 * A static record's normalised set, made once per spec: specs are frozen for the life of a config,
 * and normalising every value again on each decision is wasted work on a large zone.
 */
const staticRecordSets = new WeakMap<StaticRecordSpec, RecordSet>();

function normalizedStatic(spec: StaticRecordSpec): RecordSet {
  let rs = staticRecordSets.get(spec);
  if (rs === undefined) {
    rs = normalizeRecordSet({ name: spec.name, type: spec.type, ttl: spec.ttl, values: spec.values });
    staticRecordSets.set(spec, rs);
  }
  return rs;
}

interface Choice {
  readonly pool: string | null;
  readonly values: readonly string[] | null;
  readonly cause: DecisionCause;
  readonly reason: string;
}

function decideFailover(spec: FailoverRecordSpec, inputs: DesiredZoneInputs): RecordDecision {
  const key = recordKey(spec.name, spec.type);
  const last = inputs.lastServed.get(key);
  const active = inputs.overrides.filter(
    (o) => o.zone === inputs.zone.name && o.name === spec.name && o.type === spec.type && isOverrideActive(o, inputs.now),
  );
  const drained = new Set(active.flatMap((o) => (o.action.kind === 'drain' ? [o.action.value] : [])));

  let choice = chooseByOverride(spec, active, drained) ?? (inputs.healthPaused === true ? keepServed(last, drained) : undefined) ?? chooseByHealth(spec, inputs, drained, last);
  choice = singleValueForCname(spec, choice);

  // A health-driven move away from what is served; a first creation or an override is not one.
  const spendsBudget = (c: Choice): boolean => last !== undefined && (c.cause === 'health' || c.cause === 'all-down') && !sameValues(c.values, last);
  if (last !== undefined && spendsBudget(choice)) {
    const writes = (inputs.recentWrites.get(key) ?? []).filter((t) => inputs.now - t < HOUR_MS).length;
    if (writes >= spec.failover.maxWritesPerHour) {
      choice = {
        pool: null,
        values: last,
        cause: 'write-budget',
        reason: `write budget spent: ${writes} health-driven changes in the last hour (max ${spec.failover.maxWritesPerHour}); keeping ${last.join(', ')} instead of: ${choice.reason}`,
      };
    }
  }
  return {
    key,
    name: spec.name,
    type: spec.type,
    pool: choice.pool,
    values: choice.values,
    cause: choice.cause,
    reason: choice.reason,
    changes: !sameValues(choice.values, last),
    spendsBudget: spendsBudget(choice),
  };
}

/** What is served, minus drained values; undefined when that would be nothing (health then decides). */
function keepServed(last: readonly string[] | undefined, drained: ReadonlySet<string>): Choice | undefined {
  if (last === undefined) return undefined;
  const kept = last.filter((v) => !drained.has(v));
  if (kept.length === 0) return undefined;
  const minus = kept.length < last.length ? ` without drained ${last.filter((v) => drained.has(v)).join(', ')}` : '';
  return { pool: null, values: kept, cause: 'health-paused', reason: `health decisions paused (only overrides are written): keeping what is served${minus}` };
}

function chooseByOverride(spec: FailoverRecordSpec, active: readonly Override[], drained: ReadonlySet<string>): Choice | undefined {
  const forced = active
    .flatMap((o) => (o.action.kind === 'force-pool' ? [{ o, pool: o.action.pool }] : []))
    .sort((a, b) => b.o.createdAt - a.o.createdAt)[0];
  if (forced === undefined) return undefined;
  const pool = spec.failover.pools.find((p) => p.name === forced.pool);
  if (pool === undefined) return undefined;
  const kept = pool.values.filter((v) => !drained.has(v));
  const who = `override ${forced.o.id} by ${forced.o.actor}: ${forced.o.reason}`;
  if (kept.length === 0) {
    return { pool: pool.name, values: pool.values, cause: 'override', reason: `${who}; every value of pool ${pool.name} is drained, serving them all rather than nothing` };
  }
  return { pool: pool.name, values: kept, cause: 'override', reason: `${who}; serving pool ${pool.name}` };
}

function chooseByHealth(
  spec: FailoverRecordSpec,
  inputs: DesiredZoneInputs,
  drained: ReadonlySet<string>,
  last: readonly string[] | undefined,
): Choice {
  const { pools, holdDownMs } = spec.failover;
  const healthOf = (value: string): EndpointHealth | undefined => inputs.health.get(endpointId(spec.name, spec.type, value));
  const passed: string[] = [];

  for (const pool of pools) {
    const candidates = pool.values.filter((v) => !drained.has(v));
    const usable = candidates.filter((v) => {
      const h = healthOf(v);
      return h?.state === 'up' && (h.recoveredAt === undefined || inputs.now - h.recoveredAt >= holdDownMs);
    });
    if (usable.length > 0) {
      const skipped = passed.length > 0 ? `; ${passed.join('; ')}` : '';
      return { pool: pool.name, values: usable, cause: 'health', reason: `pool ${pool.name} in service: ${usable.length} of ${pool.values.length} up${skipped}` };
    }
    const unknown = candidates.filter((v) => (healthOf(v)?.state ?? 'unknown') === 'unknown');
    if (unknown.length > 0) {
      const values = last ?? candidates;
      return {
        pool: last === undefined ? pool.name : null,
        values,
        cause: 'unknown-health',
        reason: `health of pool ${pool.name} not known yet (${unknown.join(', ')}); ${last === undefined ? `serving pool ${pool.name}` : 'keeping what is served'}`,
      };
    }
    passed.push(describeOutOfService(pool, candidates, healthOf, drained, inputs.now, holdDownMs));
  }

  const why = `no pool in service (${passed.join('; ')})`;
  switch (spec.failover.whenAllDown) {
    case 'keep-last': {
      const first = pools[0];
      if (last !== undefined) return { pool: null, values: last, cause: 'all-down', reason: `${why}; whenAllDown keep-last: keeping ${last.join(', ')}` };
      return { pool: first?.name ?? null, values: first?.values ?? [], cause: 'all-down', reason: `${why}; whenAllDown keep-last with nothing served yet: serving pool ${first?.name ?? ''}` };
    }
    case 'all': {
      const all = [...new Set(pools.flatMap((p) => p.values))];
      const undrained = all.filter((v) => !drained.has(v));
      return { pool: null, values: undrained.length > 0 ? undrained : all, cause: 'all-down', reason: `${why}; whenAllDown all: serving every value` };
    }
    case 'fail-closed':
      return { pool: null, values: null, cause: 'all-down', reason: `${why}; whenAllDown fail-closed: record removed` };
  }
}

function describeOutOfService(
  pool: PoolSpec,
  candidates: readonly string[],
  healthOf: (v: string) => EndpointHealth | undefined,
  drained: ReadonlySet<string>,
  now: number,
  holdDownMs: number,
): string {
  const parts = pool.values.map((v) => {
    if (drained.has(v)) return `${v} drained`;
    const h = healthOf(v);
    if (h?.state === 'up' && h.recoveredAt !== undefined) return `${v} in hold-down for ${holdDownMs - (now - h.recoveredAt)}ms more`;
    return `${v} ${h?.state ?? 'unknown'}`;
  });
  return `pool ${pool.name} out of service (${candidates.length === 0 ? 'all drained' : parts.join(', ')})`;
}

/** A CNAME record set holds exactly one value: the first usable one. */
function singleValueForCname(spec: FailoverRecordSpec, choice: Choice): Choice {
  if (spec.type !== 'CNAME' || choice.values === null || choice.values.length <= 1) return choice;
  return { ...choice, values: choice.values.slice(0, 1) };
}

function sameValues(a: readonly string[] | null, b: readonly string[] | undefined): boolean {
  if (a === null) return b === undefined;
  if (b === undefined) return false;
  if (a.length !== b.length) return false;
  const sa = [...a].sort();
  const sb = [...b].sort();
  return sa.every((v, i) => v === sb[i]);
}
