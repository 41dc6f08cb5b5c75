import type { ChangeSet } from '../domain/change-set.js';
import type { HealthView } from '../domain/health.js';
import type { Override } from '../domain/override.js';
import { keyOf, recordKey } from '../domain/record.js';
import type { RecordKey, RecordSet } from '../domain/record.js';
import type { ZoneSpec } from '../domain/zone.js';
import { desiredZone } from './desired.js';
import type { DesiredZone, PreviousDecision } from './desired.js';
import { diffRecords } from './diff.js';
import { splitDrift } from './drift.js';
import { desiredExpectations } from './expectations.js';
import type { Expectation } from './expectations.js';
import { blockingViolations, checkChangeSet } from './guardrails.js';
import type { Violation } from './guardrails.js';

/**
 * One reconcile pass over one zone, as pure data: what every provider of the zone lists and which
 * name servers each one has, with health, overrides and the write budget, give the desired zone,
 * each provider's change set, the guardrail verdicts and what each provider's name servers must
 * answer afterwards. The daemon, `plan`, `sync` and `verify` all plan through here; applying a
 * plan is the caller's separate step.
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
   * unknown (see apexNameservers).
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
  /** What to write: every change under `drift: repair`, only the intended ones under `drift: report`. */
  readonly apply: ChangeSet;
  /** Record sets the provider holds that the config does not name, left in place. */
  readonly unmanagedKept: readonly RecordSet[];
  /** Guardrail violations of `apply` left after `force`; when any, it must not be applied. */
  readonly blocking: readonly Violation[];
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
  const providers: ProviderPlan[] = [];
  for (const provider of zone.providers) {
    const current = inputs.listings.get(provider);
    if (current === undefined) continue;
    providers.push(planProvider(zone, provider, desiredAt(desired, inputs.keptAsHeld, current), current, inputs.converged?.get(provider), inputs.force));
  }
  return { zone: zone.name, desired, apexNameservers: apexNameservers(zone, inputs.nameservers), providers };
}

function planProvider(
  zone: ZoneSpec,
  provider: string,
  desired: DesiredZone,
  current: readonly RecordSet[],
  converged: ReadonlyMap<RecordKey, RecordSet> | undefined,
  force: boolean,
): ProviderPlan {
  const { changes, unmanagedKept } = diffRecords(desired.records, current, { zone: zone.name, managed: desired.managed, unmanaged: zone.unmanaged });
  const { intended, drift } = splitDrift(changes, desired.records, converged);
  const apply = zone.drift === 'repair' ? changes : intended;
  return { provider, desired, changes, drift, apply, unmanagedKept, blocking: unsafeChanges(zone, desired, apply, current, force), expectations: desiredExpectations(zone, desired, current) };
}

/**
 * The guardrail violations that stop `changes` (after --force waived what it may). Health-driven
 * failover changes never count against the zone's maxChangeShare: they are the point.
 */
function unsafeChanges(zone: ZoneSpec, desired: DesiredZone, changes: ChangeSet, current: readonly RecordSet[], force: boolean): Violation[] {
  const healthDriven = new Set(desired.decisions.filter((d) => d.cause !== 'override').map((d) => d.key));
  return blockingViolations(checkChangeSet(changes, current, { maxChangeShare: zone.maxChangeShare, minRecordsForShare: MIN_RECORDS_FOR_SHARE, healthDriven }), force);
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
