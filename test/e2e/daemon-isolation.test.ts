import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_RETRY_POLICY } from '../../src/providers/route53/retry.js';
import type { VerifyReport } from '../../src/verify/verify.js';
import { runCli } from '../helpers/cli.js';
import {
  TEST_TIMEOUT_MS,
  WAIT,
  daemonConfig,
  daemonEnv,
  desiredSets,
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
 * Issue 5, provider isolation: a real daemon keeps 200 record sets (two of them failover records)
 * at the fake Route53 and the fake NS1. While Route53 answers 5xx to everything, a primary
 * endpoint goes down: NS1 gets the failover on its own, without waiting for Route53, which is
 * reported lagging. When Route53 recovers it is brought to the same state, nothing lost.
 */

const STATIC = staticRecords(198);
/** How late the failing Route53 answers each request, and how many attempts the provider makes per call (DEFAULT_RETRY_POLICY). */
const ROUTE53_ANSWER_DELAY_MS = 1000;
const ROUTE53_ATTEMPTS_PER_PASS = DEFAULT_RETRY_POLICY.maxAttempts;

describe('daemon with one provider failing: the other fails over on its own', { timeout: TEST_TIMEOUT_MS }, () => {
  let dir: string | undefined;
  let fakes: Fakes | undefined;
  let daemon: RunningDaemon | undefined;
  const probes: ProbeTarget[] = [];
  let api: FailoverRecord;
  let web: FailoverRecord;
  let configFile: string;
  /** When Route53 started failing. */
  let outageFrom = 0;

  const f = (): Fakes => {
    if (fakes === undefined) throw new Error('setup failed');
    return fakes;
  };
  const d = (): RunningDaemon => {
    if (daemon === undefined) throw new Error('setup failed');
    return daemon;
  };
  const desired = (apiValue: string): string[] => desiredSets(f(), STATIC, new Map([[api.name, apiValue], [web.name, web.primary]]));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dq-daemon-isolation-'));
    fakes = await startFakes();
    const apiPair = await startProbePair('127.0.0.71', '127.0.0.72');
    const webPair = await startProbePair('127.0.0.73', '127.0.0.74');
    probes.push(apiPair.primary, apiPair.secondary, webPair.primary, webPair.secondary);
    api = { name: 'api', port: apiPair.port, primary: apiPair.primary.address, secondary: apiPair.secondary.address };
    web = { name: 'web', port: webPair.port, primary: webPair.primary.address, secondary: webPair.secondary.address };
    configFile = join(dir, 'dnsquorum.yaml');
    await writeFile(configFile, daemonConfig({ stateDir: join(dir, 'state'), fakes, drift: 'repair', records: STATIC, failover: [api, web] }));
    daemon = await startDaemon(configFile, daemonEnv(fakes));
  }, 60_000);

  afterAll(async () => {
    await daemon?.stop();
    await Promise.all([fakes?.close(), ...probes.map((p) => p.stop())]);
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }, 30_000);

  it('brings both providers to all 200 record sets and the apex NS of all 8 servers (30 s)', async () => {
    const want = desired(api.primary);
    expect(want).toHaveLength(201);
    await vi.waitFor(async () => {
      expectHolds(heldAtRoute53(f()), want);
      expectHolds(heldAtNs1(f()), want);
      const report = await d().status();
      expect(zoneStatus(report, 'r53').state).toBe('in-sync');
      expect(zoneStatus(report, 'ns1').state).toBe('in-sync');
    }, WAIT);
  });

  it('fails over at NS1 while Route53 answers 5xx to everything, without waiting for Route53 (30 s)', async () => {
    const { route53, ns1 } = f();
    outageFrom = Date.now();
    // Every Route53 answer is a 5xx, each one a second late: one failing pass (6 attempts) lasts
    // 6 s or more, so a NS1 write that waited for Route53's pass would come after 6 failed answers.
    route53.setFaults({ serverErrorRate: 1, delayMs: ROUTE53_ANSWER_DELAY_MS });
    await probes[0]?.stop(); // api's primary

    const successfulRoute53Changes = (): number => route53.requests.filter((r) => r.operation === 'ChangeResourceRecordSets' && r.status === 200 && r.at >= outageFrom).length;

    await vi.waitFor(async () => {
      expect(heldValues(heldAtNs1(f()), api.name, 'A')).toBe(api.secondary);
      expect(await servedOverDns(ns1.dnsAddress, api.name)).toEqual([api.secondary]);
    }, WAIT);
    // At the moment NS1 serves the secondary, Route53 has not taken a single change since the
    // outage began, and its first failing pass after the decision has not even ended.
    expect(successfulRoute53Changes()).toBe(0);
    expect(route53.requests.filter((r) => r.at >= outageFrom).length).toBeLessThan(ROUTE53_ATTEMPTS_PER_PASS);
    expect(heldValues(heldAtRoute53(f()), api.name, 'A')).toBe(api.primary);
    expect(await servedOverDns(route53.dnsAddress, api.name)).toEqual([api.primary]);

    const r53 = await vi.waitFor(async () => {
      const zone = zoneStatus(await d().status(), 'r53');
      expect(zone.state).toBe('lagging');
      expect(zone.consecutiveFailures).toBeGreaterThanOrEqual(1);
      expect(zone.lastError).not.toBeNull();
      expect(zone.lagMs).toBeGreaterThan(0);
      return zone;
    }, WAIT);
    expect(r53.lastError?.at).toBeGreaterThanOrEqual(outageFrom);
    // Route53 was asked, and failed, during the outage: the daemon kept retrying it.
    expect(route53.requests.filter((r) => r.at >= outageFrom && r.status >= 500).length).toBeGreaterThan(0);

    const report = await d().status();
    expect(report.records.find((r) => r.name === `${api.name}.example.com.`)).toMatchObject({ pool: 'secondary', values: [api.secondary] });
    expect(zoneStatus(report, 'ns1').lastError).toBeNull();
    expectHolds(heldAtNs1(f()), desired(api.secondary));
    expect(successfulRoute53Changes()).toBe(0);
  });

  it('brings Route53 to the same state once it recovers, nothing lost, and verify agrees (30 s)', async () => {
    const { route53, ns1 } = f();
    route53.setFaults({ serverErrorRate: 0, delayMs: 0 });
    const want = desired(api.secondary);

    await vi.waitFor(async () => {
      expectHolds(heldAtRoute53(f()), want);
      const report = await d().status();
      expect(zoneStatus(report, 'r53')).toMatchObject({ state: 'in-sync', consecutiveFailures: 0, lastError: null, lagMs: 0 });
      expect(zoneStatus(report, 'ns1')).toMatchObject({ state: 'in-sync', consecutiveFailures: 0, lastError: null });
    }, WAIT);
    expectHolds(heldAtNs1(f()), want);
    expect(await servedOverDns(route53.dnsAddress, api.name)).toEqual([api.secondary]);
    expect(await servedOverDns(ns1.dnsAddress, web.name)).toEqual([web.primary]);

    // NS1 took its write before Route53 answered any change with success.
    const ns1Writes = ns1.requests.filter((r) => r.route === 'record' && r.method !== 'GET' && r.status === 200 && r.at >= outageFrom);
    const r53Changes = route53.requests.filter((r) => r.operation === 'ChangeResourceRecordSets' && r.status === 200 && r.at >= outageFrom);
    expect(ns1Writes.length).toBeGreaterThan(0);
    expect(r53Changes.length).toBeGreaterThan(0);
    expect(Math.min(...ns1Writes.map((r) => r.at))).toBeLessThan(Math.min(...r53Changes.map((r) => r.at)));

    const verify = await runCli(['verify', '--config', configFile, '--json', '--parent-resolver', 'none'], { env: daemonEnv(f()), timeoutMs: 30_000 });
    expect(verify.code, verify.stderr + verify.stdout).toBe(0);
    const report = JSON.parse(verify.stdout) as VerifyReport;
    expect(report.consistent).toBe(true);
    expect(report.serversChecked).toBe(8);
  });
});
