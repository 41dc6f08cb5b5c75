import type { ChangeSet } from '../domain/change-set.js';
import type { HealthView } from '../domain/health.js';
import type { Override } from '../domain/override.js';
import { compareRecordSets, keyOf, recordKey } from '../domain/record.js';
import type { RecordKey, RecordSet } from '../domain/record.js';
import type { ZoneSpec } from '../domain/zone.js';
import { desiredZone } from './desired.js';
import type { DesiredZone, PreviousDecision } from './desired.js';
import { diffRecords } from './diff.js';
import { splitDrift } from './drift.js';
import { desiredExpectations } from './expectations.js';
import type { Expectation } from './expectations.js';
import { guardChangeSet, touchedKeys } from './guardrails.js';
import type { OwnNameservers, Refusal } from './guardrails.js';

/**
 * One reconcile pass over one zone, as pure data: what every provider of the zone lists and which
 * name servers each one has, with health, overrides and the write budget, give the desired zone,
 * each provider's change set split into what may be written and what the guardrails hold back,
 * and what each provider's name servers must answer afterwards. The daemon, `plan`, `sync` and
 * `verify` all plan through here; applying a plan is the caller's separate step.
 */

/** Below this many record sets a zone may change wholesale: the share rule would block every edit. */
const MIN_RECORDS_FOR_SHARE = 10;

/** What health, overrides and memory say about the zone's failover records, for deciding them. */
export interface DecisionInputs {
  readonly health: HealthView;
  readonly overrides: readonly Override[];
  /**
   * What each failover record serves now, for keep-last and change detection. When absent it is
   * read from the listings: the first provider, in the zone's order, that holds the record.
   */
  readonly served?: ReadonlyMap<RecordKey, readonly string[]>;
  /** Times of the health-driven changes each record made recently, for the hourly write budget. */
  readonly recentWrites: ReadonlyMap<RecordKey, readonly number[]>;
  /** Health decides nothing, only overrides move records (break-glass). */
  readonly healthPaused?: boolean;
  /** The decision this one follows; with `touched`, only those records are decided again. */
  readonly previous?: PreviousDecision;
  readonly now: number;
}

export interface ZonePlanInputs {
  readonly zone: ZoneSpec;
  /** What each provider to plan for holds now (a zone it does not hold: no record sets). Providers absent get no change set. */
  readonly listings: ReadonlyMap<string, readonly RecordSet[]>;
  /**
   * Each provider's own name servers, by provider name; a provider absent, or with none, is
   * unknown (see apexNameservers). They are also whose servers the name server guardrail keeps
   * in the apex NS (see needsOwnNameservers).
   */
  readonly nameservers: ReadonlyMap<string, readonly string[]>;
  /**
   * Decide the zone's records here, or take a decision made already: the daemon decides once per
   * zone and plans each provider against that one decision, so that providers synced at different
   * times still converge to one state.
   */
  readonly decision: { readonly decide: DecisionInputs } | { readonly decided: DesiredZone };
  /**
   * Failover records each provider keeps as it holds them (see ZoneTarget.keptAsHeld in sync):
   * health has decided nothing about them yet, so no provider's copy is written to another.
   */
  readonly keptAsHeld?: ReadonlySet<RecordKey>;
  /**
   * What each provider was last brought to (every managed record set by key), for telling drift:
   * a change needed only because the provider changed since. None: nothing is drift.
   */
  readonly converged?: ReadonlyMap<string, ReadonlyMap<RecordKey, RecordSet>>;
  /** Waive the guardrails that may be waived (too much change, name server removal). */
  readonly force: boolean;
}

/** One provider's part of a zone plan. */
export interface ProviderPlan {
  readonly provider: string;
  /** The desired zone as this provider should hold it: records kept as held keep its own values. */
  readonly desired: DesiredZone;
  /** Everything that differs from `desired`. */
  readonly changes: ChangeSet;
  /** The part of `changes` that undoes edits made at the provider behind our back since it was last converged. */
  readonly drift: ChangeSet;
  /**
   * What to write: every change under `drift: repair`, only the intended ones under `drift:
   * report`, less what the guardrails hold back (`refused`). Failover changes are never held back
   * by a rule --force may waive.
   */
  readonly apply: ChangeSet;
  /** What the guardrails hold back of the changes to write, after `force` waived what it may: one entry per rule. */
  readonly refused: readonly Refusal[];
  /**
   * The managed record sets as the provider holds them once `apply` is written: `desired`, but a
   * record set whose change is refused as the provider holds it (or as `apply` leaves it).
   */
  readonly reached: readonly RecordSet[];
  /** Record sets the provider holds that the config does not name, left in place. */
  readonly unmanagedKept: readonly RecordSet[];
  /** The questions whose answers show this provider's name servers serve `desired`. */
  readonly expectations: readonly Expectation[];
}

