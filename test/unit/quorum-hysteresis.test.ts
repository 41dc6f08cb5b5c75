import { describe, expect, it } from 'vitest';
import { endpointId, type HealthState, type ProbeResult } from '../../src/domain/health.js';
import { ManualClock } from '../../src/lib/clock.js';
import { DnsQuorumError } from '../../src/lib/errors.js';
import { COUNTER_CEILING, observe, type RegionCounter, toVerdict } from '../../src/quorum/hysteresis.js';

const ID = endpointId('api.example.com.', 'A', '192.0.2.10');
const INTERVAL = 5_000;

function probe(clock: ManualClock, ok: boolean): ProbeResult {
  return { endpointId: ID, ok, at: clock.now(), latencyMs: 12, detail: ok ? 'HTTP 200' : 'HTTP 503' };
}

/** Feeds a sequence like "++---" ("+" success, "-" failure), one probe per interval. */
function run(sequence: string, rule: { rise: number; fall: number }, clock = new ManualClock(1_000)): RegionCounter {
  let counter: RegionCounter | undefined;
  for (const step of sequence) {
    clock.advance(INTERVAL);
    counter = observe(counter, probe(clock, step === '+'), rule);
  }
  if (counter === undefined) throw new Error('empty sequence');
  return counter;
}

/** The `at` of the n-th probe (0-based) of run(). */
const atProbe = (n: number): number => 1_000 + INTERVAL * (n + 1);

interface Case {
  name: string;
  rule: { rise: number; fall: number };
  sequence: string;
  state: HealthState;
  ok: number;
  fail: number;
  /** Index of the probe at which the state last changed (the first probe while still unknown). */
  changedAtProbe: number;
  reason: string;
}

const cases: Case[] = [
  // Up -> down.
  { name: 'fall-1 failures from up stay up', rule: { rise: 2, fall: 3 }, sequence: '++--', state: 'up', ok: 0, fail: 2, changedAtProbe: 1, reason: '2 of 3 failures toward down: HTTP 503' },
  { name: 'fall failures from up go down', rule: { rise: 2, fall: 3 }, sequence: '++---', state: 'down', ok: 0, fail: 3, changedAtProbe: 4, reason: '3 consecutive failures (fall 3): HTTP 503' },
  { name: 'more failures than fall stay down and keep counting', rule: { rise: 2, fall: 3 }, sequence: '++-----', state: 'down', ok: 0, fail: 5, changedAtProbe: 4, reason: '5 consecutive failures (fall 3): HTTP 503' },
  { name: 'a success between failures resets the failure count', rule: { rise: 2, fall: 3 }, sequence: '++--+--', state: 'up', ok: 0, fail: 2, changedAtProbe: 1, reason: '2 of 3 failures toward down: HTTP 503' },
  // Down -> up.
  { name: 'rise-1 successes from down stay down', rule: { rise: 3, fall: 2 }, sequence: '--++', state: 'down', ok: 2, fail: 0, changedAtProbe: 1, reason: '2 of 3 successes toward up: HTTP 200' },
  { name: 'rise successes from down go up', rule: { rise: 3, fall: 2 }, sequence: '--+++', state: 'up', ok: 3, fail: 0, changedAtProbe: 4, reason: '3 consecutive successes (rise 3): HTTP 200' },
  { name: 'a failure between successes resets the success count', rule: { rise: 3, fall: 2 }, sequence: '--++-++', state: 'down', ok: 2, fail: 0, changedAtProbe: 1, reason: '2 of 3 successes toward up: HTTP 200' },
  // From unknown: the same thresholds.
  { name: 'unknown start: one probe stays unknown', rule: { rise: 2, fall: 3 }, sequence: '+', state: 'unknown', ok: 1, fail: 0, changedAtProbe: 0, reason: '1 of 2 successes toward up: HTTP 200' },
  { name: 'unknown start: rise successes go up', rule: { rise: 2, fall: 3 }, sequence: '++', state: 'up', ok: 2, fail: 0, changedAtProbe: 1, reason: '2 consecutive successes (rise 2): HTTP 200' },
  { name: 'unknown start: fall-1 failures stay unknown', rule: { rise: 2, fall: 3 }, sequence: '--', state: 'unknown', ok: 0, fail: 2, changedAtProbe: 0, reason: '2 of 3 failures toward down: HTTP 503' },
  { name: 'unknown start: fall failures go down', rule: { rise: 2, fall: 3 }, sequence: '---', state: 'down', ok: 0, fail: 3, changedAtProbe: 2, reason: '3 consecutive failures (fall 3): HTTP 503' },
  { name: 'unknown start: alternating results never decide', rule: { rise: 2, fall: 2 }, sequence: '+-+-+-', state: 'unknown', ok: 0, fail: 1, changedAtProbe: 0, reason: '1 of 2 failures toward down: HTTP 503' },
  // Thresholds of 1 flip on every change of result.
  { name: 'rise 1 / fall 1: down on one failure', rule: { rise: 1, fall: 1 }, sequence: '+-', state: 'down', ok: 0, fail: 1, changedAtProbe: 1, reason: '1 consecutive failure (fall 1): HTTP 503' },
  { name: 'rise 1 / fall 1: up on one success', rule: { rise: 1, fall: 1 }, sequence: '+-+', state: 'up', ok: 1, fail: 0, changedAtProbe: 2, reason: '1 consecutive success (rise 1): HTTP 200' },
];

