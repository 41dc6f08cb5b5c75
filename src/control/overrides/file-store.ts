import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { entryState, isOverrideActive, slotOf } from '../../domain/override.js';
import type { Override, OverrideEntry, OverrideRelease } from '../../domain/override.js';
import { RECORD_TYPES } from '../../domain/record.js';
import { hasErrorCode, writeFileAtomic } from '../../lib/atomic-file.js';
import { corruptAsidePath, jsonSyntaxProblem, shellQuote } from '../../lib/corrupt-file.js';
import type { Clock } from '../../lib/clock.js';
import { DnsQuorumError, StateCorruptError, errorMessage } from '../../lib/errors.js';
import { compareStamps } from '../../lib/hlc.js';
import type { HybridLogicalClock } from '../../lib/hlc.js';
import type { Logger } from '../../lib/logger.js';
import type { OverrideStore, ReleaseOutcome } from './store.js';

/**
 * The override store: every override entry this replica holds, in one JSON file in the state
 * directory (`{ "version": 1, "entries": [...] }`), replaced whole and atomically on each change.
 * The file is the record of what operators asked for, so a file that does not load stops the
 * daemon instead of being replaced by an empty set.
 */

export const OVERRIDES_FORMAT_VERSION = 1;

/** How long an ended entry is kept (shown in listings, and as a tombstone against older copies). */
export const DEFAULT_OVERRIDE_RETAIN_MS = 24 * 60 * 60 * 1000;

const OVERRIDE_ID = /^o-[0-9a-f]{12}$/;

const stampSchema = z.object({
  wall: z.number().int().nonnegative(),
  logical: z.number().int().nonnegative(),
  replica: z.string().min(1),
});

const overrideSchema = z
  .object({
    id: z.string().regex(OVERRIDE_ID, 'must be "o-" and 12 lower-case hex digits'),
    zone: z.string().min(1),
    name: z.string().min(1),
    type: z.enum(RECORD_TYPES),
    action: z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('force-pool'), pool: z.string().min(1) }),
      z.object({ kind: z.literal('drain'), value: z.string().min(1) }),
    ]),
    actor: z.string(),
    token: z.string(),
    reason: z.string(),
    forced: z.boolean(),
    origin: z.string().min(1),
    createdAt: z.number(),
    expiresAt: z.number(),
  })
  .refine((o) => o.expiresAt > o.createdAt, { message: 'expiresAt must be after createdAt', path: ['expiresAt'] });

const releaseSchema = z.object({
  at: z.number(),
  actor: z.string(),
  token: z.string(),
  reason: z.string(),
});

const entrySchema = z
  .object({
    slot: z.string().min(1),
    stamp: stampSchema,
    override: overrideSchema,
    released: releaseSchema.nullable(),
  })
  .refine((e) => e.slot === slotOf(e.override), { message: 'slot does not match the override it holds', path: ['slot'] });

const fileSchema = z.object({
  version: z.literal(OVERRIDES_FORMAT_VERSION),
  entries: z.array(entrySchema),
});

/** "entries.3.override.id: must be ..." for the first problem zod found. */
function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'unexpected shape';
  const where = issue.path.length === 0 ? '(root)' : issue.path.map(String).join('.');
  return `${where}: ${issue.message}`;
}

/**
 * Why a file that does not load stops the start, and how to start without it. The file is the
 * record of what operators asked for, and nothing on this host can rebuild it (a cluster peer
 * holds a copy, a single replica nothing), so dropping it is a person's decision: the message
 * says what is down meanwhile and gives the command that moves the file aside, to paste as it is.
 */
function refusedStart(path: string, now: number, dnsServers: readonly string[]): string {
  const down = dnsServers.length === 0 ? 'nothing is probed or written' : `nothing is probed or written, and the built-in DNS servers ${dnsServers.join(', ')} are NOT serving`;
  return (
    `the daemon does not start without its overrides, so ${down}. The file is left as it is. ` +
    'To start without it, move it aside (overrides in force at a cluster peer come back from it within one exchange; ' +
    `the others are gone, and the moved file shows what they were): mv ${shellQuote(path)} ${shellQuote(corruptAsidePath(path, now))}`
  );
}

