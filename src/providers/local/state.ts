import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { link, mkdir, readFile, readdir, stat, unlink, writeFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import { RECORD_TYPES, compareRecordSets } from '../../domain/record.js';
import type { RecordSet } from '../../domain/record.js';
import { atomicTempPrefix, hasErrorCode, writeFileAtomic } from '../../lib/atomic-file.js';
import { jsonSyntaxProblem, moveAside } from '../../lib/corrupt-file.js';
import { startDeadline } from '../../lib/deadline.js';
import { ProviderError, StateCorruptError } from '../../lib/errors.js';

export { hasErrorCode } from '../../lib/atomic-file.js';

/**
 * The local provider's state: one JSON file per provider holding every zone it serves. The file is
 * only ever replaced whole (write a temporary file, fsync, rename, fsync the directory), so a reader
 * sees either the old or the new content, never a torn one. Writers in different processes (the
 * daemon and `dnsquorum sync --apply`) serialise their read-modify-write with a lock file.
 */

export const STATE_FORMAT_VERSION = 1;

export interface LocalZoneState {
  /** The apex SOA serial; the SOA record set in `records` always carries the same number. */
  readonly serial: number;
  /** Every record set of the zone, apex SOA and NS included, normalised and sorted. */
  readonly records: readonly RecordSet[];
}

export interface LocalState {
  /** Zone FQDN -> its content. */
  readonly zones: Readonly<Record<string, LocalZoneState>>;
}

export const EMPTY_STATE: LocalState = Object.freeze({ zones: Object.freeze({}) });

const recordSetSchema = z.object({
  name: z.string().min(1),
  type: z.enum(RECORD_TYPES),
  ttl: z.number().int().min(0),
  values: z.array(z.string()),
});

const stateFileSchema = z.object({
  version: z.literal(STATE_FORMAT_VERSION),
  zones: z.record(
    z.string(),
    z.object({
      serial: z.number().int().min(0).max(0xffffffff),
      records: z.array(recordSetSchema),
    }),
  ),
});

/**
 * Said of a corrupt file by every reader but the daemon's start, which moves it aside instead
 * (LocalStateStore.setAsideIfCorrupt): a running daemon goes on serving the zones it last read.
 */
const LEFT_AS_IS = 'left as it is; the daemon moves it aside and rebuilds its zones when it starts';

type Decoded = { readonly state: LocalState } | { readonly problem: string; readonly cause: unknown };

/** The state a file's text holds, or why it holds none ("not valid JSON: unexpected '}' at line 3, column 7"). */
function decodeState(text: string): Decoded {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { problem: `not valid JSON: ${jsonSyntaxProblem(text)}`, cause: err };
  }
  const parsed = stateFileSchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const where = first === undefined || first.path.length === 0 ? '(root)' : first.path.map(String).join('.');
    const what = first?.message ?? 'unexpected shape';
    return { problem: `not a dnsquorum local state file: ${where}: ${what}`, cause: parsed.error };
  }
  return { state: { zones: parsed.data.zones } };
}

/** Parses the text of a state file. Anything that is not a well-formed state is a StateCorruptError. */
export function parseState(path: string, text: string): LocalState {
  const decoded = decodeState(text);
  if ('problem' in decoded) throw new StateCorruptError(path, `${decoded.problem}; ${LEFT_AS_IS}`, { cause: decoded.cause });
  return decoded.state;
}

/** Why reading the state file failed, when the failure means something stands where the file or its directory should be. */
function misplacedProblem(path: string, err: unknown): string | undefined {
  if (hasErrorCode(err, 'EISDIR')) return 'is a directory, not a state file';
  if (hasErrorCode(err, 'ENOTDIR')) return `cannot be a file: ${dirname(path)} is not a directory`;
  return undefined;
}

