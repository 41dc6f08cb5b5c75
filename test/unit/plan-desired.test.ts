import { describe, expect, it } from 'vitest';
import { endpointId } from '../../src/domain/health.js';
import type { EndpointHealth, HealthState } from '../../src/domain/health.js';
import type { Override } from '../../src/domain/override.js';
import { recordKey } from '../../src/domain/record.js';
import type { RecordType } from '../../src/domain/record.js';
import type { FailoverRecordSpec, WhenAllDown, ZoneSpec } from '../../src/domain/zone.js';
import { desiredZone } from '../../src/plan/desired.js';
import { ManualClock } from '../../src/lib/clock.js';

const ZONE = 'example.com.';
const API = 'api.example.com.';
const clock = new ManualClock(1_000_000_000);

function failoverRecord(opts: { type?: RecordType; whenAllDown?: WhenAllDown; holdDownMs?: number; maxWritesPerHour?: number; pools?: [string, string[]][] } = {}): FailoverRecordSpec {
  const pools = opts.pools ?? [
    ['primary', ['192.0.2.10', '192.0.2.11']],
    ['secondary', ['198.51.100.20']],
  ];
  return {
    kind: 'failover',
    name: API,
    type: opts.type ?? 'A',
    ttl: 30,
    failover: {
      check: { protocol: 'tcp', port: 443, intervalMs: 5000, timeoutMs: 2000, fall: 3, rise: 3 },
      pools: pools.map(([name, values]) => ({ name, values })),
      whenAllDown: opts.whenAllDown ?? 'keep-last',
      holdDownMs: opts.holdDownMs ?? 0,
      maxWritesPerHour: opts.maxWritesPerHour ?? 12,
    },
  };
}

function zoneOf(record: FailoverRecordSpec): ZoneSpec {
  return {
    name: ZONE,
    providers: ['a', 'b'],
    nameservers: 'manual',
    nameserverTtl: 3600,
    unmanaged: 'keep',
    drift: 'repair',
    maxChangeShare: 0.3,
    records: [{ kind: 'static', name: `www.${ZONE}`, type: 'CNAME', ttl: 300, values: ['edge.example.net.'] }, record],
  };
}

/** Health of each value; values not listed have no health entry (unknown). */
function health(record: FailoverRecordSpec, states: Record<string, HealthState | { state: HealthState; recoveredAt: number }>): Map<string, EndpointHealth> {
  const map = new Map<string, EndpointHealth>();
  for (const [value, s] of Object.entries(states)) {
    const id = endpointId(record.name, record.type, value);
    const { state, recoveredAt } = typeof s === 'string' ? { state: s, recoveredAt: undefined } : s;
    map.set(id, {
      endpointId: id,
      state,
      since: 0,
      ...(recoveredAt === undefined ? {} : { recoveredAt }),
      reason: 'test',
      insufficientVantage: false,
      regions: [],
    });
  }
  return map;
}

function override(action: Override['action'], opts: { createdAt?: number; expiresAt?: number } = {}): Override {
  return {
    id: `ov-${action.kind}`,
    zone: ZONE,
    name: API,
    type: 'A',
    action,
    actor: 'oncall',
    token: 'api',
    forced: false,
    origin: 'us-east',
    reason: 'test',
    createdAt: opts.createdAt ?? clock.now() - 1000,
    expiresAt: opts.expiresAt ?? clock.now() + 3_600_000,
  };
}

interface Case {
  readonly name: string;
  readonly record?: FailoverRecordSpec;
  readonly states: Record<string, HealthState | { state: HealthState; recoveredAt: number }>;
  readonly lastServed?: string[];
  readonly overrides?: Override[];
  readonly recentWrites?: number[];
  readonly expectValues: string[] | null;
  readonly expectCause: string;
  readonly expectPool?: string | null;
  readonly reasonIncludes?: string;
  readonly expectSpendsBudget?: boolean;
}

const now = clock.now();

