import { describe, expect, it, vi } from 'vitest';
import { TEST_TIMEOUT_MS, WAIT, expectSettled, useCluster } from './cluster-harness.js';
import type { ClusterReport } from './cluster-harness.js';

/**
 * Issue 6: two replicas writing at once must be harmless. Only the link a -> b is cut, so b stops
 * hearing a while a still hears b and c: a believes it writes (smallest region in its view) and
 * so does b (a is silent to it). Both then decide the same failover and write the same desired
 * state; whoever comes second finds it already in place or re-plans, and every provider ends in
 * the desired state with no error left behind.
 */
describe('three replicas: two writers at once are harmless', { timeout: TEST_TIMEOUT_MS }, () => {
  const c = useCluster({}, async (cluster) => {
    await vi.waitFor(async () => {
      await expectSettled(cluster, 'a');
    }, WAIT);
  });
  const inSyncWithoutErrors = (report: ClusterReport): void => {
    for (const provider of report.providers) {
      for (const zone of provider.zones) {
        expect(zone.state, `${provider.provider} at replica ${report.region}`).toBe('in-sync');
        expect(zone.lastError, `${provider.provider} at replica ${report.region}`).toBeNull();
      }
    }
  };

  it('with only a -> b cut, both a and b see themselves as the writer (30 s)', async () => {
    c().link('a', 'b').cut('blackhole');
    await vi.waitFor(async () => {
      const [a, b, cc] = await Promise.all([c().replicas.a.status(), c().replicas.b.status(), c().replicas.c.status()]);
      expect(a.cluster).toMatchObject({ writer: 'a', seesQuorum: true });
      expect(b.cluster).toMatchObject({ writer: 'b', seesQuorum: true });
      expect(a.hold).toBeNull();
      expect(b.hold).toBeNull();
      expect(cc.hold).toMatch(/region a writes/);
    }, WAIT);
  });

  it('both decide the failover; the providers end in the one desired state, with no error at either writer (30 s)', async () => {
    const from = Date.now();
    await c().cdns.a.down();
    await vi.waitFor(async () => {
      expect(c().held()).toEqual({ r53: 'b.cdn.test', ns1: 'b.cdn.test' });
      const [a, b] = await Promise.all([c().replicas.a.status(), c().replicas.b.status()]);
      for (const report of [a, b]) {
        expect(report.records.find((r) => r.name === 'www.example.com.')?.values, `decision at ${report.region}`).toEqual(['b.cdn.test.']);
        inSyncWithoutErrors(report);
      }
    }, WAIT);
    // Both were free to write; at least one did, and c (not a writer in its view) never did.
    expect(c().replicas.a.writes(from).length + c().replicas.b.writes(from).length).toBeGreaterThan(0);
    expect(c().replicas.c.writes()).toEqual([]);
  });

  it('healed, one writer again, and the way back is written once everyone agrees (30 s)', async () => {
    c().link('a', 'b').restore();
    await vi.waitFor(async () => {
      await expectSettled(c(), 'a');
    }, WAIT);
    const from = Date.now();
    await c().cdns.a.up();
    await vi.waitFor(() => {
      expect(c().held()).toEqual({ r53: 'a.cdn.test', ns1: 'a.cdn.test' });
    }, WAIT);
    expect(c().replicas.b.writes(from)).toEqual([]);
  });
});
