import type { RecordSet } from '../../src/domain/record.js';
import { keyOf } from '../../src/domain/record.js';
import type { ZoneSpec } from '../../src/domain/zone.js';
import { changeCount, emptyChangeSet } from '../../src/domain/change-set.js';
import type { EndpointHealth } from '../../src/domain/health.js';
import { ManualClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/logger.js';
import { endpointId } from '../../src/domain/health.js';
import { desiredZone } from '../../src/plan/desired.js';
import type { DesiredZone } from '../../src/plan/desired.js';
import { planZone } from '../../src/plan/zone-plan.js';
import { ZoneDecider } from '../../src/sync/decider.js';
import { percentile } from '../result.js';

/**
 * CPU time of planning one zone: desiredZone (spec + health -> record sets) and planZone for one
 * provider on that decision (diff, drift split, guardrails, expectations), as the daemon runs
 * them on every API read; then the decider's full re-decision, which the daemon runs every
 * second, and its re-decision of the one record a health change touches.
 */

export interface StageTiming {
  readonly stage: string;
  /** CPU ms (user + system) of each run, in order; the first is the cold one. */
  readonly cpuMs: readonly number[];
  readonly wallMs: readonly number[];
}

export interface PlanningResult {
  readonly records: number;
  readonly changes: number;
  /** desiredZone + planZone per run. */
  readonly plan: StageTiming;
  readonly stages: readonly StageTiming[];
}

export const median = (values: readonly number[]): number => percentile(values, 50);

/** The apex NS the zone publishes with nameservers: sync (four of each provider's, as the fakes give). */
const APEX_NAMESERVERS = [
  'ns-101.awsdns-12.com.',
  'ns-612.awsdns-12.net.',
  'ns-1100.awsdns-12.org.',
  'ns-1600.awsdns-12.co.uk.',
  'dns1.p01.nsone.net.',
  'dns2.p01.nsone.net.',
  'dns3.p01.nsone.net.',
  'dns4.p01.nsone.net.',
];

/**
 * What a provider lists: the desired records with `differing` of them changed behind our back
 * (a third updated, a third missing, a third extra), plus the provider's own SOA.
 */
function listingDiffering(desired: DesiredZone, differing: number): RecordSet[] {
  const listing: RecordSet[] = [];
  const step = Math.max(1, Math.floor(desired.records.length / (differing + 1)));
  let changed = 0;
  desired.records.forEach((rs, i) => {
    const touch = changed < differing && i % step === step - 1;
    if (!touch) {
      listing.push(rs);
      return;
    }
    changed++;
    const kind = changed % 3;
    if (kind === 1) listing.push({ ...rs, ttl: rs.ttl + 1 });
    else if (kind === 2) listing.push({ ...rs, name: `extra-${changed}.${desired.zone}`, type: 'TXT', values: ['left behind'] });
    // kind 0: missing at the provider.
  });
  listing.push({ name: desired.zone, type: 'SOA', ttl: 900, values: [`ns-101.awsdns-12.com. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400`] });
  return listing;
}

function timed<T>(run: () => T): { result: T; cpuMs: number; wallMs: number } {
  const cpu = process.cpuUsage();
  const wall = performance.now();
  const result = run();
  const wallMs = performance.now() - wall;
  const used = process.cpuUsage(cpu);
  return { result, cpuMs: (used.user + used.system) / 1000, wallMs };
}

export function measurePlanning(zone: ZoneSpec, health: ReadonlyMap<string, EndpointHealth>, runs: number, differing: number): PlanningResult {
  const now = 1_700_000_000_000;
  const lastServed = new Map<string, readonly string[]>();
  const inputs = { zone, health, overrides: [], lastServed, recentWrites: new Map<string, readonly number[]>(), apexNameservers: APEX_NAMESERVERS, now };
  const reference = desiredZone(inputs);
  for (const d of reference.decisions) if (d.values !== null) lastServed.set(d.key, d.values);
  const current = listingDiffering(reference, differing);
  const converged = new Map(reference.records.map((rs) => [keyOf(rs), rs]));

  const plan: StageTiming = { stage: 'desiredZone + planZone', cpuMs: [], wallMs: [] };
  const desiredStage: StageTiming = { stage: '  desiredZone', cpuMs: [], wallMs: [] };
  const planStage: StageTiming = { stage: '  planZone (diff, drift, guardrails, expectations)', cpuMs: [], wallMs: [] };
  const decideStage: StageTiming = { stage: 'ZoneDecider.decide (each second)', cpuMs: [], wallMs: [] };
  const healthStage: StageTiming = { stage: 'ZoneDecider.healthChanged (one endpoint)', cpuMs: [], wallMs: [] };
  const push = (stage: StageTiming, t: { cpuMs: number; wallMs: number }): void => {
    (stage.cpuMs as number[]).push(t.cpuMs);
    (stage.wallMs as number[]).push(t.wallMs);
  };

  const clock = new ManualClock(now);
  const decider = new ZoneDecider({ zones: [zone], clock, logger: silentLogger(), health: () => health, overrides: () => [], healthPaused: () => false });
  decider.observe(zone, 'r53', current, APEX_NAMESERVERS.slice(0, 4));
  decider.observe(zone, 'ns1', current, APEX_NAMESERVERS.slice(4));
  const listings = new Map([['r53', current]]);
  const nameservers = new Map([['r53', APEX_NAMESERVERS.slice(0, 4)], ['ns1', APEX_NAMESERVERS.slice(4)]]);
  const failover = zone.records.find((r) => r.kind === 'failover');
  const firstValue = failover?.kind === 'failover' ? failover.failover.pools[0]?.values[0] : undefined;
  const touched = failover === undefined || firstValue === undefined ? [] : [endpointId(failover.name, failover.type, firstValue)];

  let changes = 0;
  for (let run = 0; run < runs; run++) {
    const desired = timed(() => desiredZone(inputs));
    const planned = timed(() => planZone({ zone, listings, nameservers, decision: { decided: desired.result }, converged: new Map([['r53', converged]]), force: false }));
    push(desiredStage, desired);
    push(planStage, planned);
    push(plan, { cpuMs: desired.cpuMs + planned.cpuMs, wallMs: desired.wallMs + planned.wallMs });
    changes = changeCount(planned.result.providers[0]?.changes ?? emptyChangeSet(zone.name));
    push(decideStage, timed(() => decider.decide()));
    push(healthStage, timed(() => decider.healthChanged(touched)));
  }
  return { records: reference.records.length, changes, plan, stages: [plan, desiredStage, planStage, decideStage, healthStage] };
}
