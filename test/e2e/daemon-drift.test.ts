import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseStatusReport } from '../../src/control/api/status.js';
import { runCli } from '../helpers/cli.js';
import {
  TEST_TIMEOUT_MS,
  WAIT,
  ZONE,
  daemonConfig,
  daemonEnv,
  desiredSets,
  driftLines,
  expectHolds,
  heldAtNs1,
  heldAtRoute53,
  heldValues,
  servedOverDns,
  startDaemon,
  startFakes,
  startProbePair,
  staticRecords,
  zoneStatus,
} from './daemon-harness.js';
import type { Fakes, FailoverRecord, ProbeTarget, RunningDaemon } from './daemon-harness.js';

/**
 * Issue 5, drift: a real daemon keeps one zone (30 record sets and the apex NS, one failover record
 * with both endpoints healthy) at the fake Route53 and the fake NS1. A record changed at NS1 behind
 * the daemon's back is found over DNS on the next interval and, by the zone's `drift` rule, written
 * back (repair) or left and reported once (report). Route53 is never touched by NS1's drift.
 */

const RECORDS = staticRecords(30);
/** The record changed behind the daemon's back, and what it is changed to. */
const DRIFTED = { name: 'host7', type: 'A', desired: '10.0.7.1', changed: '203.0.113.77' } as const;

interface Setup {
  readonly dir: string;
  readonly fakes: Fakes;
  readonly probes: readonly ProbeTarget[];
  readonly daemon: RunningDaemon;
  readonly configFile: string;
  readonly desired: string[];
}

