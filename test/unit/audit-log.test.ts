import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AUDIT_READ_MAX_BYTES, FileAuditLog } from '../../src/control/audit/file-log.js';
import type { AuditEvent } from '../../src/control/audit/log.js';
import { memoryLogger } from '../helpers/memory-logger.js';
import type { LogLine } from '../helpers/memory-logger.js';

const T0 = 1_700_000_000_000;


let dir = '';
let path = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dq-audit-'));
  path = join(dir, 'state', 'nested', 'audit.jsonl');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function event(n: number, fields: Partial<AuditEvent> = {}): AuditEvent {
  return {
    at: T0 + n * 1000,
    region: 'us-east',
    action: 'override',
    actor: 'alice',
    token: 'ops',
    zone: 'example.com.',
    record: 'api.example.com.',
    type: 'A',
    what: `force pool secondary for 1h (#${n})`,
    why: 'primary maintenance',
    result: 'accepted',
    overrideId: 'o-0123456789ab',
    provider: null,
    ...fields,
  };
}

function line(e: AuditEvent): string {
  return `${JSON.stringify(e)}\n`;
}

function auditLog(): { log: FileAuditLog; lines: LogLine[] } {
  const { logger, lines } = memoryLogger();
  return { log: new FileAuditLog({ path, logger }), lines };
}

async function writeLog(text: string): Promise<void> {
  await mkdir(join(dir, 'state', 'nested'), { recursive: true });
  await writeFile(path, text);
}

