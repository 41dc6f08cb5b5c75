import { describe, expect, it } from 'vitest';
import { endpointId, type EndpointId, type HealthState, type RegionVerdict } from '../../src/domain/health.js';
import { ManualClock } from '../../src/lib/clock.js';
import { DnsQuorumError } from '../../src/lib/errors.js';
import { HealthBoard } from '../../src/quorum/health-board.js';
import type { QuorumPolicy } from '../../src/quorum/quorum.js';

const API = endpointId('api.example.com.', 'A', '192.0.2.10');
const DB = endpointId('db.example.com.', 'A', '198.51.100.7');
const GONE = endpointId('old.example.com.', 'A', '203.0.113.9');
const POLICY: QuorumPolicy = { regions: ['us-east', 'eu-west', 'ap-south'], quorum: 2, staleAfterMs: 15_000 };
const RULES = new Map<EndpointId, { rise: number; fall: number }>([
  [API, { rise: 2, fall: 3 }],
  [DB, { rise: 1, fall: 1 }],
]);

function makeBoard(clock: ManualClock): HealthBoard {
  return new HealthBoard({ region: 'us-east', policy: POLICY, clock, rules: (id) => RULES.get(id) });
}

function peer(clock: ManualClock, region: string, state: HealthState, id: EndpointId = API): RegionVerdict {
  return { region, endpointId: id, state, observedAt: clock.now(), reason: `${region} says ${state}` };
}

interface Step {
  /** Seconds since the start. */
  at: number;
  /** This region's probe of API at that moment, if any. */
  probe?: 'ok' | 'fail';
  peers?: [region: string, state: HealthState][];
  state: HealthState;
  insufficientVantage: boolean;
  changed: boolean;
  /** The decision's reason must start with this. */
  reason: string;
}

/**
 * API endpoint, rise 2 / fall 3, probes every 5 s, staleAfter 15 s. eu-west reports down, then
 * goes silent from t=20 until t=45; ap-south reports once at t=10 and then never again.
 */
const timeline: Step[] = [
  { at: 0, probe: 'ok', state: 'unknown', insufficientVantage: true, changed: false, reason: 'insufficient vantage: 0 of 3 regions fresh, quorum 2' },
  { at: 5, probe: 'ok', peers: [['eu-west', 'up']], state: 'up', insufficientVantage: false, changed: true, reason: 'up in 2 of 3 regions (quorum 2); up: us-east, eu-west' },
  { at: 10, probe: 'fail', peers: [['eu-west', 'up'], ['ap-south', 'up']], state: 'up', insufficientVantage: false, changed: false, reason: 'up in 3 of 3 regions' },
  { at: 15, probe: 'fail', peers: [['eu-west', 'down']], state: 'up', insufficientVantage: false, changed: false, reason: 'up in 2 of 3 regions (quorum 2); up: us-east, ap-south; down: eu-west' },
  { at: 20, probe: 'fail', peers: [['eu-west', 'down']], state: 'down', insufficientVantage: false, changed: true, reason: 'down in 2 of 3 regions (quorum 2); up: ap-south; down: us-east, eu-west' },
  // eu-west falls silent. At exactly staleAfter (t=35) its t=20 verdict still counts, and so does ours.
  { at: 35, state: 'down', insufficientVantage: false, changed: false, reason: 'down in 2 of 3 regions' },
  // One millisecond later both are stale: nobody has a fresh opinion, and the decision holds.
  { at: 35.001, state: 'down', insufficientVantage: true, changed: false, reason: 'insufficient vantage: 0 of 3 regions fresh, quorum 2; stale: us-east, eu-west, ap-south' },
  { at: 40, probe: 'ok', state: 'down', insufficientVantage: true, changed: false, reason: 'insufficient vantage: 1 of 3 regions fresh, quorum 2; down: us-east; stale: eu-west, ap-south' },
  { at: 45, probe: 'ok', state: 'down', insufficientVantage: true, changed: false, reason: 'insufficient vantage: 1 of 3 regions fresh, quorum 2; up: us-east' },
  // eu-west comes back; with us-east now up too, that is a quorum for up.
  { at: 50, probe: 'ok', peers: [['eu-west', 'up']], state: 'up', insufficientVantage: false, changed: true, reason: 'up in 2 of 3 regions (quorum 2); up: us-east, eu-west; stale: ap-south' },
  { at: 55, probe: 'ok', peers: [['eu-west', 'up']], state: 'up', insufficientVantage: false, changed: false, reason: 'up in 2 of 3 regions' },
];

