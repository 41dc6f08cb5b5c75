import { describe, expect, it } from 'vitest';
import { endpointId, type EndpointHealth, type HealthState, type RegionVerdict } from '../../src/domain/health.js';
import { ManualClock } from '../../src/lib/clock.js';
import { DnsQuorumError } from '../../src/lib/errors.js';
import { effectiveQuorum, evaluateEndpoint, type QuorumPolicy } from '../../src/quorum/quorum.js';

const ID = endpointId('api.example.com.', 'A', '192.0.2.10');
const OTHER = endpointId('api.example.com.', 'A', '192.0.2.11');
const STALE_AFTER = 15_000;
const NOW = 1_000_000;

const R1 = ['us-east'];
const R2 = ['us-east', 'eu-west'];
const R3 = ['us-east', 'eu-west', 'ap-south'];
const R5 = ['us-east', 'eu-west', 'ap-south', 'sa-east', 'af-south'];

/** "us-east:down" is fresh; "us-east:down@20000" was observed 20 s before now. */
function votes(...specs: string[]): RegionVerdict[] {
  return specs.map((spec) => {
    const [regionAndState = '', age = '0'] = spec.split('@');
    const [region = '', state = ''] = regionAndState.split(':');
    return { region, endpointId: ID, state: state as HealthState, observedAt: NOW - Number(age), reason: `probe said ${state}` };
  });
}

function previous(state: HealthState, since = NOW - 60_000): EndpointHealth {
  return { endpointId: ID, state, since, reason: 'earlier', insufficientVantage: false, regions: [] };
}

interface Case {
  name: string;
  regions: string[];
  quorum: number;
  prev?: HealthState;
  verdicts: RegionVerdict[];
  state: HealthState;
  insufficientVantage: boolean;
  reason: string;
}

