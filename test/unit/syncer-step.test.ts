import { describe, expect, it } from 'vitest';
import type { RecordKey, RecordSet } from '../../src/domain/record.js';
import {
  initialZoneSyncState,
  nextAction,
  onBehind,
  onCheckNow,
  onConverged,
  onDnsChecked,
  onDriftFound,
  onFailed,
  onNewTarget,
  onPassStart,
  onRead,
  onVisibility,
} from '../../src/sync/syncer-step.js';
import type { StepContext, SyncAction, WriteRecord, ZoneSyncState } from '../../src/sync/syncer-step.js';

const NOW = 1_000_000;
const ctx = (over: Partial<StepContext> = {}): StepContext => ({ now: NOW, hold: undefined, targetVersion: 3, intervalMs: 60_000, readIntervalMs: 600_000, ...over });
const records: ReadonlyMap<RecordKey, RecordSet> = new Map();
/** Brought to target 3 by a read 1 minute ago, nothing due until the interval. */
const settled: ZoneSyncState = { ...initialZoneSyncState, phase: 'in-sync', due: false, needsRead: false, nextPassAt: NOW + 1, lastReadAt: NOW - 60_000, converged: { version: 3, records } };

describe('nextAction', () => {
  const cases: { name: string; state: ZoneSyncState; ctx: StepContext; action: SyncAction }[] = [
    { name: 'a fresh start reads the API', state: initialZoneSyncState, ctx: ctx({ targetVersion: undefined }), action: { kind: 'read-api' } },
    { name: 'the startup hold holds, whatever is due', state: initialZoneSyncState, ctx: ctx({ hold: 'warming up' }), action: { kind: 'hold', reason: 'warming up' } },
    { name: 'nothing due waits for the next pass', state: settled, ctx: ctx(), action: { kind: 'wait', until: NOW + 1 } },
    { name: 'the interval come, at the target, read recently: compare over DNS', state: settled, ctx: ctx({ now: NOW + 1 }), action: { kind: 'compare-dns' } },
    { name: 'a trigger before the interval compares over DNS too', state: { ...settled, due: true }, ctx: ctx(), action: { kind: 'compare-dns' } },
    { name: 'a newer target reads the API (the write is planned against what it holds)', state: { ...settled, due: true }, ctx: ctx({ targetVersion: 4 }), action: { kind: 'read-api' } },
    { name: 'an asked-for read reads the API', state: { ...settled, due: true, needsRead: true }, ctx: ctx(), action: { kind: 'read-api' } },
    { name: 'a read older than readInterval reads the API', state: { ...settled, lastReadAt: NOW + 1 - 600_000 }, ctx: ctx({ now: NOW + 1 }), action: { kind: 'read-api' } },
    { name: 'no target yet reads the API', state: { ...settled, due: true }, ctx: ctx({ targetVersion: undefined }), action: { kind: 'read-api' } },
  ];
  it.each(cases)('$name', ({ state, ctx: context, action }) => {
    expect(nextAction(state, context)).toEqual(action);
  });
});

