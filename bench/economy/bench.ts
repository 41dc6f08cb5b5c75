import { keyOf } from '../../src/domain/record.js';
import type { RecordSet } from '../../src/domain/record.js';
import { desiredZone } from '../../src/plan/desired.js';
import { valueToRoute53 } from '../../src/providers/route53/rdata.js';
import { table } from '../result.js';
import type { Bench, BenchResult } from '../result.js';
import { NS1_PAGE_SIZE, READ_INTERVAL_MS, SYNC_INTERVAL_MS, startLab, until } from './lab.js';
import type { ApiCount, Lab } from './lab.js';
import { measurePlanning, median } from './planning.js';
import type { PlanningResult } from './planning.js';
import { ZONE, economyZone, healthOf } from './zone.js';
import type { EconomyZone } from './zone.js';

/**
 * bench/economy (issue 9, item 3): API calls per provider and operation for the first sync of a
 * 10,000-record zone, a steady-state hour of drift checking at the default intervals (simulated
 * time), and one failover of 20 records, each beside its floor; and the CPU time to plan the zone.
 * Everything runs in this process: both fakes on loopback, the real providers, the real Reconciler.
 */

const PLANNED_RECORDS = 10_000;
const FAILOVER_RECORDS = 24;
const MOVED = 20;
/** Listing differences the timed plan finds. */
const DIFFERING = 20;
const PLAN_TARGET_MS = 200;
const HOUR_MS = 3_600_000;
/** Route53's account-wide limit the daemon keeps to by default (anchors §8), and NS1's recorded buckets. */
const R53_RATE = 5;
const NS1_LIMITS: Readonly<Record<string, { limit: number; periodS: number }>> = {
  GET: { limit: 900, periodS: 300 },
  PUT: { limit: 100, periodS: 200 },
  POST: { limit: 300, periodS: 300 },
  DELETE: { limit: 100, periodS: 200 },
};
/** ListResourceRecordSets returns at most this many record sets per page. */
const R53_PAGE = 300;
const R53_MAX_RECORDS = 1000;
const R53_MAX_CHARS = 32_000;
/** Route53 and the NS1 fake each give a zone four name servers. */
const NAMESERVERS_PER_PROVIDER = 4;

type Provider = ApiCount['provider'];

interface Phase {
  readonly name: string;
  readonly counts: readonly ApiCount[];
  /** Change elements per ChangeResourceRecordSets request. */
  readonly changeSizes: readonly number[];
  /** provider -> operation -> floor (calls), and why. */
  readonly floors: ReadonlyMap<string, { readonly calls: number; readonly why: string }>;
  readonly seconds: number;
}

const fmt = (n: number): string => n.toLocaleString('en-US');
const floorKey = (provider: Provider, operation: string): string => `${provider} ${operation}`;

/** Route53's own limits on one request: ResourceRecords and value characters (UPSERT counts twice). */
function route53Floor(records: readonly RecordSet[]): { calls: number; resourceRecords: number; chars: number } {
  let resourceRecords = 0;
  let chars = 0;
  for (const rs of records) {
    // The apex NS already exists (the provider's own), so it is replaced with an UPSERT.
    const weight = rs.name === ZONE && rs.type === 'NS' ? 2 : 1;
    resourceRecords += weight * rs.values.length;
    chars += weight * rs.values.reduce((sum, v) => sum + valueToRoute53(rs.type, v).length, 0);
  }
  return { calls: Math.max(Math.ceil(resourceRecords / R53_MAX_RECORDS), Math.ceil(chars / R53_MAX_CHARS)), resourceRecords, chars };
}

/** What the first sync must write: every declared record set and the apex NS of both providers' servers. */
function firstSyncRecords(zone: EconomyZone): RecordSet[] {
  const apexNameservers = Array.from({ length: 2 * NAMESERVERS_PER_PROVIDER }, (_, i) => `ns${i}.example.net.`);
  const health = healthOf(zone.failover, 0, 0);
  return [...desiredZone({ zone: zone.spec, health, overrides: [], lastServed: new Map(), recentWrites: new Map(), apexNameservers, now: 0 }).records];
}

