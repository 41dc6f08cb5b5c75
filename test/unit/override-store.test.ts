import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileOverrideStore } from '../../src/control/overrides/file-store.js';
import { slotOf } from '../../src/domain/override.js';
import type { Override, OverrideEntry, OverrideRelease } from '../../src/domain/override.js';
import { ManualClock } from '../../src/lib/clock.js';
import { DnsQuorumError, StateCorruptError } from '../../src/lib/errors.js';
import { HybridLogicalClock, compareStamps } from '../../src/lib/hlc.js';
import type { HlcStamp } from '../../src/lib/hlc.js';
import { memoryLogger } from '../helpers/memory-logger.js';
import type { LogLine } from '../helpers/memory-logger.js';

const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;


let dir = '';
let path = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dq-overrides-'));
  path = join(dir, 'state', 'overrides.json');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

let idCounter = 0;
function nextId(): string {
  idCounter += 1;
  return `o-${idCounter.toString(16).padStart(12, '0')}`;
}

function override(fields: Partial<Override> = {}): Override {
  return {
    id: nextId(),
    zone: 'example.com.',
    name: 'api.example.com.',
    type: 'A',
    action: { kind: 'force-pool', pool: 'secondary' },
    actor: 'alice',
    token: 'ops',
    reason: 'primary maintenance',
    forced: false,
    origin: 'us-east',
    createdAt: T0,
    expiresAt: T0 + HOUR,
    ...fields,
  };
}

function entry(o: Override, stamp: HlcStamp, released: OverrideRelease | null = null): OverrideEntry {
  return { slot: slotOf(o), stamp, override: o, released };
}

function release(at: number): OverrideRelease {
  return { at, actor: 'bob', token: 'ops', reason: 'maintenance done' };
}

interface Harness {
  readonly store: FileOverrideStore;
  readonly clock: ManualClock;
  readonly hlc: HybridLogicalClock;
  readonly lines: LogLine[];
}

async function openStore(options: { clock?: ManualClock; replica?: string; retainMs?: number } = {}): Promise<Harness> {
  const clock = options.clock ?? new ManualClock(T0);
  const hlc = new HybridLogicalClock(clock, options.replica ?? 'us-east');
  const { logger, lines } = memoryLogger();
  const store = await FileOverrideStore.open({ path, clock, hlc, logger, ...(options.retainMs === undefined ? {} : { retainMs: options.retainMs }) });
  return { store, clock, hlc, lines };
}

async function fileEntries(): Promise<OverrideEntry[]> {
  const parsed = JSON.parse(await readFile(path, 'utf8')) as { version: number; entries: OverrideEntry[] };
  expect(parsed.version).toBe(1);
  return parsed.entries;
}

/** Makes the file impossible to replace: a directory stands where it should be. */
async function blockWrites(): Promise<void> {
  await rm(path, { force: true });
  await mkdir(path, { recursive: true });
}

async function unblockWrites(): Promise<void> {
  await rm(path, { recursive: true, force: true });
}