/** Parses the text of an overrides file; anything but a well-formed one is a StateCorruptError (its message ends with `untouched`). */
export function parseOverrides(path: string, text: string, untouched = 'left untouched for inspection; the daemon does not start without its overrides'): OverrideEntry[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    // JSON.parse's own message quotes the text (binary garbage, what operators typed); the position says enough.
    throw new StateCorruptError(path, `not valid JSON: ${jsonSyntaxProblem(text)}; ${untouched}`, { cause: err });
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    throw new StateCorruptError(path, `not a dnsquorum overrides file: ${firstIssue(parsed.error)}; ${untouched}`, { cause: parsed.error });
  }
  const seen = new Map<string, number>();
  parsed.data.entries.forEach((entry, index) => {
    const earlier = seen.get(entry.slot);
    if (earlier !== undefined) {
      throw new StateCorruptError(path, `entries.${index}: slot ${entry.slot} is also held by entries.${earlier}; ${untouched}`);
    }
    seen.set(entry.slot, index);
  });
  return parsed.data.entries;
}

/** Deterministic text of an overrides file: entries sorted by slot, so files diff cleanly. */
export function serializeOverrides(entries: Iterable<OverrideEntry>): string {
  const sorted = [...entries].sort((a, b) => (a.slot < b.slot ? -1 : a.slot > b.slot ? 1 : 0));
  return `${JSON.stringify({ version: OVERRIDES_FORMAT_VERSION, entries: sorted }, null, 2)}\n`;
}

async function readOverridesFile(path: string, untouched: string): Promise<OverrideEntry[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (hasErrorCode(err, 'ENOENT')) return [];
    throw new StateCorruptError(path, `cannot be read (${errorMessage(err)}); ${untouched}`, { cause: err });
  }
  return parseOverrides(path, text, untouched);
}

/**
 * The last moment an entry matters. A tombstone is kept until the override it ended would have
 * expired anyway: dropped earlier, a peer's older active copy (one partitioned away for longer
 * than the retention) would bring the released override back.
 */
function lastRelevantAt(entry: OverrideEntry): number {
  return entry.released === null ? entry.override.expiresAt : Math.max(entry.override.expiresAt, entry.released.at);
}

function newestFirst(a: OverrideEntry, b: OverrideEntry): number {
  return compareStamps(b.stamp, a.stamp);
}

export interface FileOverrideStoreOptions {
  /** The overrides file (`<stateDir>/overrides.json`). Its directory is created on the first write. */
  readonly path: string;
  readonly clock: Clock;
  /** Stamps local edits; observes every stamp read from the file or merged from peers. */
  readonly hlc: HybridLogicalClock;
  readonly logger: Logger;
  /** How long entries that ended (expired, or released) are kept; default 24 h. */
  readonly retainMs?: number;
  /** The built-in DNS servers ("lab (127.0.0.1:5301)") that do not start either when the file does not load; its error names them. */
  readonly dnsServers?: readonly string[];
}

export class FileOverrideStore implements OverrideStore {
  readonly path: string;
  private readonly clock: Clock;
  private readonly hlc: HybridLogicalClock;
  private readonly logger: Logger;
  private readonly retainMs: number;
  private bySlot: ReadonlyMap<string, OverrideEntry> = new Map();
  /** Every mutation runs after the previous one has finished, so writes never interleave. */
  private queue: Promise<void> = Promise.resolve();
  /** Memory holds entries merged from peers that the file does not (its write failed). */
  private unpersisted = false;
  /** Ids whose expiry was reported by sweep, or that were already expired when this replica learned of them. */
  private readonly expiryKnown = new Set<string>();
  /** Overrides that expired unreported and were then replaced in their slot before a sweep saw them. */
  private expiredReplaced: Override[] = [];

