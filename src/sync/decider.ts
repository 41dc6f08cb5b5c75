import { endpointId } from '../domain/health.js';
import type { EndpointId, HealthView } from '../domain/health.js';
import type { Override } from '../domain/override.js';
import { recordKey } from '../domain/record.js';
import type { RecordKey, RecordSet } from '../domain/record.js';
import type { ZoneSpec } from '../domain/zone.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { changedKeys, decisionFor } from '../plan/desired.js';
import type { DecisionCause, DesiredZone, RecordDecision } from '../plan/desired.js';
import { apexNameservers, decideZone, servedFromListings } from '../plan/zone-plan.js';
import type { ApexNameservers } from '../plan/zone-plan.js';
import type { RecordStatus } from './status.js';

/** The desired state of one zone, as decided at one moment; every provider of the zone converges to it. */
export interface ZoneTarget {
  readonly zone: ZoneSpec;
  /** Goes up by one each time the desired records change. */
  readonly version: number;
  readonly decidedAt: number;
  readonly desired: DesiredZone;
  /**
   * Failover records whose target only keeps what the first provider read served: health has
   * decided nothing about them since this decider started (it is paused, or not known yet). The
   * providers may disagree (a pass cut short by a crash); each one keeps what it holds, since
   * writing one provider's copy to the others would move traffic on no data and, once health
   * decides, back again. A provider without the record gets `desired`'s copy.
   */
  readonly keptAsHeld: ReadonlySet<RecordKey>;
  /** Each provider's own name servers as last read, for planning a provider against this target. */
  readonly nameservers: ReadonlyMap<string, readonly string[]>;
  readonly apexNameservers: ApexNameservers;
}

export interface ZoneDeciderOptions {
  readonly zones: readonly ZoneSpec[];
  readonly clock: Clock;
  readonly logger: Logger;
  readonly health: () => HealthView;
  readonly overrides: () => readonly Override[];
  /** True while health must decide nothing and only overrides change records (break-glass). */
  readonly healthPaused: () => boolean;
  /** Called when a failover record's values change by a decision, with what it served before. */
  readonly onRecordChange?: (change: RecordChange) => void;
  /** Called each time a zone's desired records change (a new version), whatever caused it. */
  readonly onNewTarget?: (zone: string) => void;
  /**
   * Where the hourly write budget outlives this decider (a restart, a reload). Without one, the
   * budget lives in memory only: a crash-looping process would get a fresh budget at each start.
   */
  readonly writeBudget?: WriteBudgetLedger;
}

/** When each failover record made its health-driven changes of the last hour, oldest first. */
export type WriteHistory = ReadonlyMap<RecordKey, readonly number[]>;

/**
 * Keeps the write budget beyond one decider's life. The decider does no I/O: it reads the
 * history once, before its first decision, and hands the whole (bounded) history back after each
 * decision that spent budget.
 */
export interface WriteBudgetLedger {
  /** The history as last kept (loaded at start, or handed over by the decider before this one). */
  history(): WriteHistory;
  /**
   * Keeps `history`. Called before the decision that spent is given to any provider syncer, so it
   * must be durable by the time it returns: a process killed after a write finds the write's
   * spend at its next start. Never throws; a ledger that cannot keep it says so itself.
   */
  spent(history: WriteHistory): void;
}

/** A failover record that now serves other values, and why. */
export interface RecordChange {
  readonly zone: ZoneSpec;
  readonly decision: RecordDecision;
  /** What it served before; undefined for its first decision. */
  readonly before: readonly string[] | undefined;
}

const HOUR_MS = 3_600_000;

interface ZoneMemory {
  target: ZoneTarget | undefined;
  /** What each failover record serves: seeded from the first provider read, then our own decisions. */
  readonly served: Map<RecordKey, readonly string[]>;
  /** Records whose `served` is still the seed: no decision by health or override since. */
  readonly seeded: Set<RecordKey>;
  /** When each failover record's values last changed. */
  readonly since: Map<RecordKey, number>;
  /** What each provider held when last read, for seeding `served` before the first decision. */
  readonly listings: Map<string, readonly RecordSet[]>;
  /** Each provider's own name servers; the apex NS is planned only once every provider's are known. */
  readonly nameservers: Map<string, readonly string[]>;
  /** Records whose last decision changed what they serve: decided again next time, as `served` moved under them. */
  movedLastTime: Set<RecordKey>;
  /** The last target version given out; never goes back, not even on reseed, so a syncer never mistakes a new target for one it converged to. */
  version: number;
}