describe('FileOverrideStore persistence', () => {
  it('starts empty without a file, and creates the file (and its directory) on the first put', async () => {
    const { store } = await openStore();
    expect(store.entries()).toEqual([]);
    expect(store.active()).toEqual([]);
    const o = override();
    const stored = await store.put(o);
    expect(stored).toMatchObject({ slot: slotOf(o), override: o, released: null, stamp: { wall: T0, logical: 0, replica: 'us-east' } });
    expect(await fileEntries()).toEqual([stored]);
  });

  it('survives a reopen: entries, releases and the clock past every stamp read back', async () => {
    const first = await openStore();
    const kept = override({ action: { kind: 'drain', value: '192.0.2.10' } });
    const ended = override();
    await first.store.put(kept);
    await first.store.put(ended);
    first.clock.advance(60_000);
    const tombstone = await first.store.release(ended.id, release(first.clock.now()));
    expect(tombstone?.released).not.toBeNull();

    // The new process's wall clock is behind the stamps in the file (a clock stepped back).
    const second = await openStore({ clock: new ManualClock(T0 - HOUR) });
    expect(second.store.entries()).toEqual(first.store.entries());
    second.clock.set(T0 + 60_000);
    expect(second.store.active()).toEqual([kept]);
    expect(second.store.find(ended.id)?.released).toEqual(release(T0 + 60_000));
    const newest = second.store.entries()[0];
    if (newest === undefined) throw new Error('no entries');
    expect(compareStamps(second.hlc.now(), newest.stamp)).toBeGreaterThan(0);
  });

  it.each<[string, (valid: OverrideEntry) => string, RegExp]>([
    ['not JSON', () => '{"version": 1, "entries": [', /not valid JSON/],
    ['a later format version', (e) => JSON.stringify({ version: 2, entries: [e] }), /version/],
    ['entries not a list', () => JSON.stringify({ version: 1, entries: {} }), /entries/],
    ['a bad override id', (e) => JSON.stringify({ version: 1, entries: [{ ...e, override: { ...e.override, id: 'o-XYZ' } }] }), /entries\.0\.override\.id/],
    ['expiresAt not after createdAt', (e) => JSON.stringify({ version: 1, entries: [{ ...e, override: { ...e.override, expiresAt: e.override.createdAt } }] }), /entries\.0\.override\.expiresAt: expiresAt must be after createdAt/],
    ['an unknown action', (e) => JSON.stringify({ version: 1, entries: [{ ...e, override: { ...e.override, action: { kind: 'nuke' } } }] }), /entries\.0\.override\.action/],
    ['a stamp without a replica', (e) => JSON.stringify({ version: 1, entries: [{ ...e, stamp: { wall: 1, logical: 0 } }] }), /entries\.0\.stamp\.replica/],
    ['a slot that does not match its override', (e) => JSON.stringify({ version: 1, entries: [{ ...e, slot: 'other.|x|A|force-pool' }] }), /entries\.0\.slot: slot does not match/],
    ['two entries for one slot', (e) => JSON.stringify({ version: 1, entries: [e, { ...e, override: { ...e.override, id: 'o-0000000000ff' } }] }), /entries\.1: slot .* also held by entries\.0/],
  ])('rejects a file with %s as StateCorruptError and leaves it untouched', async (_case, make, where) => {
    const valid = entry(override(), { wall: T0, logical: 0, replica: 'us-east' });
    const text = make(valid);
    await mkdir(join(dir, 'state'), { recursive: true });
    await writeFile(path, text);
    const caught = await openStore().catch((err: unknown) => err);
    expect(caught).toBeInstanceOf(StateCorruptError);
    const err = caught as StateCorruptError;
    expect(err.code).toBe('DQ_STATE_CORRUPT');
    expect(err.path).toBe(path);
    expect(err.message).toContain(path);
    expect(err.message).toMatch(where);
    expect(await readFile(path, 'utf8')).toBe(text);
  });

  it('rejects an unreadable file (a directory in its place) as StateCorruptError', async () => {
    await mkdir(path, { recursive: true });
    const caught = await openStore().catch((err: unknown) => err);
    expect(caught).toBeInstanceOf(StateCorruptError);
    expect((caught as StateCorruptError).message).toMatch(/cannot be read/);
  });

  it('a put that cannot be written rejects with DQ_STATE_WRITE and changes nothing', async () => {
    const { store } = await openStore();
    const first = override();
    await store.put(first);
    const before = store.entries();
    await blockWrites();

    const caught = await store.put(override({ action: { kind: 'drain', value: '192.0.2.10' } })).catch((err: unknown) => err);
    expect(caught).toBeInstanceOf(DnsQuorumError);
    expect((caught as DnsQuorumError).code).toBe('DQ_STATE_WRITE');
    expect((caught as DnsQuorumError).message).toContain(path);
    expect((caught as DnsQuorumError).cause).toBeInstanceOf(Error);
    expect(store.active()).toEqual([first]);
    expect(store.entries()).toEqual(before);

    const releaseFailure = await store.release(first.id, release(T0)).catch((err: unknown) => err);
    expect((releaseFailure as DnsQuorumError).code).toBe('DQ_STATE_WRITE');
    expect(store.active()).toEqual([first]);

    // The store keeps working once the file can be written again.
    await unblockWrites();
    const later = override({ action: { kind: 'drain', value: '192.0.2.11' } });
    await store.put(later);
    expect((await fileEntries()).map((e) => e.override.id).sort()).toEqual([first.id, later.id].sort());
  });

  it('refuses to store an override that would not load again, without writing', async () => {
    const { store } = await openStore();
    const bad = override({ id: 'not-an-id' });
    const caught = await store.put(bad).catch((err: unknown) => err);
    expect((caught as DnsQuorumError).code).toBe('DQ_INTERNAL');
    expect((caught as DnsQuorumError).message).toMatch(/id/);
    await expect(readFile(path, 'utf8')).rejects.toThrow(/ENOENT/);
  });

  it('concurrent puts are all persisted; on one slot the last one asked wins', async () => {
    const { store } = await openStore();
    const drains = Array.from({ length: 12 }, (_, i) => override({ action: { kind: 'drain', value: `192.0.2.${i + 1}` } }));
    const forceA = override({ action: { kind: 'force-pool', pool: 'primary' } });
    const forceB = override({ action: { kind: 'force-pool', pool: 'secondary' } });
    const results = await Promise.all([...drains, forceA, forceB].map((o) => store.put(o)));
    for (let i = 1; i < results.length; i++) {
      const [earlier, later] = [results[i - 1], results[i]];
      if (earlier === undefined || later === undefined) throw new Error('missing result');
      expect(compareStamps(later.stamp, earlier.stamp)).toBeGreaterThan(0);
    }
    const expectedIds = [...drains, forceB].map((o) => o.id).sort();
    expect(store.active().map((o) => o.id).sort()).toEqual(expectedIds);
    expect((await fileEntries()).map((e) => e.override.id).sort()).toEqual(expectedIds);
    const reopened = await openStore();
    expect(reopened.store.active().map((o) => o.id).sort()).toEqual(expectedIds);
  });
});

