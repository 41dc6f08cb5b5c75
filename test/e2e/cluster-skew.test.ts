import { describe, expect, it, vi } from 'vitest';
import { CLUSTER_SECRET, REGIONS, TEST_TIMEOUT_MS, WAIT, cdnEndpoint, expectSettled, postPeerMessage, signedHeaders, useCluster, verdictOf, wwwPool } from './cluster-harness.js';
import type { ClusterReport } from './cluster-harness.js';

/**
 * Issue 6: replica clocks skewed by ±30 s (a ahead, b behind, through DNSQUORUM_CLOCK_SKEW_MS)
 * change no decision: every region stays fresh, a writes, a CDN down everywhere fails over once.
 * Then peer messages posted straight to replica c: one with a bad signature and one replayed
 * verbatim (and one signed 10 minutes ago) are refused and counted, and what they claimed changes nothing.
 */
const SKEW_MS = 30_000;
/** Older than the peers' replay window (5 min by default, see src/cluster/auth.ts). */
const CAPTURED_AGO_MS = 10 * 60_000;

describe('three replicas with clocks skewed by ±30 s decide as without skew', { timeout: TEST_TIMEOUT_MS }, () => {
  const c = useCluster({ a: { skewMs: SKEW_MS }, b: { skewMs: -SKEW_MS } });

  it('the skew is in effect, every region is fresh, a writes www -> a.cdn.test (30 s)', async () => {
    await vi.waitFor(async () => {
      expect(c().held()).toEqual({ r53: 'a.cdn.test', ns1: 'a.cdn.test' });
      for (const report of await expectSettled(c(), 'a')) expect(report.cluster.rejected).toEqual({});
    }, WAIT);
    const before = Date.now();
    const [a, b, cc] = await c().statuses();
    const after = Date.now();
    // Each replica's clock is off by its skew (the status answers with the daemon's own clock).
    expect(a?.now).toBeGreaterThanOrEqual(before + SKEW_MS - 1000);
    expect(a?.now).toBeLessThanOrEqual(after + SKEW_MS + 1000);
    expect(b?.now).toBeLessThanOrEqual(after - SKEW_MS + 1000);
    expect(cc?.now).toBeGreaterThanOrEqual(before - 1000);
    expect(cc?.now).toBeLessThanOrEqual(after + 1000);
    expect(c().replicas.b.writes()).toEqual([]);
    expect(c().replicas.c.writes()).toEqual([]);
  });

  it('a CDN unreachable from region a alone does not fail over (30 s)', async () => {
    const from = Date.now();
    c().replicas.a.probeProxy.a.cut('reset');
    await vi.waitFor(async () => {
      for (const report of await c().statuses()) {
        expect(verdictOf(report, 'a', 'a')).toBe('down');
        expect(cdnEndpoint(report, 'a').state).toBe('up');
      }
      expect(wwwPool(await c().replicas.a.status())).toBe('cdn-a');
    }, WAIT);
    expect(c().held()).toEqual({ r53: 'a.cdn.test', ns1: 'a.cdn.test' });
    for (const region of REGIONS) expect(c().replicas[region].writes(from), `writes by replica ${region}`).toEqual([]);
    c().replicas.a.probeProxy.a.restore();
    await vi.waitFor(async () => {
      for (const report of await c().statuses()) expect(verdictOf(report, 'a', 'a')).toBe('up');
    }, WAIT);
  });

  it('a CDN down for every region fails over once, written by a (30 s)', async () => {
    const from = Date.now();
    await c().cdns.a.down();
    await vi.waitFor(async () => {
      expect(c().held()).toEqual({ r53: 'b.cdn.test', ns1: 'b.cdn.test' });
      for (const report of await c().statuses()) expect(cdnEndpoint(report, 'a').state).toBe('down');
      expect(wwwPool(await c().replicas.a.status())).toBe('cdn-b');
    }, WAIT);
    const movedAt = (await c().replicas.a.status()).now;
    await vi.waitFor(async () => {
      const report = await c().replicas.a.status();
      for (const provider of report.providers) for (const zone of provider.zones) expect(zone.lastDnsCheckAt ?? 0).toBeGreaterThan(movedAt);
    }, WAIT);
    expect(c().fakes.route53.requests.filter((r) => r.at >= from && r.operation === 'ChangeResourceRecordSets' && r.status === 200)).toHaveLength(1);
    expect(c().replicas.a.writes(from)).toHaveLength(2);
    expect(c().replicas.b.writes()).toEqual([]);
    expect(c().replicas.c.writes()).toEqual([]);
  });

  it('refuses and counts a peer message with a bad signature, one replayed and one 10 min old; none changes a verdict (30 s)', async () => {
    const target = c().replicas.c;
    const endpointId = cdnEndpoint(await target.status(), 'b').endpointId;
    // Posing as region b: "b.cdn.test is down". Were it accepted, c would see b's verdict as down.
    const lie = JSON.stringify({ v: 1, region: 'b', writer: true, seesQuorum: true, verdicts: [{ endpointId, state: 'down', ageMs: 0, reason: 'forged' }], overrides: [] });
    expect(await postPeerMessage(target.apiUrl, lie, signedHeaders('not-the-cluster-secret', lie, Date.now()))).toBe(401);

    // A genuine message (it says what b really sees), accepted once, then replayed verbatim.
    const truth = JSON.stringify({ v: 1, region: 'b', writer: true, seesQuorum: true, verdicts: [{ endpointId, state: 'up', ageMs: 0, reason: 'probe ok' }], overrides: [] });
    const headers = signedHeaders(CLUSTER_SECRET, truth, Date.now());
    expect(await postPeerMessage(target.apiUrl, truth, headers)).toBe(204);
    expect(await postPeerMessage(target.apiUrl, truth, headers)).toBe(401);

    // The same lie, rightly signed but sent 10 minutes ago (outside the replay window): stale.
    expect(await postPeerMessage(target.apiUrl, lie, signedHeaders(CLUSTER_SECRET, lie, Date.now() - CAPTURED_AGO_MS))).toBe(401);

    let report: ClusterReport | undefined;
    await vi.waitFor(async () => {
      report = await target.status();
      expect(report.cluster.rejected).toEqual({ 'bad-signature': 1, replayed: 1, stale: 1 });
    }, WAIT);
    for (const region of REGIONS) expect(verdictOf(report as ClusterReport, 'b', region)).toBe('up');
    expect(cdnEndpoint(report as ClusterReport, 'b').state).toBe('up');
    expect(c().held()).toEqual({ r53: 'b.cdn.test', ns1: 'b.cdn.test' });
  });
});