/**
 * Decides each zone's desired records once, for every provider of the zone, so that providers
 * synced on their own still converge to one state. What a failover record "serves now" (for
 * keep-last, hold-down and the write budget) is this decider's own last decision, seeded from
 * the first provider read: a provider that lags or drifted never changes a decision.
 */
export class ZoneDecider {
  private readonly memory = new Map<string, ZoneMemory>();
  /** The write budget's history; read from the ledger before the first decision (see spends()). */
  private recentWrites: Map<RecordKey, number[]> | undefined;
  /** maxWritesPerHour of every failover record configured, which bounds the history. */
  private readonly budgetLimits = new Map<RecordKey, number>();
  /** Which failover record of which zone each endpoint belongs to (one value can be in several). */
  private readonly recordsOf = new Map<EndpointId, { zone: ZoneSpec; key: RecordKey }[]>();

  constructor(private readonly options: ZoneDeciderOptions) {
    for (const zone of options.zones) {
      this.memory.set(zone.name, { target: undefined, served: new Map(), seeded: new Set(), since: new Map(), listings: new Map(), nameservers: new Map(), movedLastTime: new Set(), version: 0 });
      for (const spec of zone.records) {
        if (spec.kind !== 'failover') continue;
        const key = recordKey(spec.name, spec.type);
        this.budgetLimits.set(key, spec.failover.maxWritesPerHour);
        for (const value of new Set(spec.failover.pools.flatMap((p) => p.values))) {
          const id = endpointId(spec.name, spec.type, value);
          this.recordsOf.set(id, [...(this.recordsOf.get(id) ?? []), { zone, key }]);
        }
      }
    }
  }

  /** The zone's current target, or undefined before any provider of it has been read. */
  target(zone: string): ZoneTarget | undefined {
    return this.memory.get(zone)?.target;
  }

  /**
   * Records what a provider holds and its own name servers (undefined when they could not be
   * read), and returns the zone's target, deciding it first if this is the first read, or again
   * if the name server union changed.
   */
  observe(zone: ZoneSpec, provider: string, records: readonly RecordSet[], nameservers: readonly string[] | undefined): ZoneTarget {
    const memory = this.zoneMemory(zone.name);
    memory.listings.set(provider, records);
    const before = apexKey(apexNameservers(zone, memory.nameservers));
    if (nameservers !== undefined && nameservers.length > 0) memory.nameservers.set(provider, nameservers);
    if (memory.target === undefined || apexKey(apexNameservers(zone, memory.nameservers)) !== before) this.decideZone(zone, memory, undefined);
    const { target } = memory;
    if (target === undefined) throw new Error(`zone ${zone.name} has no target after deciding`);
    return target;
  }

  /**
   * Re-decides every zone that has been read at least once; returns the zones whose desired
   * records changed. Pure apart from logging. Called each second (so time-based rules, hold-down,
   * override expiry and the budget, take effect without an event) and on override changes.
   */
  decide(): string[] {
    this.forgetOldWrites();
    const changed: string[] = [];
    for (const zone of this.options.zones) {
      const memory = this.zoneMemory(zone.name);
      if (memory.target === undefined) continue;
      if (this.decideZone(zone, memory, undefined)) changed.push(zone.name);
    }
    return changed;
  }

  /**
   * Re-decides only the failover records of these endpoints, whose health changed: the work is in
   * proportion to the records touched, not to the zone, so a start where every endpoint goes from
   * unknown to up costs N decisions, not N². Returns the zones whose desired records changed.
   */
  healthChanged(endpoints: Iterable<EndpointId>): string[] {
    const touched = new Map<ZoneSpec, Set<RecordKey>>();
    for (const id of endpoints) {
      for (const { zone, key } of this.recordsOf.get(id) ?? []) {
        const keys = touched.get(zone) ?? new Set<RecordKey>();
        keys.add(key);
        touched.set(zone, keys);
      }
    }
    const changed: string[] = [];
    for (const [zone, keys] of touched) {
      const memory = this.zoneMemory(zone.name);
      if (memory.target === undefined) continue;
      if (this.decideZone(zone, memory, keys)) changed.push(zone.name);
    }
    return changed;
  }

  /** What each failover record serves, by this decider's last decision, over every zone. */
  served(): ReadonlyMap<RecordKey, readonly string[]> {
    const out = new Map<RecordKey, readonly string[]>();
    for (const memory of this.memory.values()) for (const [key, values] of memory.served) out.set(key, values);
    return out;
  }