const cases: Case[] = [
  // One region: it is the only vantage point there is, so it decides alone.
  { name: '1 region: up decides up', regions: R1, quorum: 1, verdicts: votes('us-east:up'), state: 'up', insufficientVantage: false,
    reason: 'up in 1 of 1 regions (quorum 1); up: us-east' },
  { name: '1 region: down decides down', regions: R1, quorum: 1, prev: 'up', verdicts: votes('us-east:down'), state: 'down', insufficientVantage: false,
    reason: 'down in 1 of 1 regions (quorum 1); down: us-east' },
  { name: '1 region: an unknown verdict does not vote', regions: R1, quorum: 1, verdicts: votes('us-east:unknown'), state: 'unknown', insufficientVantage: true,
    reason: 'insufficient vantage: 0 of 1 regions fresh, quorum 1; undecided: us-east; holding unknown' },
  // Two regions: both must agree, even with quorum 1 configured.
  { name: '2 regions, quorum 1: one region down alone does not fail over', regions: R2, quorum: 1, prev: 'up', verdicts: votes('us-east:down'), state: 'up', insufficientVantage: true,
    reason: 'insufficient vantage: 1 of 2 regions fresh, quorum 2; down: us-east; no report: eu-west; holding up' },
  { name: '2 regions: both down decide down', regions: R2, quorum: 1, prev: 'up', verdicts: votes('us-east:down', 'eu-west:down'), state: 'down', insufficientVantage: false,
    reason: 'down in 2 of 2 regions (quorum 2); down: us-east, eu-west' },
  { name: '2 regions: a split holds the previous state', regions: R2, quorum: 2, prev: 'up', verdicts: votes('us-east:down', 'eu-west:up'), state: 'up', insufficientVantage: false,
    reason: 'no quorum: 1 up, 1 down, quorum 2; up: eu-west; down: us-east; holding up' },
  { name: '2 regions: a split holds down as well', regions: R2, quorum: 2, prev: 'down', verdicts: votes('us-east:down', 'eu-west:up'), state: 'down', insufficientVantage: false,
    reason: 'no quorum: 1 up, 1 down, quorum 2; up: eu-west; down: us-east; holding down' },
  // Three regions, quorum 2.
  { name: '3 regions: 2 down, 1 up decide down', regions: R3, quorum: 2, prev: 'up', verdicts: votes('us-east:down', 'eu-west:down', 'ap-south:up'), state: 'down', insufficientVantage: false,
    reason: 'down in 2 of 3 regions (quorum 2); up: ap-south; down: us-east, eu-west' },
  { name: '3 regions: 2 up, 1 down decide up', regions: R3, quorum: 2, prev: 'down', verdicts: votes('us-east:down', 'eu-west:up', 'ap-south:up'), state: 'up', insufficientVantage: false,
    reason: 'up in 2 of 3 regions (quorum 2); up: eu-west, ap-south; down: us-east' },
  { name: '3 regions: 1 fresh region is insufficient vantage', regions: R3, quorum: 2, prev: 'up', verdicts: votes('us-east:down'), state: 'up', insufficientVantage: true,
    reason: 'insufficient vantage: 1 of 3 regions fresh, quorum 2; down: us-east; no report: eu-west, ap-south; holding up' },
  { name: '3 regions: stale downs are missing, not down', regions: R3, quorum: 2, prev: 'up', verdicts: votes('us-east:down', 'eu-west:down@15001', 'ap-south:down@60000'), state: 'up', insufficientVantage: true,
    reason: 'insufficient vantage: 1 of 3 regions fresh, quorum 2; down: us-east; stale: eu-west, ap-south (stale after 15s); holding up' },
  { name: '3 regions: unknown verdicts do not vote', regions: R3, quorum: 2, prev: 'down', verdicts: votes('us-east:up', 'eu-west:unknown', 'ap-south:unknown'), state: 'down', insufficientVantage: true,
    reason: 'insufficient vantage: 1 of 3 regions fresh, quorum 2; up: us-east; undecided: eu-west, ap-south; holding down' },
  { name: '3 regions: 1 up, 1 down, 1 unknown is a split', regions: R3, quorum: 2, prev: 'up', verdicts: votes('us-east:up', 'eu-west:down', 'ap-south:unknown'), state: 'up', insufficientVantage: false,
    reason: 'no quorum: 1 up, 1 down, quorum 2; up: us-east; down: eu-west; undecided: ap-south; holding up' },
  { name: '3 regions, quorum 1: one down among two missing does not fail over', regions: R3, quorum: 1, prev: 'up', verdicts: votes('ap-south:down'), state: 'up', insufficientVantage: true,
    reason: 'insufficient vantage: 1 of 3 regions fresh, quorum 2; down: ap-south; no report: us-east, eu-west; holding up' },
  { name: '3 regions, quorum 1: one down against two up stays up', regions: R3, quorum: 1, prev: 'up', verdicts: votes('us-east:up', 'eu-west:up', 'ap-south:down'), state: 'up', insufficientVantage: false,
    reason: 'up in 2 of 3 regions (quorum 2); up: us-east, eu-west; down: ap-south' },
  { name: '3 regions: quorum 3 needs every region', regions: R3, quorum: 3, prev: 'up', verdicts: votes('us-east:down', 'eu-west:down'), state: 'up', insufficientVantage: true,
    reason: 'insufficient vantage: 2 of 3 regions fresh, quorum 3; down: us-east, eu-west; no report: ap-south; holding up' },
  // Five regions.
  { name: '5 regions, quorum 3: 3 down decide down', regions: R5, quorum: 3, prev: 'up', verdicts: votes('us-east:down', 'eu-west:down', 'ap-south:down', 'sa-east:up', 'af-south:up'), state: 'down', insufficientVantage: false,
    reason: 'down in 3 of 5 regions (quorum 3); up: sa-east, af-south; down: us-east, eu-west, ap-south' },
  { name: '5 regions, quorum 3: 2 down, 3 up decide up', regions: R5, quorum: 3, prev: 'down', verdicts: votes('us-east:down', 'eu-west:down', 'ap-south:up', 'sa-east:up', 'af-south:up'), state: 'up', insufficientVantage: false,
    reason: 'up in 3 of 5 regions (quorum 3); up: ap-south, sa-east, af-south; down: us-east, eu-west' },
  { name: '5 regions, quorum 3: 2 down, 2 up, 1 stale is a split', regions: R5, quorum: 3, prev: 'up', verdicts: votes('us-east:down', 'eu-west:down', 'ap-south:up', 'sa-east:up', 'af-south:down@20000'), state: 'up', insufficientVantage: false,
    reason: 'no quorum: 2 up, 2 down, quorum 3; up: ap-south, sa-east; down: us-east, eu-west; stale: af-south (stale after 15s); holding up' },
  { name: '5 regions, quorum 3: 2 fresh is insufficient vantage', regions: R5, quorum: 3, prev: 'down', verdicts: votes('us-east:up', 'eu-west:up'), state: 'down', insufficientVantage: true,
    reason: 'insufficient vantage: 2 of 5 regions fresh, quorum 3; up: us-east, eu-west; no report: ap-south, sa-east, af-south; holding down' },
  { name: '5 regions, quorum 2: when both sides reach the quorum, down wins', regions: R5, quorum: 2, prev: 'up', verdicts: votes('us-east:down', 'eu-west:down', 'ap-south:up', 'sa-east:up', 'af-south:up'), state: 'down', insufficientVantage: false,
    reason: 'down in 2 of 5 regions (quorum 2); up: ap-south, sa-east, af-south; down: us-east, eu-west' },
  { name: '5 regions, quorum 1: one region alone still cannot decide', regions: R5, quorum: 1, prev: 'up', verdicts: votes('af-south:down'), state: 'up', insufficientVantage: true,
    reason: 'insufficient vantage: 1 of 5 regions fresh, quorum 2; down: af-south; no report: us-east, eu-west, ap-south, sa-east; holding up' },
  // What counts as a vote.
  { name: 'verdicts from regions not configured are ignored', regions: R2, quorum: 2, prev: 'up', verdicts: votes('us-east:down', 'rogue:down', 'eu-west-2:down'), state: 'up', insufficientVantage: true,
    reason: 'insufficient vantage: 1 of 2 regions fresh, quorum 2; down: us-east; no report: eu-west; holding up' },
  { name: 'two verdicts from one region count once (the newer)', regions: R2, quorum: 2, prev: 'up', verdicts: votes('us-east:up@5000', 'us-east:down', 'us-east:down@1000'), state: 'up', insufficientVantage: true,
    reason: 'insufficient vantage: 1 of 2 regions fresh, quorum 2; down: us-east; no report: eu-west; holding up' },
  { name: 'verdicts about another endpoint are ignored', regions: R2, quorum: 2, prev: 'up',
    verdicts: [...votes('us-east:down'), { region: 'eu-west', endpointId: OTHER, state: 'down', observedAt: NOW, reason: 'other' }], state: 'up', insufficientVantage: true,
    reason: 'insufficient vantage: 1 of 2 regions fresh, quorum 2; down: us-east; no report: eu-west; holding up' },
  { name: 'no previous decision and no votes stays unknown', regions: R3, quorum: 2, verdicts: [], state: 'unknown', insufficientVantage: true,
    reason: 'insufficient vantage: 0 of 3 regions fresh, quorum 2; no report: us-east, eu-west, ap-south; holding unknown' },
  { name: 'no previous decision and a split stays unknown', regions: R2, quorum: 2, verdicts: votes('us-east:up', 'eu-west:down'), state: 'unknown', insufficientVantage: false,
    reason: 'no quorum: 1 up, 1 down, quorum 2; up: us-east; down: eu-west; holding unknown' },
];

