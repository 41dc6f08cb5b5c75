import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { endpointId } from '../../src/domain/health.js';
import type { EndpointHealth, HealthState } from '../../src/domain/health.js';
import { recordKey } from '../../src/domain/record.js';
import type { RecordKey, RecordSet } from '../../src/domain/record.js';
import type { ZoneSpec } from '../../src/domain/zone.js';
import { hasErrorCode } from '../../src/lib/atomic-file.js';
import { ManualClock } from '../../src/lib/clock.js';
import type { Logger } from '../../src/lib/logger.js';
import { boundWriteHistory, ZoneDecider } from '../../src/sync/decider.js';
import { parseWriteBudget, WriteBudgetStore } from '../../src/sync/write-budget-store.js';
import { failoverSpec } from '../helpers/failover-spec.js';
import { memoryLogger } from '../helpers/memory-logger.js';
import type { LogLine } from '../helpers/memory-logger.js';

/**
 * The hourly write budget kept in the state directory: a decider started again on the same file
 * (a restart, a crash) finds the budget as the last one left it; each spend is on disk before the
 * target carrying it exists; the file stays bounded, by age both ways; a file that does not load
 * is moved aside and the budget starts unspent. A real file on a temporary directory, a ManualClock.
 */

const ZONE = 'example.com.';
const API = `api.${ZONE}`;
const KEY = recordKey(API, 'A');
const PRIMARY = '192.0.2.10';
const SECONDARY = '198.51.100.20';
const HOUR = 3_600_000;
const START = 1_700_000_000_000;
const BUDGET = 2;

const zone: ZoneSpec = {
  name: ZONE,
  providers: ['a'],
  nameservers: 'manual',
  nameserverTtl: 3600,
  unmanaged: 'keep',
  drift: 'repair',
  maxChangeShare: 0.3,
  records: [failoverSpec(API, { primary: [PRIMARY], secondary: [SECONDARY] }, { maxWritesPerHour: BUDGET })],
};

const apiAt = (value: string): RecordSet => ({ name: API, type: 'A', ttl: 30, values: [value] });

let dir: string;
let path: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dq-budget-'));
  path = join(dir, 'state', 'write-budget.json');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** One daemon's decider on the budget file: opened as main.ts opens it, with the provider holding `serving`. */
async function start(clock: ManualClock, serving: string, options: { logger?: Logger; onNewTarget?: (d: ZoneDecider) => void } = {}): Promise<{
  decider: ZoneDecider;
  store: WriteBudgetStore;
  setPrimary: (state: HealthState) => void;
}> {
  const logger = options.logger ?? memoryLogger().logger;
  const store = await WriteBudgetStore.open({ path, clock, logger });
  const health = new Map<string, EndpointHealth>();
  const set = (value: string, state: HealthState): void => {
    const id = endpointId(API, 'A', value);
    health.set(id, { endpointId: id, state, since: clock.now(), reason: 'test', insufficientVantage: false, regions: [] });
  };
  set(PRIMARY, serving === PRIMARY ? 'up' : 'down');
  set(SECONDARY, 'up');
  const decider: ZoneDecider = new ZoneDecider({
    zones: [zone],
    clock,
    logger,
    health: () => health,
    overrides: () => [],
    healthPaused: () => false,
    writeBudget: store,
    onNewTarget: () => options.onNewTarget?.(decider),
  });
  decider.observe(zone, 'a', [apiAt(serving)], undefined);
  return {
    decider,
    store,
    setPrimary: (state) => {
      set(PRIMARY, state);
      decider.healthChanged([endpointId(API, 'A', PRIMARY)]);
    },
  };
}

const served = (d: ZoneDecider): readonly string[] | undefined => d.target(ZONE)?.desired.records.find((r) => r.name === API)?.values;
const cause = (d: ZoneDecider): string | undefined => d.records().find((r) => r.name === API)?.cause;
/** The record's spends in the file now; none while there is no file. */
function onDisk(): number[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (hasErrorCode(err, 'ENOENT')) return [];
    throw err;
  }
  return parseWriteBudget(path, text).get(KEY) ?? [];
}