  /**
   * Forgets every decision and every provider read, so the next read seeds what each record
   * serves afresh. For a replica that starts writing after it stopped (or never did): what it
   * remembers serving may have been changed since by another writer, and must not be written back.
   */
  reseed(): void {
    for (const memory of this.memory.values()) {
      memory.target = undefined;
      memory.served.clear();
      memory.seeded.clear();
      memory.since.clear();
      memory.listings.clear();
      memory.movedLastTime.clear();
    }
  }

  /** Every failover record with what it serves and why. */
  records(): RecordStatus[] {
    const out: RecordStatus[] = [];
    for (const [zone, memory] of this.memory) {
      for (const d of memory.target?.desired.decisions ?? []) {
        out.push({ zone, name: d.name, type: d.type, pool: d.pool, values: d.values, cause: d.cause, reason: d.reason, since: memory.since.get(d.key) ?? memory.target?.decidedAt ?? 0 });
      }
    }
    return out;
  }

  private zoneMemory(zone: string): ZoneMemory {
    const memory = this.memory.get(zone);
    if (memory === undefined) throw new Error(`zone ${zone} is not configured`);
    return memory;
  }

  /** Returns true when the desired records changed. With `touched`, only those records are decided again. */
  private decideZone(zone: ZoneSpec, memory: ZoneMemory, touched: ReadonlySet<RecordKey> | undefined): boolean {
    const now = this.options.clock.now();
    if (memory.target === undefined) this.seedServed(zone, memory);
    const previous = memory.target;
    // Records that moved last time are decided again too: what they serve changed under them.
    const redecide = previous === undefined || touched === undefined ? undefined : new Set([...touched, ...memory.movedLastTime]);
    const desired = decideZone(zone, memory.nameservers, {
      health: this.options.health(),
      overrides: this.options.overrides(),
      served: memory.served,
      recentWrites: this.spends(),
      healthPaused: this.options.healthPaused(),
      now,
      ...(previous === undefined ? {} : { previous: { desired: previous.desired, ...(redecide === undefined ? {} : { touched: redecide }) } }),
    });
    const decided = redecide === undefined ? desired.decisions : [...redecide].flatMap((key) => decisionFor(zone, desired, key) ?? []);
    for (const d of decided) if (!KEEP_CAUSES.has(d.cause)) memory.seeded.delete(d.key);
    const keptAsHeld = this.keptAsHeld(zone, memory, desired, previous, redecide);
    memory.movedLastTime = new Set();
    let spent = false;
    for (const d of decided) spent = this.remember(zone, memory, d, now) || spent;
    // The spend is kept before the target that carries it exists, so no syncer can write a
    // change whose spend a crash would lose.
    if (spent) this.keepSpends();

    const apex = apexNameservers(zone, memory.nameservers);
    const nameservers = new Map(memory.nameservers);
    const same =
      previous !== undefined &&
      changedKeys(zone, previous.desired, desired, redecide).length === 0 &&
      sameSet(previous.keptAsHeld, keptAsHeld) &&
      apexKey(previous.apexNameservers) === apexKey(apex);
    if (same) {
      // Same records; keep the version but refresh the reasons shown in status.
      memory.target = { ...previous, desired, keptAsHeld, nameservers };
      return false;
    }
    memory.version += 1;
    memory.target = { zone, version: memory.version, decidedAt: now, desired, keptAsHeld, nameservers, apexNameservers: apex };
    this.options.onNewTarget?.(zone.name);
    return true;
  }

  /**
   * Failover records still seeded (no decision by health or override since the first read) that
   * keep what they serve: each provider keeps its own copy (see ZoneTarget.keptAsHeld).
   */
  private keptAsHeld(zone: ZoneSpec, memory: ZoneMemory, desired: DesiredZone, previous: ZoneTarget | undefined, redecided: ReadonlySet<RecordKey> | undefined): ReadonlySet<RecordKey> {
    const kept = (key: RecordKey): boolean => {
      const d = decisionFor(zone, desired, key);
      return d !== undefined && memory.seeded.has(key) && KEEP_CAUSES.has(d.cause) && sameValues(d.values, memory.served.get(key));
    };
    if (previous === undefined || redecided === undefined) return new Set([...memory.seeded].filter(kept));
    if (memory.seeded.size === 0 && previous.keptAsHeld.size === 0) return previous.keptAsHeld;
    const next = new Set(previous.keptAsHeld);
    for (const key of redecided) {
      if (kept(key)) next.add(key);
      else next.delete(key);
    }
    return next;
  }

