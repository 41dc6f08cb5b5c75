import type { ChangeSet } from '../domain/change-set.js';
import { changeCount, emptyChangeSet } from '../domain/change-set.js';
import type { HealthView } from '../domain/health.js';
import type { Override } from '../domain/override.js';
import type { RecordKey, RecordSet } from '../domain/record.js';
import type { ZoneSpec } from '../domain/zone.js';
import { DnsQuorumError, errorSummary } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { Clock } from '../lib/clock.js';
import type { RecordDecision } from '../plan/desired.js';
import { changedRecordNames, shortList } from '../plan/drift.js';
import type { DnsProvider } from '../providers/provider.js';
import type { Refusal } from '../plan/guardrails.js';
import { needsOwnNameservers, planZone } from '../plan/zone-plan.js';
import type { ApexNameservers } from '../plan/zone-plan.js';
import { createIfMissing, readNameservers, readZone } from '../providers/listing.js';

/**
 * What happened at one provider for one zone in one pass. Changes a guardrail holds back are in
 * `refused` whatever the outcome; the outcome says what became of the others (`changes`).
 * - in-sync: nothing to change
 * - pending: changes found, not applied (dry run)
 * - applied: changes written (or the zone created)
 * - refused: nothing to write but what a guardrail holds back (see error and refused)
 * - failed: the provider could not be read or written (see error); retried next pass
 */
export type ProviderOutcome = 'in-sync' | 'pending' | 'applied' | 'refused' | 'failed';

export interface ProviderPass {
  readonly provider: string;
  readonly outcome: ProviderOutcome;
  /** The changes written (or, dry, to write) at this provider: none a guardrail holds back. Empty when it could not be read. */
  readonly changes: ChangeSet;
  /** What the guardrails hold back, one entry per rule, each with its changes; empty when nothing is. */
  readonly refused: readonly Refusal[];
  /** Record sets the provider holds that the config does not name, left in place. */
  readonly unmanagedKept: readonly RecordSet[];
  /** The zone did not exist at the provider (created when applying). */
  readonly zoneMissing: boolean;
  readonly error?: { readonly code: string; readonly message: string };
  readonly durationMs: number;
}

export interface ZonePass {
  readonly zone: string;
  readonly decisions: readonly RecordDecision[];
  /** The apex NS planned for the zone (see docs/sync.md, "apex NS"). */
  readonly apexNameservers: ApexNameservers;
  readonly providers: readonly ProviderPass[];
}

export interface SyncReport {
  readonly startedAt: number;
  readonly dryRun: boolean;
  readonly zones: readonly ZonePass[];
}

export interface SyncInputs {
  readonly zones: readonly ZoneSpec[];
  readonly providers: ReadonlyMap<string, DnsProvider>;
  readonly health: HealthView;
  readonly overrides: readonly Override[];
  readonly recentWrites: ReadonlyMap<RecordKey, readonly number[]>;
  /** Plan and report, write nothing. Decided here, never inside a provider. */
  readonly dryRun: boolean;
  /** Waive the forceable guardrails (too much change, name server removal). */
  readonly force: boolean;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly signal: AbortSignal;
}

/**
 * One reconcile pass: for each zone, read every provider, decide the desired records once, then
 * plan, check and apply per provider. Providers are read and written concurrently and on their
 * own: one provider's failure is reported in its ProviderPass and never stops another.
 */
export async function syncOnce(inputs: SyncInputs): Promise<SyncReport> {
  const startedAt = inputs.clock.now();
  const zones: ZonePass[] = [];
  for (const zone of inputs.zones) {
    zones.push(await syncZone(zone, inputs));
  }
  return { startedAt, dryRun: inputs.dryRun, zones };
}