describe('evaluateEndpoint (cross-region quorum)', () => {
  it.each(cases)('$name', ({ regions, quorum, prev, verdicts, state, insufficientVantage, reason }) => {
    const policy: QuorumPolicy = { regions, quorum, staleAfterMs: STALE_AFTER };
    const result = evaluateEndpoint(prev === undefined ? undefined : previous(prev), ID, verdicts, policy, NOW);
    expect(result.state).toBe(state);
    expect(result.insufficientVantage).toBe(insufficientVantage);
    expect(result.reason).toBe(reason);
    expect(result.endpointId).toBe(ID);
  });

  it.each([
    { name: 'well under staleAfter', age: 1, state: 'down', insufficientVantage: false },
    { name: 'just under staleAfter', age: STALE_AFTER - 1, state: 'down', insufficientVantage: false },
    { name: 'exactly staleAfter', age: STALE_AFTER, state: 'down', insufficientVantage: false },
    { name: 'just over staleAfter', age: STALE_AFTER + 1, state: 'up', insufficientVantage: true },
  ])('a peer verdict $name old ($age ms)', ({ age, state, insufficientVantage }) => {
    const policy: QuorumPolicy = { regions: R3, quorum: 2, staleAfterMs: STALE_AFTER };
    const result = evaluateEndpoint(previous('up'), ID, votes('us-east:down', `eu-west:down@${age}`), policy, NOW);
    expect(result.state).toBe(state);
    expect(result.insufficientVantage).toBe(insufficientVantage);
  });

  it('carries one verdict per configured region, stale ones included, in configured order', () => {
    const policy: QuorumPolicy = { regions: R3, quorum: 2, staleAfterMs: STALE_AFTER };
    const input = votes('ap-south:up@60000', 'rogue:down', 'us-east:down', 'us-east:up@9000');
    const result = evaluateEndpoint(undefined, ID, input, policy, NOW);
    expect(result.regions.map((v) => `${v.region}:${v.state}:${NOW - v.observedAt}`)).toEqual(['us-east:down:0', 'ap-south:up:60000']);
  });

  it.each([
    { regions: R1, quorum: 1, effective: 1 },
    { regions: R2, quorum: 1, effective: 2 },
    { regions: R3, quorum: 1, effective: 2 },
    { regions: R3, quorum: 2, effective: 2 },
    { regions: R5, quorum: 3, effective: 3 },
    { regions: R5, quorum: 5, effective: 5 },
  ])('effective quorum of $quorum over $regions.length regions is $effective', ({ regions, quorum, effective }) => {
    expect(effectiveQuorum({ regions, quorum, staleAfterMs: STALE_AFTER })).toBe(effective);
  });

  it.each([
    { name: 'quorum 0', policy: { regions: R3, quorum: 0, staleAfterMs: 1 }, message: 'quorum must be a whole number >= 1, got 0' },
    { name: 'fractional quorum', policy: { regions: R3, quorum: 1.5, staleAfterMs: 1 }, message: 'quorum must be a whole number >= 1, got 1.5' },
    { name: 'negative staleAfterMs', policy: { regions: R3, quorum: 2, staleAfterMs: -1 }, message: 'staleAfterMs must be a finite number >= 0, got -1' },
    { name: 'no regions', policy: { regions: [], quorum: 1, staleAfterMs: 1 }, message: 'regions must name at least one region' },
    { name: 'a region twice', policy: { regions: ['a', 'b', 'a'], quorum: 2, staleAfterMs: 1 }, message: 'region "a" is listed twice' },
  ])('refuses a policy with $name', ({ policy, message }) => {
    expect(() => evaluateEndpoint(undefined, ID, [], policy, NOW)).toThrow(DnsQuorumError);
    expect(() => evaluateEndpoint(undefined, ID, [], policy, NOW)).toThrow(message);
  });
});

