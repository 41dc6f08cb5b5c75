import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { endpointId } from '../../src/domain/health.js';
import type { EndpointHealth, HealthState } from '../../src/domain/health.js';
import type { ZoneSpec } from '../../src/domain/zone.js';
import { ManualClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/logger.js';
import { ZoneDecider } from '../../src/sync/decider.js';
import { ProviderSyncer } from '../../src/sync/provider-syncer.js';
import type { ProviderZoneStatus, SyncObserver } from '../../src/sync/status.js';
import { failoverSpec } from '../helpers/failover-spec.js';
import { MemoryProvider } from '../helpers/memory-provider.js';

/**
 * One provider's syncer on a manual clock, against a provider held in memory whose name servers
 * answer what the test lets them: every step of its life (fresh start, DNS agrees, DNS differs,
 * write failures, a write that never shows) happens at a clock time the test names, with no real
 * waiting.
 */
const ZONE = 'example.com.';
const WWW = `www.${ZONE}`;
const API = `api.${ZONE}`;
const PRIMARY = '192.0.2.10';
const SECONDARY = '198.51.100.20';
const INTERVAL_MS = 60_000;
const VISIBLE_TIMEOUT_MS = 30_000;
const START = 1_000_000;

const zone: ZoneSpec = {
  name: ZONE,
  providers: ['a'],
  nameservers: 'sync',
  nameserverTtl: 3600,
  unmanaged: 'keep',
  drift: 'repair',
  maxChangeShare: 0.3,
  records: [{ kind: 'static', name: WWW, type: 'A', ttl: 300, values: ['192.0.2.80'] }, failoverSpec(API, { primary: [PRIMARY], secondary: [SECONDARY] })],
};

describe('ProviderSyncer on a manual clock', () => {
  let clock: ManualClock;
  let provider: MemoryProvider;
  let health: Map<string, EndpointHealth>;
  let decider: ZoneDecider;
  let syncer: ProviderSyncer;
  let stop: AbortController;
  let running: Promise<void>;
  const checks: { via: string; differs: boolean }[] = [];
  const passes: string[] = [];

  const setHealth = (value: string, state: HealthState): void => {
    const id = endpointId(API, 'A', value);
    health.set(id, { endpointId: id, state, since: clock.now(), reason: 'test', insufficientVantage: false, regions: [] });
  };
  const status = (): ProviderZoneStatus => {
    const [only] = syncer.status().zones;
    if (only === undefined) throw new Error('no zone status');
    return only;
  };
  const held = (name: string): readonly string[] | undefined => provider.held(ZONE).find((rs) => rs.name === name && rs.type === 'A')?.values;

  beforeEach(async () => {
    clock = new ManualClock(START);
    provider = new MemoryProvider('a');
    health = new Map();
    checks.length = 0;
    passes.length = 0;
    setHealth(PRIMARY, 'up');
    setHealth(SECONDARY, 'up');
    const observer: SyncObserver = {
      pass: (e) => passes.push(e.outcome),
      write: () => undefined,
      drift: () => undefined,
      driftCleared: () => undefined,
      visible: () => undefined,
      check: (e) => checks.push({ via: e.via, differs: e.differs }),
    };
    decider = new ZoneDecider({
      zones: [zone],
      clock,
      logger: silentLogger(),
      health: () => health,
      overrides: () => [],
      healthPaused: () => false,
      onNewTarget: (name) => { syncer.trigger(name); },
    });
    syncer = new ProviderSyncer({
      provider,
      zones: [zone],
      decider,
      askServers: (hosts, expectations) => Promise.resolve(provider.askServers(hosts, expectations, ZONE)),
      holdReason: () => undefined,
      clock,
      logger: silentLogger(),
      observer,
      intervalMs: INTERVAL_MS,
      readIntervalMs: 10 * INTERVAL_MS,
      visibleTimeoutMs: VISIBLE_TIMEOUT_MS,
      passTimeoutMs: 10_000,
    });
    stop = new AbortController();
    running = syncer.run(stop.signal);
    // Fresh start: the provider holds no zone yet.
    await clock.elapse(0);
  });

  afterEach(async () => {
    stop.abort();
    await running;
  });

  it('creates the zone on a fresh start, writes the desired records and sees them answered', () => {
    expect(provider.calls.ensure).toBe(1);
    expect(held(WWW)).toEqual(['192.0.2.80']);
    expect(held(API)).toEqual([PRIMARY]);
    expect(status()).toMatchObject({ state: 'in-sync', lagMs: 0, consecutiveFailures: 0, lastError: null, lastReadAt: START, nextPassAt: START + INTERVAL_MS });
    expect(status().lastWrite).toEqual({ at: START, changes: 2, timeToVisibleMs: 0, visible: 'visible' });
    expect(passes).toEqual(['applied']);
  });

  it('compares over DNS on the interval and reads no API while DNS agrees', async () => {
    const reads = provider.calls.list;
    await clock.elapse(INTERVAL_MS - 1);
    expect(status().lastDnsCheckAt).toBeNull();
    await clock.elapse(1);
    expect(status()).toMatchObject({ state: 'in-sync', lastDnsCheckAt: START + INTERVAL_MS, nextPassAt: START + 2 * INTERVAL_MS });
    expect(provider.calls.list).toBe(reads);
    expect(checks.at(-1)).toEqual({ via: 'dns', differs: false });
  });

  it('reads the API when DNS differs and writes back a record changed behind its back', async () => {
    provider.edit(ZONE, { name: WWW, type: 'A', ttl: 300, values: ['203.0.113.66'] });
    const reads = provider.calls.list;
    await clock.elapse(INTERVAL_MS);
    expect(checks.slice(-2)).toEqual([{ via: 'dns', differs: true }, { via: 'api', differs: true }]);
    expect(provider.calls.list).toBe(reads + 1);
    expect(held(WWW)).toEqual(['192.0.2.80']);
    expect(status()).toMatchObject({ state: 'in-sync', drift: { detected: 1, repaired: 1, current: [] } });
  });

  it('backs off 1 s, then 2 s, after failed writes, and succeeds on the next try', async () => {
    provider.failWrites = 2;
    setHealth(PRIMARY, 'down');
    expect(decider.healthChanged([endpointId(API, 'A', PRIMARY)])).toEqual([ZONE]);
    const failedAt = clock.now();
    await clock.elapse(0);
    expect(status()).toMatchObject({ state: 'lagging', consecutiveFailures: 1, nextPassAt: failedAt + 1000, lagMs: 0 });
    expect(status().lastError?.code).toBe('DQ_PROVIDER_UNAVAILABLE');
    const applies = provider.calls.apply;

    await clock.elapse(999);
    expect(provider.calls.apply).toBe(applies);
    await clock.elapse(1);
    expect(status()).toMatchObject({ state: 'lagging', consecutiveFailures: 2, nextPassAt: failedAt + 3000, lagMs: 1000 });
    expect(held(API)).toEqual([PRIMARY]);

    await clock.elapse(2000);
    expect(held(API)).toEqual([SECONDARY]);
    expect(status()).toMatchObject({ state: 'in-sync', consecutiveFailures: 0, lastError: null, lagMs: 0, lastSuccessAt: failedAt + 3000 });
    expect(passes.slice(-3)).toEqual(['failed', 'failed', 'applied']);
  });

  it('marks a write its name servers never answer as timed out after the visibility timeout', async () => {
    provider.publishOnWrite = false;
    setHealth(PRIMARY, 'down');
    decider.healthChanged([endpointId(API, 'A', PRIMARY)]);
    const wroteAt = clock.now();
    await clock.elapse(0);
    expect(held(API)).toEqual([SECONDARY]);
    expect(status().lastWrite).toEqual({ at: wroteAt, changes: 1, timeToVisibleMs: null, visible: 'pending' });

    await clock.elapse(VISIBLE_TIMEOUT_MS - 1);
    expect(status().lastWrite?.visible).toBe('pending');
    await clock.elapse(1);
    expect(status().lastWrite?.visible).toBe('timed-out');
    // The provider holds the target: the syncer stays in sync and asks again on its interval.
    expect(status().state).toBe('in-sync');
  });
});