  private constructor(options: FileOverrideStoreOptions) {
    this.path = options.path;
    this.clock = options.clock;
    this.hlc = options.hlc;
    this.logger = options.logger;
    this.retainMs = options.retainMs ?? DEFAULT_OVERRIDE_RETAIN_MS;
  }

  /**
   * Loads the file (missing: empty). Rejects with StateCorruptError when it cannot be read or does
   * not parse: the message names the file and where it breaks, says what is not running because of
   * it, and gives the command that moves it aside.
   */
  static async open(options: FileOverrideStoreOptions): Promise<FileOverrideStore> {
    const store = new FileOverrideStore(options);
    const entries = await readOverridesFile(store.path, refusedStart(store.path, options.clock.now(), options.dnsServers ?? []));
    for (const entry of entries) options.hlc.observe(entry.stamp);
    store.commit(new Map(entries.map((e) => [e.slot, e])));
    return store;
  }

  active(): Override[] {
    const now = this.clock.now();
    return this.entries()
      .filter((e) => e.released === null && isOverrideActive(e.override, now))
      .map((e) => e.override);
  }

  entries(): OverrideEntry[] {
    return [...this.bySlot.values()].sort(newestFirst);
  }

  find(id: string): OverrideEntry | undefined {
    for (const entry of this.bySlot.values()) if (entry.override.id === id) return entry;
    return undefined;
  }

  put(override: Override): Promise<OverrideEntry> {
    // What reaches the file must load again at the next start; a bad override would stop the daemon then.
    const checked = overrideSchema.safeParse(override);
    if (!checked.success) {
      return Promise.reject(new DnsQuorumError('DQ_INTERNAL', `override ${override.id} cannot be stored: ${firstIssue(checked.error)}`));
    }
    const stored: Override = checked.data;
    return this.serialized(async () => {
      const entry: OverrideEntry = { slot: slotOf(stored), stamp: this.hlc.now(), override: stored, released: null };
      const next = new Map(this.bySlot).set(entry.slot, entry);
      await this.write(next);
      this.commit(next);
      return entry;
    });
  }

  async release(id: string, by: OverrideRelease): Promise<OverrideEntry | undefined> {
    const { released } = await this.releaseWhere((o) => o.id === id, by);
    return released[0];
  }

  releaseWhere(selects: (override: Override) => boolean, by: OverrideRelease): Promise<ReleaseOutcome> {
    return this.serialized(async () => {
      const now = this.clock.now();
      const picked = this.entries().filter((e) => selects(e.override));
      const ended = picked.filter((e) => entryState(e, now) !== 'active');
      const active = picked.filter((e) => entryState(e, now) === 'active');
      if (active.length === 0) return { released: [], ended };
      const release: OverrideRelease = { at: by.at, actor: by.actor, token: by.token, reason: by.reason };
      const next = new Map(this.bySlot);
      const released = active.map((current): OverrideEntry => ({ slot: current.slot, stamp: this.hlc.now(), override: current.override, released: release }));
      for (const entry of released) next.set(entry.slot, entry);
      await this.write(next);
      this.commit(next);
      return { released: released.sort(newestFirst), ended };
    });
  }

