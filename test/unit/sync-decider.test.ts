import { describe, expect, it } from 'vitest';
import { endpointId } from '../../src/domain/health.js';
import type { EndpointHealth, HealthState } from '../../src/domain/health.js';
import type { RecordSet } from '../../src/domain/record.js';
import type { ZoneSpec } from '../../src/domain/zone.js';
import { ManualClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/logger.js';
import { ZoneDecider } from '../../src/sync/decider.js';
import { failoverSpec } from '../helpers/failover-spec.js';

const ZONE = 'example.com.';
const API = `api.${ZONE}`;
const PRIMARY = '192.0.2.10';
const SECONDARY = '198.51.100.20';

const zone: ZoneSpec = {
  name: ZONE,
  providers: ['a', 'b'],
  nameservers: 'sync',
  nameserverTtl: 3600,
  unmanaged: 'keep',
  drift: 'repair',
  maxChangeShare: 0.3,
  records: [
    failoverSpec(API, { primary: [PRIMARY], secondary: [SECONDARY] }),
  ],
};

function setup(): { decider: ZoneDecider; clock: ManualClock; setHealth: (v: string, s: HealthState) => void; targets: string[] } {
  const clock = new ManualClock(1_000_000);
  const health = new Map<string, EndpointHealth>();
  const targets: string[] = [];
  const decider = new ZoneDecider({ zones: [zone], clock, logger: silentLogger(), health: () => health, overrides: () => [], healthPaused: () => false, onNewTarget: (z) => targets.push(z) });
  const setHealth = (value: string, state: HealthState): void => {
    const id = endpointId(API, 'A', value);
    health.set(id, { endpointId: id, state, since: clock.now(), reason: 'test', insufficientVantage: false, regions: [] });
  };
  return { decider, clock, setHealth, targets };
}

const apiAt = (value: string): RecordSet => ({ name: API, type: 'A', ttl: 30, values: [value] });
const valuesOf = (d: ZoneDecider): readonly string[] | undefined => d.target(ZONE)?.desired.records.find((r) => r.name === API)?.values;
const apexNs = (d: ZoneDecider): readonly string[] | undefined => d.target(ZONE)?.desired.records.find((r) => r.name === ZONE && r.type === 'NS')?.values;

describe('ZoneDecider', () => {
  it('decides nothing before a provider of the zone has been read', () => {
    const { decider, targets } = setup();
    expect(decider.decide()).toEqual([]);
    expect(decider.target(ZONE)).toBeUndefined();
    expect(targets).toEqual([]);
  });

  it('with unknown health keeps what the first provider in zone order serves, whichever is read first', () => {
    const { decider } = setup();
    // Only b's copy is known at the first decision, so b's value is what is kept.
    decider.observe(zone, 'b', [apiAt(SECONDARY)], ['ns.b.example.net.']);
    expect(valuesOf(decider)).toEqual([SECONDARY]);
    // A later read of a does not change the decision: what is served is now the decider's own.
    decider.observe(zone, 'a', [apiAt(PRIMARY)], ['ns.a.example.net.']);
    expect(valuesOf(decider)).toEqual([SECONDARY]);
  });

  it('plans the apex NS only once every provider\'s own servers are known, and bumps the version then', () => {
    const { decider, targets } = setup();
    decider.observe(zone, 'a', [], ['ns.a.example.net.']);
    expect(apexNs(decider)).toBeUndefined();
    expect(decider.target(ZONE)?.desired.managed.has(`${ZONE} NS`)).toBe(false);
    const v1 = decider.target(ZONE)?.version;
    decider.observe(zone, 'b', [], undefined);
    expect(apexNs(decider)).toBeUndefined();
    decider.observe(zone, 'b', [], ['ns.b.example.net.']);
    expect(apexNs(decider)).toEqual(['ns.a.example.net.', 'ns.b.example.net.']);
    expect(decider.target(ZONE)?.version).toBe((v1 ?? 0) + 1);
    expect(targets).toEqual([ZONE, ZONE]);
  });

  it.each([
    { name: 'health unchanged: same version, no new target', change: null, values: [PRIMARY], bumped: false },
    { name: 'primary down: secondary, new version', change: 'down' as const, values: [SECONDARY], bumped: true },
  ])('$name', ({ change, values, bumped }) => {
    const { decider, setHealth, targets } = setup();
    setHealth(PRIMARY, 'up');
    setHealth(SECONDARY, 'up');
    decider.observe(zone, 'a', [], ['ns.a.example.net.']);
    const before = decider.target(ZONE)?.version ?? 0;
    targets.length = 0;
    if (change !== null) setHealth(PRIMARY, change);
    expect(decider.decide()).toEqual(bumped ? [ZONE] : []);
    expect(valuesOf(decider)).toEqual(values);
    expect(decider.target(ZONE)?.version).toBe(bumped ? before + 1 : before);
    expect(targets).toEqual(bumped ? [ZONE] : []);
  });

  it('reports each failover record with what it serves and since when', () => {
    const { decider, clock, setHealth } = setup();
    setHealth(PRIMARY, 'up');
    setHealth(SECONDARY, 'up');
    decider.observe(zone, 'a', [apiAt(PRIMARY)], ['ns.a.example.net.']);
    clock.advance(5000);
    setHealth(PRIMARY, 'down');
    decider.decide();
    expect(decider.records()).toEqual([
      expect.objectContaining({ zone: ZONE, name: API, type: 'A', pool: 'secondary', values: [SECONDARY], cause: 'health', since: clock.now() }),
    ]);
  });
});
