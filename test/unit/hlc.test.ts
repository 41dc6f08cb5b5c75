import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/lib/clock.js';
import { HLC_MAX_FORWARD_MS, HybridLogicalClock, compareStamps } from '../../src/lib/hlc.js';
import type { HlcStamp } from '../../src/lib/hlc.js';

function stamp(wall: number, logical: number, replica: string): HlcStamp {
  return { wall, logical, replica };
}

describe('compareStamps', () => {
  it.each<[string, HlcStamp, HlcStamp, -1 | 0 | 1]>([
    ['older wall', stamp(1, 9, 'z'), stamp(2, 0, 'a'), -1],
    ['newer wall', stamp(3, 0, 'a'), stamp(2, 9, 'z'), 1],
    ['same wall, lower logical', stamp(5, 1, 'z'), stamp(5, 2, 'a'), -1],
    ['same wall, higher logical', stamp(5, 3, 'a'), stamp(5, 2, 'z'), 1],
    ['tie broken by replica (lower)', stamp(5, 2, 'eu-west'), stamp(5, 2, 'us-east'), -1],
    ['tie broken by replica (higher)', stamp(5, 2, 'us-east'), stamp(5, 2, 'eu-west'), 1],
    ['same stamp', stamp(5, 2, 'us-east'), stamp(5, 2, 'us-east'), 0],
  ])('%s', (_case, a, b, expected) => {
    expect(Math.sign(compareStamps(a, b))).toBe(expected);
    expect(Math.sign(compareStamps(b, a))).toBe(expected === 0 ? 0 : -expected);
  });
});

type Step =
  | { readonly op: 'set'; readonly to: number }
  | { readonly op: 'now'; readonly expect: [number, number] }
  | { readonly op: 'observe'; readonly stamp: [number, number] };

describe('HybridLogicalClock', () => {
  it.each<[string, Step[]]>([
    [
      'follows the wall clock while it moves forward',
      [
        { op: 'set', to: 1000 },
        { op: 'now', expect: [1000, 0] },
        { op: 'set', to: 1005 },
        { op: 'now', expect: [1005, 0] },
      ],
    ],
    [
      'counts events within the same millisecond',
      [
        { op: 'set', to: 1000 },
        { op: 'now', expect: [1000, 0] },
        { op: 'now', expect: [1000, 1] },
        { op: 'now', expect: [1000, 2] },
      ],
    ],
    [
      'keeps moving forward when the wall clock steps back',
      [
        { op: 'set', to: 2000 },
        { op: 'now', expect: [2000, 0] },
        { op: 'set', to: 1500 },
        { op: 'now', expect: [2000, 1] },
        { op: 'now', expect: [2000, 2] },
        { op: 'set', to: 2001 },
        { op: 'now', expect: [2001, 0] },
      ],
    ],
    [
      'a peer stamp ahead of the wall clock makes later local stamps newer than it',
      [
        { op: 'set', to: 1000 },
        { op: 'observe', stamp: [5000, 7] },
        { op: 'now', expect: [5000, 8] },
        { op: 'set', to: 6000 },
        { op: 'now', expect: [6000, 0] },
      ],
    ],
    [
      'an older peer stamp changes nothing',
      [
        { op: 'set', to: 3000 },
        { op: 'now', expect: [3000, 0] },
        { op: 'observe', stamp: [2000, 50] },
        { op: 'now', expect: [3000, 1] },
      ],
    ],
    [
      'a peer stamp at the same wall with a higher counter raises the counter',
      [
        { op: 'set', to: 3000 },
        { op: 'now', expect: [3000, 0] },
        { op: 'observe', stamp: [3000, 9] },
        { op: 'now', expect: [3000, 10] },
      ],
    ],
    [
      'a peer stamp at the same wall with a lower counter changes nothing',
      [
        { op: 'set', to: 3000 },
        { op: 'now', expect: [3000, 0] },
        { op: 'now', expect: [3000, 1] },
        { op: 'observe', stamp: [3000, 0] },
        { op: 'now', expect: [3000, 2] },
      ],
    ],
  ])('%s', (_case, steps) => {
    const clock = new ManualClock(0);
    const hlc = new HybridLogicalClock(clock, 'us-east');
    let previous: HlcStamp | undefined;
    for (const step of steps) {
      if (step.op === 'set') clock.set(step.to);
      else if (step.op === 'observe') hlc.observe(stamp(step.stamp[0], step.stamp[1], 'eu-west'));
      else {
        const made = hlc.now();
        expect([made.wall, made.logical]).toEqual(step.expect);
        expect(made.replica).toBe('us-east');
        if (previous !== undefined) expect(compareStamps(made, previous)).toBeGreaterThan(0);
        previous = made;
      }
    }
  });

  it('a stamp made after observing a peer stamp is newer than that stamp, whatever the wall clocks say', () => {
    const clock = new ManualClock(1_000);
    const hlc = new HybridLogicalClock(clock, 'a-replica');
    const peer = stamp(90_000, 3, 'z-replica');
    hlc.observe(peer);
    expect(compareStamps(hlc.now(), peer)).toBeGreaterThan(0);
  });
});