describe('since and recoveredAt over a timeline', () => {
  const policy: QuorumPolicy = { regions: R3, quorum: 2, staleAfterMs: STALE_AFTER };
  /** Each step: seconds after start, the fresh votes then, and what must follow. */
  const steps: { at: number; votes: string[]; state: HealthState; since: number; recoveredAt: number | undefined }[] = [
    { at: 0, votes: [], state: 'unknown', since: 0, recoveredAt: undefined },
    { at: 5, votes: ['us-east:up', 'eu-west:up'], state: 'up', since: 5, recoveredAt: undefined }, // unknown -> up is no recovery
    { at: 10, votes: ['us-east:up', 'eu-west:up', 'ap-south:down'], state: 'up', since: 5, recoveredAt: undefined },
    { at: 15, votes: ['us-east:down', 'eu-west:down'], state: 'down', since: 15, recoveredAt: undefined },
    { at: 20, votes: ['us-east:up'], state: 'down', since: 15, recoveredAt: undefined }, // insufficient vantage
    { at: 25, votes: ['us-east:up', 'eu-west:down'], state: 'down', since: 15, recoveredAt: undefined }, // split
    { at: 30, votes: ['us-east:up', 'eu-west:up'], state: 'up', since: 30, recoveredAt: 30 }, // down -> up
    { at: 35, votes: ['us-east:up', 'eu-west:up', 'ap-south:up'], state: 'up', since: 30, recoveredAt: 30 },
    { at: 40, votes: ['eu-west:down', 'ap-south:down'], state: 'down', since: 40, recoveredAt: 30 }, // kept while down
    { at: 45, votes: ['eu-west:up', 'ap-south:up'], state: 'up', since: 45, recoveredAt: 45 },
  ];

  it('walks the steps on a manual clock', () => {
    const clock = new ManualClock(0);
    let prev: EndpointHealth | undefined;
    for (const step of steps) {
      clock.set(step.at * 1000);
      const verdicts: RegionVerdict[] = step.votes.map((spec) => {
        const [region = '', state = ''] = spec.split(':');
        return { region, endpointId: ID, state: state as HealthState, observedAt: clock.now(), reason: 'probe' };
      });
      const next = evaluateEndpoint(prev, ID, verdicts, policy, clock.now());
      expect({ at: step.at, state: next.state, since: next.since / 1000, recoveredAt: next.recoveredAt === undefined ? undefined : next.recoveredAt / 1000 })
        .toEqual({ at: step.at, state: step.state, since: step.since, recoveredAt: step.recoveredAt });
      if (step.recoveredAt === undefined) expect('recoveredAt' in next).toBe(false);
      prev = next;
    }
  });

  it('unknown -> down -> up is a recovery', () => {
    const down = evaluateEndpoint(undefined, ID, votes('us-east:down', 'eu-west:down'), policy, NOW);
    expect(down).toMatchObject({ state: 'down', since: NOW });
    const up = evaluateEndpoint(down, ID, votes('us-east:up', 'eu-west:up'), policy, NOW + 5_000);
    expect(up).toMatchObject({ state: 'up', since: NOW + 5_000, recoveredAt: NOW + 5_000 });
  });
});