export interface ZonePlan {
  readonly zone: string;
  readonly desired: DesiredZone;
  readonly apexNameservers: ApexNameservers;
  /** One plan per provider of `listings`, in the zone's provider order. */
  readonly providers: readonly ProviderPlan[];
}

/**
 * The apex NS the zone publishes when its name servers are synced:
 * - not-managed: the zone does not sync them (`nameservers:` is not `sync`); each provider keeps its own
 * - unknown: some provider's own name servers are not known (it could not be read, or listed
 *   none); the apex NS is then left as each provider holds it, so a provider that cannot be read
 *   never has its servers taken out of the others' apex NS
 * - synced: every provider's name servers, in the zone's provider order, without repeats
 */
export type ApexNameservers =
  | { readonly kind: 'not-managed' }
  | { readonly kind: 'unknown'; readonly missing: readonly string[]; readonly known: readonly string[] }
  | { readonly kind: 'synced'; readonly values: readonly string[] };

/** The one rule for the apex NS union; see ApexNameservers. */
export function apexNameservers(zone: ZoneSpec, nameservers: ReadonlyMap<string, readonly string[]>): ApexNameservers {
  if (zone.nameservers !== 'sync') return { kind: 'not-managed' };
  const missing = zone.providers.filter((p) => (nameservers.get(p)?.length ?? 0) === 0);
  const union = [...new Set(zone.providers.flatMap((p) => nameservers.get(p) ?? []))];
  return missing.length > 0 ? { kind: 'unknown', missing, known: union } : { kind: 'synced', values: union };
}

/**
 * Whether planning the zone needs each provider's own name servers: for the apex NS union
 * (`nameservers: sync`), or for the guardrail that keeps them in an apex NS the config declares
 * (`nameservers: manual`). Otherwise the apex NS is the provider's and never changed.
 */
export function needsOwnNameservers(zone: ZoneSpec): boolean {
  return zone.nameservers === 'sync' || zone.records.some((r) => r.name === zone.name && r.type === 'NS');
}

/** The providers' own name servers as the guardrail needs them: the known sets, and which providers of the zone have none known. */
function ownNameservers(zone: ZoneSpec, nameservers: ReadonlyMap<string, readonly string[]>): OwnNameservers {
  const known = new Map<string, readonly string[]>();
  const unknown: string[] = [];
  for (const p of zone.providers) {
    const hosts = nameservers.get(p) ?? [];
    if (hosts.length > 0) known.set(p, hosts);
    else unknown.push(p);
  }
  return { known, unknown };
}

/**
 * What each failover record serves now, read from the providers: the first provider, in the
 * zone's order, that holds it.
 */
export function servedFromListings(zone: ZoneSpec, listings: ReadonlyMap<string, readonly RecordSet[]>): Map<RecordKey, readonly string[]> {
  const served = new Map<RecordKey, readonly string[]>();
  const failoverKeys = new Set(zone.records.filter((r) => r.kind === 'failover').map((r) => recordKey(r.name, r.type)));
  for (const provider of zone.providers) {
    for (const rs of listings.get(provider) ?? []) {
      const key = keyOf(rs);
      if (failoverKeys.has(key) && !served.has(key)) served.set(key, rs.values);
    }
  }
  return served;
}

/** Decides the zone's desired records (no provider plans): what the daemon does on a health change. */
export function decideZone(zone: ZoneSpec, nameservers: ReadonlyMap<string, readonly string[]>, inputs: DecisionInputs, listings: ReadonlyMap<string, readonly RecordSet[]> = new Map()): DesiredZone {
  const apex = apexNameservers(zone, nameservers);
  return desiredZone(
    {
      zone,
      health: inputs.health,
      overrides: inputs.overrides,
      lastServed: inputs.served ?? servedFromListings(zone, listings),
      recentWrites: inputs.recentWrites,
      ...(apex.kind === 'synced' ? { apexNameservers: apex.values } : {}),
      ...(inputs.healthPaused === undefined ? {} : { healthPaused: inputs.healthPaused }),
      now: inputs.now,
    },
    inputs.previous,
  );
}

