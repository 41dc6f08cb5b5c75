import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { existsSync, statSync, watch } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RecordSet } from '../../src/domain/record.js';
import { ProviderError, StateCorruptError } from '../../src/lib/errors.js';
import { EMPTY_STATE, LocalStateStore, parseState, readStateFile, serializeState } from '../../src/providers/local/state.js';
import type { LocalState } from '../../src/providers/local/state.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const never = new AbortController().signal;

let dir = '';
let statePath = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dq-local-state-'));
  statePath = join(dir, 'local', 'lab.json');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function store(lockTimeoutMs = 5_000): LocalStateStore {
  return new LocalStateStore({ path: statePath, providerName: 'lab', lockTimeoutMs });
}

function zoneWith(serial: number, records: RecordSet[] = []): LocalState {
  return { zones: { 'example.test.': { serial, records } } };
}

/** A pid that certainly belongs to no process: a child that has exited and been reaped. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  const pid = child.pid;
  await new Promise((done) => child.once('exit', done));
  if (pid === undefined) throw new Error('could not spawn node');
  return pid;
}

describe('state file format', () => {
  it('round-trips through serializeState and parseState, zones and record sets sorted', () => {
    const state: LocalState = {
      zones: {
        'b.test.': { serial: 2, records: [{ name: 'www.b.test.', type: 'A', ttl: 60, values: ['192.0.2.1'] }] },
        'a.test.': {
          serial: 1,
          records: [
            { name: 'z.a.test.', type: 'TXT', ttl: 60, values: ['x'] },
            { name: 'a.a.test.', type: 'A', ttl: 60, values: ['192.0.2.2'] },
          ],
        },
      },
    };
    const text = serializeState(state);
    expect(Object.keys((JSON.parse(text) as { zones: object }).zones)).toEqual(['a.test.', 'b.test.']);
    const parsed = parseState('/x', text);
    expect(parsed.zones['a.test.']?.records.map((r) => r.name)).toEqual(['a.a.test.', 'z.a.test.']);
    expect(parsed.zones['b.test.']).toEqual(state.zones['b.test.']);
  });

  it.each([
    ['an empty file', ''],
    ['truncated JSON', '{"version":1,"zones":{"a.test.":{"serial":1,'],
    ['another version', '{"version":2,"zones":{}}'],
    ['a record of an unknown type', '{"version":1,"zones":{"a.test.":{"serial":1,"records":[{"name":"a.","type":"HINFO","ttl":1,"values":[]}]}}}'],
    ['a negative serial', '{"version":1,"zones":{"a.test.":{"serial":-1,"records":[]}}}'],
    ['not an object', '[1,2,3]'],
  ])('%s is a StateCorruptError naming the file', (_case, text) => {
    let caught: unknown;
    try {
      parseState('/var/lib/dnsquorum/local/lab.json', text);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(StateCorruptError);
    const err = caught as StateCorruptError;
    expect(err.code).toBe('DQ_STATE_CORRUPT');
    expect(err.path).toBe('/var/lib/dnsquorum/local/lab.json');
    expect(err.message).toContain('/var/lib/dnsquorum/local/lab.json');
  });

  it('reads a missing file as an empty state', async () => {
    expect(await readStateFile(join(dir, 'nothing.json'))).toEqual(EMPTY_STATE);
  });
});

describe('LocalStateStore', () => {
  it('creates the directory, writes the file, and leaves no temporary files behind', async () => {
    const s = store();
    await s.update(never, () => zoneWith(7));
    expect(await s.read()).toEqual(zoneWith(7));
    expect((await readdir(dirname(statePath))).sort()).toEqual(['lab.json']);
  });

  it('writes nothing when the mutation returns undefined', async () => {
    const s = store();
    await s.update(never, () => zoneWith(1));
    const before = await stat(statePath);
    const held = await s.update(never, () => undefined);
    const after = await stat(statePath);
    expect(held).toEqual(zoneWith(1));
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
  });

  it('replaces the file by rename: every write is a new inode', async () => {
    const s = store();
    await s.update(never, () => zoneWith(1));
    const first = await stat(statePath);
    await s.update(never, () => zoneWith(2));
    expect((await stat(statePath)).ino).not.toBe(first.ino);
  });

  it('never overwrites a corrupt file: update throws StateCorruptError and leaves the bytes alone', async () => {
    await mkdir(dirname(statePath), { recursive: true });
    const corrupt = '{"version":1,"zones":{"example.test.":';
    await writeFile(statePath, corrupt);
    let called = false;
    const err = await store()
      .update(never, () => {
        called = true;
        return zoneWith(1);
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StateCorruptError);
    expect(called).toBe(false);
    expect(await readFile(statePath, 'utf8')).toBe(corrupt);
  });

  it('serialises concurrent updates in one process (no lost update)', async () => {
    const s = store();
    const other = store();
    await s.update(never, () => zoneWith(0));
    const bump = (target: LocalStateStore): Promise<LocalState> =>
      target.update(never, (current) => zoneWith((current.zones['example.test.']?.serial ?? 0) + 1));
    await Promise.all(Array.from({ length: 20 }, (_, i) => bump(i % 2 === 0 ? s : other)));
    expect((await s.read()).zones['example.test.']?.serial).toBe(20);
  });

  it('a mutation that throws releases the lock and writes nothing', async () => {
    const s = store();
    await s.update(never, () => zoneWith(1));
    await expect(
      s.update(never, () => {
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    expect(existsSync(s.lockPath)).toBe(false);
    expect(await s.read()).toEqual(zoneWith(1));
  });

  it.each([
    ['a dead pid', async (): Promise<string> => `${await deadPid()} ${hostname()}\n`],
    ['garbage', (): Promise<string> => Promise.resolve('not a lock\n')],
    ['our own pid (left by an earlier process with the same pid)', (): Promise<string> => Promise.resolve(`${process.pid} ${hostname()}\n`)],
  ])('takes over a stale lock holding %s', async (_case, content) => {
    const s = store();
    await mkdir(dirname(statePath), { recursive: true });
    await writeFile(s.lockPath, await content());
    await s.update(never, () => zoneWith(3));
    expect(await s.read()).toEqual(zoneWith(3));
    expect(existsSync(s.lockPath)).toBe(false);
  });

  it.each([
    ['a live process on this host', (): string => `${process.ppid} ${hostname()}\n`, `pid ${process.ppid}`],
    ['a process on another host', (): string => `1 elsewhere.example\n`, 'pid 1 on elsewhere.example'],
  ])('waits for a lock held by %s, then gives up with DQ_PROVIDER_UNAVAILABLE', async (_case, content, holder) => {
    const s = store(150);
    await mkdir(dirname(statePath), { recursive: true });
    await writeFile(s.lockPath, content());
    const err = await s.update(never, () => zoneWith(1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    const providerError = err as ProviderError;
    expect(providerError.code).toBe('DQ_PROVIDER_UNAVAILABLE');
    expect(providerError.message).toContain(holder);
    expect(providerError.message).toContain(s.lockPath);
    // The live holder's lock is left alone.
    expect(await readFile(s.lockPath, 'utf8')).toBe(content());
    expect(existsSync(statePath)).toBe(false);
  });

  it('stops waiting for the lock when the signal aborts, with the abort reason', async () => {
    const s = store(60_000);
    await mkdir(dirname(statePath), { recursive: true });
    await writeFile(s.lockPath, `${process.ppid} ${hostname()}\n`);
    const controller = new AbortController();
    const pending = s.update(controller.signal, () => zoneWith(1));
    const reason = new Error('shutting down');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });

  it('stops waiting behind an in-process writer when the signal aborts', async () => {
    const s = store();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((done) => {
      release = done;
    });
    const first = s.withLock(never, () => gate);
    const controller = new AbortController();
    const second = s.update(controller.signal, () => zoneWith(1));
    controller.abort(new Error('gone'));
    await expect(second).rejects.toThrow('gone');
    release();
    await first;
    expect(existsSync(statePath)).toBe(false);
    // The queue is intact: a later writer gets through.
    await s.update(never, () => zoneWith(2));
    expect(await s.read()).toEqual(zoneWith(2));
  });
});

// ---------------------------------------------------------------------------------------------
// Crash tests against the compiled store, in real child processes.

const distState = join(repoRoot, 'dist/providers/local/state.js');
const sourcesOfDistState = ['src/providers/local/state.ts', 'src/domain/record.ts', 'src/lib/errors.ts', 'src/lib/atomic-file.ts'].map((p) => join(repoRoot, p));
const execFileAsync = promisify(execFile);

function distIsFresh(): boolean {
  if (!existsSync(distState)) return false;
  const built = statSync(distState).mtimeMs;
  return sourcesOfDistState.every((source) => statSync(source).mtimeMs <= built);
}

/** `npm test` builds dist first (pretest); a bare `vitest run` builds it here if it is missing or stale. */
async function ensureDistState(): Promise<void> {
  if (distIsFresh()) return;
  try {
    await execFileAsync(process.platform === 'win32' ? 'npx.cmd' : 'npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: repoRoot, timeout: 170_000 });
  } catch (err) {
    // tsc exits non-zero on type errors elsewhere in src but still emits; only a missing file is fatal.
    if (!distIsFresh()) {
      throw new Error(`dist/providers/local/state.js is missing or stale and "npx tsc -p tsconfig.build.json" did not produce it; run "npm run build" first`, {
        cause: err,
      });
    }
  }
}

/** The writer script, transpiled to JavaScript (Node 20 cannot run TypeScript itself). */
async function writerScript(into: string): Promise<string> {
  const source = await readFile(join(repoRoot, 'test/helpers/state-writer.ts'), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    fileName: 'state-writer.ts',
  });
  const script = join(into, 'state-writer.mjs');
  await writeFile(script, outputText);
  return script;
}