const cases: Case[] = [
  { name: 'primary all up serves primary (a first creation spends no budget)', states: { '192.0.2.10': 'up', '192.0.2.11': 'up', '198.51.100.20': 'up' }, expectValues: ['192.0.2.10', '192.0.2.11'], expectCause: 'health', expectPool: 'primary', expectSpendsBudget: false },
  { name: 'one primary value down serves the up one', states: { '192.0.2.10': 'down', '192.0.2.11': 'up', '198.51.100.20': 'up' }, expectValues: ['192.0.2.11'], expectCause: 'health', expectPool: 'primary' },
  { name: 'primary down fails over to secondary (pool order)', states: { '192.0.2.10': 'down', '192.0.2.11': 'down', '198.51.100.20': 'up' }, lastServed: ['192.0.2.10', '192.0.2.11'], expectValues: ['198.51.100.20'], expectCause: 'health', expectPool: 'secondary', reasonIncludes: 'pool primary out of service', expectSpendsBudget: true },
  { name: 'secondary first in order wins when both up', record: failoverRecord({ pools: [['secondary', ['198.51.100.20']], ['primary', ['192.0.2.10']]] }), states: { '192.0.2.10': 'up', '198.51.100.20': 'up' }, expectValues: ['198.51.100.20'], expectCause: 'health', expectPool: 'secondary' },
  { name: 'all down, keep-last keeps what is served', states: { '192.0.2.10': 'down', '192.0.2.11': 'down', '198.51.100.20': 'down' }, lastServed: ['198.51.100.20'], expectValues: ['198.51.100.20'], expectCause: 'all-down', reasonIncludes: 'keep-last' },
  { name: 'all down, keep-last with nothing served serves the first pool (never empty)', states: { '192.0.2.10': 'down', '192.0.2.11': 'down', '198.51.100.20': 'down' }, expectValues: ['192.0.2.10', '192.0.2.11'], expectCause: 'all-down', expectPool: 'primary' },
  { name: 'all down, all serves every value', record: failoverRecord({ whenAllDown: 'all' }), states: { '192.0.2.10': 'down', '192.0.2.11': 'down', '198.51.100.20': 'down' }, lastServed: ['198.51.100.20'], expectValues: ['192.0.2.10', '192.0.2.11', '198.51.100.20'], expectCause: 'all-down' },
  { name: 'all down, fail-closed removes the record', record: failoverRecord({ whenAllDown: 'fail-closed' }), states: { '192.0.2.10': 'down', '192.0.2.11': 'down', '198.51.100.20': 'down' }, lastServed: ['198.51.100.20'], expectValues: null, expectCause: 'all-down', reasonIncludes: 'fail-closed' },
  { name: 'unknown health keeps what is served (no move on missing data)', states: { '198.51.100.20': 'up' }, lastServed: ['198.51.100.20'], expectValues: ['198.51.100.20'], expectCause: 'unknown-health' },
  { name: 'unknown health with nothing served serves that pool', states: {}, expectValues: ['192.0.2.10', '192.0.2.11'], expectCause: 'unknown-health', expectPool: 'primary' },
  { name: 'recovered primary still in hold-down stays on secondary', record: failoverRecord({ holdDownMs: 60_000 }), states: { '192.0.2.10': { state: 'up', recoveredAt: now - 10_000 }, '192.0.2.11': 'down', '198.51.100.20': 'up' }, lastServed: ['198.51.100.20'], expectValues: ['198.51.100.20'], expectCause: 'health', reasonIncludes: 'hold-down' },
  { name: 'recovered primary past hold-down fails back', record: failoverRecord({ holdDownMs: 60_000 }), states: { '192.0.2.10': { state: 'up', recoveredAt: now - 60_000 }, '192.0.2.11': 'down', '198.51.100.20': 'up' }, lastServed: ['198.51.100.20'], expectValues: ['192.0.2.10'], expectCause: 'health', expectPool: 'primary' },
  { name: 'write budget spent keeps what is served', record: failoverRecord({ maxWritesPerHour: 2 }), states: { '192.0.2.10': 'down', '192.0.2.11': 'down', '198.51.100.20': 'up' }, lastServed: ['192.0.2.10', '192.0.2.11'], recentWrites: [now - 10_000, now - 20_000], expectValues: ['192.0.2.10', '192.0.2.11'], expectCause: 'write-budget', reasonIncludes: '2 health-driven changes' },
  { name: 'writes older than an hour do not count against the budget', record: failoverRecord({ maxWritesPerHour: 2 }), states: { '192.0.2.10': 'down', '192.0.2.11': 'down', '198.51.100.20': 'up' }, lastServed: ['192.0.2.10', '192.0.2.11'], recentWrites: [now - 3_600_000, now - 20_000], expectValues: ['198.51.100.20'], expectCause: 'health' },
  { name: 'override forces a pool against health', states: { '192.0.2.10': 'up', '192.0.2.11': 'up', '198.51.100.20': 'up' }, overrides: [override({ kind: 'force-pool', pool: 'secondary' })], expectValues: ['198.51.100.20'], expectCause: 'override', expectPool: 'secondary', reasonIncludes: 'by oncall' },
  { name: 'override is not limited by the write budget', record: failoverRecord({ maxWritesPerHour: 1 }), states: { '192.0.2.10': 'up', '192.0.2.11': 'up', '198.51.100.20': 'up' }, lastServed: ['192.0.2.10', '192.0.2.11'], recentWrites: [now - 1000], overrides: [override({ kind: 'force-pool', pool: 'secondary' })], expectValues: ['198.51.100.20'], expectCause: 'override', expectSpendsBudget: false },
  { name: 'expired override is ignored', states: { '192.0.2.10': 'up', '192.0.2.11': 'up', '198.51.100.20': 'up' }, overrides: [override({ kind: 'force-pool', pool: 'secondary' }, { expiresAt: now })], expectValues: ['192.0.2.10', '192.0.2.11'], expectCause: 'health' },
  { name: 'drained value is not served', states: { '192.0.2.10': 'up', '192.0.2.11': 'up', '198.51.100.20': 'up' }, overrides: [override({ kind: 'drain', value: '192.0.2.10' })], expectValues: ['192.0.2.11'], expectCause: 'health' },
  { name: 'draining a whole pool fails over', states: { '192.0.2.10': 'up', '192.0.2.11': 'up', '198.51.100.20': 'up' }, overrides: [override({ kind: 'drain', value: '192.0.2.10' }), { ...override({ kind: 'drain', value: '192.0.2.11' }), id: 'ov2' }], expectValues: ['198.51.100.20'], expectCause: 'health', reasonIncludes: 'all drained' },
  { name: 'CNAME serves exactly one host', record: failoverRecord({ type: 'CNAME', pools: [['cdn-a', ['a.cdn.example.net.']], ['cdn-b', ['b.cdn.example.net.']]] }), states: { 'a.cdn.example.net.': 'down', 'b.cdn.example.net.': 'up' }, lastServed: ['a.cdn.example.net.'], expectValues: ['b.cdn.example.net.'], expectCause: 'health', expectPool: 'cdn-b' },
];

