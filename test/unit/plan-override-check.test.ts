import { describe, expect, it } from 'vitest';
import { endpointId } from '../../src/domain/health.js';
import type { EndpointHealth, HealthState } from '../../src/domain/health.js';
import type { Override, OverrideAction } from '../../src/domain/override.js';
import { recordKey } from '../../src/domain/record.js';
import type { RecordType } from '../../src/domain/record.js';
import type { FailoverRecordSpec, WhenAllDown, ZoneSpec } from '../../src/domain/zone.js';
import { DnsQuorumError } from '../../src/lib/errors.js';
import { checkOverride, findFailoverRecord, resolveAction } from '../../src/plan/override-check.js';

const ZONE = 'example.com.';
const API = 'api.example.com.';
const NOW = 1_700_000_000_000;

function failoverRecord(opts: { name?: string; type?: RecordType; whenAllDown?: WhenAllDown; pools?: [string, string[]][] } = {}): FailoverRecordSpec {
  const pools = opts.pools ?? [
    ['primary', ['192.0.2.10', '192.0.2.11']],
    ['secondary', ['198.51.100.20', '198.51.100.21']],
  ];
  return {
    kind: 'failover',
    name: opts.name ?? API,
    type: opts.type ?? 'A',
    ttl: 30,
    failover: {
      check: { protocol: 'tcp', port: 443, intervalMs: 5000, timeoutMs: 2000, fall: 3, rise: 3 },
      pools: pools.map(([name, values]) => ({ name, values })),
      whenAllDown: opts.whenAllDown ?? 'keep-last',
      holdDownMs: 0,
      maxWritesPerHour: 12,
    },
  };
}

function zoneOf(...records: FailoverRecordSpec[]): ZoneSpec {
  return {
    name: ZONE,
    providers: ['a', 'b'],
    nameservers: 'manual',
    nameserverTtl: 3600,
    unmanaged: 'keep',
    drift: 'repair',
    maxChangeShare: 0.3,
    records: [{ kind: 'static', name: `www.${ZONE}`, type: 'CNAME', ttl: 300, values: ['edge.example.net.'] }, ...records],
  };
}

function health(record: FailoverRecordSpec, states: Record<string, HealthState>): Map<string, EndpointHealth> {
  const map = new Map<string, EndpointHealth>();
  for (const [value, state] of Object.entries(states)) {
    const id = endpointId(record.name, record.type, value);
    map.set(id, { endpointId: id, state, since: 0, reason: `${state} in 3 of 3 regions`, insufficientVantage: false, regions: [] });
  }
  return map;
}

let serial = 0;
function override(action: OverrideAction, opts: { record?: FailoverRecordSpec; createdAt?: number; expiresAt?: number } = {}): Override {
  serial += 1;
  const record = opts.record ?? failoverRecord();
  return {
    id: `o-${serial.toString(16).padStart(12, '0')}`,
    zone: ZONE,
    name: record.name,
    type: record.type,
    action,
    actor: 'alice',
    token: 'api',
    reason: 'maintenance',
    forced: false,
    origin: 'us-east',
    createdAt: opts.createdAt ?? NOW,
    expiresAt: opts.expiresAt ?? NOW + 3_600_000,
  };
}

const ALL_UP = { '192.0.2.10': 'up', '192.0.2.11': 'up', '198.51.100.20': 'up', '198.51.100.21': 'up' } as const;

interface CheckCase {
  readonly name: string;
  readonly record?: FailoverRecordSpec;
  readonly states: Record<string, HealthState>;
  readonly action: OverrideAction;
  readonly active?: (record: FailoverRecordSpec) => Override[];
  readonly lastServed?: string[];
  readonly ok: boolean;
  /** Every one must appear in the refusal reason, or (ok) in the joined warnings. */
  readonly mentions?: readonly string[];
  readonly warnings?: number;
}

