import { readdir, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import type { RecordKey } from '../domain/record.js';
import { atomicTempPrefix, hasErrorCode, writeFileAtomicSync } from '../lib/atomic-file.js';
import type { Clock } from '../lib/clock.js';
import { DnsQuorumError, StateCorruptError, errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { WriteBudgetLedger, WriteHistory } from './decider.js';

/**
 * The hourly write budget on disk (`<stateDir>/write-budget.json`): when each failover record
 * made its health-driven changes of the last hour, so that a daemon that restarts (or crash-loops)
 * does not get a fresh budget at each start.
 *
 *   { "version": 1, "records": { "api.example.com. A": [1700000000000, 1700000900000] } }
 *
 * The decider bounds what it hands over (records configured now, the last hour, at most
 * maxWritesPerHour each), so the file stays small; it is replaced whole and atomically.
 *
 * A file that does not load is moved aside and the budget starts unspent. The budget damps
 * flapping; it holds no operator's intent. Taken as spent instead, it would keep every record on
 * what it serves for an hour, down endpoints included, because of a bookkeeping file. Unspent, the
 * cost is at most one hour's extra budget, once: the next spend writes a whole file again.
 */

export const WRITE_BUDGET_FORMAT_VERSION = 1;

const fileSchema = z.object({
  version: z.literal(WRITE_BUDGET_FORMAT_VERSION),
  records: z.record(z.string().min(1), z.array(z.number().int().nonnegative())),
});

/** Parses the text of a write budget file; anything but a well-formed one is a StateCorruptError. */
export function parseWriteBudget(path: string, text: string): Map<RecordKey, number[]> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new StateCorruptError(path, `not valid JSON (${errorMessage(err)})`, { cause: err });
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? '(root)' : issue.path.map(String).join('.');
    throw new StateCorruptError(path, `not a dnsquorum write budget file: ${where}: ${issue?.message ?? 'unexpected shape'}`, { cause: parsed.error });
  }
  return new Map(Object.entries(parsed.data.records).map(([key, times]) => [key, times]));
}

/** Deterministic text of a write budget file: records sorted by key, so files diff cleanly. */
export function serializeWriteBudget(history: WriteHistory): string {
  const records = Object.fromEntries([...history].filter(([, times]) => times.length > 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return `${JSON.stringify({ version: WRITE_BUDGET_FORMAT_VERSION, records })}\n`;
}

export interface WriteBudgetStoreOptions {
  /** The write budget file (`<stateDir>/write-budget.json`). Its directory is created on the first write. */
  readonly path: string;
  /** Names the file a corrupt one is moved to. */
  readonly clock: Clock;
  readonly logger: Logger;
}

export class WriteBudgetStore implements WriteBudgetLedger {
  readonly path: string;
  private readonly logger: Logger;
  private kept: WriteHistory;
  /** The text on disk, so a history that did not change is not written again. */
  private written: string | undefined;
  /** While writes fail, only the first failure is logged (and the recovery). */
  private failing = false;

  private constructor(options: WriteBudgetStoreOptions, loaded: WriteHistory, written: string | undefined) {
    this.path = options.path;
    this.logger = options.logger;
    this.kept = loaded;
    this.written = written;
  }

  /**
   * Loads the file (missing: an unspent budget). A file that cannot be read or does not parse is
   * moved aside to `<path>.corrupt-<ms>`, logged at error level with DQ_STATE_CORRUPT, and the
   * budget starts unspent. Temporary files of a writer killed mid-write are removed.
   */
  static async open(options: WriteBudgetStoreOptions): Promise<WriteBudgetStore> {
    const { path, logger } = options;
    await removeStaleTemps(path);
    let text: string | undefined;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if (!hasErrorCode(err, 'ENOENT')) await setAside(options, new StateCorruptError(path, `cannot be read (${errorMessage(err)})`, { cause: err }));
    }
    if (text === undefined) return new WriteBudgetStore(options, new Map(), undefined);
    try {
      const loaded = parseWriteBudget(path, text);
      const spends = [...loaded.values()].reduce((n, times) => n + times.length, 0);
      logger.info({ path, records: loaded.size, spends }, `write budget loaded: ${spends} health-driven changes of ${loaded.size} records on record`);
      return new WriteBudgetStore(options, loaded, text);
    } catch (err) {
      if (!(err instanceof StateCorruptError)) throw err;
      await setAside(options, err);
      return new WriteBudgetStore(options, new Map(), undefined);
    }
  }

  history(): WriteHistory {
    return this.kept;
  }

  /**
   * Writes `history` to the file before returning, without giving up the event loop: the decider
   * calls this before the target carrying the spend exists, and a synchronous write is what makes
   * "on disk before any syncer can write the change" hold without the decider waiting on I/O.
   * Spends are rare (at most maxWritesPerHour per record an hour) and coalesced per decision, and
   * the file is small. A write that fails is logged (DQ_BUDGET_UNSAVED) and the decision goes out
   * anyway: failing over matters more than damping, and memory still holds the budget until the
   * process ends.
   */
  spent(history: WriteHistory): void {
    // A copy: the caller's map goes on changing after this returns.
    this.kept = new Map(history);
    const text = serializeWriteBudget(history);
    if (text === this.written) return;
    try {
      writeFileAtomicSync(this.path, text);
      this.written = text;
      if (this.failing) this.logger.info({ path: this.path }, 'write budget saved again');
      this.failing = false;
    } catch (cause) {
      if (this.failing) return;
      this.failing = true;
      const err = new DnsQuorumError(
        'DQ_BUDGET_UNSAVED',
        `${this.path}: the write budget could not be saved (${errorMessage(cause)}); it is still enforced, but a restart now would not see the latest spends`,
        { cause },
      );
      this.logger.error({ err, path: this.path }, err.message);
    }
  }
}

async function setAside(options: WriteBudgetStoreOptions, problem: StateCorruptError): Promise<void> {
  const { path, clock, logger } = options;
  const aside = `${path}.corrupt-${clock.now()}`;
  try {
    await rename(path, aside);
    logger.error({ err: problem, path, movedTo: aside }, `${problem.message}; moved aside to ${aside}, starting with an unspent write budget`);
  } catch (err) {
    logger.error({ err: problem, path, moveError: errorMessage(err) }, `${problem.message}; could not be moved aside (${errorMessage(err)}), starting with an unspent write budget`);
  }
}

async function removeStaleTemps(path: string): Promise<void> {
  const dir = dirname(path);
  const prefix = atomicTempPrefix(path);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    // No state directory yet (created on the first write), or unreadable: the read below says which.
    return;
  }
  await Promise.all(names.filter((name) => name.startsWith(prefix) && name !== basename(path)).map((name) => unlink(join(dir, name)).catch(() => undefined)));
}