async function setUp(drift: 'repair' | 'report', addresses: readonly [string, string]): Promise<Setup> {
  const dir = await mkdtemp(join(tmpdir(), `dq-daemon-drift-${drift}-`));
  const fakes = await startFakes();
  const pair = await startProbePair(...addresses);
  const failover: FailoverRecord = { name: 'api', port: pair.port, primary: addresses[0], secondary: addresses[1] };
  const configFile = join(dir, 'dnsquorum.yaml');
  await writeFile(configFile, daemonConfig({ stateDir: join(dir, 'state'), fakes, drift, records: RECORDS, failover: [failover] }));
  let daemon: RunningDaemon;
  try {
    daemon = await startDaemon(configFile, daemonEnv(fakes));
  } catch (err) {
    await Promise.all([fakes.close(), pair.primary.stop(), pair.secondary.stop()]);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const desired = desiredSets(fakes, RECORDS, new Map([['api', failover.primary]]));
  return { dir, fakes, probes: [pair.primary, pair.secondary], daemon, configFile, desired };
}

async function tearDown(setup: Setup | undefined): Promise<void> {
  if (setup === undefined) return;
  await setup.daemon.stop();
  await Promise.all([setup.fakes.close(), ...setup.probes.map((p) => p.stop())]);
  await rm(setup.dir, { recursive: true, force: true });
}

/** Both providers hold the whole desired zone and the daemon says both are in sync. */
async function waitUntilBothInSync(s: Setup): Promise<void> {
  await vi.waitFor(async () => {
    expectHolds(heldAtRoute53(s.fakes), s.desired);
    expectHolds(heldAtNs1(s.fakes), s.desired);
    const report = await s.daemon.status();
    expect(report.hold).toBeNull();
    expect(zoneStatus(report, 'r53').state).toBe('in-sync');
    expect(zoneStatus(report, 'ns1').state).toBe('in-sync');
  }, WAIT);
}

function changeAtNs1(fakes: Fakes): void {
  fakes.ns1.putRecordDirect({ zone: ZONE, domain: `${DRIFTED.name}.${ZONE}`, type: DRIFTED.type, ttl: 120, answers: [{ answer: [DRIFTED.changed] }] });
}

function successfulRoute53Changes(fakes: Fakes, since: number): number {
  return fakes.route53.requests.filter((r) => r.operation === 'ChangeResourceRecordSets' && r.status === 200 && r.at >= since).length;
}

describe('daemon, drift: repair (the default)', { timeout: TEST_TIMEOUT_MS }, () => {
  let s: Setup | undefined;
  const setup = (): Setup => {
    if (s === undefined) throw new Error('setup failed');
    return s;
  };

  beforeAll(async () => {
    s = await setUp('repair', ['127.0.0.61', '127.0.0.62']);
    await waitUntilBothInSync(s);
  }, 60_000);
  afterAll(async () => {
    await tearDown(s);
  }, 30_000);

  it('syncs the zone to both providers with no drift counted', async () => {
    const report = await setup().daemon.status();
    for (const provider of ['r53', 'ns1']) {
      const zone = zoneStatus(report, provider);
      expect(zone.drift).toEqual({ detected: 0, repaired: 0, current: [] });
      expect(zone.lastError).toBeNull();
      expect(zone.lastWrite?.changes).toBeGreaterThan(0);
    }
    expect(report.records.map((r) => `${r.name} ${r.pool ?? '-'}`)).toEqual([`api.${ZONE}. primary`]);
    expect(driftLines(setup().daemon.logs(), 'ns1')).toEqual([]);
  });

  it('compares both providers over DNS every interval without a single API call while they agree', async () => {
    const { fakes, daemon } = setup();
    const r53Requests = fakes.route53.requests.length;
    const ns1Requests = fakes.ns1.requests.length;
    const first = await daemon.status();
    const checkedAt = (report: typeof first, provider: string): number => zoneStatus(report, provider).lastDnsCheckAt ?? 0;
    for (const provider of ['r53', 'ns1']) {
      let last = checkedAt(first, provider);
      for (let pass = 1; pass <= 2; pass++) {
        last = await vi.waitFor(async () => {
          const now = checkedAt(await daemon.status(), provider);
          expect(now).toBeGreaterThan(last);
          return now;
        }, WAIT);
      }
    }
    expect(fakes.route53.requests.slice(r53Requests)).toEqual([]);
    expect(fakes.ns1.requests.slice(ns1Requests)).toEqual([]);
  });

  it('finds a record changed at NS1 behind its back on the next pass and writes it back', async () => {
    const { fakes, daemon } = setup();
    const before = zoneStatus(await daemon.status(), 'ns1');
    const since = Date.now();
    changeAtNs1(fakes);
    expect(await servedOverDns(fakes.ns1.dnsAddress, DRIFTED.name)).toEqual([DRIFTED.changed]);

    await vi.waitFor(async () => {
      expect(heldValues(heldAtNs1(fakes), DRIFTED.name, DRIFTED.type)).toBe(DRIFTED.desired);
      const ns1 = zoneStatus(await daemon.status(), 'ns1');
      expect(ns1.drift).toEqual({ detected: 1, repaired: 1, current: [] });
      expect(ns1.state).toBe('in-sync');
    }, WAIT);

    expectHolds(heldAtNs1(fakes), setup().desired);
    expect(await servedOverDns(fakes.ns1.dnsAddress, DRIFTED.name)).toEqual([DRIFTED.desired]);
    const report = await daemon.status();
    const ns1 = zoneStatus(report, 'ns1');
    // The repair is a write of its own, after the drift was made.
    expect(ns1.lastWrite?.at).toBeGreaterThan(before.lastWrite?.at ?? 0);
    expect(ns1.lastWrite?.changes).toBe(1);
    expect(zoneStatus(report, 'r53').drift).toEqual({ detected: 0, repaired: 0, current: [] });

    // Found over DNS first: the API was read because NS1's name servers answered differently.
    expect(daemon.logs().some((l) => l.provider === 'ns1' && l.msg.startsWith("ns1's name servers differ from the desired state"))).toBe(true);
    const lines = driftLines(daemon.logs(), 'ns1');
    expect(lines).toHaveLength(1);
    expect(lines[0]?.msg).toContain(`record sets of ${ZONE}. were changed at ns1 behind our back`);
    expect(lines[0]?.records).toEqual([`${DRIFTED.name}.${ZONE}. ${DRIFTED.type}`]);

    // NS1's drift is NS1's alone: Route53 got no write and still holds the whole zone.
    expect(successfulRoute53Changes(fakes, since)).toBe(0);
    expectHolds(heldAtRoute53(fakes), setup().desired);
  });
});

describe('daemon, drift: report', { timeout: TEST_TIMEOUT_MS }, () => {
  let s: Setup | undefined;
  const setup = (): Setup => {
    if (s === undefined) throw new Error('setup failed');
    return s;
  };

  beforeAll(async () => {
    s = await setUp('report', ['127.0.0.63', '127.0.0.64']);
    await waitUntilBothInSync(s);
  }, 60_000);
  afterAll(async () => {
    await tearDown(s);
  }, 30_000);

  it('leaves a record changed at NS1 behind its back, reports it once, and keeps comparing', async () => {
    const { fakes, daemon } = setup();
    const since = Date.now();
    changeAtNs1(fakes);
    const key = `${DRIFTED.name}.${ZONE}. ${DRIFTED.type}`;

    const reported = await vi.waitFor(async () => {
      const ns1 = zoneStatus(await daemon.status(), 'ns1');
      expect(ns1.state).toBe('drift-reported');
      expect(ns1.drift).toEqual({ detected: 1, repaired: 0, current: [key] });
      expect(ns1.lastDnsCheckAt).not.toBeNull();
      return ns1;
    }, WAIT);

    // Two more DNS comparisons go by; the drifted value stays at NS1 and nothing new is counted.
    let lastCheck = reported.lastDnsCheckAt ?? 0;
    for (let pass = 1; pass <= 2; pass++) {
      lastCheck = await vi.waitFor(async () => {
        const ns1 = zoneStatus(await daemon.status(), 'ns1');
        expect(ns1.lastDnsCheckAt).toBeGreaterThan(lastCheck);
        return ns1.lastDnsCheckAt ?? 0;
      }, WAIT);
      expect(heldValues(heldAtNs1(fakes), DRIFTED.name, DRIFTED.type)).toBe(DRIFTED.changed);
    }

    // A pass in flight shows 'syncing'; the state between passes is what is reported.
    const report = await vi.waitFor(async () => {
      const r = await daemon.status();
      expect(zoneStatus(r, 'ns1').state).toBe('drift-reported');
      expect(zoneStatus(r, 'r53').state).toBe('in-sync');
      return r;
    }, WAIT);
    const ns1 = zoneStatus(report, 'ns1');
    expect(ns1.drift).toEqual({ detected: 1, repaired: 0, current: [key] });
    expect(ns1.lastError).toBeNull();
    expect(ns1.lastWrite?.at ?? 0).toBeLessThan(since);
    expect(await servedOverDns(fakes.ns1.dnsAddress, DRIFTED.name)).toEqual([DRIFTED.changed]);

    const lines = driftLines(daemon.logs(), 'ns1');
    expect(lines).toHaveLength(1);
    expect(lines[0]?.msg).toContain('leaving them (drift: report)');
    expect(lines[0]?.records).toEqual([key]);

    // Route53 untouched: no write, the desired value, no drift of its own.
    const r53 = zoneStatus(report, 'r53');
    expect(r53.drift).toEqual({ detected: 0, repaired: 0, current: [] });
    expect(successfulRoute53Changes(fakes, since)).toBe(0);
    expectHolds(heldAtRoute53(fakes), setup().desired);
    expect(driftLines(daemon.logs(), 'r53')).toEqual([]);
  });

  it('shows the reported drift through `dnsquorum status --json`', async () => {
    const { fakes, daemon } = setup();
    // Asked again if it lands while a pass is in flight ('syncing').
    await vi.waitFor(async () => {
      const result = await runCli(['status', '--json', '--api', daemon.apiUrl], { env: daemonEnv(fakes), timeoutMs: 20_000 });
      expect(result.code, result.stderr).toBe(0);
      const report = parseStatusReport(JSON.parse(result.stdout) as unknown);
      expect(zoneStatus(report, 'ns1')).toMatchObject({ state: 'drift-reported', drift: { detected: 1, repaired: 0, current: [`${DRIFTED.name}.${ZONE}. ${DRIFTED.type}`] } });
      expect(zoneStatus(report, 'r53')).toMatchObject({ state: 'in-sync', drift: { detected: 0, repaired: 0, current: [] } });
    }, WAIT);
  });
});
