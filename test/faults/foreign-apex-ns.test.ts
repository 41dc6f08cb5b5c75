import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { answerValues, queryDns } from '../../src/lib/dns-query.js';
import { errorMessage } from '../../src/lib/errors.js';
import { runCli } from '../helpers/cli.js';
import {
  WAIT,
  ZONE,
  daemonConfig,
  daemonEnv,
  desiredSets,
  heldAtNs1,
  heldAtRoute53,
  heldValues,
  startDaemon,
  startFakes,
  startProbePair,
  staticRecords,
  zoneStatus,
} from '../e2e/daemon-harness.js';
import type { Fakes, FailoverRecord, ProbeTarget, RunningDaemon } from '../e2e/daemon-harness.js';
import { seeded } from '../e2e/ns1-harness.js';
import { faultCases, recordFault } from './fault-table.js';

/**
 * Issue 16, defect 1: a foreign apex NS entry at a provider during a failover. A real daemon keeps
 * one zone (12 record sets, the synced apex NS of all 8 servers, one failover record) at the fake
 * Route53 and the fake NS1. Someone adds name servers that are no provider's own to the apex NS
 * at one provider (straight into its state, as its console would); then the primary endpoint
 * goes down, at once or after the daemon has seen the entry. Each case checks that:
 *
 * - the failover reaches BOTH providers (their API state and their DNS answers) within the wait
 *   a failover normally gets, with no guardrail refusal anywhere;
 * - the foreign entries are taken out without --force, and both hold exactly the desired zone;
 * - lost = desired record sets missing or with other data at the end (must be 0).
 *
 * Then the guardrail that stays: a config (nameservers: manual) whose apex NS leaves out one of
 * NS1's own servers. That removal is held back and reported (status, `dnsquorum status`,
 * /readyz, plan and sync), while the failover of the same daemon reaches both providers.
 */

const RECORDS = staticRecords(12);
const CASE_TIMEOUT_MS = 120_000;
const BASE_SEED = Number(process.env.DNSQUORUM_FAULT_SEED ?? Math.floor(Math.random() * 0x7fffffff));

type Side = 'r53' | 'ns1';

interface FaultCase {
  readonly target: Side;
  /** at-once: the primary goes down right after the edit; seen: after the daemon took the entry out. */
  readonly timing: 'at-once' | 'seen';
  readonly foreign: readonly string[];
}

function faultCase(i: number, random: () => number): FaultCase {
  const count = 1 + Math.floor(random() * 2);
  return {
    target: i % 2 === 0 ? 'ns1' : 'r53',
    timing: Math.floor(i / 2) % 2 === 0 ? 'at-once' : 'seen',
    foreign: Array.from({ length: count }, (_, k) => `ns${k + 1}.foreign-${Math.floor(random() * 1e6)}.example.`),
  };
}

interface World {
  readonly dir: string;
  readonly fakes: Fakes;
  readonly probes: { primary: ProbeTarget; secondary: ProbeTarget };
  readonly failover: FailoverRecord;
  readonly daemon: RunningDaemon;
  readonly configFile: string;
}

