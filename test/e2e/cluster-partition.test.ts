import { describe, expect, it, vi } from 'vitest';
import { TEST_TIMEOUT_MS, WAIT, expectSettled, useCluster, verdictOf, wwwPool } from './cluster-harness.js';

/**
 * Issue 6: replica a, the writer, is cut off from b and c at the network (its messages swallowed,
 * theirs refused). a sees no quorum and writes nothing; b and c still see a quorum (2 of 3), elect
 * b, and b writes the failover when the CDN goes down. Healed, a writes again.
 */

describe('three replicas: the one cut off from the others writes nothing', { timeout: TEST_TIMEOUT_MS }, () => {
  const c = useCluster();

  it('starts with writer a and www -> a.cdn.test at both providers (30 s)', async () => {
    await vi.waitFor(async () => {
      expect(c().held()).toEqual({ r53: 'a.cdn.test', ns1: 'a.cdn.test' });
      await expectSettled(c(), 'a');
    }, WAIT);
  });

  let cutAt = 0;

  it('a cut off sees no quorum and holds; b and c go on with b as writer (30 s)', async () => {
    cutAt = Date.now();
    c().cutOff('a');
    await vi.waitFor(async () => {
      const [a, b, cc] = await Promise.all([c().replicas.a.status(), c().replicas.b.status(), c().replicas.c.status()]);
      expect(a.cluster).toMatchObject({ seesQuorum: false, freshRegions: ['a'] });
      expect(a.cluster.writer).not.toBe('a');
      for (const report of [b, cc]) {
        expect(report.cluster).toMatchObject({ seesQuorum: true, writer: 'b' });
        expect([...report.cluster.freshRegions].sort()).toEqual(['b', 'c']);
      }
      expect(a.hold).not.toBeNull();
      expect(cc.hold).toMatch(/region b writes/);
    }, WAIT);
    // The cut is real: a hears from no peer.
    const a = await c().replicas.a.status();
    expect(a.cluster.peers.every((p) => !p.fresh)).toBe(true);
  });

  it('fails over when the CDN goes down everywhere: written by b only, nothing from a (30 s)', async () => {
    const from = Date.now();
    await c().cdns.a.down();
    await vi.waitFor(async () => {
      expect(c().held()).toEqual({ r53: 'b.cdn.test', ns1: 'b.cdn.test' });
      const b = await c().replicas.b.status();
      expect(wwwPool(b)).toBe('cdn-b');
      for (const region of ['b', 'c'] as const) expect(verdictOf(b, 'a', region)).toBe('down');
    }, WAIT);
    // a saw the CDN go down too, but alone it decides nothing.
    await vi.waitFor(async () => {
      expect(verdictOf(await c().replicas.a.status(), 'a', 'a')).toBe('down');
    }, WAIT);
    expect(c().replicas.b.writes(from).length).toBeGreaterThan(0);
    expect(c().replicas.a.writes(cutAt)).toEqual([]);
    expect(c().replicas.c.writes()).toEqual([]);
    expect(c().fakes.route53.requests.filter((r) => r.at >= from && r.operation === 'ChangeResourceRecordSets' && r.status === 200)).toHaveLength(1);
    expect(c().fakes.ns1.requests.filter((r) => r.at >= from && r.route === 'record' && r.method !== 'GET' && r.status === 200).map((r) => r.path)).toEqual(['/v1/zones/example.com/www.example.com/CNAME']);
  });

  it('healed, a is writer again and writes the way back when the CDN recovers (30 s)', async () => {
    c().heal('a');
    await vi.waitFor(async () => {
      await expectSettled(c(), 'a');
    }, WAIT);
    const from = Date.now();
    await c().cdns.a.up();
    await vi.waitFor(() => {
      expect(c().held()).toEqual({ r53: 'a.cdn.test', ns1: 'a.cdn.test' });
    }, WAIT);
    expect(c().replicas.a.writes(from).length).toBeGreaterThan(0);
    expect(c().replicas.b.writes(from)).toEqual([]);
    expect(c().replicas.c.writes()).toEqual([]);
  });
});