interface Writer {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves when the child has printed `line`. */
  waitFor(line: string): Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

function startWriter(script: string, args: string[]): Writer {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined || child.stdout === null || child.stderr === null) throw new Error('could not spawn the writer');
  const seen = new Set<string>();
  const waiting = new Map<string, () => void>();
  let errors = '';
  child.stderr.on('data', (chunk: Buffer) => {
    errors += chunk.toString();
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    seen.add(line);
    waiting.get(line)?.();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
    child.once('exit', (code, signal) => {
      done({ code, signal });
    });
  });
  return {
    child,
    pid: child.pid,
    exited,
    stderr: () => errors,
    waitFor: (line) =>
      new Promise<void>((done, fail) => {
        if (seen.has(line)) {
          done();
          return;
        }
        waiting.set(line, done);
        void exited.then(({ code, signal }) => {
          fail(new Error(`writer exited (${code ?? signal ?? '?'}) before printing "${line}": ${errors}`));
        });
      }),
  };
}

/** Resolves when a temporary state file shows up in `dir` (or the writer has exited). */
function tempFileAppears(dir: string, writer: Writer): Promise<void> {
  return new Promise((done) => {
    const watcher = watch(dir, (_event, file) => {
      if (file?.includes('.tmp-') === true) finish();
    });
    const finish = (): void => {
      watcher.close();
      done();
    };
    void writer.exited.then(finish);
  });
}

