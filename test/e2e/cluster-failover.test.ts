import { describe, expect, it, vi } from 'vitest';
import { REGIONS, TEST_TIMEOUT_MS, WAIT, cdnEndpoint, expectSettled, useCluster, verdictOf, wwwPool } from './cluster-harness.js';
import type { ClusterReport } from './cluster-harness.js';

/**
 * Issue 6: three replicas (regions a, b, c) probe the same CDN each through its own path. A CDN
 * unreachable from region a alone is outvoted and nothing moves; a CDN down for every region fails
 * over once, written by one replica (a, the writer), with b and c holding their writes.
 */

describe('three replicas: failover needs a quorum of regions and is written once', { timeout: TEST_TIMEOUT_MS }, () => {
  const c = useCluster();
  const status = (region: 'a' | 'b' | 'c'): Promise<ClusterReport> => c().replicas[region].status();

  it('agrees on writer a with every region fresh; a alone writes www -> a.cdn.test to both providers (30 s)', async () => {
    await vi.waitFor(async () => {
      expect(c().held()).toEqual({ r53: 'a.cdn.test', ns1: 'a.cdn.test' });
      for (const report of await expectSettled(c(), 'a')) {
        expect(report.cluster.quorum).toBe(2);
        expect(cdnEndpoint(report, 'a').state).toBe('up');
        // Each region's own verdict, not only the quorum's: the last replica started may not have
        // probed yet when the other two already make a quorum.
        for (const region of REGIONS) expect(verdictOf(report, 'a', region), `region ${region} at replica ${report.region}`).toBe('up');
      }
      expect(wwwPool(await status('a'))).toBe('cdn-a');
    }, WAIT);
    expect(c().replicas.a.writes().length).toBeGreaterThan(0);
    expect(c().replicas.b.writes()).toEqual([]);
    expect(c().replicas.c.writes()).toEqual([]);
    // Every replica probes for itself, through its own path.
    for (const region of REGIONS) expect(c().replicas[region].probeProxy.a.forwarded).toBeGreaterThan(0);
  });

  it('does not fail over when the CDN is unreachable from region a alone (30 s)', async () => {
    const from = Date.now();
    c().replicas.a.probeProxy.a.cut('reset');
    // b learns, through the exchange, that region a sees the CDN down while b and c see it up.
    await vi.waitFor(async () => {
      for (const report of await c().statuses()) {
        expect(verdictOf(report, 'a', 'a')).toBe('down');
        expect(verdictOf(report, 'a', 'b')).toBe('up');
        expect(verdictOf(report, 'a', 'c')).toBe('up');
        expect(cdnEndpoint(report, 'a').state).toBe('up');
      }
    }, WAIT);
    const seenAt = (await status('a')).now;
    // A sync pass of the writer that started after every replica knew: still nothing to do.
    await vi.waitFor(async () => {
      const report = await status('a');
      for (const provider of report.providers) for (const zone of provider.zones) expect(zone.lastDnsCheckAt ?? 0).toBeGreaterThan(seenAt);
    }, WAIT);
    for (const report of await c().statuses()) expect(cdnEndpoint(report, 'a').state).toBe('up');
    expect(wwwPool(await status('a'))).toBe('cdn-a');
    expect(c().held()).toEqual({ r53: 'a.cdn.test', ns1: 'a.cdn.test' });
    for (const region of REGIONS) expect(c().replicas[region].writes(from), `writes by replica ${region}`).toEqual([]);

    c().replicas.a.probeProxy.a.restore();
    await vi.waitFor(async () => {
      for (const report of await c().statuses()) expect(verdictOf(report, 'a', 'a')).toBe('up');
    }, WAIT);
  });

  it('fails over once when the CDN is down for every region, written by replica a alone (30 s)', async () => {
    const { route53, ns1 } = c().fakes;
    const from = Date.now();
    await c().cdns.a.down();
    await vi.waitFor(async () => {
      expect(c().held()).toEqual({ r53: 'b.cdn.test', ns1: 'b.cdn.test' });
      for (const report of await c().statuses()) {
        expect(cdnEndpoint(report, 'a').state).toBe('down');
        for (const region of REGIONS) expect(verdictOf(report, 'a', region)).toBe('down');
      }
      expect(wwwPool(await status('a'))).toBe('cdn-b');
    }, WAIT);
    const movedAt = (await status('a')).now;
    // Let the writer finish a later pass: a second write, if any, would have happened by then.
    await vi.waitFor(async () => {
      const report = await status('a');
      for (const provider of report.providers) for (const zone of provider.zones) expect(zone.lastDnsCheckAt ?? 0).toBeGreaterThan(movedAt);
    }, WAIT);

    const r53Changes = route53.requests.filter((r) => r.at >= from && r.operation === 'ChangeResourceRecordSets' && r.status === 200);
    const ns1Writes = ns1.requests.filter((r) => r.at >= from && r.route === 'record' && r.method !== 'GET' && r.status === 200);
    expect(r53Changes).toHaveLength(1);
    expect(ns1Writes).toHaveLength(1);
    expect(ns1Writes[0]?.path).toMatch(/www\.example\.com\/CNAME$/);
    // Both came from replica a; b and c, which saw the same, held.
    expect(c().replicas.a.writes(from)).toHaveLength(2);
    expect(c().replicas.b.writes()).toEqual([]);
    expect(c().replicas.c.writes()).toEqual([]);
  });
});
