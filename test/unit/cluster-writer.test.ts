import { describe, expect, it } from 'vitest';
import { ClusterView } from '../../src/cluster/cluster-view.js';
import type { PeerMessage } from '../../src/cluster/messages.js';
import { electWriter } from '../../src/cluster/writer.js';
import { ManualClock } from '../../src/lib/clock.js';

const c = (region: string, writerCapable = true, fresh = true, seesQuorum = true) => ({ region, writerCapable, fresh, seesQuorum });

describe('electWriter', () => {
  it.each([
    { name: 'all well: the smallest region writes', candidates: [c('b'), c('a'), c('c')], writer: 'a' },
    { name: 'a silent: b takes over', candidates: [c('a', true, false), c('b'), c('c')], writer: 'b' },
    { name: 'a cut off (sees no quorum): b writes', candidates: [c('a', true, true, false), c('b'), c('c')], writer: 'b' },
    { name: 'a prober only: b writes', candidates: [c('a', false), c('b'), c('c')], writer: 'b' },
    { name: 'nobody sees a quorum: nobody writes', candidates: [c('a', true, true, false), c('b', true, true, false)], writer: null },
  ])('$name', ({ candidates, writer }) => {
    expect(electWriter(candidates)).toBe(writer);
  });
});

const message = (region: string, seesQuorum = true, writer = true): PeerMessage => ({ v: 1, region, writer, seesQuorum, verdicts: [], overrides: [] });

describe('ClusterView', () => {
  const peers = [
    { region: 'b', url: 'http://127.0.0.1:1' },
    { region: 'c', url: 'http://127.0.0.1:2' },
  ];
  const view = (region: string, clock: ManualClock, writerCapable = true): ClusterView =>
    new ClusterView({ region, peers: region === 'a' ? peers : [{ region: 'a', url: 'http://127.0.0.1:3' }, ...peers.filter((p) => p.region !== region)], quorum: 2, staleAfterMs: 2000, writerCapable, clock });

  it('alone, a replica of three sees no quorum and holds its writes', () => {
    const clock = new ManualClock(1000);
    const a = view('a', clock);
    expect(a.seesQuorum()).toBe(false);
    expect(a.writer()).toBeNull();
    expect(a.holdReason()).toMatch(/no quorum of regions in view: hears a \(1\), needs 2/);
  });

  it('hearing b makes a the writer; b, hearing a, holds', () => {
    const clock = new ManualClock(1000);
    const a = view('a', clock);
    const b = view('b', clock);
    a.received(message('b'), clock.now());
    b.received(message('a'), clock.now());
    expect(a.holdReason()).toBeUndefined();
    expect(b.holdReason()).toBe('not the writer: region a writes');
  });

  it('when a falls silent for staleAfter, b takes over; a message from a before that keeps it', () => {
    const clock = new ManualClock(1000);
    const b = view('b', clock);
    b.received(message('a'), clock.now());
    b.received(message('c'), clock.now());
    clock.advance(2000);
    expect(b.writer()).toBe('a');
    b.received(message('c'), clock.now());
    clock.advance(1);
    expect(b.writer()).toBe('b');
    expect(b.holdReason()).toBeUndefined();
    expect(b.freshRegions()).toEqual(['b', 'c']);
  });

  it('a prober-only replica never writes and is never chosen', () => {
    const clock = new ManualClock(1000);
    const a = view('a', clock, false);
    const b = view('b', clock);
    a.received(message('b'), clock.now());
    b.received(message('a', true, false), clock.now());
    expect(a.holdReason()).toBe('this replica is a prober only (cluster.writer: false)');
    expect(b.writer()).toBe('b');
  });
});
