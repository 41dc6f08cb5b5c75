import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  API_TOKEN,
  WAIT,
  daemonConfig,
  daemonEnv,
  heldAtNs1,
  heldAtRoute53,
  heldValues,
  startDaemon,
  startFakes,
  startProbePair,
  staticRecords,
  zoneStatus,
} from './daemon-harness.js';
import type { Fakes, FailoverRecord, ProbeTarget, RunningDaemon, StaticRecord } from './daemon-harness.js';

/**
 * Issue 16, also: a config reload while a Route53 change waits for INSYNC. A real daemon writes to
 * the fake Route53 (each change PENDING for INSYNC_MS, a second change to the zone meanwhile
 * refused PriorRequestNotComplete, as Route53 does) and the fake NS1. With a change pending, the
 * primary endpoint goes down and ten reloads, each with a changed record, come in a row. The
 * failover still reaches NS1 as fast as health decides it, and Route53 as soon as Route53 takes a
 * new change: no reload waits for Route53's INSYNC, and none holds a failover back.
 */

const PRIMARY = '127.0.0.91';
const SECONDARY = '127.0.0.92';
const RECORDS = staticRecords(6);
/** How long every Route53 change stays PENDING: far longer than health takes to decide. */
const INSYNC_MS = 8000;
/** Probes every 200 ms, down after 2 failures, the quorum evaluated every second, one decision: about 1 s; well under INSYNC_MS. */
const DECISION_MS = 5000;
/** Slack for a loaded machine on top of when Route53 can take a change at all. */
const ROUTE53_SLACK_MS = 3000;
const RELOADS = 10;

let dir = '';
let fakes: Fakes | undefined;
let daemon: RunningDaemon | undefined;
let configFile = '';
let probes: ProbeTarget[] = [];
let failover: FailoverRecord | undefined;

function running(): RunningDaemon {
  if (daemon === undefined) throw new Error('setup failed');
  return daemon;
}

function bothFakes(): Fakes {
  if (fakes === undefined) throw new Error('setup failed');
  return fakes;
}

function configWith(host0: string): string {
  if (failover === undefined) throw new Error('setup failed');
  const records: StaticRecord[] = RECORDS.map((r) => (r.name === 'host0' ? { ...r, values: [host0] } : r));
  return daemonConfig({ stateDir: join(dir, 'state'), fakes: bothFakes(), drift: 'repair', records, failover: [failover] });
}

function held(name: string): { r53: string | undefined; ns1: string | undefined } {
  return { r53: heldValues(heldAtRoute53(bothFakes()), name, 'A'), ns1: heldValues(heldAtNs1(bothFakes()), name, 'A') };
}

async function postReload(): Promise<{ status: number; result: string }> {
  const response = await fetch(`${running().apiUrl}/v1/reload`, { method: 'POST', headers: { authorization: `Bearer ${API_TOKEN}` }, signal: AbortSignal.timeout(120_000) });
  const body = (await response.json()) as { result?: string };
  return { status: response.status, result: body.result ?? '' };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dq-reload-insync-'));
  fakes = await startFakes();
  const pair = await startProbePair(PRIMARY, SECONDARY);
  probes = [pair.primary, pair.secondary];
  failover = { name: 'api', port: pair.port, primary: PRIMARY, secondary: SECONDARY };
  configFile = join(dir, 'dnsquorum.yaml');
  await writeFile(configFile, configWith('10.0.0.1'));
  daemon = await startDaemon(configFile, daemonEnv(fakes));
  await vi.waitFor(async () => {
    expect(held('api')).toEqual({ r53: PRIMARY, ns1: PRIMARY });
    expect(held('host0')).toEqual({ r53: '10.0.0.1', ns1: '10.0.0.1' });
    const report = await running().status();
    expect(report.hold).toBeNull();
    expect(zoneStatus(report, 'r53').state).toBe('in-sync');
    expect(zoneStatus(report, 'ns1').state).toBe('in-sync');
  }, WAIT);
}, 60_000);

afterAll(async () => {
  await daemon?.stop();
  await Promise.all(probes.map((p) => p.stop()));
  await fakes?.close();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
}, 30_000);

describe('reloads while a Route53 change waits for INSYNC', { timeout: 90_000 }, () => {
  it(`${RELOADS} reloads in a row hold back neither NS1's failover nor Route53's`, async () => {
    const { route53 } = bothFakes();
    route53.setChangeDelay(INSYNC_MS);
    route53.setFaults({ priorRequestNotComplete: true });

    // A change is made and left PENDING at Route53: the daemon's Route53 write waits for INSYNC.
    const since = Date.now();
    await writeFile(configFile, configWith('10.0.1.1'));
    expect(await postReload()).toEqual({ status: 200, result: 'applied' });
    const pendingFrom = await vi.waitFor(() => {
      const accepted = route53.requests.find((r) => r.at >= since && r.operation === 'ChangeResourceRecordSets' && r.status === 200);
      expect(accepted).toBeDefined();
      return accepted?.at ?? 0;
    }, WAIT);

    // The primary goes down, and ten reloads come one after another, each changing host0.
    const downAt = Date.now();
    await probes[0]?.stop();
    const answers: Promise<{ status: number; result: string }>[] = [];
    for (let i = 1; i <= RELOADS; i++) {
      await writeFile(configFile, configWith(`10.0.2.${i}`));
      answers.push(postReload());
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    const ns1At = await vi.waitFor(() => {
      expect(held('api').ns1).toBe(SECONDARY);
      return Date.now();
    }, { timeout: 60_000, interval: 25 });
    const r53At = await vi.waitFor(() => {
      expect(held('api').r53).toBe(SECONDARY);
      return Date.now();
    }, { timeout: 60_000, interval: 25 });

    expect(ns1At - downAt, 'NS1 fails over as fast as health decides, not after Route53 goes INSYNC').toBeLessThan(DECISION_MS);
    // Route53 takes no new change before the pending one is INSYNC; the failover is the next one it takes.
    expect(r53At - pendingFrom, 'Route53 fails over once its pending change is INSYNC').toBeLessThan(INSYNC_MS + DECISION_MS + ROUTE53_SLACK_MS);

    const results = await Promise.all(answers);
    expect(results.every((r) => r.status === 200 && (r.result === 'applied' || r.result === 'unchanged')), JSON.stringify(results)).toBe(true);
    // Everything converges to the last config, and dnsquorum never ran into its own PriorRequestNotComplete.
    await vi.waitFor(() => {
      expect(held('host0')).toEqual({ r53: `10.0.2.${RELOADS}`, ns1: `10.0.2.${RELOADS}` });
    }, { timeout: 60_000, interval: 50 });
    expect(route53.requests.filter((r) => r.at >= since && r.errorCode === 'PriorRequestNotComplete')).toEqual([]);
    route53.setChangeDelay(0);
    route53.setFaults({ priorRequestNotComplete: false });
  });
});