describe('the write budget kept in the state directory', () => {
  it('is on disk, with the spend, before the target that carries the change exists', async () => {
    const clock = new ManualClock(START);
    const seen: { values: readonly string[] | undefined; spends: number[] }[] = [];
    const { setPrimary } = await start(clock, PRIMARY, { onNewTarget: (d) => seen.push({ values: served(d), spends: onDisk() }) });
    seen.length = 0;
    clock.advance(1000);
    setPrimary('down');
    clock.advance(1000);
    setPrimary('up');
    expect(seen).toEqual([
      { values: [SECONDARY], spends: [START + 1000] },
      { values: [PRIMARY], spends: [START + 1000, START + 2000] },
    ]);
  });

  it('binds a decider started again on the same file: a restart does not refill it', async () => {
    const clock = new ManualClock(START);
    const first = await start(clock, PRIMARY);
    clock.advance(1000);
    first.setPrimary('down');
    clock.advance(1000);
    first.setPrimary('up');
    expect(served(first.decider)).toEqual([PRIMARY]);
    expect(onDisk()).toEqual([START + 1000, START + 2000]);

    // The process dies; the next one starts on the same state directory, the provider as it was left.
    clock.advance(5000);
    const second = await start(clock, PRIMARY);
    second.setPrimary('down');
    expect(served(second.decider)).toEqual([PRIMARY]);
    expect(cause(second.decider)).toBe('write-budget');

    // An hour after the first spend, one unit is back; a third start sees the same.
    clock.set(START + 1000 + HOUR);
    second.decider.decide();
    expect(served(second.decider)).toEqual([SECONDARY]);
    const third = await start(clock, SECONDARY);
    expect(third.store.history().get(KEY)).toEqual([START + 2000, START + 1000 + HOUR]);
  });

  it('is taken over on a reload by a decider built while the old one still spends', async () => {
    const clock = new ManualClock(START);
    const old = await start(clock, PRIMARY);
    // The new config's decider is built (sharing the store) before the old one stops deciding.
    const health = new Map<string, EndpointHealth>();
    for (const value of [PRIMARY, SECONDARY]) {
      const id = endpointId(API, 'A', value);
      health.set(id, { endpointId: id, state: value === PRIMARY ? 'down' : 'up', since: START, reason: 'test', insufficientVantage: false, regions: [] });
    }
    const next = new ZoneDecider({ zones: [zone], clock, logger: memoryLogger().logger, health: () => health, overrides: () => [], healthPaused: () => false, writeBudget: old.store });
    old.setPrimary('down');
    old.setPrimary('up');
    next.observe(zone, 'a', [apiAt(PRIMARY)], undefined);
    expect(served(next)).toEqual([PRIMARY]);
    expect(cause(next)).toBe('write-budget');
  });

  it('keeps only what can count: configured records, the last hour, at most maxWritesPerHour each', async () => {
    const clock = new ManualClock(START);
    await mkdir(join(dir, 'state'), { recursive: true });
    const stale = [START - 2 * HOUR, START - HOUR, START - 30_000, START - 20_000, START - 10_000];
    await writeFile(path, JSON.stringify({ version: 1, records: { [KEY]: stale, 'gone.example.com. A': [START - 1000] } }));
    const { decider, setPrimary } = await start(clock, PRIMARY);
    // Two spends in the last hour already: the budget is spent.
    setPrimary('down');
    expect(cause(decider)).toBe('write-budget');
    clock.set(START - 20_000 + HOUR);
    decider.decide();
    expect(served(decider)).toEqual([SECONDARY]);
    const onFile = parseWriteBudget(path, await readFile(path, 'utf8'));
    expect([...onFile.keys()]).toEqual([KEY]);
    expect(onFile.get(KEY)).toEqual([START - 10_000, START - 20_000 + HOUR]);
  });

  it('counts a spend stamped after now (the clock was set back) as made now: it expires an hour later, across restarts', async () => {
    const clock = new ManualClock(START);
    const first = await start(clock, PRIMARY);
    first.setPrimary('down');
    first.setPrimary('up');
    expect(onDisk()).toEqual([START, START]);

    const back = START - 24 * HOUR;
    clock.set(back);
    first.decider.decide();
    expect(onDisk(), 'moved to now and kept as moved').toEqual([back, back]);
    first.setPrimary('down');
    expect(cause(first.decider)).toBe('write-budget');

    // A restart half an hour later (the clock still behind the old stamps) does not move them again.
    clock.set(back + HOUR / 2);
    const second = await start(clock, PRIMARY);
    second.setPrimary('down');
    expect(cause(second.decider)).toBe('write-budget');
    clock.set(back + HOUR);
    second.decider.decide();
    expect(served(second.decider)).toEqual([SECONDARY]);
  });

  it('bounds by age, records and count in one pure step', () => {
    const limits = new Map<RecordKey, number>([[KEY, 2]]);
    const now = START;
    const history = new Map<RecordKey, number[]>([
      [KEY, [now + 5 * HOUR, now - HOUR, now - 1, now - 2, now - 3]],
      ['gone.example.com. A', [now]],
    ]);
    expect(boundWriteHistory(history, limits, now)).toEqual({ history: new Map([[KEY, [now - 1, now]]]), clamped: true });
    expect(boundWriteHistory(new Map([[KEY, [now - HOUR + 1]]]), limits, now)).toEqual({ history: new Map([[KEY, [now - HOUR + 1]]]), clamped: false });
  });

  it.each([
    { name: 'not JSON', text: '{"version": 1, "records": {"api.example.com. A": [17' },
    { name: 'another version', text: '{"version": 2, "records": {}}' },
    { name: 'not times', text: '{"version": 1, "records": {"api.example.com. A": ["yesterday"]}}' },
  ])('moves a file that does not load ($name) aside, logs DQ_STATE_CORRUPT and starts unspent', async ({ text }) => {
    const clock = new ManualClock(START);
    await mkdir(join(dir, 'state'), { recursive: true });
    await writeFile(path, text);
    const { logger, lines } = memoryLogger();
    const { decider, store, setPrimary } = await start(clock, PRIMARY, { logger });
    expect(store.history().size).toBe(0);
    const aside = join(dir, 'state', `write-budget.json.corrupt-${START}`);
    expect(await readFile(aside, 'utf8')).toBe(text);
    const error = lines.find((l) => l.level === 50);
    expect(error?.msg).toContain(`moved aside to ${aside}, starting with an unspent write budget`);
    expect(errorCode(error)).toBe('DQ_STATE_CORRUPT');
    // Unspent: the next change goes out and writes a whole file again.
    setPrimary('down');
    expect(served(decider)).toEqual([SECONDARY]);
    expect(onDisk()).toEqual([START]);
  });

  it('moves an unreadable path (a directory) aside the same way', async () => {
    const clock = new ManualClock(START);
    await mkdir(path, { recursive: true });
    const { logger, lines } = memoryLogger();
    const { store } = await start(clock, PRIMARY, { logger });
    expect(store.history().size).toBe(0);
    expect(lines.find((l) => l.level === 50)?.msg).toContain('cannot be read');
    expect(await readdir(join(dir, 'state'))).toEqual([`write-budget.json.corrupt-${START}`]);
  });

  it('removes the temporary files of a writer killed mid-write', async () => {
    const clock = new ManualClock(START);
    await mkdir(join(dir, 'state'), { recursive: true });
    await writeFile(join(dir, 'state', '.write-budget.json.tmp-123-abcdef'), '{"version":1,"rec');
    await writeFile(join(dir, 'state', 'overrides.json'), '{}');
    await start(clock, PRIMARY);
    expect(await readdir(join(dir, 'state'))).toEqual(['overrides.json']);
  });

  it('lets the change out when the file cannot be written, logs DQ_BUDGET_UNSAVED once, and still holds the budget', async () => {
    const clock = new ManualClock(START);
    // The state "directory" is a file: every write fails with ENOTDIR.
    await writeFile(join(dir, 'state'), 'not a directory');
    const { logger, lines } = memoryLogger();
    const { decider, setPrimary } = await start(clock, PRIMARY, { logger });
    setPrimary('down');
    expect(served(decider)).toEqual([SECONDARY]);
    setPrimary('up');
    expect(served(decider)).toEqual([PRIMARY]);
    setPrimary('down');
    expect(cause(decider)).toBe('write-budget');
    // At start the path could not be read either (reported as such); then one line for the failed saves.
    expect(lines.filter((l) => l.level === 50).map(errorCode)).toEqual(['DQ_STATE_CORRUPT', 'DQ_BUDGET_UNSAVED']);
  });
});

function errorCode(line: LogLine | undefined): unknown {
  const err = line?.err;
  return typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
}