describe('observe (per-region rise/fall)', () => {
  it.each(cases)('$name', ({ rule, sequence, state, ok, fail, changedAtProbe, reason }) => {
    const counter = run(sequence, rule);
    expect(counter.state).toBe(state);
    expect(counter.consecutiveOk).toBe(ok);
    expect(counter.consecutiveFail).toBe(fail);
    expect(counter.changedAt).toBe(atProbe(changedAtProbe));
    expect(counter.lastProbeAt).toBe(atProbe(sequence.length - 1));
    expect(toVerdict('us-east', ID, counter).reason).toBe(reason);
  });

  it('saturates its counters instead of growing without bound', () => {
    const failing = run('-'.repeat(COUNTER_CEILING + 500), { rise: 2, fall: 3 });
    expect(failing.consecutiveFail).toBe(COUNTER_CEILING);
    expect(failing.state).toBe('down');
    const recovering = run(`${'-'.repeat(COUNTER_CEILING + 500)}+`, { rise: 2, fall: 3 });
    expect(recovering).toMatchObject({ consecutiveOk: 1, consecutiveFail: 0, state: 'down' });
    expect(run('+'.repeat(COUNTER_CEILING * 2), { rise: 2, fall: 3 }).consecutiveOk).toBe(COUNTER_CEILING);
  });

  it('returns a new value and leaves the previous one untouched', () => {
    const clock = new ManualClock(0);
    const first = Object.freeze(observe(undefined, probe(clock, true), { rise: 1, fall: 1 }));
    clock.advance(INTERVAL);
    const second = observe(first, probe(clock, false), { rise: 1, fall: 1 });
    expect(second).not.toBe(first);
    expect(first).toMatchObject({ state: 'up', consecutiveOk: 1, consecutiveFail: 0, lastProbeAt: 0 });
    expect(second).toMatchObject({ state: 'down', consecutiveOk: 0, consecutiveFail: 1, lastProbeAt: INTERVAL, changedAt: INTERVAL });
  });

  it('ignores a result older than the last one counted', () => {
    const clock = new ManualClock(10_000);
    const rule = { rise: 1, fall: 1 };
    const up = observe(undefined, probe(clock, true), rule);
    const late = { ...probe(clock, false), at: clock.now() - 1 };
    expect(observe(up, late, rule)).toBe(up);
    const sameInstant = observe(up, probe(clock, false), rule);
    expect(sameInstant.state).toBe('down');
  });

  it.each([
    { name: 'rise 0', rule: { rise: 0, fall: 3 }, message: /rise must be a whole number from 1 to 1000, got 0/ },
    { name: 'fall 2.5', rule: { rise: 2, fall: 2.5 }, message: /fall must be a whole number from 1 to 1000, got 2.5/ },
    { name: 'fall NaN', rule: { rise: 2, fall: Number.NaN }, message: /fall must be a whole number .* got NaN/ },
    { name: 'rise above the ceiling', rule: { rise: COUNTER_CEILING + 1, fall: 3 }, message: /rise must be a whole number/ },
  ])('refuses a rule with $name, naming the endpoint', ({ rule, message }) => {
    const clock = new ManualClock(0);
    expect(() => observe(undefined, probe(clock, true), rule)).toThrow(DnsQuorumError);
    expect(() => observe(undefined, probe(clock, true), rule)).toThrow(message);
    expect(() => observe(undefined, probe(clock, true), rule)).toThrow(ID);
  });

  it('turns a counter into a verdict stamped with its last probe time', () => {
    const counter = run('---', { rise: 2, fall: 3 });
    expect(toVerdict('eu-west', ID, counter)).toEqual({
      region: 'eu-west',
      endpointId: ID,
      state: 'down',
      observedAt: atProbe(2),
      reason: '3 consecutive failures (fall 3): HTTP 503',
    });
  });
});