/** Ten thousand record sets (about 2 MB), so that one write takes long enough to be interrupted. */
function bigState(variant: number): LocalState {
  const records: RecordSet[] = Array.from({ length: 10_000 }, (_, i) => ({
    name: `host-${String(i).padStart(5, '0')}.big.test.`,
    type: 'TXT' as const,
    ttl: 60 + variant,
    values: [`variant ${variant} record ${i} `.padEnd(120, variant === 0 ? 'a' : 'b')],
  }));
  return { zones: { 'big.test.': { serial: 1000 + variant, records } } };
}

describe('crash safety of the compiled store (child processes, SIGKILL)', () => {
  let workDir = '';
  let script = '';
  let moduleUrl = '';

  beforeAll(async () => {
    await ensureDistState();
    moduleUrl = pathToFileURL(distState).href;
    workDir = await mkdtemp(join(tmpdir(), 'dq-local-crash-'));
    script = await writerScript(workDir);
    return async () => {
      await rm(workDir, { recursive: true, force: true });
    };
  }, 180_000);

  it('a writer killed at any moment leaves a whole state, and its lock is taken over', async () => {
    const states = [bigState(0), bigState(1)];
    const files = [join(dir, 'a.json'), join(dir, 'b.json')];
    await Promise.all(states.map((s, i) => writeFile(files[i] ?? '', serializeState(s))));
    const next = store(10_000);
    await next.update(never, () => states[0]);

    let leftoverLocks = 0;
    const moments = ['holding the lock', 'after a write', 'during a write'] as const;
    const iterations = 9;
    for (let i = 0; i < iterations; i++) {
      const moment = moments[i % moments.length];
      const n = 1 + (i % 4);
      const writer = startWriter(script, ['alternate', moduleUrl, statePath, ...files, ...(moment === 'holding the lock' ? [String(n)] : [])]);
      if (moment === 'holding the lock') {
        // Killed while it holds the lock, before its n-th write.
        await writer.waitFor(`holding ${n}`);
      } else if (moment === 'after a write') {
        // Killed as soon as its n-th write is done: somewhere in the next one.
        await writer.waitFor(`wrote ${n}`);
      } else {
        // Killed once its temporary file appears: between creating it and renaming it into place.
        await writer.waitFor(`wrote ${n}`);
        await tempFileAppears(dirname(statePath), writer);
      }
      writer.child.kill('SIGKILL');
      const exit = await writer.exited;
      expect(exit.signal, writer.stderr()).toBe('SIGKILL');

      const text = await readFile(statePath, 'utf8');
      expect(() => JSON.parse(text) as unknown, `round ${i} (${moment}): torn file`).not.toThrow();
      const held = parseState(statePath, text);
      expect([states[0], states[1]]).toContainEqual(held);

      if (existsSync(next.lockPath)) {
        const lock = await readFile(next.lockPath, 'utf8').catch(() => '');
        if (lock.startsWith(`${writer.pid} `)) leftoverLocks++;
      }
      if (moment === 'holding the lock') expect(await readFile(next.lockPath, 'utf8')).toBe(`${writer.pid} ${hostname()}\n`);

      // The next writer takes the dead writer's lock over, writes, and cleans up after it.
      const variant = i % 2;
      await next.update(never, () => states[variant]);
      expect(await next.read()).toEqual(states[variant]);
      expect(existsSync(next.lockPath)).toBe(false);
      expect((await readdir(dirname(statePath))).filter((f) => f !== 'lab.json')).toEqual([]);
    }
    expect(leftoverLocks).toBeGreaterThanOrEqual(3);
  }, 120_000);

  it('writers in several processes never lose an update', async () => {
    const writers = Array.from({ length: 4 }, () => startWriter(script, ['increment', moduleUrl, statePath, '25']));
    const exits = await Promise.all(writers.map((w) => w.exited));
    expect(exits.map((e) => e.code), writers.map((w) => w.stderr()).join('')).toEqual([0, 0, 0, 0]);
    expect((await store().read()).zones['counter.test.']?.serial).toBe(100);
  }, 120_000);
});
