import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { endpointId } from '../../src/domain/health.js';
import type { EndpointHealth, HealthState } from '../../src/domain/health.js';
import type { RecordSet } from '../../src/domain/record.js';
import type { DriftPolicy, ZoneSpec } from '../../src/domain/zone.js';
import { ManualClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/logger.js';
import { Reconciler } from '../../src/sync/reconciler.js';
import type { ProviderZoneStatus, SyncObserver } from '../../src/sync/status.js';
import { failoverSpec } from '../helpers/failover-spec.js';
import { MemoryProvider } from '../helpers/memory-provider.js';

/**
 * The reconciler on a manual clock over two providers held in memory, whose name servers answer
 * what each provider holds: decisions reach every provider, one provider's failure never holds
 * back the other, drift is found over DNS and repaired (or only reported), and a comparison that
 * DNS settles reads no API. Each provider against its real server is the contract tests' job.
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

describe('Reconciler on a manual clock', () => {
  let clock: ManualClock;
  let providers: Map<string, MemoryProvider>;
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
  const provider = (name: string): MemoryProvider => {
    const found = providers.get(name);
    if (found === undefined) throw new Error(`no provider ${name}`);
    return found;
  };
  const held = (name: string, record = API): readonly string[] | undefined => provider(name).held(ZONE).find((r) => r.name === record && r.type === 'A')?.values;
  /** Changes www at one provider, as someone in its web console would. */
  const tamper = (name: string, values: readonly string[] = ['203.0.113.99']): void => {
    provider(name).edit(ZONE, { name: WWW, type: 'A', ttl: 300, values: [...values] });
  };

  async function start(drift: DriftPolicy): Promise<Reconciler> {
    const reconciler = new Reconciler({
      zones: [zoneSpec(drift)],
      providers,
      clock,
      logger: silentLogger(),
      health: () => health,
      overrides: () => [],
      writeMode: () => ({ kind: 'all' }),
      sync: { intervalMs: HOUR, readIntervalMs: 10 * HOUR, visibleTimeoutMs: 30_000 },
      // Each name server answers for the provider whose name it carries.
      askServers: (hosts, expectations) => Promise.resolve(hosts.flatMap((host) => provider(host.split('.')[1] ?? '').askServers([host], expectations, ZONE))),
      observer,
      passTimeoutMs: 10_000,
    });
    running = reconciler.run(stop.signal);
    await clock.elapse(1_000);
    return reconciler;
  }
  const zoneStatus = (r: Reconciler, name: string): ProviderZoneStatus => {
    const zone = r.status().providers.find((p) => p.provider === name)?.zones[0];
    if (zone === undefined) throw new Error(`no status for ${name}`);
    return zone;
  };
  const passesOf = (name: string): number => passes.filter((p) => p.provider === name).length;

  beforeEach(() => {
    clock = new ManualClock(1_000_000);
    providers = new Map(['a', 'b'].map((name) => [name, new MemoryProvider(name)]));
    passes.length = 0;
    checks.length = 0;
    drifts.length = 0;
    driftsCleared.length = 0;
    health.clear();
    stop = new AbortController();
    setHealth(PRIMARY, 'up');
    setHealth(SECONDARY, 'up');
  });
  afterEach(async () => {
    stop.abort();
    await running;
  });

  it('brings both providers to one state, apex NS included, and records the time to visible', async () => {
    const r = await start('repair');
    for (const name of ['a', 'b']) {
      expect(held(name)).toEqual([PRIMARY]);
      expect(held(name, WWW)).toEqual(['192.0.2.80']);
      const ns: RecordSet | undefined = provider(name).held(ZONE).find((rs) => rs.name === ZONE && rs.type === 'NS');
      // The apex NS is the union of both providers' own servers (values are held sorted).
      expect(ns?.values).toEqual(['ns1.a.example.net.', 'ns1.b.example.net.', 'ns2.a.example.net.', 'ns2.b.example.net.']);
      const z = zoneStatus(r, name);
      expect(z).toMatchObject({ state: 'in-sync', lagMs: 0 });
      expect(z.lastWrite?.visible).toBe('visible');
      expect(z.nextPassAt).toBeGreaterThan(clock.now());
    }
    expect(r.status().records).toEqual([expect.objectContaining({ name: API, pool: 'primary', values: [PRIMARY] })]);
  });

  it('fails over at a healthy provider while the other is down, and repairs the other once it is back', async () => {
    const r = await start('repair');
    provider('b').down = true;
    setHealth(PRIMARY, 'down');
    r.healthChanged([endpointId(API, 'A', PRIMARY)]);
    await clock.elapse(0);
    expect(held('a')).toEqual([SECONDARY]);
    const b = zoneStatus(r, 'b');
    expect(b.state).toBe('lagging');
    expect(b.lastError?.code).toBe('DQ_PROVIDER_UNAVAILABLE');
    expect(b.lastError?.message).toContain('503');
    expect(b.consecutiveFailures).toBeGreaterThanOrEqual(1);
    expect(held('b')).toEqual([PRIMARY]);
    expect(zoneStatus(r, 'a').state).toBe('in-sync');

    // Still down through a few retries; then back, and the next retry (within its backoff) repairs it.
    await clock.elapse(5_000);
    expect(held('b')).toEqual([PRIMARY]);
    provider('b').down = false;
    await clock.elapse(60_000);
    expect(held('b')).toEqual([SECONDARY]);
    expect(zoneStatus(r, 'b')).toMatchObject({ state: 'in-sync', lastError: null, consecutiveFailures: 0, lagMs: 0 });
  });

  it('keeps a second failover within the hour to the write budget', async () => {
    const r = await start('repair');
    setHealth(PRIMARY, 'down');
    r.healthChanged([endpointId(API, 'A', PRIMARY)]);
    await clock.elapse(0);
    expect(held('a')).toEqual([SECONDARY]);

    await clock.elapse(60_000);
    setHealth(PRIMARY, 'up');
    r.healthChanged([endpointId(API, 'A', PRIMARY)]);
    await clock.elapse(0);
    expect(r.status().records[0]).toMatchObject({ cause: 'write-budget', values: [SECONDARY] });
    expect(held('a')).toEqual([SECONDARY]);

    // The budget renews an hour after the first move; the 1 s beat notices without a trigger.
    await clock.elapse(HOUR - 60_000 + 1_000);
    expect(held('a')).toEqual([PRIMARY]);
    expect(held('b')).toEqual([PRIMARY]);
  });

  it('compares over DNS without reading the API while the servers agree', async () => {
    const r = await start('repair');
    const reads = provider('a').calls.list;
    const before = passesOf('a');
    r.checkNow(false);
    await clock.elapse(0);
    expect(passesOf('a')).toBeGreaterThan(before);
    expect(provider('a').calls.list).toBe(reads);
    expect(checks.filter((c) => c.provider === 'a' && c.via === 'dns').at(-1)).toEqual(expect.objectContaining({ differs: false }));
  });

  it('finds a change made behind its back over DNS and writes the desired state back', async () => {
    const r = await start('repair');
    tamper('a');
    r.checkNow(false);
    await clock.elapse(0);
    expect(held('a', WWW)).toEqual(['192.0.2.80']);
    expect(zoneStatus(r, 'a')).toMatchObject({ state: 'in-sync', drift: { detected: 1, repaired: 1, current: [] } });
    expect(checks).toContainEqual(expect.objectContaining({ provider: 'a', via: 'dns', differs: true }));
    expect(drifts).toEqual([{ zone: ZONE, provider: 'a', records: 1, repaired: true }]);
    // The other provider was neither touched nor read for it.
    expect(zoneStatus(r, 'b').drift.detected).toBe(0);
  });

  it('counts drift once when its repair fails and is retried', async () => {
    const r = await start('repair');
    tamper('a');
    provider('a').failWrites = 2;
    r.checkNow(true);
    await clock.elapse(0);
    expect(zoneStatus(r, 'a')).toMatchObject({ state: 'lagging', consecutiveFailures: 1, drift: { detected: 1, repaired: 0 } });
    // Backoff 1 s, then 2 s: the third try succeeds.
    await clock.elapse(1_000);
    expect(zoneStatus(r, 'a').consecutiveFailures).toBe(2);
    await clock.elapse(2_000);
    expect(held('a', WWW)).toEqual(['192.0.2.80']);
    expect(zoneStatus(r, 'a')).toMatchObject({ state: 'in-sync', drift: { detected: 1, repaired: 1, current: [] } });
    expect(drifts).toEqual([{ zone: ZONE, provider: 'a', records: 1, repaired: true }]);
    // Repaired drift was over when it was told: there is nothing to clear.
    expect(driftsCleared).toEqual([]);
  });

  it('with drift: report, reports the change once and leaves it, while failover still writes', async () => {
    const r = await start('report');
    tamper('a');
    r.checkNow(false);
    await clock.elapse(0);
    expect(zoneStatus(r, 'a')).toMatchObject({ state: 'drift-reported', drift: { detected: 1, repaired: 0, current: [`${WWW} A`] } });
    expect(held('a', WWW)).toEqual(['203.0.113.99']);

    // The known drift is not asked again over DNS, so a quiet check reads no API.
    const reads = provider('a').calls.list;
    const before = passesOf('a');
    r.checkNow(false);
    await clock.elapse(0);
    expect(passesOf('a')).toBeGreaterThan(before);
    expect(provider('a').calls.list).toBe(reads);

    setHealth(PRIMARY, 'down');
    r.healthChanged([endpointId(API, 'A', PRIMARY)]);
    await clock.elapse(0);
    expect(held('a')).toEqual([SECONDARY]);
    expect(held('a', WWW)).toEqual(['203.0.113.99']);
    expect(zoneStatus(r, 'a').drift.detected).toBe(1);
    expect(drifts).toEqual([{ zone: ZONE, provider: 'a', records: 1, repaired: false }]);
  });

  it('with drift: report, tells once that the drift is gone when someone puts the record back', async () => {
    const r = await start('report');
    tamper('a');
    r.checkNow(false);
    await clock.elapse(0);
    expect(zoneStatus(r, 'a')).toMatchObject({ state: 'drift-reported', drift: { current: [`${WWW} A`] } });
    expect(driftsCleared).toEqual([]);

    tamper('a', ['192.0.2.80']);
    await clock.elapse(1_000);
    r.checkNow(true);
    await clock.elapse(0);
    expect(zoneStatus(r, 'a')).toMatchObject({ state: 'in-sync', drift: { detected: 1, current: [] } });
    expect(driftsCleared).toEqual([{ zone: ZONE, provider: 'a' }]);
    expect(drifts).toEqual([{ zone: ZONE, provider: 'a', records: 1, repaired: false }]);
    // In sync from then on: later passes tell nothing more.
    const before = passesOf('a');
    r.checkNow(true);
    await clock.elapse(0);
    expect(passesOf('a')).toBeGreaterThan(before);
    expect(driftsCleared).toHaveLength(1);
  });
});
