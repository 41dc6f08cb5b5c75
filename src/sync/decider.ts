import type { HealthView } from '../domain/health.js';
import type { Override } from '../domain/override.js';
import { keyOf, recordKey } from '../domain/record.js';
import type { RecordKey, RecordSet } from '../domain/record.js';
import type { ZoneSpec } from '../domain/zone.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { desiredZone } from '../plan/desired.js';
import type { DecisionCause, DesiredZone, RecordDecision } from '../plan/desired.js';
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
  fingerprint: string;
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
  private readonly recentWrites = new Map<RecordKey, number[]>();

  constructor(private readonly options: ZoneDeciderOptions) {
    for (const zone of options.zones) {
      this.memory.set(zone.name, { target: undefined, served: new Map(), seeded: new Set(), since: new Map(), listings: new Map(), nameservers: new Map(), fingerprint: '', version: 0 });
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
    const before = unionOf(zone, memory);
    if (nameservers !== undefined && nameservers.length > 0) memory.nameservers.set(provider, nameservers);
    if (memory.target === undefined || unionOf(zone, memory)?.join(' ') !== before?.join(' ')) this.decideZone(zone, memory);
    const { target } = memory;
    if (target === undefined) throw new Error(`zone ${zone.name} has no target after deciding`);
    return target;
  }

  /**
   * Re-decides every zone that has been read at least once; returns the zones whose desired
   * records changed. Cheap and pure apart from logging: called on every health change and each
   * second, so time-based rules (hold-down, override expiry) take effect without an event.
   */
  decide(): string[] {
    this.forgetOldWrites();
    const changed: string[] = [];
    for (const zone of this.options.zones) {
      const memory = this.zoneMemory(zone.name);
      if (memory.target === undefined) continue;
      if (this.decideZone(zone, memory)) changed.push(zone.name);
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
      memory.fingerprint = '';
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

  /** Returns true when the desired records changed. */
  private decideZone(zone: ZoneSpec, memory: ZoneMemory): boolean {
    const now = this.options.clock.now();
    if (memory.target === undefined) seedServed(zone, memory);
    const union = unionOf(zone, memory);
    const desired = desiredZone({
      zone,
      health: this.options.health(),
      overrides: this.options.overrides(),
      lastServed: memory.served,
      recentWrites: this.recentWrites,
      ...(union === undefined ? {} : { apexNameservers: union }),
      healthPaused: this.options.healthPaused(),
      now,
    });
    for (const d of desired.decisions) if (!KEEP_CAUSES.has(d.cause)) memory.seeded.delete(d.key);
    const keptAsHeld = new Set(
      desired.decisions.filter((d) => memory.seeded.has(d.key) && KEEP_CAUSES.has(d.cause) && sameValues(d.values, memory.served.get(d.key))).map((d) => d.key),
    );
    for (const d of desired.decisions) this.remember(zone, memory, d, now);

    const fingerprint = fingerprintOf(desired, keptAsHeld);
    if (memory.target !== undefined && fingerprint === memory.fingerprint) {
      // Same records; keep the version but refresh the reasons shown in status.
      memory.target = { ...memory.target, desired, keptAsHeld };
      return false;
    }
    memory.fingerprint = fingerprint;
    memory.version += 1;
    memory.target = { zone, version: memory.version, decidedAt: now, desired, keptAsHeld };
    this.options.onNewTarget?.(zone.name);
    return true;
  }

  private remember(zone: ZoneSpec, memory: ZoneMemory, d: RecordDecision, now: number): void {
    if (!d.changes) return;
    this.options.logger.info(
      { zone: zone.name, record: d.name, type: d.type, pool: d.pool, values: d.values, cause: d.cause },
      `record ${d.name} ${d.type} now serves ${d.values === null ? 'nothing (removed)' : d.values.join(', ')}: ${d.reason}`,
    );
    this.options.onRecordChange?.({ zone, decision: d, before: memory.served.get(d.key) });
    if (d.values === null) memory.served.delete(d.key);
    else memory.served.set(d.key, d.values);
    memory.since.set(d.key, now);
    if (d.spendsBudget) {
      const times = this.recentWrites.get(d.key) ?? [];
      times.push(now);
      this.recentWrites.set(d.key, times);
    }
  }

  private forgetOldWrites(): void {
    const now = this.options.clock.now();
    for (const [key, times] of this.recentWrites) {
      const fresh = times.filter((t) => now - t < HOUR_MS);
      if (fresh.length === 0) this.recentWrites.delete(key);
      else this.recentWrites.set(key, fresh);
    }
  }
}

/**
 * Before the first decision, what each failover record serves is taken from the first provider,
 * in the zone's order, that has been read and holds it.
 */
function seedServed(zone: ZoneSpec, memory: ZoneMemory): void {
  const failoverKeys = new Set(zone.records.filter((r) => r.kind === 'failover').map((r) => recordKey(r.name, r.type)));
  for (const provider of zone.providers) {
    for (const rs of memory.listings.get(provider) ?? []) {
      const key = keyOf(rs);
      if (failoverKeys.has(key) && !memory.served.has(key)) {
        memory.served.set(key, rs.values);
        memory.seeded.add(key);
      }
    }
  }
}

/** Decisions that keep what is served because health decides nothing (paused, or not known). */
const KEEP_CAUSES: ReadonlySet<DecisionCause> = new Set<DecisionCause>(['health-paused', 'unknown-health']);

function sameValues(a: readonly string[] | null, b: readonly string[] | undefined): boolean {
  if (a === null || b === undefined || a.length !== b.length) return false;
  const sortedB = [...b].sort();
  return [...a].sort().every((v, i) => v === sortedB[i]);
}

/**
 * The apex NS the zone should publish: every provider's own name servers, in the zone's order.
 * Undefined while some provider's are unknown, so a provider that cannot be read never has its
 * servers taken out of the others' apex NS.
 */
function unionOf(zone: ZoneSpec, memory: ZoneMemory): string[] | undefined {
  if (zone.nameservers !== 'sync') return undefined;
  const sets = zone.providers.map((p) => memory.nameservers.get(p));
  if (sets.some((s) => s === undefined)) return undefined;
  return [...new Set(sets.flatMap((s) => s ?? []))];
}

/** Records kept as held are part of it: a provider holding other values is written once one leaves the set. */
function fingerprintOf(desired: DesiredZone, keptAsHeld: ReadonlySet<RecordKey>): string {
  return JSON.stringify([desired.records.map((rs) => [rs.name, rs.type, rs.ttl, rs.values]), [...desired.managed].sort(), [...keptAsHeld].sort()]);
}