describe('desiredZone: failover decisions', () => {
  it.each(cases)('$name', (c) => {
    const record = c.record ?? failoverRecord();
    const key = recordKey(record.name, record.type);
    const result = desiredZone({
      zone: zoneOf(record),
      health: health(record, c.states),
      overrides: c.overrides ?? [],
      lastServed: new Map(c.lastServed === undefined ? [] : [[key, c.lastServed]]),
      recentWrites: new Map(c.recentWrites === undefined ? [] : [[key, c.recentWrites]]),
      now: clock.now(),
    });
    const decision = result.decisions.find((d) => d.key === key);
    expect(decision?.cause).toBe(c.expectCause);
    expect(decision?.values === null ? null : [...(decision?.values ?? [])].sort()).toEqual(c.expectValues);
    if (c.expectPool !== undefined) expect(decision?.pool).toBe(c.expectPool);
    if (c.reasonIncludes !== undefined) expect(decision?.reason).toContain(c.reasonIncludes);
    if (c.expectSpendsBudget !== undefined) expect(decision?.spendsBudget).toBe(c.expectSpendsBudget);
    const served = result.records.find((r) => r.name === record.name && r.type === record.type);
    if (c.expectValues === null) {
      expect(served).toBeUndefined();
      expect(result.managed.has(key)).toBe(true);
    } else {
      expect(served?.values).toEqual([...c.expectValues].sort());
      expect(served?.values.length).toBeGreaterThan(0);
    }
  });
});

describe('desiredZone: never an empty record set', () => {
  const states: HealthState[] = ['up', 'down', 'unknown'];
  const rules: WhenAllDown[] = ['keep-last', 'all'];
  const combos = rules.flatMap((rule) => states.flatMap((a) => states.flatMap((b) => states.map((c) => ({ rule, a, b, c })))));
  it.each(combos)('whenAllDown $rule with health $a/$b/$c serves something', ({ rule, a, b, c }) => {
    const record = failoverRecord({ whenAllDown: rule });
    const st: Record<string, HealthState> = {};
    if (a !== 'unknown') st['192.0.2.10'] = a;
    if (b !== 'unknown') st['192.0.2.11'] = b;
    if (c !== 'unknown') st['198.51.100.20'] = c;
    for (const lastServed of [undefined, ['192.0.2.10']]) {
      const result = desiredZone({
        zone: zoneOf(record),
        health: health(record, st),
        overrides: [],
        lastServed: new Map(lastServed === undefined ? [] : [[recordKey(API, 'A'), lastServed]]),
        recentWrites: new Map(),
        now: clock.now(),
      });
      for (const rs of result.records) expect(rs.values.length).toBeGreaterThan(0);
      expect(result.records.some((r) => r.name === API)).toBe(true);
    }
  });
});

describe('desiredZone: static records and apex NS', () => {
  it('serves static records as declared, sorted, and the apex NS union when synced', () => {
    const record = failoverRecord();
    const zone: ZoneSpec = { ...zoneOf(record), nameservers: 'sync' };
    const result = desiredZone({
      zone,
      health: health(record, { '192.0.2.10': 'up', '192.0.2.11': 'up' }),
      overrides: [],
      lastServed: new Map(),
      recentWrites: new Map(),
      apexNameservers: ['NS2.Provider-b.net', 'ns1.provider-a.net.'],
      now: clock.now(),
    });
    expect(result.records.map((r) => `${r.name} ${r.type} ${r.values.join(',')}`)).toEqual([
      'api.example.com. A 192.0.2.10,192.0.2.11',
      'example.com. NS ns1.provider-a.net.,ns2.provider-b.net.',
      'www.example.com. CNAME edge.example.net.',
    ]);
    expect(result.managed.has('example.com. NS')).toBe(true);
  });

  it('leaves the apex NS unmanaged when nameservers are manual', () => {
    const record = failoverRecord();
    const result = desiredZone({ zone: zoneOf(record), health: new Map(), overrides: [], lastServed: new Map(), recentWrites: new Map(), apexNameservers: ['ns1.a.net.'], now: clock.now() });
    expect(result.managed.has('example.com. NS')).toBe(false);
  });
});