/** Deterministic text of a state: zones and record sets sorted, so files diff cleanly. */
export function serializeState(state: LocalState): string {
  const zones: Record<string, LocalZoneState> = {};
  for (const zone of Object.keys(state.zones).sort()) {
    const content = state.zones[zone];
    if (content === undefined) continue;
    zones[zone] = {
      serial: content.serial,
      records: [...content.records].sort(compareRecordSets).map((rs) => ({ name: rs.name, type: rs.type, ttl: rs.ttl, values: [...rs.values] })),
    };
  }
  return `${JSON.stringify({ version: STATE_FORMAT_VERSION, zones }, null, 2)}\n`;
}

/** Reads a state file. A missing file is an empty state; a file that does not parse is a StateCorruptError. */
export async function readStateFile(path: string): Promise<LocalState> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (hasErrorCode(err, 'ENOENT')) return EMPTY_STATE;
    const misplaced = misplacedProblem(path, err);
    if (misplaced !== undefined) throw new StateCorruptError(path, `${misplaced}; ${LEFT_AS_IS}`, { cause: err });
    throw err;
  }
  return parseState(path, text);
}

/**
 * Replaces the file at `path` with `state` (see writeFileAtomic: temp file, fsync, rename, fsync
 * the directory). Callers hold the state lock.
 */
export async function writeStateFileAtomic(path: string, state: LocalState): Promise<void> {
  await writeFileAtomic(path, serializeState(state), 0o644);
}

// ---------------------------------------------------------------------------------------------
// Lock file

interface LockHolder {
  readonly pid: number;
  readonly host: string;
}

function lockContent(): string {
  return `${process.pid} ${hostname()}\n`;
}

function parseLockContent(text: string): LockHolder | undefined {
  const m = /^(\d+) (\S+)\n?$/.exec(text);
  if (!m) return undefined;
  const pid = Number(m[1]);
  return Number.isSafeInteger(pid) && pid > 0 ? { pid, host: m[2] ?? '' } : undefined;
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return !hasErrorCode(err, 'ESRCH');
  }
}

/**
 * A lock whose holder is gone. Garbage content cannot come from us (the lock file appears whole,
 * see tryCreateLock). A holder on another host cannot be checked, so it is presumed alive. Our
 * own pid is stale: in-process callers are serialised before they reach the file, so a lock with
 * our pid was left by an earlier process that had the same pid (a restarted container's PID 1).
 */
function holderIsGone(holder: LockHolder | undefined): boolean {
  if (holder === undefined) return true;
  if (holder.host !== hostname()) return false;
  if (holder.pid === process.pid) return true;
  return !processIsAlive(holder.pid);
}

async function readLock(lockPath: string): Promise<{ text: string } | undefined> {
  try {
    return { text: await readFile(lockPath, 'utf8') };
  } catch (err) {
    if (hasErrorCode(err, 'ENOENT')) return undefined;
    throw err;
  }
}

/**
 * Creates `lockPath` exclusively, already holding our pid. The pid is written to a private file
 * first and hard-linked into place (link fails with EEXIST like an O_EXCL create), so nobody ever
 * sees an empty lock file, even if we are killed between creating and writing it.
 */
async function tryCreateLock(lockPath: string): Promise<boolean> {
  const privatePath = `${lockPath}.${process.pid}`;
  await writeFile(privatePath, lockContent(), { mode: 0o644 });
  try {
    await link(privatePath, lockPath);
    return true;
  } catch (err) {
    if (hasErrorCode(err, 'EEXIST')) return false;
    throw err;
  } finally {
    await unlink(privatePath).catch(() => undefined);
  }
}

async function removeIfStillHeldBy(lockPath: string, text: string): Promise<void> {
  const current = await readLock(lockPath);
  if (current?.text === text) await unlink(lockPath).catch(() => undefined);
}

/**
 * Removes a stale main lock. Two waiters may both see the same stale lock; if both removed it,
 * one could delete the other's fresh lock. Breaking therefore happens under a second lock, and
 * only if the main lock still holds the same stale content.
 */
async function breakStaleLock(lockPath: string, staleText: string): Promise<void> {
  const breakPath = `${lockPath}.break`;
  if (!(await tryCreateLock(breakPath))) {
    const breaker = await readLock(breakPath);
    // A breaker that died mid-break leaves its lock behind; clear it and try again on the next round.
    if (breaker !== undefined && holderIsGone(parseLockContent(breaker.text))) await removeIfStillHeldBy(breakPath, breaker.text);
    return;
  }
  try {
    await removeIfStillHeldBy(lockPath, staleText);
  } finally {
    await unlink(breakPath).catch(() => undefined);
  }
}