describe('HybridLogicalClock.receive: how far a peer may pull the clock ahead', () => {
  const NOW = 1_700_000_000_000;
  const HOUR = 3_600_000;

  it('refuses a peer stamp an hour ahead: the clock stays on real time, and later local stamps follow it', () => {
    const clock = new ManualClock(NOW);
    const hlc = new HybridLogicalClock(clock, 'us-east');
    expect(hlc.receive(stamp(NOW + HOUR, 0, 'eu-west'))).toEqual({ accepted: false, aheadMs: HOUR });
    expect(hlc.now()).toEqual(stamp(NOW, 0, 'us-east'));
    clock.advance(1000);
    expect(hlc.now()).toEqual(stamp(NOW + 1000, 0, 'us-east'));
  });

  it('takes a peer stamp up to 5 min ahead, and local stamps stay newer than it', () => {
    const clock = new ManualClock(NOW);
    const hlc = new HybridLogicalClock(clock, 'us-east');
    const peer = stamp(NOW + HLC_MAX_FORWARD_MS, 4, 'eu-west');
    expect(hlc.receive(peer)).toEqual({ accepted: true });
    expect(compareStamps(hlc.now(), peer)).toBeGreaterThan(0);
    expect(hlc.receive(stamp(NOW + HLC_MAX_FORWARD_MS + 1, 0, 'eu-west'))).toEqual({ accepted: false, aheadMs: HLC_MAX_FORWARD_MS + 1 });
  });

  it('a stamp behind, however far, is taken and changes nothing', () => {
    const clock = new ManualClock(NOW);
    const hlc = new HybridLogicalClock(clock, 'us-east');
    expect(hlc.receive(stamp(NOW - 10 * 60_000, 3, 'eu-west'))).toEqual({ accepted: true });
    expect(hlc.now()).toEqual(stamp(NOW, 0, 'us-east'));
  });

  it('observe (stamps this replica already holds, from its own file) is not bounded: an edit here stays newer than the entry it replaces', () => {
    const clock = new ManualClock(NOW);
    const hlc = new HybridLogicalClock(clock, 'us-east');
    const held = stamp(NOW + HOUR, 2, 'us-east');
    hlc.observe(held);
    expect(compareStamps(hlc.now(), held)).toBeGreaterThan(0);
  });

  it('the bound can be set', () => {
    const clock = new ManualClock(NOW);
    const hlc = new HybridLogicalClock(clock, 'us-east', { maxForwardMs: 1000 });
    expect(hlc.maxForwardMs).toBe(1000);
    expect(hlc.receive(stamp(NOW + 1001, 0, 'eu-west'))).toEqual({ accepted: false, aheadMs: 1001 });
  });
});