describe('FileAuditLog append', () => {
  it('creates the directory and writes one JSON line per event, in order', async () => {
    const { log } = auditLog();
    const events = [event(1), event(2, { action: 'write', actor: 'dnsquorum', token: null, record: null, type: null, provider: 'r53', overrideId: null, result: 'applied' })];
    for (const e of events) await log.append(e);
    const text = await readFile(path, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    expect(text.trimEnd().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual(events);
  });

  it('writes only the event fields, in a fixed order', async () => {
    const { log } = auditLog();
    const extra = { ...event(1), secretish: 'not an audit field' };
    await log.append(extra);
    const text = await readFile(path, 'utf8');
    expect(text).toBe(line(event(1)));
  });

  it('concurrent appends never interleave or get lost', async () => {
    const { log } = auditLog();
    const events = Array.from({ length: 60 }, (_, i) => event(i, { why: 'x'.repeat(i * 50) }));
    await Promise.all(events.map((e) => log.append(e)));
    expect(await log.read({ limit: 1000 })).toEqual(events);
  });

  it('a read sees the appends asked for before it', async () => {
    const { log } = auditLog();
    const pending = log.append(event(1));
    expect(await log.read({})).toEqual([event(1)]);
    await pending;
  });

  it('never rejects: a failed append is logged at error with the event', async () => {
    await mkdir(path, { recursive: true });
    const { log, lines } = auditLog();
    await expect(log.append(event(1))).resolves.toBeUndefined();
    const errors = lines.filter((l) => l.level === 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.auditPath).toBe(path);
    expect(errors[0]?.event).toMatchObject({ what: event(1).what });
  });

  it('starts a fresh line after a torn last line, so the new event stays readable', async () => {
    await writeLog(`${line(event(1))}{"at":17000000`);
    const { log, lines } = auditLog();
    await log.append(event(2));
    await log.append(event(3));
    expect(await log.read({})).toEqual([event(1), event(2), event(3)]);
    expect(lines.filter((l) => l.level === 40)).toHaveLength(1);
  });
});

describe('FileAuditLog read', () => {
  it('a missing file is an empty log', async () => {
    const { log } = auditLog();
    expect(await log.read({})).toEqual([]);
  });

  it.each<[string, number | undefined, number, number]>([
    ['default limit', undefined, 150, 100],
    ['a smaller limit', 7, 150, 7],
    ['a limit above what there is', 500, 150, 150],
    ['zero clamps to one', 0, 150, 1],
    ['negative clamps to one', -5, 150, 1],
    ['a fraction rounds down', 2.9, 150, 2],
    ['above the maximum clamps to 1000', 5000, 1200, 1000],
    ['not a number is the default', Number.NaN, 150, 100],
  ])('%s: the newest lines, oldest first', async (_case, limit, count, expected) => {
    const events = Array.from({ length: count }, (_, i) => event(i));
    await writeLog(events.map(line).join(''));
    const { log } = auditLog();
    const read = await log.read(limit === undefined ? {} : { limit });
    expect(read).toEqual(events.slice(count - expected));
  });

  it.each<[string, number | undefined, number[]]>([
    ['no since', undefined, [0, 1, 2, 3, 4]],
    ['since an event time includes it', T0 + 2000, [2, 3, 4]],
    ['since between two events', T0 + 2500, [3, 4]],
    ['since after every event', T0 + 10_000, []],
  ])('%s', async (_case, since, expected) => {
    await writeLog([0, 1, 2, 3, 4].map((n) => line(event(n))).join(''));
    const { log } = auditLog();
    const read = await log.read(since === undefined ? {} : { since });
    expect(read.map((e) => e.at)).toEqual(expected.map((n) => T0 + n * 1000));
  });

  it('applies since before limit', async () => {
    await writeLog([0, 1, 2, 3, 4, 5].map((n) => line(event(n))).join(''));
    const { log } = auditLog();
    expect((await log.read({ since: T0 + 1000, limit: 2 })).map((e) => e.at)).toEqual([T0 + 4000, T0 + 5000]);
  });

  it('skips lines that do not parse as audit events, and warns once with the count', async () => {
    const text = [
      line(event(1)),
      'not json at all\n',
      '{"at": 1, "region": "us-east"}\n',
      `${JSON.stringify({ ...event(2), action: 'launch' })}\n`,
      '\n',
      line(event(3)),
      '{"at":1700000004000,"region":"us-e',
    ].join('');
    await writeLog(text);
    const { log, lines } = auditLog();
    expect(await log.read({})).toEqual([event(1), event(3)]);
    const warnings = lines.filter((l) => l.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.skipped).toBe(4);
  });

  it('reads only the last 4 MiB of a large log, skipping the line cut at the start', async () => {
    const padding = 'p'.repeat(8000);
    const events = Array.from({ length: 800 }, (_, i) => event(i, { why: `${padding}${i}` }));
    const lines = events.map(line);
    const text = lines.join('');
    const windowStart = Buffer.byteLength(text) - AUDIT_READ_MAX_BYTES;
    expect(windowStart).toBeGreaterThan(100_000);
    await writeLog(text);

    // The first whole line inside the window, and the one cut by its start.
    let offset = 0;
    let firstInWindow = 0;
    while (offset < windowStart) offset += Buffer.byteLength(lines[firstInWindow++] ?? '');
    expect(offset).toBeGreaterThan(windowStart);

    const { log, lines: logLines } = auditLog();
    expect(await log.read({ limit: 1000 })).toEqual(events.slice(firstInWindow));
    expect(await log.read({ limit: 1000, since: 0 })).toEqual(events.slice(firstInWindow));
    expect(await log.read({ limit: 3 })).toEqual(events.slice(-3));
    expect(logLines.filter((l) => l.level === 40)).toEqual([]);
  });

  it.each<[string, number, number[]]>([
    ['a window that starts exactly at a line start keeps that line', 0, [1, 2]],
    ['a window that starts one byte into a line drops that line', 1, [2]],
  ])('%s', async (_case, cut, expected) => {
    const bare = line(event(1, { why: '' })).length + line(event(2)).length;
    const tail = line(event(1, { why: 'f'.repeat(AUDIT_READ_MAX_BYTES - bare + cut) })) + line(event(2));
    expect(Buffer.byteLength(tail)).toBe(AUDIT_READ_MAX_BYTES + cut);
    await writeLog(line(event(0)) + tail);
    const { log, lines } = auditLog();
    expect((await log.read({})).map((e) => e.at)).toEqual(expected.map((n) => T0 + n * 1000));
    expect(lines.filter((l) => l.level === 40)).toEqual([]);
  });
});
