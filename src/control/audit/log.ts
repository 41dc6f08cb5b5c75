/**
 * The audit log's contract: what a line holds and how it is written and read. Implemented by
 * FileAuditLog (file-log.ts); the admin API, the override sweeper and the write observer use it.
 */

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