describe('HealthBoard', () => {
  it('follows a timeline of probes and peer verdicts on a manual clock', () => {
    const clock = new ManualClock(0);
    const board = makeBoard(clock);
    for (const step of timeline) {
      clock.set(step.at * 1000);
      if (step.probe !== undefined) {
        board.recordProbe({ endpointId: API, ok: step.probe === 'ok', at: clock.now(), latencyMs: 20, detail: step.probe === 'ok' ? 'HTTP 200' : 'HTTP 503' });
      }
      board.ingestPeerVerdicts((step.peers ?? []).map(([region, state]) => peer(clock, region, state)));
      const { health, changed } = board.evaluate([API]);
      const decision = health.get(API);
      expect({ at: step.at, state: decision?.state, insufficientVantage: decision?.insufficientVantage, changed: changed.map((c) => c.endpointId) })
        .toEqual({ at: step.at, state: step.state, insufficientVantage: step.insufficientVantage, changed: step.changed ? [API] : [] });
      expect(decision?.reason.startsWith(step.reason), `t=${step.at}: ${decision?.reason ?? ''}`).toBe(true);
    }
    const final = board.snapshot().get(API);
    expect(final).toMatchObject({ state: 'up', since: 50_000, recoveredAt: 50_000 });
  });

  it('reports its own region\'s verdicts with the hysteresis counters in the reason', () => {
    const clock = new ManualClock(1_000);
    const board = makeBoard(clock);
    board.recordProbe({ endpointId: API, ok: false, at: clock.now(), latencyMs: 2_000, detail: 'timeout after 2000ms' });
    clock.advance(5_000);
    board.recordProbe({ endpointId: DB, ok: true, at: clock.now(), latencyMs: 3, detail: 'connected' });
    expect(board.localVerdicts()).toEqual([
      { region: 'us-east', endpointId: API, state: 'unknown', observedAt: 1_000, reason: '1 of 3 failures toward down: timeout after 2000ms' },
      { region: 'us-east', endpointId: DB, state: 'up', observedAt: 6_000, reason: '1 consecutive success (rise 1): connected' },
    ]);
  });

  it('lists only the endpoints whose state changed', () => {
    const clock = new ManualClock(0);
    const board = makeBoard(clock);
    board.recordProbe({ endpointId: DB, ok: true, at: clock.now(), latencyMs: 3, detail: 'HTTP 200' });
    board.ingestPeerVerdicts([peer(clock, 'eu-west', 'up', DB), peer(clock, 'eu-west', 'up', API)]);
    const first = board.evaluate([API, DB, DB]);
    expect(first.changed.map((c) => c.endpointId)).toEqual([DB]);
    expect([...first.health.keys()]).toEqual([API, DB]);
    clock.advance(1_000);
    expect(board.evaluate([API, DB]).changed).toEqual([]);
  });

  it('ignores peer verdicts that claim to be this region, come from unknown regions or name unknown endpoints', () => {
    const clock = new ManualClock(0);
    const board = makeBoard(clock);
    board.ingestPeerVerdicts([
      peer(clock, 'us-east', 'down'),
      peer(clock, 'mars-1', 'down'),
      peer(clock, 'eu-west', 'down'),
      peer(clock, 'ap-south', 'down', GONE),
    ]);
    const decision = board.evaluate([API, GONE]).health;
    expect(decision.get(API)).toMatchObject({ state: 'unknown', insufficientVantage: true });
    expect(decision.get(API)?.regions.map((v) => v.region)).toEqual(['eu-west']);
    expect(decision.get(GONE)?.regions).toEqual([]);
  });

  it('keeps the newer of two verdicts from one region when they arrive out of order', () => {
    const clock = new ManualClock(10_000);
    const board = makeBoard(clock);
    const newer = peer(clock, 'eu-west', 'up');
    const older: RegionVerdict = { ...peer(clock, 'eu-west', 'down'), observedAt: clock.now() - 4_000 };
    const later: RegionVerdict = { ...peer(clock, 'ap-south', 'up'), observedAt: clock.now() - 1_000 };
    board.ingestPeerVerdicts([newer, later]);
    board.ingestPeerVerdicts([older]);
    expect(board.evaluate([API]).health.get(API)?.state).toBe('up');
    clock.advance(5_000);
    board.ingestPeerVerdicts([peer(clock, 'eu-west', 'down'), peer(clock, 'ap-south', 'down')]);
    expect(board.evaluate([API]).health.get(API)?.state).toBe('down');
  });

  it('forgets endpoints that are no longer configured and drops their late probes', () => {
    const clock = new ManualClock(0);
    const rules = new Map(RULES);
    const board = new HealthBoard({ region: 'us-east', policy: POLICY, clock, rules: (id) => rules.get(id) });
    board.recordProbe({ endpointId: DB, ok: true, at: clock.now(), latencyMs: 3, detail: 'HTTP 200' });
    board.ingestPeerVerdicts([peer(clock, 'eu-west', 'up', DB)]);
    expect(board.evaluate([DB]).health.get(DB)?.state).toBe('up');

    rules.delete(DB);
    board.forget([DB]);
    expect(board.snapshot().has(DB)).toBe(false);
    expect(board.localVerdicts()).toEqual([]);
    board.recordProbe({ endpointId: DB, ok: true, at: clock.now(), latencyMs: 3, detail: 'HTTP 200' });
    expect(board.localVerdicts()).toEqual([]);
    expect(board.evaluate([DB]).health.get(DB)).toMatchObject({ state: 'unknown', regions: [] });
  });

  it('returns snapshots that later evaluations do not change', () => {
    const clock = new ManualClock(0);
    const board = makeBoard(clock);
    board.evaluate([API]);
    const before = board.snapshot();
    board.recordProbe({ endpointId: DB, ok: true, at: clock.now(), latencyMs: 3, detail: 'HTTP 200' });
    board.ingestPeerVerdicts([peer(clock, 'eu-west', 'up', DB)]);
    board.evaluate([DB]);
    expect([...before.keys()]).toEqual([API]);
    expect([...board.snapshot().keys()]).toEqual([API, DB]);
  });

  it.each([
    { name: 'its own region is not configured', region: 'mars-1', policy: POLICY, message: 'own region "mars-1" is not among the policy\'s regions' },
    { name: 'the policy is invalid', region: 'us-east', policy: { ...POLICY, quorum: 0 }, message: 'quorum must be a whole number >= 1, got 0' },
  ])('refuses to start when $name', ({ region, policy, message }) => {
    const build = (): HealthBoard => new HealthBoard({ region, policy, clock: new ManualClock(0), rules: () => undefined });
    expect(build).toThrow(DnsQuorumError);
    expect(build).toThrow(message);
  });
});