describe('FileOverrideStore edits', () => {
  it('a new override replaces the one in its slot; overrides in other slots stay', async () => {
    const { store, clock } = await openStore();
    const primary = override({ action: { kind: 'force-pool', pool: 'primary' } });
    const drain = override({ action: { kind: 'drain', value: '192.0.2.10' } });
    await store.put(primary);
    await store.put(drain);
    clock.advance(1000);
    const secondary = override({ action: { kind: 'force-pool', pool: 'secondary' } });
    await store.put(secondary);
    expect(store.active()).toEqual([secondary, drain]);
    expect(store.find(primary.id)).toBeUndefined();
    expect(store.entries().map((e) => e.override.id)).toEqual([secondary.id, drain.id]);
  });

  it('release leaves a newer tombstone, only for an active override', async () => {
    const { store, clock } = await openStore();
    const o = override();
    const put = await store.put(o);
    clock.advance(5000);
    const by = release(clock.now());
    const released = await store.release(o.id, by);
    expect(released).toEqual({ slot: put.slot, stamp: { wall: T0 + 5000, logical: 0, replica: 'us-east' }, override: o, released: by });
    expect(store.active()).toEqual([]);
    expect(store.find(o.id)).toEqual(released);
    expect(await fileEntries()).toEqual([released]);

    expect(await store.release(o.id, by)).toBeUndefined();
    expect(await store.release('o-ffffffffffff', by)).toBeUndefined();

    const shortLived = override({ action: { kind: 'drain', value: '192.0.2.10' }, expiresAt: clock.now() + 1000 });
    await store.put(shortLived);
    clock.advance(1000);
    expect(await store.release(shortLived.id, release(clock.now()))).toBeUndefined();
    expect(store.find(shortLived.id)?.released).toBeNull();
  });
});