const cases: CheckCase[] = [
  { name: 'forcing a healthy pool is fine', states: ALL_UP, action: { kind: 'force-pool', pool: 'secondary' }, ok: true, warnings: 0 },
  {
    name: 'forcing a pool health says is down is refused, naming each value and its reason',
    states: { ...ALL_UP, '198.51.100.20': 'down', '198.51.100.21': 'down' },
    action: { kind: 'force-pool', pool: 'secondary' },
    ok: false,
    mentions: [API, 'forcing pool secondary', 'pool secondary', '198.51.100.20 down (down in 3 of 3 regions)', '198.51.100.21 down'],
  },
  {
    name: 'forcing a pool with one value down is fine, with a warning about the down one',
    states: { ...ALL_UP, '198.51.100.21': 'down' },
    action: { kind: 'force-pool', pool: 'secondary' },
    ok: true,
    mentions: ['198.51.100.21 is down'],
    warnings: 1,
  },
  {
    name: 'forcing a pool of unknown health is fine, with a warning per value',
    states: { '192.0.2.10': 'up', '192.0.2.11': 'up' },
    action: { kind: 'force-pool', pool: 'secondary' },
    ok: true,
    mentions: ['health of 198.51.100.20 not known yet', 'health of 198.51.100.21 not known yet'],
    warnings: 2,
  },
  {
    name: 'an unknown-state health entry warns with its reason',
    states: { ...ALL_UP, '198.51.100.20': 'unknown', '198.51.100.21': 'unknown' },
    action: { kind: 'force-pool', pool: 'secondary' },
    ok: true,
    mentions: ['health of 198.51.100.20 not known yet: unknown in 3 of 3 regions'],
    warnings: 2,
  },
  {
    name: 'forcing a pool whose every value is drained is refused',
    states: ALL_UP,
    action: { kind: 'force-pool', pool: 'secondary' },
    active: (r) => [override({ kind: 'drain', value: '198.51.100.20' }, { record: r }), override({ kind: 'drain', value: '198.51.100.21' }, { record: r })],
    ok: false,
    mentions: ['every value of pool secondary (198.51.100.20, 198.51.100.21) would be drained'],
  },
  {
    name: 'draining the last undrained value of a forced pool is refused',
    states: ALL_UP,
    action: { kind: 'drain', value: '198.51.100.21' },
    active: (r) => [override({ kind: 'force-pool', pool: 'secondary' }, { record: r }), override({ kind: 'drain', value: '198.51.100.20' }, { record: r })],
    ok: false,
    mentions: ['draining 198.51.100.21', 'every value of pool secondary'],
  },
  {
    name: 'draining one value of a healthy pool is fine',
    states: ALL_UP,
    action: { kind: 'drain', value: '192.0.2.10' },
    lastServed: ['192.0.2.10', '192.0.2.11'],
    ok: true,
    warnings: 0,
  },
  {
    name: 'draining the last up value when every other is down is refused (keep-last)',
    states: { '192.0.2.10': 'down', '192.0.2.11': 'up', '198.51.100.20': 'down', '198.51.100.21': 'down' },
    action: { kind: 'drain', value: '192.0.2.11' },
    lastServed: ['192.0.2.11'],
    ok: false,
    mentions: ['would leave nothing in service', 'no pool would be in service', '192.0.2.11 drained', '192.0.2.10 down (down in 3 of 3 regions)', 'whenAllDown keep-last'],
  },
  {
    name: 'draining so that a fail-closed record would be removed is refused',
    record: failoverRecord({ whenAllDown: 'fail-closed' }),
    states: { '192.0.2.10': 'down', '192.0.2.11': 'up', '198.51.100.20': 'down', '198.51.100.21': 'down' },
    action: { kind: 'drain', value: '192.0.2.11' },
    ok: false,
    mentions: ['fail-closed would remove the record'],
  },
  {
    name: 'a refusal says when the record had nothing in service already',
    states: { '192.0.2.10': 'down', '192.0.2.11': 'down', '198.51.100.20': 'down', '198.51.100.21': 'down' },
    action: { kind: 'drain', value: '192.0.2.11' },
    lastServed: ['198.51.100.20'],
    ok: false,
    mentions: ['without this override either'],
  },
  {
    name: 'draining a whole primary pool moves traffic to a healthy secondary',
    states: ALL_UP,
    action: { kind: 'drain', value: '192.0.2.11' },
    active: (r) => [override({ kind: 'drain', value: '192.0.2.10' }, { record: r })],
    ok: true,
    warnings: 0,
  },
  {
    name: 'a drain while health is unknown warns that the value stays served',
    states: {},
    action: { kind: 'drain', value: '192.0.2.10' },
    lastServed: ['192.0.2.10', '192.0.2.11'],
    ok: true,
    mentions: ['192.0.2.10 stays served for now', 'health of 192.0.2.11 not known yet'],
  },
  {
    name: 'a new force-pool replaces the one in its slot instead of stacking',
    states: { ...ALL_UP, '198.51.100.20': 'down', '198.51.100.21': 'down' },
    action: { kind: 'force-pool', pool: 'primary' },
    active: (r) => [override({ kind: 'force-pool', pool: 'secondary' }, { record: r, createdAt: NOW + 1000 })],
    ok: true,
    warnings: 0,
  },
  {
    name: 'expired overrides do not count',
    states: ALL_UP,
    action: { kind: 'force-pool', pool: 'secondary' },
    active: (r) => [
      override({ kind: 'drain', value: '198.51.100.20' }, { record: r, expiresAt: NOW }),
      override({ kind: 'drain', value: '198.51.100.21' }, { record: r, expiresAt: NOW - 1 }),
    ],
    ok: true,
    warnings: 0,
  },
  {
    name: 'drains of another record do not count',
    states: ALL_UP,
    action: { kind: 'force-pool', pool: 'secondary' },
    active: () => {
      const other = failoverRecord({ name: `api2.${ZONE}` });
      return [override({ kind: 'drain', value: '198.51.100.20' }, { record: other }), override({ kind: 'drain', value: '198.51.100.21' }, { record: other })];
    },
    ok: true,
  },
  {
    name: 'a CNAME forced to a down host is refused',
    record: failoverRecord({ type: 'CNAME', pools: [['cdn-a', ['a.cdn.example.net.']], ['cdn-b', ['b.cdn.example.net.']]] }),
    states: { 'a.cdn.example.net.': 'up', 'b.cdn.example.net.': 'down' },
    action: { kind: 'force-pool', pool: 'cdn-b' },
    ok: false,
    mentions: ['api.example.com. CNAME', 'b.cdn.example.net. down'],
  },
];