/** Removes temporary files that writers killed mid-write left behind. Called while holding the lock. */
async function sweepLeftovers(path: string): Promise<void> {
  const dir = dirname(path);
  const prefix = atomicTempPrefix(path);
  const lockBase = `${basename(path)}.lock.`;
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return;
  }
  for (const entry of entries) {
    let leftover = entry.startsWith(prefix);
    const lockPrivate = entry.startsWith(lockBase) ? /^(?:break\.)?(\d+)$/.exec(entry.slice(lockBase.length)) : null;
    if (lockPrivate) {
      const pid = Number(lockPrivate[1]);
      leftover = pid !== process.pid && !processIsAlive(pid);
    }
    if (leftover) await unlink(join(dir, entry)).catch(() => undefined);
  }
}

/** True when something other than a directory exists at `dir`. Missing, or its own parent not a directory: false (nothing of ours to move). */
async function standsInPlaceOfDirectory(dir: string): Promise<boolean> {
  try {
    return !(await stat(dir)).isDirectory();
  } catch {
    return false;
  }
}

const inProcessQueues = new Map<string, Promise<void>>();

/** Runs `fn` after every earlier caller in this process that asked for the same key has finished. */
async function runSerialisedInProcess<T>(key: string, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  const previous = inProcessQueues.get(key) ?? Promise.resolve();
  let release: () => void = () => undefined;
  const mine = new Promise<void>((done) => {
    release = done;
  });
  const tail = previous.then(() => mine);
  inProcessQueues.set(key, tail);
  try {
    await raceAbort(previous, signal);
    return await fn();
  } finally {
    release();
    if (inProcessQueues.get(key) === tail) inProcessQueues.delete(key);
  }
}

async function raceAbort(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  // Many writers may wait under one signal: a deadline follows it with one listener for them all.
  const follower = startDeadline(signal);
  const aborted = new Promise<never>((_, reject) => {
    follower.signal.addEventListener('abort', () => { reject(signal.reason as Error); }, { once: true });
  });
  try {
    await Promise.race([promise, aborted]);
  } finally {
    follower.dispose();
  }
}

/** A state file that did not load when the daemon started, and what was done about it. */
export interface StateFileRecovery {
  /** The local provider whose file it is. */
  readonly provider: string;
  /** The state file. */
  readonly statePath: string;
  /** What did not load: the state file, or its directory when something else stands in its place. */
  readonly path: string;
  /** Why it did not load, e.g. "not valid JSON: ends early at line 12, column 3 (truncated)". */
  readonly problem: string;
  /** Where it is kept now; null when it could not be moved (then moveError says why). */
  readonly movedTo: string | null;
  readonly moveError: string | null;
  /** When it was found, epoch ms; names the copy (`<path>.corrupt-<UTC time>`). */
  readonly at: number;
}

export interface LocalStateStoreOptions {
  /** The state file. Its directory is created on the first write. */
  readonly path: string;
  /** The provider's name, for error messages. */
  readonly providerName: string;
  /** Longest wait for another writer's lock before giving up (default 10 s). */
  readonly lockTimeoutMs?: number;
}

const DEFAULT_LOCK_TIMEOUT_MS = 10_000;
const LOCK_POLL_MIN_MS = 5;
const LOCK_POLL_MAX_MS = 100;

/** One local provider's state file: lock-free reads, locked read-modify-write. */
export class LocalStateStore {
  readonly path: string;
  readonly lockPath: string;
  private readonly providerName: string;
  private readonly lockTimeoutMs: number;

  constructor(options: LocalStateStoreOptions) {
    this.path = resolve(options.path);
    this.lockPath = `${this.path}.lock`;
    this.providerName = options.providerName;
    this.lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  }

  /** The current state. Readers never need the lock: the file is only ever replaced whole. */
  read(): Promise<LocalState> {
    return readStateFile(this.path);
  }

