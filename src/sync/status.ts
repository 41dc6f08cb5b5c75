/**
 * What the sync side of the daemon reports about itself: plain, JSON-serialisable data read by
 * the admin API (`GET /v1/status`, `dnsquorum status`), and the events the metrics count.
 * Times are epoch milliseconds; durations are milliseconds.
 */

/**
 * One provider's state for one zone:
 * - in-sync: it holds the desired state (as last read or asked over DNS)
 * - syncing: a pass is reading or writing it now
 * - lagging: it is behind the desired state and a retry is scheduled
 * - refused: it holds the desired state but for changes a guardrail holds back (see `refused`):
 *   everything else, failover included, was written; the rest needs `sync --apply --force` or a fix
 * - drift-reported: it differs from the desired state behind our back and the zone says `drift: report`
 * - held: writes wait for the startup hold (quorum data on every failover record)
 * - unknown: not read yet
 */
export type ProviderZoneState = 'in-sync' | 'syncing' | 'lagging' | 'refused' | 'drift-reported' | 'held' | 'unknown';

export interface StatusError {
  readonly code: string;
  readonly message: string;
  readonly at: number;
}

/** A part of the changes a provider needs that a guardrail holds back (see plan/guardrails.ts). */
export interface RefusalStatus {
  /** empty-record-set, nameserver-removal or too-much-change. */
  readonly rule: string;
  /** Whether `sync --apply --force` would write it. */
  readonly forceable: boolean;
  readonly message: string;
  /** "name TYPE" of the record sets held back (at most ten, then "... and N more"). */
  readonly records: readonly string[];
  /** Since when this rule has held back these record sets. */
  readonly since: number;
}

export interface ProviderZoneStatus {
  readonly zone: string;
  readonly state: ProviderZoneState;
  /**
   * How long it has been behind the desired state; 0 when in sync. Changes a guardrail holds
   * back are not lag (nothing is trying to write them): they are in `refused`.
   */
  readonly lagMs: number;
  /** The last failure reading or writing it; null once a pass has succeeded since. */
  readonly lastError: StatusError | null;
  /** Failed passes in a row; drives the retry backoff. */
  readonly consecutiveFailures: number;
  /** When the next pass is due. */
  readonly nextPassAt: number | null;
  /** The last time its records were read from its API. */
  readonly lastReadAt: number | null;
  /**
   * When a pass last ended with it holding the desired state (in sync, or written to it); null
   * until the first. Optional only so status reports built before it existed still type-check;
   * the syncer always sets it.
   */
  readonly lastSuccessAt?: number | null;
  /** The last time its name servers were compared with the desired state over DNS. */
  readonly lastDnsCheckAt: number | null;
  /** The last write: when, how many changes, and how long until every server answered it. */
  readonly lastWrite: {
    readonly at: number;
    readonly changes: number;
    /** Null while still waiting, or when it did not become visible within sync.visibleTimeout. */
    readonly timeToVisibleMs: number | null;
    readonly visible: 'pending' | 'visible' | 'timed-out' | 'superseded';
  } | null;
  /**
   * What the guardrails hold back at the last read, one entry per rule; empty when nothing is.
   * Not a failure: every other change was written. Optional only so status reports built before
   * it existed still type-check; the syncer always sets it.
   */
  readonly refused?: readonly RefusalStatus[];
  readonly drift: {
    /** Out-of-band changes found since the daemon started (record sets). */
    readonly detected: number;
    /** Of those, written back. */
    readonly repaired: number;
    /** "name type" of the record sets that differ now and were left (drift: report). */
    readonly current: readonly string[];
  };
}

export interface ProviderStatus {
  readonly provider: string;
  readonly type: string;
  readonly zones: readonly ProviderZoneStatus[];
}

/** A failover record: what it serves and why, as last decided. */
export interface RecordStatus {
  readonly zone: string;
  readonly name: string;
  readonly type: string;
  readonly pool: string | null;
  readonly values: readonly string[] | null;
  readonly cause: string;
  readonly reason: string;
  /** When what it serves last changed. */
  readonly since: number;
}

export interface SyncStatus {
  /** Why writes wait (the startup hold), or null. */
  readonly hold: string | null;
  readonly records: readonly RecordStatus[];
  readonly providers: readonly ProviderStatus[];
}

/**
 * Events the provider syncers emit, for metrics. Implementations must not throw or block: they
 * are called on the write path.
 */
/** One write to one provider, for metrics and the audit log. */
export interface WriteEvent {
  readonly zone: string;
  readonly provider: string;
  readonly changes: number;
  /** The record sets changed, "name TYPE" (at most ten, then "... and N more"). */
  readonly records: readonly string[];
  /** The failover records among them, with why they serve what they serve now. */
  readonly decisions: readonly { readonly name: string; readonly type: string; readonly cause: string; readonly reason: string }[];
  /** Why the write failed; null when it was applied. */
  readonly error: string | null;
}

export interface SyncObserver {
  /** A pass over one zone at one provider ended. */
  pass(event: { zone: string; provider: string; outcome: 'in-sync' | 'applied' | 'failed' | 'refused' | 'drift-reported'; durationMs: number }): void;
  /** Changes were written (error null), or a write was sent and failed. */
  write(event: WriteEvent): void;
  /** Record sets found changed behind our back; repaired or only reported. */
  drift(event: { zone: string; provider: string; records: number; repaired: boolean }): void;
  /** The drift left in place (drift: report) is gone: the provider holds the desired state again. */
  driftCleared(event: { zone: string; provider: string }): void;
  /** Every server of the provider answered a write's data this long after the write began. */
  visible(event: { zone: string; provider: string; ms: number }): void;
  /** How the provider was compared: over DNS (no quota) or by reading its API. */
  check(event: { zone: string; provider: string; via: 'dns' | 'api'; differs: boolean }): void;
}

export const quietObserver: SyncObserver = {
  pass: () => undefined,
  write: () => undefined,
  drift: () => undefined,
  driftCleared: () => undefined,
  visible: () => undefined,
  check: () => undefined,
};