describe('checkOverride', () => {
  it.each(cases)('$name', (c) => {
    const record = c.record ?? failoverRecord();
    const result = checkOverride({
      zone: zoneOf(record),
      spec: record,
      override: override(c.action, { record }),
      active: c.active?.(record) ?? [],
      health: health(record, c.states),
      lastServed: new Map(c.lastServed === undefined ? [] : [[recordKey(record.name, record.type), c.lastServed]]),
      now: NOW,
    });
    expect(result.ok).toBe(c.ok);
    const text = result.ok ? result.warnings.join('\n') : result.reason;
    for (const m of c.mentions ?? []) expect(text).toContain(m);
    if (c.warnings !== undefined && result.ok) expect(result.warnings).toHaveLength(c.warnings);
  });

  it.each([
    { action: { kind: 'force-pool', pool: 'tertiary' } as const, mentions: ['no pool "tertiary"', 'primary (192.0.2.10, 192.0.2.11)', 'secondary'] },
    { action: { kind: 'drain', value: '203.0.113.9' } as const, mentions: ['no value "203.0.113.9"', '192.0.2.10', '198.51.100.21'] },
  ])('an override naming what the record lacks is DQ_OVERRIDE_UNKNOWN listing the choices ($action.kind)', ({ action, mentions }) => {
    const record = failoverRecord();
    const run = (): unknown =>
      checkOverride({ zone: zoneOf(record), spec: record, override: override(action), active: [], health: health(record, ALL_UP), lastServed: new Map(), now: NOW });
    expect(run).toThrow(DnsQuorumError);
    try {
      run();
    } catch (err) {
      expect((err as DnsQuorumError).code).toBe('DQ_OVERRIDE_UNKNOWN');
      for (const m of mentions) expect((err as DnsQuorumError).message).toContain(m);
    }
  });
});

