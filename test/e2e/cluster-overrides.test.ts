import { describe, expect, it, vi } from 'vitest';
import { runCli } from '../helpers/cli.js';
import type { CliResult } from '../helpers/cli.js';
import { API_TOKEN, TEST_TIMEOUT_MS, WAIT, expectSettled, useCluster, wwwPool } from './cluster-harness.js';
import type { Region } from './cluster-harness.js';

/**
 * Issue 7 across three replicas (a writes): an override made on c, which does not write, reaches
 * a and b and is written by a; a replica started afterwards with an empty state directory learns
 * it from its peers; and with both other replicas dead, c alone still makes and writes a manual
 * failover (break-glass: overrides need no quorum).
 */

const RECORD = 'www.example.com';

describe('three replicas: overrides replicate, and need no quorum', { timeout: TEST_TIMEOUT_MS }, () => {
  const c = useCluster({}, async (cluster) => {
    await vi.waitFor(async () => {
      expect(cluster.held()).toEqual({ r53: 'a.cdn.test', ns1: 'a.cdn.test' });
      await expectSettled(cluster, 'a');
    }, WAIT);
  });

  function cli(region: Region, args: readonly string[]): Promise<CliResult> {
    return runCli([...args, '--api', c().replicas[region].apiUrl], { env: { DNSQUORUM_API_TOKEN: API_TOKEN, DNSQUORUM_API_URL: '' }, timeoutMs: 60_000 });
  }

  let overrideId = '';

  it('an override made on c is written by the writer a and shows in the status of a and b', async () => {
    const made = await cli('c', ['failover', RECORD, '--to', 'cdn-b', '--reason', 'cdn-a maintenance', '--actor', 'alice']);
    expect(made.code, made.stderr).toBe(0);
    expect(c().held()).toEqual({ r53: 'b.cdn.test', ns1: 'b.cdn.test' });
    await vi.waitFor(async () => {
      for (const region of ['a', 'b', 'c'] as const) {
        const report = await c().replicas[region].status();
        expect(report.overrides.map((o) => ({ name: o.name, origin: o.origin, state: o.state }))).toEqual([{ name: `${RECORD}.`, origin: 'c', state: 'active' }]);
      }
      expect(wwwPool(await c().replicas.a.status())).toBe('cdn-b');
    }, WAIT);
    overrideId = (await c().replicas.a.status()).overrides[0]?.id ?? '';
    expect(overrideId).toMatch(/^o-[0-9a-f]{12}$/);
    // Only the writer wrote it.
    expect(c().replicas.b.writes()).toEqual([]);
    expect(c().replicas.c.writes()).toEqual([]);
  });

  it('a replica started afterwards with an empty state directory learns it from its peers', async () => {
    await c().replicas.b.stop();
    await c().replicas.b.start({ freshState: true });
    await vi.waitFor(async () => {
      const report = await c().replicas.b.status();
      expect(report.overrides.map((o) => o.id)).toEqual([overrideId]);
    }, WAIT);
    await vi.waitFor(async () => {
      await expectSettled(c(), 'a');
    }, WAIT);
  });

  it('released on b, health decides again everywhere', async () => {
    const released = await cli('b', ['release', overrideId, '--reason', 'maintenance over']);
    expect(released.code, released.stderr).toBe(0);
    await vi.waitFor(async () => {
      expect(c().held()).toEqual({ r53: 'a.cdn.test', ns1: 'a.cdn.test' });
      for (const region of ['a', 'b', 'c'] as const) expect((await c().replicas[region].status()).overrides).toEqual([]);
    }, WAIT);
  });

  it('with a and b dead, c alone makes and writes a manual failover (break-glass)', async () => {
    await Promise.all([c().replicas.a.kill(), c().replicas.b.kill()]);
    await vi.waitFor(async () => {
      const report = await c().replicas.c.status();
      expect(report.cluster.seesQuorum).toBe(false);
      expect(report.cluster.writer).toBeNull();
    }, WAIT);
    const from = Date.now();
    const made = await cli('c', ['failover', RECORD, '--to', 'cdn-b', '--reason', 'break glass']);
    expect(made.code, made.stderr).toBe(0);
    expect(c().held()).toEqual({ r53: 'b.cdn.test', ns1: 'b.cdn.test' });
    expect(c().replicas.c.writes(from).length).toBeGreaterThan(0);
    const report = await c().replicas.c.status();
    expect(report.hold).toMatch(/break-glass/);
  });
});