describe('FileOverrideStore merge (last writer wins per slot)', () => {
  const o = override();
  const localStamp: HlcStamp = { wall: T0 + 100, logical: 2, replica: 'us-east' };

  it.each<[string, HlcStamp | null, HlcStamp, boolean]>([
    ['no local entry for the slot', null, { wall: T0, logical: 0, replica: 'eu-west' }, true],
    ['remote newer by wall time', localStamp, { wall: T0 + 101, logical: 0, replica: 'eu-west' }, true],
    ['remote older by wall time', localStamp, { wall: T0 + 99, logical: 9, replica: 'zz-north' }, false],
    ['remote newer by counter', localStamp, { wall: T0 + 100, logical: 3, replica: 'eu-west' }, true],
    ['remote older by counter', localStamp, { wall: T0 + 100, logical: 1, replica: 'zz-north' }, false],
    ['tie broken by replica: remote replica sorts after', localStamp, { wall: T0 + 100, logical: 2, replica: 'zz-north' }, true],
    ['tie broken by replica: remote replica sorts before', localStamp, { wall: T0 + 100, logical: 2, replica: 'eu-west' }, false],
    ['the very same stamp', localStamp, localStamp, false],
  ])('%s', async (_case, local, remote, adopts) => {
    const { store } = await openStore();
    const mine = override({ action: o.action, reason: 'mine' });
    if (local !== null) await store.merge([entry(mine, local)]);
    const theirs = override({ action: o.action, reason: 'theirs', origin: 'eu-west' });
    const adopted = await store.merge([entry(theirs, remote)]);
    expect(adopted.map((e) => e.override.id)).toEqual(adopts ? [theirs.id] : []);
    const winner = adopts ? theirs : mine;
    expect(store.active()).toEqual([winner]);
    expect((await fileEntries()).map((e) => e.override.id)).toEqual([winner.id]);
  });

  it('a newer tombstone beats an older active copy, and an older active copy never brings a release back', async () => {
    const here = await openStore({ replica: 'us-east' });
    const put = await here.store.put(o);
    expect(here.store.active()).toEqual([o]);

    const tombstone = entry(o, { wall: T0 + 10, logical: 0, replica: 'eu-west' }, release(T0 + 10));
    expect(await here.store.merge([tombstone])).toEqual([tombstone]);
    expect(here.store.active()).toEqual([]);

    // A peer that missed the release still sends its active copy.
    expect(await here.store.merge([put])).toEqual([]);
    expect(here.store.active()).toEqual([]);
    expect(here.store.find(o.id)?.released).toEqual(release(T0 + 10));

    const reopened = await openStore();
    expect(await reopened.store.merge([put])).toEqual([]);
    expect(reopened.store.active()).toEqual([]);
  });

  it('ignores (and warns about) an entry whose slot is not its override\'s, and entries that would not load', async () => {
    const { store, lines } = await openStore();
    const wrongSlot: OverrideEntry = { ...entry(o, { wall: T0, logical: 0, replica: 'eu-west' }), slot: 'example.com.|www.example.com.|A|force-pool' };
    const badTimes = entry(override({ action: { kind: 'drain', value: '192.0.2.9' }, expiresAt: T0 - 1 }), { wall: T0, logical: 0, replica: 'eu-west' });
    const good = entry(override({ action: { kind: 'drain', value: '192.0.2.10' } }), { wall: T0, logical: 1, replica: 'eu-west' });
    expect(await store.merge([wrongSlot, badTimes, good])).toEqual([good]);
    expect(store.entries()).toEqual([good]);
    const warnings = lines.filter((l) => l.level === 40);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]?.problem).toMatch(/slot does not match/);
    expect(warnings[1]?.problem).toMatch(/expiresAt must be after createdAt/);
  });

  it('observes every merged stamp, so a later local edit wins over it even with a slow wall clock', async () => {
    const { store } = await openStore();
    const remote = entry(o, { wall: T0 + DAY, logical: 4, replica: 'zz-north' });
    await store.merge([remote]);
    const mine = override({ action: o.action });
    const local = await store.put(mine);
    expect(compareStamps(local.stamp, remote.stamp)).toBeGreaterThan(0);
    expect(store.active()).toEqual([mine]);
  });

  it('keeps adopted entries in memory when the file cannot be written, and writes them at the next sweep', async () => {
    const { store, lines } = await openStore();
    await blockWrites();
    const remote = entry(o, { wall: T0, logical: 0, replica: 'eu-west' });
    expect(await store.merge([remote])).toEqual([remote]);
    expect(store.active()).toEqual([o]);
    const errors = lines.filter((l) => l.level === 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.msg).toMatch(/merged from a peer/);

    await store.sweep();
    expect(lines.filter((l) => l.level === 50)).toHaveLength(2);
    expect(store.active()).toEqual([o]);

    await unblockWrites();
    expect(await store.sweep()).toEqual([]);
    expect(await fileEntries()).toEqual([remote]);
  });

  it('writes entries kept after a failed merge write with the next put', async () => {
    const { store } = await openStore();
    await blockWrites();
    const remote = entry(o, { wall: T0, logical: 0, replica: 'eu-west' });
    await store.merge([remote]);
    await unblockWrites();
    const mine = override({ action: { kind: 'drain', value: '192.0.2.10' } });
    await store.put(mine);
    expect((await fileEntries()).map((e) => e.override.id).sort()).toEqual([o.id, mine.id].sort());
  });
});

