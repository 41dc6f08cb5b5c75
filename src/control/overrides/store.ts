import type { Override, OverrideEntry, OverrideRelease } from '../../domain/override.js';

/**
 * The contract between the admin API, the cluster exchange and the overrides file in the state
 * directory. Implemented by FileOverrideStore (file-store.ts).
 */

/** What one release did, as the store held it at that moment. */
export interface ReleaseOutcome {
  /** The entries released now (tombstones), newest first. */
  readonly released: readonly OverrideEntry[];
  /** The entries picked that were no longer in force (released or expired before), newest first. */
  readonly ended: readonly OverrideEntry[];
}

/**
 * Every override this replica knows, keyed by slot (see domain/override.ts), persisted in the
 * state directory and merged with the peers' copies. Writes are serialized: each one reaches the
 * disk (atomically) before it is visible in memory, so an accepted override survives a crash.
 */
export interface OverrideStore {
  /** Overrides in force now: not released, not expired. */
  active(): Override[];
  /** Every entry held, tombstones and recently expired ones included, newest first. */
  entries(): OverrideEntry[];
  /** The entry holding override `id`, or undefined. */
  find(id: string): OverrideEntry | undefined;
  /**
   * Stores a new override in its slot (replacing the one there), stamped now. Rejects (with
   * DQ_STATE_WRITE) when the file cannot be written; nothing changes then.
   */
  put(override: Override): Promise<OverrideEntry>;
  /** Releases override `id`; undefined when no active override has that id. */
  release(id: string, by: OverrideRelease): Promise<OverrideEntry | undefined>;
  /**
   * Releases, in one write, every override that `selects` picks among those in force when the
   * release runs (after every change queued before it), and says which entries it picked that
   * had already ended. What a caller tells about a release comes from here, not from an earlier
   * look at the store, which a change queued in between would contradict. Rejects (with
   * DQ_STATE_WRITE) when the file cannot be written; nothing is released then.
   */
  releaseWhere(selects: (override: Override) => boolean, by: OverrideRelease): Promise<ReleaseOutcome>;
  /**
   * Takes in a peer's entries: each one newer (by stamp) than this replica's copy of its slot
   * replaces it. Returns the entries adopted (empty when nothing changed).
   */
  merge(entries: readonly OverrideEntry[]): Promise<OverrideEntry[]>;
  /**
   * Returns the overrides that expired since the last sweep (each once), and forgets entries
   * that ended (expired or released) longer ago than the retention.
   */
  sweep(): Promise<Override[]>;
}