function callsOf(counts: readonly ApiCount[], provider: Provider, operation: string): number {
  return counts.find((c) => c.provider === provider && c.operation === operation)?.calls ?? 0;
}

function writesOf(counts: readonly ApiCount[], provider: Provider): number {
  return counts.filter((c) => c.provider === provider && c.write).reduce((sum, c) => sum + c.calls, 0);
}

/** Floors of the writes (and of the reads where the brief sets one); every operation not named has floor 0 for writes. */
function writeFloor(phase: Phase, provider: Provider): number {
  let sum = 0;
  for (const [key, floor] of phase.floors) if (key.startsWith(`${provider} `) && isWrite(provider, key.slice(provider.length + 1))) sum += floor.calls;
  return sum;
}

function isWrite(provider: Provider, operation: string): boolean {
  return provider === 'r53' ? operation === 'ChangeResourceRecordSets' || operation === 'CreateHostedZone' : !operation.startsWith('GET ');
}

/** Seconds the calls take at the providers' real limits: Route53 5 requests/s; NS1 per method after its bucket's burst. */
function secondsAtLimits(counts: readonly ApiCount[], provider: Provider): number {
  if (provider === 'r53') return counts.filter((c) => c.provider === 'r53').reduce((sum, c) => sum + c.calls, 0) / R53_RATE;
  let longest = 0;
  for (const [method, { limit, periodS }] of Object.entries(NS1_LIMITS)) {
    const calls = counts.filter((c) => c.provider === 'ns1' && c.operation.startsWith(`${method} `)).reduce((sum, c) => sum + c.calls, 0);
    longest = Math.max(longest, (Math.max(0, calls - limit) * periodS) / limit);
  }
  return longest;
}