  /** Returns true when the decision spent budget. */
  private remember(zone: ZoneSpec, memory: ZoneMemory, d: RecordDecision, now: number): boolean {
    if (!d.changes) return false;
    this.options.logger.info(
      { zone: zone.name, record: d.name, type: d.type, pool: d.pool, values: d.values, cause: d.cause },
      `record ${d.name} ${d.type} now serves ${d.values === null ? 'nothing (removed)' : d.values.join(', ')}: ${d.reason}`,
    );
    this.options.onRecordChange?.({ zone, decision: d, before: memory.served.get(d.key) });
    memory.movedLastTime.add(d.key);
    if (d.values === null) memory.served.delete(d.key);
    else memory.served.set(d.key, d.values);
    memory.since.set(d.key, now);
    if (!d.spendsBudget) return false;
    const recent = this.spends();
    recent.set(d.key, [...(recent.get(d.key) ?? []), now]);
    return true;
  }

  /**
   * Before the first decision, what each failover record serves is taken from the first provider,
   * in the zone's order, that has been read and holds it.
   */
  private seedServed(zone: ZoneSpec, memory: ZoneMemory): void {
    for (const [key, values] of servedFromListings(zone, memory.listings)) {
      if (memory.served.has(key)) continue;
      memory.served.set(key, values);
      memory.seeded.add(key);
    }
  }

  /**
   * The write budget's history, read from the ledger at the first call: not at construction, as
   * on a reload this decider is built while the one it replaces still decides (and spends).
   */
  private spends(): Map<RecordKey, number[]> {
    this.recentWrites ??= this.bounded(this.options.writeBudget?.history() ?? new Map());
    return this.recentWrites;
  }

  private forgetOldWrites(): void {
    this.recentWrites = this.bounded(this.spends());
  }

  /**
   * The history bounded now. When a time in it had to be moved (the clock went back), the moved
   * one is kept at once: left on disk as it was, each restart would move it to its own start again.
   */
  private bounded(history: WriteHistory): Map<RecordKey, number[]> {
    const { history: out, clamped } = boundWriteHistory(history, this.budgetLimits, this.options.clock.now());
    if (clamped) this.options.writeBudget?.spent(out);
    return out;
  }

  private keepSpends(): void {
    this.recentWrites = boundWriteHistory(this.spends(), this.budgetLimits, this.options.clock.now()).history;
    this.options.writeBudget?.spent(this.recentWrites);
  }
}

/**
 * The part of a write history that can still count: records configured now (`limits`: each
 * one's maxWritesPerHour), spends less than an hour old, at most maxWritesPerHour of them per
 * record (the newest; the budget only asks whether that many were made). A spend stamped after
 * `now` (the wall clock was set back) counts as made now: it expires an hour later by the new
 * clock, neither at once nor only when the clock catches up with it. `clamped` says one was moved.
 */
export function boundWriteHistory(history: WriteHistory, limits: ReadonlyMap<RecordKey, number>, now: number): { history: Map<RecordKey, number[]>; clamped: boolean } {
  const out = new Map<RecordKey, number[]>();
  let clamped = false;
  for (const [key, times] of history) {
    const limit = limits.get(key);
    if (limit === undefined) continue;
    const fresh = times
      .map((t) => {
        if (t <= now) return t;
        clamped = true;
        return now;
      })
      .filter((t) => now - t < HOUR_MS)
      .sort((a, b) => a - b)
      .slice(-limit);
    if (fresh.length > 0) out.set(key, fresh);
  }
  return { history: out, clamped };
}

/** Decisions that keep what is served because health decides nothing (paused, or not known). */
const KEEP_CAUSES: ReadonlySet<DecisionCause> = new Set<DecisionCause>(['health-paused', 'unknown-health']);

function sameValues(a: readonly string[] | null, b: readonly string[] | undefined): boolean {
  if (a === null || b === undefined || a.length !== b.length) return false;
  const sortedB = [...b].sort();
  return [...a].sort().every((v, i) => v === sortedB[i]);
}

/** Tells apex NS plans apart: the values when synced, else the kind. */
function apexKey(apex: ApexNameservers): string {
  return apex.kind === 'synced' ? apex.values.join(' ') : apex.kind;
}

function sameSet<T>(a: ReadonlySet<T>, b: ReadonlySet<T>): boolean {
  if (a === b) return true;
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}
