import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { endpointId } from '../../src/domain/health.js';
import type { EndpointHealth, HealthState } from '../../src/domain/health.js';
import type { RecordSet } from '../../src/domain/record.js';
import type { RecordSpec, ZoneSpec } from '../../src/domain/zone.js';
import { ManualClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/logger.js';
import { Reconciler } from '../../src/sync/reconciler.js';
import type { ProviderZoneStatus } from '../../src/sync/status.js';
import { quietObserver } from '../../src/sync/status.js';
import { failoverSpec } from '../helpers/failover-spec.js';
import { MemoryProvider } from '../helpers/memory-provider.js';

/**
 * Issue 16, defect 1: a guardrail refusal must never hold back a failover. Someone adds a foreign
 * name server to the apex NS at one provider (by console or API); drift repair takes it out
 * without --force, since it is none of the providers' own. Removing a provider's OWN name server
 * is still refused, but only that change is held back: the failover in the same pass reaches
 * both providers. Two providers held in memory, the reconciler on a manual clock.
 */
const ZONE = 'example.com.';
const API = `api.${ZONE}`;
const WWW = `www.${ZONE}`;
const PRIMARY = '192.0.2.10';
const SECONDARY = '198.51.100.20';
const HOUR = 3_600_000;
const FOREIGN = 'ns.evil.example.';
const A_HOSTS = ['ns1.a.example.net.', 'ns2.a.example.net.'];
const B_HOSTS = ['ns1.b.example.net.', 'ns2.b.example.net.'];
const UNION = [...A_HOSTS, ...B_HOSTS].sort();

function zoneSpec(nameservers: ZoneSpec['nameservers'], extra: readonly RecordSpec[] = []): ZoneSpec {
  return {
    name: ZONE,
    providers: ['a', 'b'],
    nameservers,
    nameserverTtl: 3600,
    unmanaged: 'keep',
    drift: 'repair',
    maxChangeShare: 0.3,
    records: [{ kind: 'static', name: WWW, type: 'A', ttl: 300, values: ['192.0.2.80'] }, failoverSpec(API, { primary: [PRIMARY], secondary: [SECONDARY] }), ...extra],
  };
}

describe('guardrail refusals never hold back a failover', () => {
  let clock: ManualClock;
  let providers: Map<string, MemoryProvider>;
  const health = new Map<string, EndpointHealth>();
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
  const held = (name: string): readonly string[] | undefined => provider(name).held(ZONE).find((r) => r.name === API && r.type === 'A')?.values;
  const apexNs = (name: string): readonly string[] | undefined => provider(name).held(ZONE).find((r) => r.name === ZONE && r.type === 'NS')?.values;
  const setApexNs = (name: string, values: readonly string[]): void => {
    provider(name).edit(ZONE, { name: ZONE, type: 'NS', ttl: 3600, values: [...values].sort() } satisfies RecordSet);
  };
  const zoneStatus = (r: Reconciler, name: string): ProviderZoneStatus => {
    const zone = r.status().providers.find((p) => p.provider === name)?.zones[0];
    if (zone === undefined) throw new Error(`no status for ${name}`);
    return zone;
  };
  const primaryDown = async (r: Reconciler): Promise<void> => {
    setHealth(PRIMARY, 'down');
    r.healthChanged([endpointId(API, 'A', PRIMARY)]);
    await clock.elapse(0);
  };

  async function start(zone: ZoneSpec): Promise<Reconciler> {
    const reconciler = new Reconciler({
      zones: [zone],
      providers,
      clock,
      logger: silentLogger(),
      health: () => health,
      overrides: () => [],
      writeMode: () => ({ kind: 'all' }),
      sync: { intervalMs: 60_000, readIntervalMs: HOUR, visibleTimeoutMs: 30_000 },
      askServers: (hosts, expectations) => Promise.resolve(hosts.flatMap((host) => provider(host.split('.')[1] ?? '').askServers([host], expectations, ZONE))),
      observer: quietObserver,
      passTimeoutMs: 10_000,
    });
    running = reconciler.run(stop.signal);
    await clock.elapse(1_000);
    return reconciler;
  }

  beforeEach(() => {
    clock = new ManualClock(1_000_000);
    providers = new Map([
      ['a', new MemoryProvider('a', A_HOSTS)],
      ['b', new MemoryProvider('b', B_HOSTS)],
    ]);
    health.clear();
    stop = new AbortController();
    setHealth(PRIMARY, 'up');
    setHealth(SECONDARY, 'up');
  });
  afterEach(async () => {
    stop.abort();
    await running;
  });

  it('fails over at both providers while one carries a foreign apex NS entry, and takes the entry out without --force', async () => {
    const r = await start(zoneSpec('sync'));
    for (const name of ['a', 'b']) expect(zoneStatus(r, name)).toMatchObject({ state: 'in-sync' });
    setApexNs('b', [...UNION, FOREIGN]);

    await primaryDown(r);
    expect(held('a')).toEqual([SECONDARY]);
    expect(held('b')).toEqual([SECONDARY]);
    expect(apexNs('b')).toEqual(UNION);
    expect(apexNs('a')).toEqual(UNION);
    for (const name of ['a', 'b']) expect(zoneStatus(r, name)).toMatchObject({ state: 'in-sync', lagMs: 0, lastError: null, refused: [] });
  });

  it('finds a foreign entry by its drift check and writes the apex NS back; a later failover goes through', async () => {
    const r = await start(zoneSpec('sync'));
    setApexNs('b', [...UNION, FOREIGN]);
    r.checkNow(false);
    await clock.elapse(0);
    expect(apexNs('b')).toEqual(UNION);
    expect(zoneStatus(r, 'b')).toMatchObject({ state: 'in-sync', lastError: null, drift: { detected: 1, repaired: 1 }, refused: [] });

    await primaryDown(r);
    expect(held('a')).toEqual([SECONDARY]);
    expect(held('b')).toEqual([SECONDARY]);
  });

  it('refuses taking out a provider\'s own name server, and still applies the failover and the rest of the pass', async () => {
    // nameservers: manual, and the config's apex NS leaves out ns2.b, one of b's own servers.
    const declared = [...A_HOSTS, 'ns1.b.example.net.'];
    const zone = zoneSpec('manual', [{ kind: 'static', name: ZONE, type: 'NS', ttl: 3600, values: declared }]);
    for (const name of ['a', 'b']) {
      await provider(name).ensureZone(ZONE);
      setApexNs(name, UNION);
    }
    setApexNs('b', [...UNION, FOREIGN]);
    const r = await start(zone);
    // The rest of the first pass went out at once: www was created at both.
    for (const name of ['a', 'b']) expect(provider(name).held(ZONE).find((rs) => rs.name === WWW)?.values).toEqual(['192.0.2.80']);

    await primaryDown(r);
    expect(held('a')).toEqual([SECONDARY]);
    expect(held('b')).toEqual([SECONDARY]);
    // b's own ns2.b stays at both; the foreign entry at b, nobody's own server, is gone.
    expect(apexNs('a')).toEqual(UNION);
    expect(apexNs('b')).toEqual(UNION);
    for (const name of ['a', 'b']) {
      const z = zoneStatus(r, name);
      expect(z).toMatchObject({ state: 'refused', lagMs: 0, lastError: null });
      expect(z.refused).toEqual([expect.objectContaining({ rule: 'nameserver-removal', forceable: true, records: [`${ZONE} NS`] })]);
      expect(z.refused?.[0]?.message).toContain('ns2.b.example.net.');
      expect(z.refused?.[0]?.message).not.toContain(FOREIGN);
    }

    // Once nothing refused is asked for any more (here ns2.b taken out by hand at a), the
    // next read finds nothing to hold back and the refusal is gone.
    setApexNs('a', declared);
    r.checkNow(true);
    await clock.elapse(0);
    expect(zoneStatus(r, 'a')).toMatchObject({ state: 'in-sync', refused: [] });
    expect(zoneStatus(r, 'b').refused).toHaveLength(1);
  });
});
