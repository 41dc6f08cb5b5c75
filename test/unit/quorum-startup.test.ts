import { describe, expect, it } from 'vitest';
import { endpointId, type EndpointHealth, type EndpointId, type HealthState } from '../../src/domain/health.js';
import { ManualClock } from '../../src/lib/clock.js';
import { startupHold } from '../../src/quorum/startup.js';

const WARMUP = 120_000;
const STARTED = 1_700_000_000_000;

const api = ['192.0.2.10', '192.0.2.11'].map((v) => endpointId('api.example.com.', 'A', v));
const www = ['198.51.100.1'].map((v) => endpointId('www.example.com.', 'A', v));
const db = ['198.51.100.7', '198.51.100.8'].map((v) => endpointId('db.example.com.', 'A', v));
const records = [
  { name: 'api.example.com.', endpointIds: api },
  { name: 'www.example.com.', endpointIds: www },
  { name: 'db.example.com.', endpointIds: db },
];

function view(states: Record<EndpointId, HealthState>): Map<EndpointId, EndpointHealth> {
  return new Map(
    Object.entries(states).map(([id, state]) => [
      id,
      { endpointId: id, state, since: STARTED, reason: 'test', insufficientVantage: state === 'unknown', regions: [] },
    ]),
  );
}

const allDecided: Record<EndpointId, HealthState> = {
  [api[0] ?? '']: 'up', [api[1] ?? '']: 'down', [www[0] ?? '']: 'up', [db[0] ?? '']: 'down', [db[1] ?? '']: 'down',
};

interface Case {
  name: string;
  elapsed: number;
  states: Record<EndpointId, HealthState>;
  hold: boolean;
  waitingFor: string[];
  reason: string;
}

describe('startupHold', () => {
  it.each<Case>([
    {
      name: 'nothing known yet: every record waits',
      elapsed: 0,
      states: {},
      hold: true,
      waitingFor: ['api.example.com.', 'www.example.com.', 'db.example.com.'],
      reason: 'waiting for quorum data on 3 of 3 records: api.example.com., www.example.com., db.example.com. (warm-up ends in 120s)',
    },
    {
      name: 'one endpoint of a record still unknown keeps that record waiting',
      elapsed: 30_000,
      states: { ...allDecided, [api[1] ?? '']: 'unknown' },
      hold: true,
      waitingFor: ['api.example.com.'],
      reason: 'waiting for quorum data on 1 of 3 records: api.example.com. (warm-up ends in 90s)',
    },
    {
      name: 'an endpoint missing from the view counts as undecided',
      elapsed: WARMUP - 1,
      states: { [api[0] ?? '']: 'up', [api[1] ?? '']: 'up', [www[0] ?? '']: 'down' },
      hold: true,
      waitingFor: ['db.example.com.'],
      reason: 'waiting for quorum data on 1 of 3 records: db.example.com. (warm-up ends in 1ms)',
    },
    {
      name: 'every record decided: writes go before the warm-up ends',
      elapsed: 10_000,
      states: allDecided,
      hold: false,
      waitingFor: [],
      reason: 'every failover record has quorum data',
    },
    {
      name: 'warm-up reached exactly: writes allowed with records undecided',
      elapsed: WARMUP,
      states: { ...allDecided, [db[0] ?? '']: 'unknown' },
      hold: false,
      waitingFor: ['db.example.com.'],
      reason: 'warm-up of 120s elapsed with 1 record still undecided; writes allowed (db.example.com.)',
    },
    {
      name: 'warm-up long past: writes allowed',
      elapsed: 10 * WARMUP,
      states: {},
      hold: false,
      waitingFor: ['api.example.com.', 'www.example.com.', 'db.example.com.'],
      reason: 'warm-up of 120s elapsed with 3 records still undecided; writes allowed (api.example.com., www.example.com., db.example.com.)',
    },
  ])('$name', ({ elapsed, states, hold, waitingFor, reason }) => {
    const clock = new ManualClock(STARTED);
    clock.advance(elapsed);
    const result = startupHold({ startedAt: STARTED, warmupMs: WARMUP, now: clock.now(), records, health: view(states) });
    expect(result).toEqual({ hold, reason, waitingFor });
  });

  it('with no failover records there is nothing to wait for', () => {
    expect(startupHold({ startedAt: STARTED, warmupMs: WARMUP, now: STARTED, records: [], health: new Map() }))
      .toEqual({ hold: false, reason: 'every failover record has quorum data', waitingFor: [] });
  });

  it('keeps a long list of waiting records to one line and returns all of them', () => {
    const many = Array.from({ length: 8 }, (_, i) => ({ name: `r${i}.example.com.`, endpointIds: [endpointId(`r${i}.example.com.`, 'A', '192.0.2.1')] }));
    const result = startupHold({ startedAt: STARTED, warmupMs: WARMUP, now: STARTED + 60_000, records: many, health: new Map() });
    expect(result.hold).toBe(true);
    expect(result.waitingFor).toHaveLength(8);
    expect(result.reason).toBe(
      'waiting for quorum data on 8 of 8 records: r0.example.com., r1.example.com., r2.example.com., r3.example.com., r4.example.com. and 3 more (warm-up ends in 60s)',
    );
  });
});