describe('FileOverrideStore sweep', () => {
  it('reports an expiry once, and forgets the entry after the retention', async () => {
    const { store, clock } = await openStore({ retainMs: DAY });
    const o = override({ expiresAt: T0 + HOUR });
    await store.put(o);
    expect(await store.sweep()).toEqual([]);
    clock.set(T0 + HOUR - 1);
    expect(await store.sweep()).toEqual([]);
    expect(store.active()).toEqual([o]);

    clock.set(T0 + HOUR);
    expect(store.active()).toEqual([]);
    expect(await store.sweep()).toEqual([o]);
    expect(await store.sweep()).toEqual([]);
    expect(store.find(o.id)).toBeDefined();

    clock.set(T0 + HOUR + DAY);
    expect(await store.sweep()).toEqual([]);
    expect(store.find(o.id)).toBeDefined();
    clock.set(T0 + HOUR + DAY + 1);
    expect(await store.sweep()).toEqual([]);
    expect(store.find(o.id)).toBeUndefined();
    expect(await fileEntries()).toEqual([]);
  });

  it('does not report overrides that had already expired when the store was opened', async () => {
    const first = await openStore();
    const o = override({ expiresAt: T0 + HOUR });
    await first.store.put(o);
    const later = await openStore({ clock: new ManualClock(T0 + 2 * HOUR) });
    expect(await later.store.sweep()).toEqual([]);
    expect(later.store.find(o.id)).toBeDefined();
  });

  it('reports an expiry that a new override in the same slot replaced before the sweep', async () => {
    const { store, clock } = await openStore();
    const o = override({ expiresAt: T0 + HOUR });
    await store.put(o);
    clock.set(T0 + HOUR + 1);
    const next = override({ action: o.action, createdAt: clock.now(), expiresAt: clock.now() + HOUR });
    await store.put(next);
    expect(await store.sweep()).toEqual([o]);
    expect(await store.sweep()).toEqual([]);
  });

  it('does not report released overrides, nor already-expired entries learned from a peer', async () => {
    const { store, clock } = await openStore();
    const released = override({ expiresAt: T0 + HOUR });
    await store.put(released);
    await store.release(released.id, release(T0));
    const stale = override({ action: { kind: 'drain', value: '192.0.2.10' }, createdAt: T0 - 2 * HOUR, expiresAt: T0 - HOUR });
    expect(await store.merge([entry(stale, { wall: T0 - 2 * HOUR, logical: 0, replica: 'eu-west' })])).toHaveLength(1);
    clock.set(T0 + 2 * HOUR);
    expect(await store.sweep()).toEqual([]);
  });

  it('keeps a tombstone until its override would have expired, plus the retention', async () => {
    const { store, clock } = await openStore({ retainMs: DAY });
    const o = override({ expiresAt: T0 + 3 * DAY });
    const put = await store.put(o);
    await store.release(o.id, release(T0));
    clock.set(T0 + 2 * DAY);
    await store.sweep();
    expect(store.find(o.id)?.released).not.toBeNull();
    // A peer partitioned away since before the release still holds the active copy.
    expect(await store.merge([put])).toEqual([]);
    expect(store.active()).toEqual([]);

    clock.set(T0 + 4 * DAY + 1);
    await store.sweep();
    expect(store.find(o.id)).toBeUndefined();
    // Past the retention, a peer's copy is not adopted again only to be forgotten at the next sweep.
    expect(await store.merge([put])).toEqual([]);
    expect(store.entries()).toEqual([]);
  });
});