function humanSeconds(s: number): string {
  if (s < 120) return `${s.toFixed(1)} s`;
  if (s < 7200) return `${(s / 60).toFixed(0)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

function phaseTable(phases: readonly Phase[]): string {
  const rows: string[][] = [['phase', 'provider', 'operation', 'kind', 'calls', 'floor', '', 'floor is']];
  for (const phase of phases) {
    const operations = new Map<string, { provider: Provider; operation: string }>();
    for (const c of phase.counts) operations.set(floorKey(c.provider, c.operation), c);
    for (const key of phase.floors.keys()) {
      const [provider = 'r53', ...rest] = key.split(' ');
      operations.set(key, { provider: provider as Provider, operation: rest.join(' ') });
    }
    const sorted = [...operations.values()].sort((a, b) => (a.provider === b.provider ? (a.operation < b.operation ? -1 : 1) : a.provider === 'r53' ? -1 : 1));
    for (const { provider, operation } of sorted) {
      const calls = callsOf(phase.counts, provider, operation);
      const write = isWrite(provider, operation);
      const floor = phase.floors.get(floorKey(provider, operation));
      const floorCalls = floor?.calls ?? (write ? 0 : undefined);
      const mark = floorCalls === undefined ? '' : calls <= floorCalls ? 'at floor' : `+${fmt(calls - floorCalls)}`;
      rows.push([phase.name, provider, operation, write ? 'write' : 'read', fmt(calls), floorCalls === undefined ? '-' : fmt(floorCalls), mark, floor?.why ?? (write ? 'no write' : '')]);
    }
  }
  return table(rows);
}

async function runPhase(lab: Lab, name: string, run: () => Promise<void>, floors: Phase['floors']): Promise<Phase> {
  lab.clearRequests();
  const started = performance.now();
  await run();
  return { name, counts: lab.counts(), changeSizes: lab.changeSizes(), floors, seconds: (performance.now() - started) / 1000 };
}

/** Both providers hold every record set they should (the write counts mean nothing otherwise). */
function checkConverged(lab: Lab, expected: number): void {
  const r53 = lab.route53.zoneRecords(ZONE).filter((r) => r.type !== 'SOA').length;
  const ns1 = lab.ns1.zoneRecords(ZONE).length;
  if (r53 !== expected || ns1 !== expected) throw new Error(`after the first sync Route53 holds ${r53} and NS1 ${ns1} record sets, not ${expected}`);
}

export const economyBench: Bench = async ({ quick, out }): Promise<BenchResult> => {
  const apiRecords = quick ? 2_000 : PLANNED_RECORDS;
  const planRuns = quick ? 5 : 15;

  // Planning first, alone: it is the CPU figure.
  const planned = economyZone(PLANNED_RECORDS, FAILOVER_RECORDS);
  const planning = measurePlanning(planned.spec, healthOf(planned.failover, 0, 0), planRuns, DIFFERING);

  const zone = economyZone(apiRecords, FAILOVER_RECORDS);
  const toWrite = firstSyncRecords(zone);
  const r53First = route53Floor(toWrite);
  const listed = toWrite.length + 1; // and the SOA
  const r53Pages = Math.ceil(listed / R53_PAGE);
  const ns1Pages = Math.ceil(toWrite.length / NS1_PAGE_SIZE);
  const readsPerHour = Math.floor(HOUR_MS / READ_INTERVAL_MS);
  const ticks = HOUR_MS / SYNC_INTERVAL_MS;
  const movedKeys = new Set(zone.failover.slice(0, MOVED).map((spec) => keyOf(spec)));
  const movedRR = toWrite.filter((rs) => movedKeys.has(keyOf(rs))).reduce((sum, rs) => sum + rs.values.length, 0);

  const health = healthOf(zone.failover, 0, 0);
  const lab = await startLab(zone.spec, health);
  const phases: Phase[] = [];
  const dns = { checks: new Map<string, number>(), asked: 0, sent: 0, fullCheck: { questions: 0, seconds: 0, cpuSeconds: 0, servers: 0 } };
  const apiReads = new Map<string, Map<string, number>>();
  const snapshotReads = (phase: string): void => {
    apiReads.set(phase, new Map(lab.apiChecks));
    lab.apiChecks.clear();
  };
  try {
    phases.push(
      await runPhase(
        lab,
        'first sync',
        () => {
          lab.start();
          return lab.settled(quick ? 60_000 : 240_000);
        },
        new Map([
        [floorKey('r53', 'ChangeResourceRecordSets'), { calls: r53First.calls, why: `ceil(max(${fmt(r53First.resourceRecords)} RR/1,000, ${fmt(r53First.chars)} chars/32,000))` }],
        [floorKey('r53', 'GetChange'), { calls: r53First.calls, why: 'one INSYNC check per change' }],
        [floorKey('r53', 'ListResourceRecordSets'), { calls: 1, why: 'one page: the zone is empty' }],
        [floorKey('r53', 'GetHostedZone'), { calls: 1, why: 'its name servers, once' }],
        [floorKey('ns1', 'PUT record'), { calls: toWrite.length - 1, why: 'one per record set: NS1 has no batch' }],
        [floorKey('ns1', 'POST record'), { calls: 1, why: 'the apex NS (it exists)' }],
        [floorKey('ns1', 'GET zone'), { calls: 1, why: 'one page: the zone is empty' }],
        ]),
      ),
    );
    checkConverged(lab, toWrite.length);
    snapshotReads('first sync');

    const asked = lab.dnsQuestions;
    const sent = lab.dnsQuestionsSent;
    lab.dnsChecks.clear();
    phases.push(
      await runPhase(
        lab,
        'steady hour',
        async () => {
          for (let i = 0; i < ticks; i++) await lab.tick(120_000);
        },
        new Map([
          [floorKey('r53', 'ListResourceRecordSets'), { calls: readsPerHour * r53Pages, why: `${readsPerHour} reads/h × ${r53Pages} pages (300 sets each)` }],
          [floorKey('ns1', 'GET zone'), { calls: readsPerHour * ns1Pages, why: `${readsPerHour} reads/h × ${ns1Pages} pages (${fmt(NS1_PAGE_SIZE)} each)` }],
        ]),
      ),
    );
    dns.checks = new Map(lab.dnsChecks);
    dns.asked = lab.dnsQuestions - asked;
    dns.sent = lab.dnsQuestionsSent - sent;
    snapshotReads('steady hour');
    dns.fullCheck = await lab.fullComparison();

    phases.push(
      await runPhase(
        lab,
        'failover',
        async () => {
          lab.clock.advance(1000);
          const at = lab.clock.now();
          for (const [id, h] of healthOf(zone.failover, MOVED, at)) health.set(id, h);
          lab.reconciler.trigger(`economy bench: ${MOVED} primaries down`);
          await until(
            () => lab.reconciler.status().providers.every((p) => p.zones.every((z) => z.lastWrite?.at === at)),
            60_000,
            () => `the failover written at both providers: ${JSON.stringify(lab.reconciler.status().providers.map((p) => p.zones.map((z) => z.lastWrite)))}`,
          );
          await lab.settled(60_000);
        },
        new Map([
          [floorKey('r53', 'ChangeResourceRecordSets'), { calls: 1, why: `one batch per zone (${MOVED} updates, ${movedRR + MOVED} RR)` }],
          [floorKey('r53', 'GetChange'), { calls: 1, why: 'one INSYNC check' }],
          [floorKey('ns1', 'POST record'), { calls: MOVED, why: 'one per record set: NS1 has no batch' }],
        ]),
      ),
    );
    snapshotReads('failover');
  } finally {
    await lab.close();
  }

  out(`zone ${ZONE}: ${fmt(zone.recordSets)} record sets (${FAILOVER_RECORDS} failover) + apex NS, on the Route53 and NS1 fakes; sync.interval ${SYNC_INTERVAL_MS / 1000} s, readInterval ${READ_INTERVAL_MS / 60_000} min\n`);
  out(`(Route53 rate limit raised and NS1 buckets opened for the run: they only stretch time; the calls are the same)\n\n`);
  out(phaseTable(phases));
  out('\n');

  const rows: string[][] = [['phase', 'provider', 'API reads (full)', 'DNS checks', 'writes', 'write floor', 'calls at real limits', 'bench s']];
  for (const phase of phases) {
    for (const provider of ['r53', 'ns1'] as const) {
      rows.push([
        phase.name,
        provider,
        String(apiReads.get(phase.name)?.get(provider) ?? 0),
        phase.name === 'steady hour' ? String(dns.checks.get(provider) ?? 0) : '-',
        fmt(writesOf(phase.counts, provider)),
        fmt(writeFloor(phase, provider)),
        humanSeconds(secondsAtLimits(phase.counts, provider)),
        phase.seconds.toFixed(1),
      ]);
    }
  }
  out(table(rows));
  out(
    `calls at real limits: Route53 ${R53_RATE} requests/s per account (anchors §8); NS1 recorded buckets GET 900/300 s, PUT 100/200 s, POST 300/300 s, DELETE 100/200 s (after the bucket's burst)\n`,
  );
  out(
    `steady hour: the syncers asked ${fmt(dns.asked)} DNS questions (${fmt(Math.round(dns.asked / ticks))} a minute; no API quota); the bench sent ${fmt(dns.sent)}, answering unchanged zones from memory (see lab.ts)\n` +
      `one name server's share of a comparison, asked in full: ${fmt(dns.fullCheck.questions)} questions in ${dns.fullCheck.seconds.toFixed(1)} s, ` +
      `${dns.fullCheck.cpuSeconds.toFixed(1)} CPU s (the fake's DNS server included); the daemon asks ${dns.fullCheck.servers} such shares a minute\n\n`,
  );

  for (const note of notes(phases, apiReads)) out(`note: ${note}\n`);
  out('\n');
  out(planningTable(planning));

  const firstWrites = (p: Provider): string => `${fmt(writesOf(phases[0]?.counts ?? [], p))}/${fmt(writeFloor(phases[0] ?? emptyPhase, p))}`;
  const failWrites = (p: Provider): string => `${fmt(writesOf(phases[2]?.counts ?? [], p))}/${fmt(writeFloor(phases[2] ?? emptyPhase, p))}`;
  const hourWrites = (p: Provider): number => writesOf(phases[1]?.counts ?? [], p);
  const writesAtFloor = phases.length === 3 && phases.every((phase) => (['r53', 'ns1'] as const).every((p) => writesOf(phase.counts, p) <= writeFloor(phase, p)));
  const planMs = median(planning.plan.cpuMs);
  const sized = quick ? ` (${fmt(zone.recordSets)}-record zone)` : '';
  return {
    name: 'economy',
    figure:
      `writes/floor${sized}: r53 ${firstWrites('r53')} first sync, ${hourWrites('r53')} steady hour, ${failWrites('r53')} failover; ` +
      `ns1 ${firstWrites('ns1')}, ${hourWrites('ns1')}, ${failWrites('ns1')}; plan ${fmt(planning.records)} record sets in ${planMs.toFixed(0)} ms CPU`,
    target: `writes at the floor; planning ${fmt(PLANNED_RECORDS)} records < ${PLAN_TARGET_MS} ms`,
    ok: writesAtFloor && planMs < PLAN_TARGET_MS,
  };
};