function thrown(fn: () => unknown): DnsQuorumError {
  try {
    fn();
  } catch (err) {
    if (err instanceof DnsQuorumError) return err;
    throw err;
  }
  throw new Error('expected a DnsQuorumError');
}

describe('findFailoverRecord', () => {
  const apiA = failoverRecord();
  const apiAaaa = failoverRecord({ type: 'AAAA', pools: [['primary', ['2001:db8::10']]] });
  const web = failoverRecord({ name: `web.${ZONE}` });
  const zones = [zoneOf(apiA, apiAaaa, web)];

  it.each([
    { typed: 'web.example.com', type: undefined, found: `web.${ZONE} A` },
    { typed: 'WEB.Example.COM.', type: undefined, found: `web.${ZONE} A` },
    { typed: ' web.example.com. ', type: undefined, found: `web.${ZONE} A` },
    { typed: 'api.example.com', type: 'aaaa', found: `${API} AAAA` },
    { typed: 'api.example.com.', type: 'A', found: `${API} A` },
  ])('finds $typed (type $type)', ({ typed, type, found }) => {
    const r = findFailoverRecord(zones, typed, type);
    expect(`${r.spec.name} ${r.spec.type}`).toBe(found);
    expect(r.zone.name).toBe(ZONE);
  });

  it.each([
    { typed: 'nope.example.com', type: undefined, mentions: ['no failover record nope.example.com.', `${API} A`, `${API} AAAA`, `web.${ZONE} A`] },
    { typed: 'www.example.com', type: undefined, mentions: ['www.example.com. is a static CNAME record, not a failover record'] },
    { typed: 'api.example.com', type: undefined, mentions: ['several types (A, AAAA)', 'say which type'] },
    { typed: 'web.example.com', type: 'CNAME', mentions: ['no failover record of type CNAME', 'it has A'] },
    { typed: '  ', type: undefined, mentions: ['no record name given'] },
  ])('refuses $typed (type $type) with DQ_OVERRIDE_UNKNOWN listing what exists', ({ typed, type, mentions }) => {
    const err = thrown(() => findFailoverRecord(zones, typed, type));
    expect(err.code).toBe('DQ_OVERRIDE_UNKNOWN');
    for (const m of mentions) expect(err.message).toContain(m);
  });

  it('says so when the config has no failover records', () => {
    expect(thrown(() => findFailoverRecord([], 'api.example.com')).message).toContain('the config has no failover records');
  });
});

describe('resolveAction', () => {
  const record = failoverRecord({ pools: [['Primary', ['192.0.2.10']], ['secondary', ['198.51.100.20']]] });
  const v6 = failoverRecord({ type: 'AAAA', pools: [['primary', ['2001:db8::10']]] });

  it.each([
    { spec: record, action: { kind: 'force-pool', pool: 'Primary' } as const, expected: { kind: 'force-pool', pool: 'Primary' } },
    { spec: record, action: { kind: 'force-pool', pool: 'primary' } as const, expected: { kind: 'force-pool', pool: 'Primary' } },
    { spec: record, action: { kind: 'drain', value: ' 192.0.2.010 ' } as const, expected: { kind: 'drain', value: '192.0.2.10' } },
    { spec: v6, action: { kind: 'drain', value: '2001:DB8:0:0::10' } as const, expected: { kind: 'drain', value: '2001:db8::10' } },
  ])('puts $action.kind in the record\'s own terms', ({ spec, action, expected }) => {
    expect(resolveAction(spec, action)).toEqual(expected);
  });

  it.each([
    { action: { kind: 'force-pool', pool: 'backup' } as const, mentions: ['no pool "backup"', 'Primary (192.0.2.10)', 'secondary (198.51.100.20)'] },
    { action: { kind: 'drain', value: '' } as const, mentions: ['no value ""', '192.0.2.10 (Primary)', '198.51.100.20 (secondary)'] },
    { action: { kind: 'drain', value: 'not-an-address' } as const, mentions: ['no value "not-an-address"'] },
  ])('refuses $action with the choices', ({ action, mentions }) => {
    const err = thrown(() => resolveAction(record, action));
    expect(err.code).toBe('DQ_OVERRIDE_UNKNOWN');
    for (const m of mentions) expect(err.message).toContain(m);
  });
});