/** Fakes, probe targets and a daemon; `zoneYaml` rewrites the zone's part of the config. */
async function startWorld(addresses: readonly [string, string], zoneYaml: (yaml: string, fakes: Fakes) => string = (yaml) => yaml): Promise<World> {
  const dir = await mkdtemp(join(tmpdir(), 'dq-foreign-ns-'));
  const fakes = await startFakes();
  const pair = await startProbePair(...addresses);
  const failover: FailoverRecord = { name: 'api', port: pair.port, primary: addresses[0], secondary: addresses[1] };
  const configFile = join(dir, 'dnsquorum.yaml');
  await writeFile(configFile, zoneYaml(daemonConfig({ stateDir: join(dir, 'state'), fakes, drift: 'repair', records: RECORDS, failover: [failover] }), fakes));
  try {
    const daemon = await startDaemon(configFile, daemonEnv(fakes));
    return { dir, fakes, probes: pair, failover, daemon, configFile };
  } catch (err) {
    await Promise.all([fakes.close(), pair.primary.stop(), pair.secondary.stop()]);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function closeWorld(w: World): Promise<void> {
  await w.daemon.stop();
  await Promise.all([w.fakes.close(), w.probes.primary.stop(), w.probes.secondary.stop()]);
  await rm(w.dir, { recursive: true, force: true });
}

/** The apex NS values a fake holds (heldValues looks up names below the apex). */
function apexValues(held: readonly string[]): string | undefined {
  const prefix = `${ZONE}. NS `;
  return held.find((line) => line.startsWith(prefix))?.slice(prefix.length).replace(/^\d+ /, '');
}

function heldAt(w: World, side: Side): string[] {
  return side === 'r53' ? heldAtRoute53(w.fakes) : heldAtNs1(w.fakes);
}

/** Puts `values` as the apex NS straight into one fake's state, as an edit in its console would. */
function setApexNs(w: World, side: Side, values: readonly string[]): void {
  if (side === 'r53') {
    w.fakes.route53.putRecordDirect(w.fakes.zone, { name: w.fakes.zone, type: 'NS', ttl: 3600, values: [...values] });
  } else {
    w.fakes.ns1.putRecordDirect({ zone: ZONE, domain: ZONE, type: 'NS', ttl: 3600, answers: values.map((v) => ({ answer: [v.replace(/\.$/, '')] })) });
  }
}

async function servedA(w: World, side: Side): Promise<string[]> {
  const server = side === 'r53' ? w.fakes.route53.dnsAddress : w.fakes.ns1.dnsAddress;
  return answerValues((await queryDns(server, `api.${ZONE}`, 'A')).packet, 'A');
}

async function waitInSync(w: World, serving: string): Promise<void> {
  await vi.waitFor(async () => {
    const report = await w.daemon.status();
    for (const side of ['r53', 'ns1'] as const) {
      expect(zoneStatus(report, side), side).toMatchObject({ state: 'in-sync', refused: [] });
      expect(heldValues(heldAt(w, side), 'api', 'A'), side).toBe(serving);
    }
  }, WAIT);
}

/** Desired record sets wrong or missing at each side, and what is held but not desired. */
function lostAt(w: World, serving: string): number {
  const desired = desiredSets(w.fakes, RECORDS, new Map([['api', serving]]));
  return (['r53', 'ns1'] as const).reduce((sum, side) => {
    const held = heldAt(w, side);
    return sum + desired.filter((line) => !held.includes(line)).length;
  }, 0);
}

async function runCase(fault: FaultCase, index: number): Promise<{ lost: number; failure: string | undefined }> {
  const w = await startWorld([`127.0.61.${10 + 2 * index}`, `127.0.61.${11 + 2 * index}`]);
  let failure: string | undefined;
  try {
    await waitInSync(w, w.failover.primary);
    const union = [...w.fakes.r53Servers, ...w.fakes.ns1Servers];
    setApexNs(w, fault.target, [...union, ...fault.foreign]);
    expect(apexValues(heldAt(w, fault.target))).toContain(fault.foreign[0]?.replace(/\.$/, ''));
    if (fault.timing === 'seen') {
      // The DNS check of the next interval finds the foreign entries and writes the apex NS back.
      await vi.waitFor(() => {
        expect(fault.foreign.some((f) => apexValues(heldAt(w, fault.target))?.includes(f.replace(/\.$/, '')))).toBe(false);
      }, WAIT);
    }

    await w.probes.primary.stop();
    await vi.waitFor(async () => {
      for (const side of ['r53', 'ns1'] as const) {
        expect(heldValues(heldAt(w, side), 'api', 'A'), `${side} holds the secondary`).toBe(w.failover.secondary);
        expect(await servedA(w, side), `${side} answers the secondary over DNS`).toEqual([w.failover.secondary]);
      }
    }, WAIT);
    await waitInSync(w, w.failover.secondary);
    const report = await w.daemon.status();
    for (const side of ['r53', 'ns1'] as const) expect(zoneStatus(report, side).refused, `${side} holds nothing back`).toEqual([]);
    expect(w.daemon.logs().filter((l) => l.msg.includes('held back')), 'no guardrail refusal was logged').toEqual([]);
  } catch (err) {
    failure = errorMessage(err);
  }
  const lost = lostAt(w, w.failover.secondary);
  await closeWorld(w);
  return { lost, failure };
}

describe('foreign apex NS at a provider during a failover', () => {
  it('foreign apex NS at a provider during a failover', { timeout: 20 * CASE_TIMEOUT_MS }, async ({ task }) => {
    const count = faultCases(2, 8);
    let passed = 0;
    let lost = 0;
    const failures: string[] = [];
    for (let i = 0; i < count; i++) {
      const seed = (BASE_SEED + i * 7919) >>> 0;
      const fault = faultCase(i, seeded(seed));
      const label = `case ${i} (DNSQUORUM_FAULT_SEED=${BASE_SEED}): ${fault.foreign.join(', ')} at ${fault.target}, failover ${fault.timing}`;
      try {
        const result = await runCase(fault, i);
        lost += result.lost;
        if (result.failure === undefined && result.lost === 0) passed++;
        else failures.push(`${label}: ${result.failure ?? ''}${result.lost > 0 ? ` (${result.lost} record sets lost)` : ''}`);
      } catch (err) {
        failures.push(`${label}: the case could not be set up or torn down: ${errorMessage(err)}`);
      }
    }
    recordFault({ task }, { fault: 'foreign apex NS at a provider during a failover', cases: count, passed, lost });
    expect(failures).toEqual([]);
    expect(lost).toBe(0);
    expect(passed).toBe(count);
  });

  it("holds back only the removal of a provider's own name server, reports it, and still fails over", { timeout: CASE_TIMEOUT_MS }, async () => {
    let dropped = '';
    const w = await startWorld(['127.0.61.90', '127.0.61.91'], (yaml, fakes) => {
      const kept = [...fakes.r53Servers, ...fakes.ns1Servers];
      dropped = kept.pop() ?? '';
      const apex = `      "@": { type: NS, ttl: 3600, values: [${kept.map((s) => JSON.stringify(s)).join(', ')}] }`;
      return yaml.replace('    nameservers: sync\n', '    nameservers: manual\n').replace('    records:\n', `    records:\n${apex}\n`);
    });
    try {
      expect(dropped).toMatch(/\.$/);
      await vi.waitFor(async () => {
        const report = await w.daemon.status();
        expect(zoneStatus(report, 'r53')).toMatchObject({ state: 'in-sync', refused: [] });
        expect(zoneStatus(report, 'ns1')).toMatchObject({ state: 'refused', lastError: null, refused: [expect.objectContaining({ rule: 'nameserver-removal', forceable: true, records: [`${ZONE}. NS`] })] });
      }, WAIT);
      // NS1 took the rest of the apex NS change (Route53's servers added) and keeps its own server.
      expect(apexValues(heldAtNs1(w.fakes))).toContain(dropped.replace(/\.$/, ''));
      expect(apexValues(heldAtNs1(w.fakes))).toContain(w.fakes.r53Servers[0]?.replace(/\.$/, ''));

      await w.probes.primary.stop();
      await vi.waitFor(async () => {
        for (const side of ['r53', 'ns1'] as const) expect(await servedA(w, side), `${side} answers the secondary`).toEqual([w.failover.secondary]);
      }, WAIT);

      const report = await w.daemon.status();
      const ns1 = zoneStatus(report, 'ns1');
      expect(ns1).toMatchObject({ state: 'refused', lagMs: 0, lastError: null });
      expect(ns1.refused?.[0]?.message).toContain(`${dropped} (ns1's own)`);

      const readyz = await fetch(`${w.daemon.apiUrl}/readyz`, { signal: AbortSignal.timeout(5000) });
      const ready = (await readyz.json()) as { ready: boolean; degraded: boolean; checks: { name: string; ok: boolean; required: boolean; detail: string }[] };
      expect(readyz.status).toBe(200);
      expect(ready).toMatchObject({ ready: true, degraded: true });
      expect(ready.checks.find((c) => c.name === 'guardrails')).toMatchObject({ ok: false, required: false, detail: expect.stringContaining(`ns1 (${ZONE}.) nameserver-removal`) as unknown });

      const env = { ...daemonEnv(w.fakes), DNSQUORUM_API_URL: w.daemon.apiUrl };
      const status = await runCli(['status', '--config', w.configFile], { env });
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toMatch(new RegExp(`ns1 holds back \\(nameserver-removal, since .*; \`sync --apply --force\` writes it\\): apex NS of ${ZONE.replace('.', '\\.')}\\. would lose`));

      const plan = await runCli(['plan', '--config', w.configFile], { env });
      expect(plan.code, plan.stderr + plan.stdout).toBe(2);
      expect(plan.stderr).toContain(`at ns1: DQ_PLAN_UNSAFE: apex NS of ${ZONE}. would lose ${dropped} (ns1's own)`);
      const sync = await runCli(['sync', '--apply', '--config', w.configFile], { env });
      expect(sync.code, sync.stderr + sync.stdout).toBe(1);
      expect(sync.stdout).toMatch(/provider r53: in sync\n/);
      expect(sync.stdout).toContain('provider ns1: 1 change refused');
      expect(apexValues(heldAtNs1(w.fakes))).toContain(dropped.replace(/\.$/, ''));
    } finally {
      await closeWorld(w);
    }
  });
});
