import type { Override, OverrideEntry, OverrideRelease } from '../domain/override.js';

/**
 * The contracts between the admin API, the cluster exchange and the files in the state
 * directory. Implemented by FileOverrideStore (override-store.ts) and FileAuditLog (audit.ts).
 */

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

export type AuditAction = 'override' | 'release' | 'refused' | 'expired' | 'write';

/** One line of the audit log (JSON lines in the state directory, append-only). */
export interface AuditEvent {
  /** Epoch ms, this replica's clock. */
  readonly at: number;
  /** The replica that wrote the line. */
  readonly region: string;
  readonly action: AuditAction;
  /** Who: the operator (`--actor` or the token's name), or "dnsquorum" for health-driven writes. */
  readonly actor: string;
  /** The admin API token used, by name; null for the daemon's own actions. */
  readonly token: string | null;
  readonly zone: string;
  /** Record FQDN; null for a write that touched several records. */
  readonly record: string | null;
  readonly type: string | null;
  /** What was asked or done, in words: "force pool secondary for 1h", "2 changes at r53". */
  readonly what: string;
  /** Why: the operator's reason, or the decision's reason for a write. */
  readonly why: string;
  /** The result: "accepted", "released", "refused: <why>", "applied", "failed: <error>", "expired". */
  readonly result: string;
  readonly overrideId: string | null;
  /** The provider, for writes. */
  readonly provider: string | null;
}

export interface AuditQuery {
  /** At most this many lines, the newest ones (default 100, at most 1000). */
  readonly limit?: number;
  /** Only lines at or after this epoch ms. */
  readonly since?: number;
}

export interface AuditLog {
  /** Appends one line. Never rejects: a failed append is logged at error (the action itself stands). */
  append(event: AuditEvent): Promise<void>;
  /** The newest lines matching the query, oldest first. */
  read(query: AuditQuery): Promise<AuditEvent[]>;
}