async function syncZone(zone: ZoneSpec, inputs: SyncInputs): Promise<ZonePass> {
  const log = inputs.logger.child({ zone: zone.name });
  const providers = zone.providers.map((name) => {
    const provider = inputs.providers.get(name);
    if (provider === undefined) throw new DnsQuorumError('DQ_INTERNAL', `zone ${zone.name} names provider ${name}, which was not built`);
    return provider;
  });
  const startedAt = inputs.clock.now();

  let listings = await Promise.all(providers.map((p) => readZone(p, zone.name, inputs.signal)));
  if (!inputs.dryRun) {
    // A zone a provider does not hold yet is created first, so that its name servers (which the
    // provider assigns on creation) are in the apex NS union from this very pass.
    listings = await Promise.all(providers.map((p, i) => createIfMissing(p, zone.name, listings[i] ?? { ok: false, error: new Error('no listing') }, inputs.signal)));
  }
  const nameservers = new Map<string, readonly string[]>();
  if (needsOwnNameservers(zone)) {
    const reads = await Promise.all(providers.map((p) => readNameservers(p, zone.name, inputs.signal)));
    reads.forEach((read, i) => {
      const name = providers[i]?.name;
      if (read.ok && name !== undefined) nameservers.set(name, read.hosts);
    });
  }
  const readable = new Map<string, readonly RecordSet[]>();
  providers.forEach((p, i) => {
    const listing = listings[i];
    if (listing?.ok === true) readable.set(p.name, listing.records);
  });

  const plan = planZone({
    zone,
    listings: readable,
    nameservers,
    decision: { decide: { health: inputs.health, overrides: inputs.overrides, recentWrites: inputs.recentWrites, now: inputs.clock.now() } },
    force: inputs.force,
  });
  if (plan.apexNameservers.kind === 'unknown') {
    log.warn({ providers: plan.apexNameservers.missing }, `the apex NS of ${zone.name} is left as each provider holds it: the name servers of ${plan.apexNameservers.missing.join(', ')} are not known`);
  }
  for (const d of plan.desired.decisions) {
    log.debug({ record: d.name, type: d.type, pool: d.pool, values: d.values, cause: d.cause, changes: d.changes }, d.reason);
  }

  const passes = await Promise.all(
    providers.map(async (provider, i): Promise<ProviderPass> => {
      const listing = listings[i] ?? { ok: false, error: new Error('no listing') };
      const done = (pass: Omit<ProviderPass, 'provider' | 'durationMs'>): ProviderPass => ({ provider: provider.name, durationMs: inputs.clock.now() - startedAt, ...pass });
      const planned = plan.providers.find((p) => p.provider === provider.name);
      if (!listing.ok || planned === undefined) {
        const error = listing.ok ? new Error('no plan') : listing.error;
        log.warn({ provider: provider.name, err: error }, 'provider could not be read; it is retried next pass and the others go on');
        return done({ outcome: 'failed', changes: emptyChangeSet(zone.name), unmanagedKept: [], zoneMissing: false, refused: [], error: errorSummary(error) });
      }
      try {
        const { apply: changes, unmanagedKept, refused } = planned;
        const base = { changes, unmanagedKept, zoneMissing: listing.zoneMissing, refused };
        if (refused.length > 0) {
          log.error(
            { provider: provider.name, refused: refused.map((r) => ({ rule: r.rule, forceable: r.forceable, message: r.message, records: shortList(r.records) })) },
            `changes held back: ${refusalMessage(refused)}; ${changeCount(changes) === 0 ? 'nothing else to change' : `the other ${changeCount(changes)} are ${inputs.dryRun ? 'pending' : 'applied'}`}`,
          );
        }
        if (changeCount(changes) === 0 && !(listing.zoneMissing && inputs.dryRun)) {
          if (listing.zoneMissing) return done({ outcome: 'applied', ...base });
          if (refused.length > 0) return done({ outcome: 'refused', ...base, error: { code: 'DQ_PLAN_UNSAFE', message: refusalMessage(refused) } });
          return done({ outcome: 'in-sync', ...base });
        }
        if (inputs.dryRun) return done({ outcome: 'pending', ...base });

        await provider.applyChanges(changes, inputs.signal);
        log.info(
          { provider: provider.name, creates: changes.creates.length, updates: changes.updates.length, deletes: changes.deletes.length, records: shortList(changedRecordNames(changes)) },
          `applied ${changeCount(changes)} changes`,
        );
        log.debug({ provider: provider.name, changes }, 'applied change set');
        return done({ outcome: 'applied', ...base });
      } catch (err) {
        // Every pass re-reads and re-plans from desired state, so a failed or conflicting write
        // is repaired by the next pass; nothing needs to be queued here.
        log.error({ provider: provider.name, err }, 'apply failed; the next pass re-reads and re-plans');
        return done({ outcome: 'failed', changes: emptyChangeSet(zone.name), unmanagedKept: [], zoneMissing: listing.zoneMissing, refused: planned.refused, error: errorSummary(err) });
      }
    }),
  );
  return { zone: zone.name, decisions: plan.desired.decisions, apexNameservers: plan.apexNameservers, providers: passes };
}

/** The refusals as one line: each rule's message. */
function refusalMessage(refused: readonly Refusal[]): string {
  return refused.map((r) => r.message).join('; ');
}
