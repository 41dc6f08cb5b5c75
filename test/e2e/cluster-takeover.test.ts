import { describe, expect, it, vi } from 'vitest';
import { STALE_AFTER_MS, TEST_TIMEOUT_MS, WAIT, cdnEndpoint, expectSettled, useCluster, wwwPool } from './cluster-harness.js';

/**
 * Issue 6: the writing replica (a) is killed without a word. Once it has been silent for
 * cluster.staleAfter (2 s), b takes over; the bound the test allows is staleAfter plus 8 s for
 * the exchange rounds and polling on a loaded machine.
 */
const TAKEOVER_BOUND_MS = STALE_AFTER_MS + 8000;

describe('three replicas: the writer killed, another takes over', { timeout: TEST_TIMEOUT_MS }, () => {
  const c = useCluster();

  it('starts with writer a and www -> a.cdn.test at both providers (30 s)', async () => {
    await vi.waitFor(async () => {
      expect(c().held()).toEqual({ r53: 'a.cdn.test', ns1: 'a.cdn.test' });
      await expectSettled(c(), 'a');
    }, WAIT);
  });

  it(`b takes over within ${TAKEOVER_BOUND_MS / 1000} s of a being killed`, async () => {
    await c().replicas.a.kill();
    await vi.waitFor(async () => {
      const reports = await expectSettled(c(), 'b');
      expect(reports.map((r) => r.region)).toEqual(['b', 'c']);
    }, { timeout: TAKEOVER_BOUND_MS, interval: 50 });
  });

  it('the new writer b writes the failover when the CDN goes down, c holds (30 s)', async () => {
    const from = Date.now();
    await c().cdns.a.down();
    await vi.waitFor(async () => {
      expect(c().held()).toEqual({ r53: 'b.cdn.test', ns1: 'b.cdn.test' });
      for (const report of await c().statuses()) expect(cdnEndpoint(report, 'a').state).toBe('down');
      expect(wwwPool(await c().replicas.b.status())).toBe('cdn-b');
    }, WAIT);
    const { route53, ns1 } = c().fakes;
    expect(route53.requests.filter((r) => r.at >= from && r.operation === 'ChangeResourceRecordSets' && r.status === 200)).toHaveLength(1);
    expect(ns1.requests.filter((r) => r.at >= from && r.route === 'record' && r.method !== 'GET' && r.status === 200).map((r) => r.path)).toEqual(['/v1/zones/example.com/www.example.com/CNAME']);
    expect(c().replicas.b.writes(from)).toHaveLength(2);
    expect(c().replicas.c.writes()).toEqual([]);
    expect(c().replicas.a.writes(from)).toEqual([]);
  });
});