export function planZone(inputs: ZonePlanInputs): ZonePlan {
  const { zone } = inputs;
  const desired = 'decided' in inputs.decision ? inputs.decision.decided : decideZone(zone, inputs.nameservers, inputs.decision.decide, inputs.listings);
  const own = ownNameservers(zone, inputs.nameservers);
  const providers: ProviderPlan[] = [];
  for (const provider of zone.providers) {
    const current = inputs.listings.get(provider);
    if (current === undefined) continue;
    providers.push(planProvider(zone, provider, desiredAt(desired, inputs.keptAsHeld, current), current, inputs.converged?.get(provider), { own, force: inputs.force }));
  }
  return { zone: zone.name, desired, apexNameservers: apexNameservers(zone, inputs.nameservers), providers };
}

function planProvider(
  zone: ZoneSpec,
  provider: string,
  desired: DesiredZone,
  current: readonly RecordSet[],
  converged: ReadonlyMap<RecordKey, RecordSet> | undefined,
  guard: { readonly own: OwnNameservers; readonly force: boolean },
): ProviderPlan {
  const { changes, unmanagedKept } = diffRecords(desired.records, current, { zone: zone.name, managed: desired.managed, unmanaged: zone.unmanaged });
  const { intended, drift } = splitDrift(changes, desired.records, converged);
  const wanted = zone.drift === 'repair' ? changes : intended;
  // Every failover record, whatever decided it (health, an override, the budget): its change is
  // never held back by a rule --force may waive, nor counted against the share.
  const decided = new Set(desired.decisions.map((d) => d.key));
  const { allowed, refused } = guardChangeSet(wanted, current, { maxChangeShare: zone.maxChangeShare, minRecordsForShare: MIN_RECORDS_FOR_SHARE, decided, ownNameservers: guard.own, force: guard.force });
  return {
    provider,
    desired,
    changes,
    drift,
    apply: allowed,
    refused,
    reached: reachedRecords(desired, current, allowed, refused),
    unmanagedKept,
    expectations: desiredExpectations(zone, desired, current),
  };
}

/**
 * The managed record sets the provider holds once `allowed` is written: those of `desired`, but
 * each record set whose change is refused as `allowed` leaves it (an apex NS written in part) or
 * as the provider holds it now. Kept as the syncer's baseline for telling drift, so a refused
 * change stays intended on the next read (held back again, not mistaken for drift).
 */
function reachedRecords(desired: DesiredZone, current: readonly RecordSet[], allowed: ChangeSet, refused: readonly Refusal[]): readonly RecordSet[] {
  if (refused.length === 0) return desired.records;
  const refusedKeys = new Set(refused.flatMap((r) => [...touchedKeys(r.changes)]));
  const written = new Map([...allowed.creates, ...allowed.updates.map((u) => u.after)].map((rs) => [keyOf(rs), rs]));
  const held = new Map(current.map((rs) => [keyOf(rs), rs]));
  const records = desired.records.filter((rs) => !refusedKeys.has(keyOf(rs)));
  for (const key of refusedKeys) {
    const now = written.get(key) ?? held.get(key);
    if (now !== undefined) records.push(now);
  }
  return records.sort(compareRecordSets);
}

/** `desired` as one provider should hold it: a record kept as held keeps the values it serves; a provider without it gets `desired`'s copy. */
function desiredAt(desired: DesiredZone, keptAsHeld: ReadonlySet<RecordKey> | undefined, current: readonly RecordSet[]): DesiredZone {
  if (keptAsHeld === undefined || keptAsHeld.size === 0) return desired;
  const held = new Map(current.map((rs) => [keyOf(rs), rs]));
  const records = desired.records.map((rs) => {
    const here = keptAsHeld.has(keyOf(rs)) ? held.get(keyOf(rs)) : undefined;
    return here === undefined ? rs : { ...rs, values: here.values };
  });
  return { ...desired, records };
}
