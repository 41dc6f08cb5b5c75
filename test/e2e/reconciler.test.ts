import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { endpointId } from '../../src/domain/health.js';
import type { EndpointHealth, HealthState } from '../../src/domain/health.js';
import type { DriftPolicy, ZoneSpec } from '../../src/domain/zone.js';
import type { HostPort, LocalProviderConfig } from '../../src/config/types.js';
import { ManualClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/logger.js';
import { LocalProvider } from '../../src/providers/local/provider.js';
import { LocalDnsServer } from '../../src/providers/local/server.js';
import { Reconciler } from '../../src/sync/reconciler.js';
import type { ProviderZoneStatus, SyncObserver } from '../../src/sync/status.js';
import { concurrencyLimit } from '../../src/verify/limit.js';
import { verifyServer } from '../../src/verify/servers.js';
import { failoverSpec } from '../helpers/failover-spec.js';
import { SwitchableProvider } from '../helpers/switchable-provider.js';

/**
 * The reconciler on a manual clock, writing to two real local providers, each served by its own
 * real DNS server on loopback: decisions reach every provider, one provider's failure never holds
 * back the other, drift is found over DNS and repaired (or only reported), and a comparison that
 * DNS settles reads no API.
 */
const ZONE = 'example.com.';
const API = `api.${ZONE}`;
const WWW = `www.${ZONE}`;
const PRIMARY = '192.0.2.10';
const SECONDARY = '198.51.100.20';
const HOUR = 3_600_000;

function zoneSpec(drift: DriftPolicy): ZoneSpec {
  return {
    name: ZONE,
    providers: ['a', 'b'],
    nameservers: 'sync',
    nameserverTtl: 3600,
    unmanaged: 'keep',
    drift,
    maxChangeShare: 0.3,
    records: [
      { kind: 'static', name: WWW, type: 'A', ttl: 300, values: ['192.0.2.80'] },
      failoverSpec(API, { primary: [PRIMARY], secondary: [SECONDARY] }, { maxWritesPerHour: 1 }),
    ],
  };
}

interface Lab {
  readonly name: string;
  readonly provider: SwitchableProvider;
  /** A second instance on the same state file: the test's own hand, behind the reconciler's back. */
  readonly hand: LocalProvider;
  readonly server: LocalDnsServer;
}

describe('Reconciler', () => {
  let dir: string;
  let labs: Lab[];
  const clock = new ManualClock(1_000_000);
  const health = new Map<string, EndpointHealth>();
  const passes: { provider: string; outcome: string }[] = [];
  const checks: { provider: string; via: string; differs: boolean }[] = [];
  const drifts: { provider: string; records: number; repaired: boolean }[] = [];
  const driftsCleared: { zone: string; provider: string }[] = [];
  const observer: SyncObserver = {
    pass: (e) => passes.push(e),
    write: () => undefined,
    drift: (e) => drifts.push(e),
    driftCleared: (e) => driftsCleared.push(e),
    visible: () => undefined,
    check: (e) => checks.push(e),
  };
  let stop: AbortController;
  let running: Promise<void> | undefined;

  const setHealth = (value: string, state: HealthState): void => {
    const id = endpointId(API, 'A', value);
    health.set(id, { endpointId: id, state, since: clock.now(), reason: 'test', insufficientVantage: false, regions: [] });
  };
  const lab = (name: string): Lab => {
    const found = labs.find((l) => l.name === name);
    if (found === undefined) throw new Error(`no lab ${name}`);
    return found;
  };
  const served = async (name: string, record = API): Promise<readonly string[] | undefined> =>
    (await lab(name).hand.listRecords(ZONE, AbortSignal.timeout(5000))).find((r) => r.name === record && r.type === 'A')?.values;

  function start(drift: DriftPolicy): Reconciler {
    const resolve = new Map<string, HostPort>(labs.map((l) => [`ns.${l.name}.example.net`, l.server.address()]));
    const limit = concurrencyLimit(16);
    const reconciler = new Reconciler({
      zones: [zoneSpec(drift)],
      providers: new Map(labs.map((l) => [l.name, l.provider])),
      clock,
      logger: silentLogger(),
      health: () => health,
      overrides: () => [],
      writeMode: () => ({ kind: 'all' }),
      sync: { intervalMs: HOUR, readIntervalMs: 10 * HOUR, visibleTimeoutMs: 30_000 },
      askServers: (hosts, expectations, signal) => Promise.all(hosts.map((h) => verifyServer(h, expectations, { resolve, limit, signal, queryTimeoutMs: 1000 }))),
      observer,
      passTimeoutMs: 10_000,
    });
    running = reconciler.run(stop.signal);
    return reconciler;
  }
  const zoneStatus = (r: Reconciler, provider: string): ProviderZoneStatus => {
    const zone = r.status().providers.find((p) => p.provider === provider)?.zones[0];
    if (zone === undefined) throw new Error(`no status for ${provider}`);
    return zone;
  };
  /** Waits until `provider` holds the latest target, has no pass due, and its last write is visible. */
  const settled = async (r: Reconciler, provider: string): Promise<void> => {
    await vi.waitFor(() => {
      const z = zoneStatus(r, provider);
      expect(z).toMatchObject({ state: 'in-sync', lagMs: 0 });
      expect(z.lastWrite?.visible).toBe('visible');
      expect(z.nextPassAt).toBeGreaterThan(clock.now());
    });
  };
  const passesOf = (provider: string): number => passes.filter((p) => p.provider === provider).length;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dq-reconciler-'));
    passes.length = 0;
    checks.length = 0;
    drifts.length = 0;
    driftsCleared.length = 0;
    health.clear();
    stop = new AbortController();
    labs = [];
    for (const name of ['a', 'b']) {
      const config: LocalProviderConfig = { type: 'local', name, listen: { host: '127.0.0.1', port: 0 }, nameserver: `ns.${name}.example.net.` };
      const statePath = join(dir, `${name}.json`);
      const options = { config, statePath, clock, logger: silentLogger() };
      const server = new LocalDnsServer({ config, statePath, logger: silentLogger() });
      await server.start();
      labs.push({ name, provider: new SwitchableProvider(new LocalProvider(options)), hand: new LocalProvider(options), server });
    }
    setHealth(PRIMARY, 'up');
    setHealth(SECONDARY, 'up');
  });
  afterEach(async () => {
    stop.abort();
    await running;
    for (const l of labs) {
      await l.provider.close();
      await l.hand.close();
      await l.server.close();
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('brings both providers to one state, apex NS included, and records the time to visible', async () => {
    const r = start('repair');
    await vi.waitFor(async () => {
      expect(await served('a')).toEqual([PRIMARY]);
      expect(await served('b')).toEqual([PRIMARY]);
      expect(await served('a', WWW)).toEqual(['192.0.2.80']);
    });
    // The apex NS is written once both providers' own servers are known.
    await vi.waitFor(async () => {
      for (const name of ['a', 'b']) {
        const ns = (await lab(name).hand.listRecords(ZONE, AbortSignal.timeout(5000))).find((rs) => rs.name === ZONE && rs.type === 'NS');
        expect(ns?.values).toEqual(['ns.a.example.net.', 'ns.b.example.net.']);
      }
    });
    await settled(r, 'a');
    await settled(r, 'b');
    expect(r.status().records).toEqual([expect.objectContaining({ name: API, pool: 'primary', values: [PRIMARY] })]);
  });

  it('fails over at a healthy provider while the other is down, and repairs the other once it is back', async () => {
    const r = start('repair');
    await settled(r, 'b');

    lab('b').provider.down = true;
    setHealth(PRIMARY, 'down');
    r.trigger('primary down');
    await vi.waitFor(async () => { expect(await served('a')).toEqual([SECONDARY]); });
    await vi.waitFor(() => {
      const b = zoneStatus(r, 'b');
      expect(b.state).toBe('lagging');
      expect(b.lastError?.code).toBe('DQ_PROVIDER_UNAVAILABLE');
      expect(b.lastError?.message).toContain('503');
      expect(b.consecutiveFailures).toBeGreaterThanOrEqual(1);
    });
    expect(await served('b')).toEqual([PRIMARY]);
    expect(zoneStatus(r, 'a').state).toBe('in-sync');

    lab('b').provider.down = false;
    clock.advance(1000);
    r.checkNow(false);
    await vi.waitFor(async () => { expect(await served('b')).toEqual([SECONDARY]); });
    await vi.waitFor(() => {
      const b = zoneStatus(r, 'b');
      expect(b).toMatchObject({ state: 'in-sync', lastError: null, consecutiveFailures: 0, lagMs: 0 });
    });
  });

  it('keeps a second failover within the hour to the write budget', async () => {
    const r = start('repair');
    await vi.waitFor(async () => { expect(await served('a')).toEqual([PRIMARY]); });
    setHealth(PRIMARY, 'down');
    r.trigger('primary down');
    await vi.waitFor(async () => { expect(await served('a')).toEqual([SECONDARY]); });

    clock.advance(60_000);
    setHealth(PRIMARY, 'up');
    r.trigger('primary up');
    await vi.waitFor(() => { expect(r.status().records[0]).toMatchObject({ cause: 'write-budget', values: [SECONDARY] }); });

    clock.advance(HOUR);
    r.trigger('budget renewed');
    await vi.waitFor(async () => {
      expect(await served('a')).toEqual([PRIMARY]);
      expect(await served('b')).toEqual([PRIMARY]);
    });
  });

  it('compares over DNS without reading the API while the servers agree', async () => {
    const r = start('repair');
    await settled(r, 'a');
    const reads = lab('a').provider.listCalls;
    const before = passesOf('a');
    r.checkNow(false);
    await vi.waitFor(() => { expect(passesOf('a')).toBeGreaterThan(before); });
    expect(lab('a').provider.listCalls).toBe(reads);
    expect(checks.filter((c) => c.provider === 'a' && c.via === 'dns').at(-1)).toEqual(expect.objectContaining({ differs: false }));
  });

  it('finds a change made behind its back over DNS and writes the desired state back', async () => {
    const r = start('repair');
    await settled(r, 'a');
    await tamper('a');
    r.checkNow(false);
    await vi.waitFor(async () => { expect(await served('a', WWW)).toEqual(['192.0.2.80']); });
    await vi.waitFor(() => { expect(zoneStatus(r, 'a')).toMatchObject({ state: 'in-sync', drift: { detected: 1, repaired: 1, current: [] } }); });
    expect(checks).toContainEqual(expect.objectContaining({ provider: 'a', via: 'dns', differs: true }));
    expect(drifts).toEqual([{ zone: ZONE, provider: 'a', records: 1, repaired: true }]);
  });

  it('counts drift once when its repair fails and is retried', async () => {
    const r = start('repair');
    await settled(r, 'a');
    await tamper('a');
    lab('a').provider.writesDown = true;
    for (let attempt = 1; attempt <= 2; attempt++) {
      clock.advance(1000);
      r.checkNow(true);
      await vi.waitFor(() => { expect(zoneStatus(r, 'a').consecutiveFailures).toBe(attempt); });
    }
    expect(zoneStatus(r, 'a')).toMatchObject({ state: 'lagging', drift: { detected: 1, repaired: 0 } });
    lab('a').provider.writesDown = false;
    clock.advance(1000);
    r.checkNow(false);
    await vi.waitFor(async () => { expect(await served('a', WWW)).toEqual(['192.0.2.80']); });
    await vi.waitFor(() => { expect(zoneStatus(r, 'a')).toMatchObject({ state: 'in-sync', drift: { detected: 1, repaired: 1, current: [] } }); });
    expect(drifts).toEqual([{ zone: ZONE, provider: 'a', records: 1, repaired: true }]);
    // Repaired drift was over when it was told: there is nothing to clear.
    expect(driftsCleared).toEqual([]);
  });

  it('with drift: report, reports the change once and leaves it, while failover still writes', async () => {
    const r = start('report');
    await settled(r, 'a');
    await tamper('a');
    r.checkNow(false);
    await vi.waitFor(() => { expect(zoneStatus(r, 'a')).toMatchObject({ state: 'drift-reported', drift: { detected: 1, repaired: 0, current: [`${WWW} A`] } }); });
    expect(await served('a', WWW)).toEqual(['203.0.113.99']);

    // The known drift is not asked again over DNS, so a quiet check reads no API.
    const reads = lab('a').provider.listCalls;
    const before = passesOf('a');
    r.checkNow(false);
    await vi.waitFor(() => { expect(passesOf('a')).toBeGreaterThan(before); });
    expect(lab('a').provider.listCalls).toBe(reads);

    setHealth(PRIMARY, 'down');
    r.trigger('primary down');
    await vi.waitFor(async () => { expect(await served('a')).toEqual([SECONDARY]); });
    expect(await served('a', WWW)).toEqual(['203.0.113.99']);
    expect(zoneStatus(r, 'a').drift.detected).toBe(1);
    expect(drifts).toEqual([{ zone: ZONE, provider: 'a', records: 1, repaired: false }]);
  });

  it('with drift: report, tells once that the drift is gone when someone puts the record back', async () => {
    const r = start('report');
    await settled(r, 'a');
    const original = await served('a', WWW);
    if (original === undefined) throw new Error('www not written yet');
    await tamper('a');
    r.checkNow(false);
    await vi.waitFor(() => { expect(zoneStatus(r, 'a')).toMatchObject({ state: 'drift-reported', drift: { current: [`${WWW} A`] } }); });
    expect(driftsCleared).toEqual([]);

    await tamper('a', original);
    clock.advance(1000);
    r.checkNow(true);
    await vi.waitFor(() => { expect(zoneStatus(r, 'a')).toMatchObject({ state: 'in-sync', drift: { detected: 1, current: [] } }); });
    expect(driftsCleared).toEqual([{ zone: ZONE, provider: 'a' }]);
    expect(drifts).toEqual([{ zone: ZONE, provider: 'a', records: 1, repaired: false }]);
    // In sync from then on: later passes tell nothing more.
    const before = passesOf('a');
    r.checkNow(true);
    await vi.waitFor(() => { expect(passesOf('a')).toBeGreaterThan(before); });
    expect(driftsCleared).toHaveLength(1);
  });

  /** Changes www at one provider, as someone in its web console would. */
  async function tamper(name: string, values: readonly string[] = ['203.0.113.99']): Promise<void> {
    const hand = lab(name).hand;
    const before = (await hand.listRecords(ZONE, AbortSignal.timeout(5000))).find((rs) => rs.name === WWW && rs.type === 'A');
    if (before === undefined) throw new Error('www not written yet');
    await hand.applyChanges({ zone: ZONE, creates: [], updates: [{ before, after: { ...before, values: [...values] } }], deletes: [] }, AbortSignal.timeout(5000));
  }
});