describe('transitions', () => {
  it('a new target makes a pass due and starts counting the lag once', () => {
    const first = onNewTarget(settled, NOW);
    expect(first).toMatchObject({ due: true, behindSince: NOW });
    expect(onNewTarget(first, NOW + 500).behindSince).toBe(NOW);
  });

  it('check-now asks for a read only when told to, and never takes one back', () => {
    expect(onCheckNow(settled, false)).toMatchObject({ due: true, needsRead: false });
    expect(onCheckNow(settled, true)).toMatchObject({ due: true, needsRead: true });
    expect(onCheckNow({ ...settled, needsRead: true }, false).needsRead).toBe(true);
  });

  it('DNS that agrees ends the pass in sync; DNS that differs goes on to a read', () => {
    const started = onPassStart({ ...settled, due: true });
    expect(started).toMatchObject({ phase: 'syncing', due: false });
    expect(onDnsChecked(started, false, ctx())).toMatchObject({ phase: 'in-sync', lastDnsCheckAt: NOW, nextPassAt: NOW + 60_000, lastSuccessAt: NOW });
    expect(onDnsChecked(started, true, ctx())).toMatchObject({ phase: 'syncing', needsRead: true, lastDnsCheckAt: NOW });
    expect(onDnsChecked({ ...started, drift: { ...started.drift, current: ['www.example.com. A'] } }, false, ctx()).phase).toBe('drift-reported');
  });

  it('converging to the current target ends the lag; to an older one keeps it and the pass due', () => {
    const behind = onBehind(onRead(onPassStart(onNewTarget(settled, NOW - 5000)), NOW), NOW);
    expect(behind).toMatchObject({ behindSince: NOW - 5000, lastReadAt: NOW, needsRead: false });
    const current = onConverged(behind, { version: 3, records, driftLeft: [], repaired: 0 }, ctx()).state;
    expect(current).toMatchObject({ phase: 'in-sync', behindSince: undefined, due: false, consecutiveFailures: 0, lastError: null });
    const newerCame = onNewTarget(behind, NOW);
    const older = onConverged(newerCame, { version: 3, records, driftLeft: [], repaired: 0 }, ctx({ targetVersion: 4 })).state;
    expect(older).toMatchObject({ behindSince: NOW - 5000, due: true });
  });

  it('reports drift gone once nothing is left in place', () => {
    const reported = { ...settled, phase: 'drift-reported' as const, drift: { detected: 1, repaired: 0, current: ['www.example.com. A'], noted: new Set(['www.example.com. A']) } };
    expect(onConverged(reported, { version: 3, records, driftLeft: ['www.example.com. A'], repaired: 0 }, ctx())).toMatchObject({ driftCleared: false, state: { phase: 'drift-reported' } });
    expect(onConverged(reported, { version: 3, records, driftLeft: [], repaired: 1 }, ctx())).toMatchObject({ driftCleared: true, state: { phase: 'in-sync', drift: { repaired: 1, current: [] } } });
  });

  it('counts each drifted record set once until the provider converges', () => {
    const first = onDriftFound(settled, ['a. A', 'b. A']);
    expect(first.fresh).toEqual(['a. A', 'b. A']);
    const again = onDriftFound(first.state, ['b. A', 'c. A']);
    expect(again.fresh).toEqual(['c. A']);
    expect(again.state.drift.detected).toBe(3);
    expect(onDriftFound(again.state, ['a. A']).state).toBe(again.state);
  });

  it('failures back off 1 s, 2 s, 4 s ... up to the interval, and ask for a read', () => {
    const error = { code: 'DQ_PROVIDER_UNAVAILABLE', message: 'HTTP 503', at: NOW };
    let state: ZoneSyncState = settled;
    const delays: number[] = [];
    for (let i = 0; i < 8; i += 1) {
      const failed = onFailed(state, error, NOW - 10, ctx({ intervalMs: 60_000 }));
      delays.push(failed.retryInMs);
      state = failed.state;
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000]);
    expect(state).toMatchObject({ phase: 'lagging', consecutiveFailures: 8, needsRead: true, behindSince: NOW - 10, lastError: error, nextPassAt: NOW + 60_000 });
  });

  it('changes a guardrail holds back are reported, neither lag nor failure, and the next pass reads the API again', () => {
    const refusal = { rule: 'nameserver-removal', forceable: true, message: 'apex NS would lose ns2.b', records: ['example.com. NS'] };
    const write: WriteRecord = { at: NOW, changes: 1, timeToVisibleMs: null, visible: 'pending' };
    const behind = { ...onPassStart({ ...settled, due: true }), behindSince: NOW - 5, consecutiveFailures: 0 };
    const first = onConverged(behind, { version: 3, records, driftLeft: [], repaired: 0, refused: [refusal], write }, ctx());
    expect(first.refusalChanged).toBe(true);
    expect(first.state).toMatchObject({ phase: 'refused', lastError: null, consecutiveFailures: 0, behindSince: undefined, lastSuccessAt: NOW, needsRead: true, refused: [{ ...refusal, since: NOW }] });
    expect(nextAction(first.state, ctx({ now: NOW + 60_000 }))).toEqual({ kind: 'read-api' });

    // Found again by the next read: the same refusal, its start kept, nothing new to tell.
    const again = onConverged(onRead(onPassStart(first.state), NOW + 60_000), { version: 3, records, driftLeft: [], repaired: 0, refused: [refusal] }, ctx({ now: NOW + 60_000 }));
    expect(again).toMatchObject({ refusalChanged: false, state: { phase: 'refused', refused: [{ since: NOW }] } });

    // Gone: in sync, and the change is told.
    const gone = onConverged(onRead(onPassStart(again.state), NOW + 120_000), { version: 3, records, driftLeft: [], repaired: 0, refused: [] }, ctx({ now: NOW + 120_000 }));
    expect(gone).toMatchObject({ refusalChanged: true, state: { phase: 'in-sync', refused: [], needsRead: false } });
  });

  it('a visibility outcome changes only the write it watched', () => {
    const write: WriteRecord = { at: NOW, changes: 1, timeToVisibleMs: null, visible: 'pending' };
    const written = onConverged(settled, { version: 3, records, driftLeft: [], repaired: 0, write }, ctx()).state;
    expect(onVisibility(written, write, { visible: true, ms: 250 }).lastWrite).toEqual({ ...write, visible: 'visible', timeToVisibleMs: 250 });
    expect(onVisibility(written, write, { visible: false }).lastWrite?.visible).toBe('timed-out');
    const newer: WriteRecord = { ...write, at: NOW + 1 };
    const rewritten = onConverged(written, { version: 3, records, driftLeft: [], repaired: 0, write: newer }, ctx({ now: NOW + 1 })).state;
    expect(onVisibility(rewritten, write, { visible: true, ms: 1 })).toBe(rewritten);
  });
});