  merge(entries: readonly OverrideEntry[]): Promise<OverrideEntry[]> {
    const valid: OverrideEntry[] = [];
    for (const entry of entries) {
      const checked = entrySchema.safeParse(entry);
      if (!checked.success) {
        // Adopting it would write a file that no longer loads.
        this.logger.warn(
          { overridesPath: this.path, slot: entry.slot, overrideId: entry.override.id, problem: firstIssue(checked.error) },
          'ignoring an override entry from a peer that is not valid',
        );
        continue;
      }
      this.hlc.observe(checked.data.stamp);
      valid.push(checked.data);
    }
    return this.serialized(async () => {
      const now = this.clock.now();
      const adopted = new Map<string, OverrideEntry>();
      const next = new Map(this.bySlot);
      for (const entry of valid) {
        const local = next.get(entry.slot);
        if (local !== undefined && compareStamps(entry.stamp, local.stamp) <= 0) continue;
        // A peer that keeps entries longer than we do would otherwise make us re-adopt and re-forget them on every exchange.
        if (local === undefined && this.forgettable(entry, now)) continue;
        next.set(entry.slot, entry);
        adopted.set(entry.slot, entry);
      }
      if (adopted.size === 0) return [];
      try {
        await this.write(next);
      } catch (err) {
        // The entries still exist at the peer; keep them and write them with the next mutation or sweep.
        this.unpersisted = true;
        this.logger.error({ err, overridesPath: this.path, adopted: adopted.size }, 'cannot persist override entries merged from a peer; keeping them in memory');
      }
      this.commit(next);
      return [...adopted.values()];
    });
  }

  sweep(): Promise<Override[]> {
    return this.serialized(async () => {
      const now = this.clock.now();
      const expired = this.expiredReplaced;
      this.expiredReplaced = [];
      for (const entry of this.bySlot.values()) {
        if (entry.released !== null || isOverrideActive(entry.override, now) || this.expiryKnown.has(entry.override.id)) continue;
        this.expiryKnown.add(entry.override.id);
        expired.push(entry.override);
      }
      const kept = new Map([...this.bySlot].filter(([, entry]) => !this.forgettable(entry, now)));
      if (kept.size !== this.bySlot.size || this.unpersisted) {
        try {
          await this.write(kept);
          this.commit(kept);
        } catch (err) {
          this.logger.error({ err, overridesPath: this.path }, 'cannot persist overrides in sweep; retrying on the next mutation or sweep');
        }
      }
      const held = new Set([...this.bySlot.values()].map((e) => e.override.id));
      for (const id of this.expiryKnown) if (!held.has(id)) this.expiryKnown.delete(id);
      return expired.sort((a, b) => a.expiresAt - b.expiresAt);
    });
  }

  private forgettable(entry: OverrideEntry, now: number): boolean {
    return now - lastRelevantAt(entry) > this.retainMs;
  }

  private serialized<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task);
    this.queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Writes `next` as the whole file. Rejects with DQ_STATE_WRITE. */
  private async write(next: ReadonlyMap<string, OverrideEntry>): Promise<void> {
    try {
      await writeFileAtomic(this.path, serializeOverrides(next.values()));
    } catch (err) {
      throw new DnsQuorumError('DQ_STATE_WRITE', `${this.path}: cannot write the overrides file (${errorMessage(err)}); the change was not made`, {
        cause: err,
      });
    }
    this.unpersisted = false;
  }

  /** Makes `next` the entries held, noting expiries that sweep must report or must not. */
  private commit(next: ReadonlyMap<string, OverrideEntry>): void {
    const now = this.clock.now();
    for (const [slot, old] of this.bySlot) {
      const replacement = next.get(slot);
      if (replacement === undefined || replacement === old) continue;
      const id = old.override.id;
      if (replacement.override.id === id && replacement.released !== null) {
        // Released (at a peer) rather than expired; only releases of active overrides are made.
        this.expiryKnown.add(id);
      } else if (old.released === null && !isOverrideActive(old.override, now) && !this.expiryKnown.has(id)) {
        this.expiryKnown.add(id);
        this.expiredReplaced.push(old.override);
      }
    }
    for (const [slot, entry] of next) {
      if (this.bySlot.get(slot) === entry) continue;
      // Learned already expired (read at startup, or from a peer): its expiry happened elsewhere or before this process.
      if (entry.released === null && !isOverrideActive(entry.override, now)) this.expiryKnown.add(entry.override.id);
    }
    this.bySlot = next;
  }
}