const emptyPhase: Phase = { name: '', counts: [], changeSizes: [], floors: new Map(), seconds: 0 };

/** What stands above the floor, and why, from what was counted. */
function notes(phases: readonly Phase[], apiReads: ReadonlyMap<string, ReadonlyMap<string, number>>): string[] {
  const out: string[] = [];
  const [first, , failover] = phases;
  if (first !== undefined) {
    const changes = callsOf(first.counts, 'r53', 'ChangeResourceRecordSets');
    const floor = first.floors.get(floorKey('r53', 'ChangeResourceRecordSets'))?.calls ?? 0;
    if (changes > floor) {
      out.push(
        `first sync: Route53 got ${changes} change requests for a floor of ${floor}; changes per request ${first.changeSizes.join(', ')}: ` +
          'requests are filled in name order, so a run of long TXT values closes one on the 32,000-character limit well below 1,000 ResourceRecords',
      );
    }
    const reads = apiReads.get(first.name);
    for (const provider of ['r53', 'ns1'] as const) {
      const n = reads?.get(provider) ?? 0;
      if (n > 1) {
        out.push(
          `first sync: ${provider} read the zone ${n} times: its first pass was planned before the other provider's name servers were known ` +
            '(nameservers: sync), so the apex NS came as a new target: a full re-read and one more write',
        );
      }
    }
    const ns1Reads = callsOf(first.counts, 'ns1', 'GET zone');
    if (ns1Reads > (reads?.get('ns1') ?? 0)) out.push('ns1: every applyChanges reads the whole zone again first (its conflict check: NS1 has no conditional write)');
  }
  if (failover !== undefined) {
    const pages = callsOf(failover.counts, 'r53', 'ListResourceRecordSets');
    if (pages > 0) {
      out.push(
        `failover: before writing, each provider read the whole zone (a new target always reads the API): r53 ${pages} ListResourceRecordSets pages ` +
          `(${humanSeconds(pages / R53_RATE)} at ${R53_RATE} requests/s, before the change goes out), ns1 ${callsOf(failover.counts, 'ns1', 'GET zone')} GET zone pages`,
      );
    }
  }
  return out;
}

function planningTable(planning: PlanningResult): string {
  const rows: string[][] = [['planning ' + fmt(planning.records) + ' record sets', 'runs', 'CPU cold ms', 'CPU median ms', 'wall median ms']];
  for (const stage of planning.stages) {
    rows.push([stage.stage, String(stage.cpuMs.length), (stage.cpuMs[0] ?? Number.NaN).toFixed(1), median(stage.cpuMs).toFixed(1), median(stage.wallMs).toFixed(1)]);
  }
  return `${table(rows)}(the listing differs in ${planning.changes} record sets; target desiredZone + planProvider < ${PLAN_TARGET_MS} ms)\n`;
}