  /**
   * Reads the state under the lock, passes it to `mutate` and writes what it returns. `mutate`
   * returns undefined when nothing changes; then nothing is written. A corrupt file throws
   * StateCorruptError before `mutate` runs and is never overwritten. Returns the state now held.
   */
  async update(signal: AbortSignal, mutate: (current: LocalState) => LocalState | undefined): Promise<LocalState> {
    return this.withLock(signal, async () => {
      const current = await readStateFile(this.path);
      const next = mutate(current);
      if (next === undefined) return current;
      signal.throwIfAborted();
      await writeStateFileAtomic(this.path, next);
      return next;
    });
  }

  /**
   * For the daemon's start. A state file that does not load (not JSON, not a state file, a
   * directory in its place, or a file standing where its directory should be) is moved aside to
   * `<path>.corrupt-<UTC time>` and kept, so the provider starts from no zones and the daemon's
   * first pass writes them again from the config, which is the whole desired state of a local
   * provider. Returns what was found and done; undefined when the file loads or does not exist.
   * Any other failure to read (permissions, I/O) is not corruption and is left to the provider's
   * calls to report.
   */
  async setAsideIfCorrupt(signal: AbortSignal, now: number): Promise<StateFileRecovery | undefined> {
    const dir = dirname(this.path);
    // The lock lives in that directory, so a file in its place is moved before any lock can be taken.
    if (await standsInPlaceOfDirectory(dir)) return this.setAside(dir, `${dir} is not a directory, so ${this.path} cannot be read`, now);
    return this.withLock(signal, async () => {
      let text: string;
      try {
        text = await readFile(this.path, 'utf8');
      } catch (err) {
        const misplaced = misplacedProblem(this.path, err);
        return misplaced === undefined ? undefined : this.setAside(this.path, misplaced, now);
      }
      const decoded = decodeState(text);
      return 'problem' in decoded ? this.setAside(this.path, decoded.problem, now) : undefined;
    });
  }

  private async setAside(path: string, problem: string, now: number): Promise<StateFileRecovery> {
    const moved = await moveAside(path, now);
    const base = { provider: this.providerName, statePath: this.path, path, problem, at: now };
    return 'movedTo' in moved ? { ...base, movedTo: moved.movedTo, moveError: null } : { ...base, movedTo: null, moveError: moved.failed };
  }

  /** Runs `fn` holding the state file's lock (in this process and across processes). */
  async withLock<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    return runSerialisedInProcess(this.path, signal, async () => {
      await this.acquireFileLock(signal);
      try {
        await sweepLeftovers(this.path);
        return await fn();
      } finally {
        await removeIfStillHeldBy(this.lockPath, lockContent());
      }
    });
  }

  private async acquireFileLock(signal: AbortSignal): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const deadline = startDeadline(signal, this.lockTimeoutMs);
    try {
      await this.waitForFileLock(signal, deadline.signal);
    } finally {
      deadline.dispose();
    }
  }

  private async waitForFileLock(signal: AbortSignal, deadline: AbortSignal): Promise<void> {
    let pause = LOCK_POLL_MIN_MS;
    for (;;) {
      signal.throwIfAborted();
      if (await tryCreateLock(this.lockPath)) return;
      const held = await readLock(this.lockPath);
      if (held === undefined) continue;
      const holder = parseLockContent(held.text);
      if (holderIsGone(holder)) {
        await breakStaleLock(this.lockPath, held.text);
        continue;
      }
      try {
        await delay(pause, undefined, { signal: deadline });
      } catch (err) {
        signal.throwIfAborted();
        const who = holder === undefined ? 'another process' : `pid ${holder.pid} on ${holder.host}`;
        throw new ProviderError(
          'DQ_PROVIDER_UNAVAILABLE',
          this.providerName,
          `state file ${this.path} is locked by ${who} (${this.lockPath}); gave up after ${this.lockTimeoutMs} ms`,
          { cause: err },
        );
      }
      pause = Math.min(pause * 2, LOCK_POLL_MAX_MS);
    }
  }
}
