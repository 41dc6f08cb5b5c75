import type { RecordKey, RecordSet } from '../domain/record.js';
import type { ProviderZoneState, RefusalStatus, StatusError } from './status.js';

/**
 * The per-provider syncer as a pure state machine: one value per zone (`ZoneSyncState`), a step
 * that says what to do next (`nextAction`), and one function per outcome that gives the next
 * state. The syncer (provider-syncer.ts) only does the I/O each action names, on its clock.
 */

/** The last write to the zone at this provider, and whether every name server answers it yet. */
export interface WriteRecord {
  readonly at: number;
  readonly changes: number;
  readonly timeToVisibleMs: number | null;
  readonly visible: 'pending' | 'visible' | 'timed-out' | 'superseded';
}

export interface ZoneSyncState {
  readonly phase: ProviderZoneState;
  /** A pass is asked for as soon as the loop comes round (a new target, an operator's request). */
  readonly due: boolean;
  /** The next pass reads the API rather than comparing over DNS. */
  readonly needsRead: boolean;
  readonly nextPassAt: number;
  /** The target version this provider was last brought to, with its records by key: the baseline for telling drift. */
  readonly converged: { readonly version: number; readonly records: ReadonlyMap<RecordKey, RecordSet> } | undefined;
  /** Since when it has been behind the desired state. */
  readonly behindSince: number | undefined;
  readonly lastError: StatusError | null;
  /** Failed passes in a row; drives the retry backoff. */
  readonly consecutiveFailures: number;
  readonly lastReadAt: number | null;
  /** When a pass last ended in sync or applied. */
  readonly lastSuccessAt: number | null;
  readonly lastDnsCheckAt: number | null;
  readonly lastWrite: WriteRecord | null;
  readonly drift: DriftState;
  /** What the guardrails held back at the last read; every other change was written. */
  readonly refused: readonly RefusalStatus[];
}

export interface DriftState {
  /** Out-of-band changes found since start (record sets). */
  readonly detected: number;
  /** Of those, written back. */
  readonly repaired: number;
  /** "name TYPE" of the record sets that differ now and were left (drift: report). */
  readonly current: readonly string[];
  /**
   * Record sets whose drift was already counted and logged, until the provider converges: a
   * repair that fails and is retried, or drift that is left, is counted once.
   */
  readonly noted: ReadonlySet<string>;
}

export const initialZoneSyncState: ZoneSyncState = {
  phase: 'unknown',
  due: true,
  needsRead: true,
  nextPassAt: 0,
  converged: undefined,
  behindSince: undefined,
  lastError: null,
  consecutiveFailures: 0,
  lastReadAt: null,
  lastSuccessAt: null,
  lastDnsCheckAt: null,
  lastWrite: null,
  drift: { detected: 0, repaired: 0, current: [], noted: new Set() },
  refused: [],
};

export interface StepContext {
  readonly now: number;
  /** Why writes must wait (not the writer, the startup hold), or undefined. */
  readonly hold: string | undefined;
  /** The zone's current target version; undefined before any provider of it was read. */
  readonly targetVersion: number | undefined;
  /** Compare over DNS at least this often. */
  readonly intervalMs: number;
  /** Read the API at least this often even when DNS agrees. */
  readonly readIntervalMs: number;
}

/**
 * - hold: writes wait; look again after `retryInMs`
 * - wait: nothing due before `until`
 * - compare-dns: ask the provider's name servers whether they answer what it was brought to
 * - read-api: read the provider, plan against the target, write the difference
 */
export type SyncAction =
  | { readonly kind: 'hold'; readonly reason: string }
  | { readonly kind: 'wait'; readonly until: number }
  | { readonly kind: 'compare-dns' }
  | { readonly kind: 'read-api' };

/** How long a held syncer waits before it asks again whether it may write. */
export const HOLD_RECHECK_MS = 1000;
/** The first retry after a failure; each further failure doubles it, up to the interval. */
export const RETRY_BASE_MS = 1000;

export function nextAction(state: ZoneSyncState, ctx: StepContext): SyncAction {
  if (ctx.hold !== undefined) return { kind: 'hold', reason: ctx.hold };
  if (!state.due && ctx.now < state.nextPassAt) return { kind: 'wait', until: state.nextPassAt };
  return mayCompareOverDns(state, ctx) ? { kind: 'compare-dns' } : { kind: 'read-api' };
}

/**
 * DNS is enough while the provider was last brought to the current target and its API was read
 * recently; a new target needs a read (the write is planned against what the provider holds).
 */
function mayCompareOverDns(state: ZoneSyncState, ctx: StepContext): boolean {
  if (state.needsRead || state.lastReadAt === null) return false;
  if (ctx.targetVersion === undefined || state.converged?.version !== ctx.targetVersion) return false;
  return ctx.now - state.lastReadAt < ctx.readIntervalMs;
}

/** A new target came: a pass is due, and the provider is behind from now (unless it was already). */
export function onNewTarget(state: ZoneSyncState, now: number): ZoneSyncState {
  return { ...state, due: true, behindSince: state.behindSince ?? now };
}

/** An operator or a reload asks for a pass now, with an API read when `read`. */
export function onCheckNow(state: ZoneSyncState, read: boolean): ZoneSyncState {
  return { ...state, due: true, needsRead: state.needsRead || read };
}

export function onHold(state: ZoneSyncState): ZoneSyncState {
  return state.phase === 'held' ? state : { ...state, phase: 'held' };
}

export function onPassStart(state: ZoneSyncState): ZoneSyncState {
  return { ...state, due: false, phase: 'syncing' };
}

/** The name servers were asked; `differs` when any answered otherwise or not at all (the pass then reads the API). */
export function onDnsChecked(state: ZoneSyncState, differs: boolean, ctx: StepContext): ZoneSyncState {
  const checked = { ...state, lastDnsCheckAt: ctx.now };
  if (differs) return { ...checked, needsRead: true };
  return finishPass(checked, settledPhase(state.refused, state.drift.current), ctx);
}

/** The API was read. */
export function onRead(state: ZoneSyncState, now: number): ZoneSyncState {
  return { ...state, lastReadAt: now, needsRead: false };
}

/**
 * Drift found by a read: the record sets not counted before are counted once; returns the new
 * state and the names that are new.
 */
export function onDriftFound(state: ZoneSyncState, drifted: readonly string[]): { state: ZoneSyncState; fresh: string[] } {
  const fresh = drifted.filter((name) => !state.drift.noted.has(name));
  if (fresh.length === 0) return { state, fresh };
  return { state: { ...state, drift: { ...state.drift, noted: new Set([...state.drift.noted, ...fresh]), detected: state.drift.detected + fresh.length } }, fresh };
}

/**
 * The provider now holds `records` of target `version` (read in sync, or written), apart from
 * `driftLeft`, the drift left in place (drift: report), and `refused`, what the guardrails held
 * back. Returns whether drift left before is gone now, and whether what is refused changed (a
 * refusal appeared, went, or now holds back other record sets).
 *
 * Refused changes are no lag (nothing is trying to write them) and no failure: the provider took
 * everything else. While any stand, each pass reads the API again rather than asking DNS, so a
 * refusal is re-judged on what the provider holds (someone fixed it by hand, --force wrote it).
 */
export function onConverged(
  state: ZoneSyncState,
  converged: {
    version: number;
    records: ReadonlyMap<RecordKey, RecordSet>;
    driftLeft: readonly string[];
    repaired: number;
    /** None: nothing is held back. */
    refused?: readonly Omit<RefusalStatus, 'since'>[];
    write?: WriteRecord;
  },
  ctx: StepContext,
): { state: ZoneSyncState; driftCleared: boolean; refusalChanged: boolean } {
  const driftCleared = state.drift.current.length > 0 && converged.driftLeft.length === 0;
  const refused = (converged.refused ?? []).map((r): RefusalStatus => ({ ...r, since: state.refused.find((before) => sameRefusal(before, r))?.since ?? ctx.now }));
  const refusalChanged = refused.length !== state.refused.length || refused.some((r, i) => !sameRefusal(state.refused[i], r));
  const next: ZoneSyncState = {
    ...state,
    converged: { version: converged.version, records: converged.records },
    drift: { detected: state.drift.detected, repaired: state.drift.repaired + converged.repaired, current: converged.driftLeft, noted: new Set(converged.driftLeft) },
    lastWrite: converged.write ?? supersedeIfPending(state.lastWrite, converged.write),
    refused,
    needsRead: state.needsRead || refused.length > 0,
  };
  return { state: finishPass(next, settledPhase(refused, converged.driftLeft), ctx, converged.write !== undefined), driftCleared, refusalChanged };
}

/** One rule holding back the same record sets. */
function sameRefusal(a: Pick<RefusalStatus, 'rule' | 'records'> | undefined, b: Pick<RefusalStatus, 'rule' | 'records'>): boolean {
  return a !== undefined && a.rule === b.rule && a.records.length === b.records.length && a.records.every((name, i) => name === b.records[i]);
}

/** How a pass that got the provider where it can be ends: refused first (it needs someone), then drift left, else in sync. */
function settledPhase(refused: readonly unknown[], driftLeft: readonly string[]): 'in-sync' | 'drift-reported' | 'refused' {
  if (refused.length > 0) return 'refused';
  return driftLeft.length > 0 ? 'drift-reported' : 'in-sync';
}

function supersedeIfPending(last: WriteRecord | null, next: WriteRecord | undefined): WriteRecord | null {
  if (next === undefined || last === null || last.visible !== 'pending') return last;
  return { ...last, visible: 'superseded' };
}

/** The read found changes to make: the provider is behind until it holds them. */
export function onBehind(state: ZoneSyncState, now: number): ZoneSyncState {
  return { ...state, behindSince: state.behindSince ?? now };
}

/**
 * The pass failed (read, write, or its time limit): the next pass reads the API and comes after
 * 1 s, 2 s, 4 s ... up to the interval.
 */
export function onFailed(state: ZoneSyncState, error: StatusError, startedAt: number, ctx: StepContext): { state: ZoneSyncState; retryInMs: number } {
  const failures = state.consecutiveFailures + 1;
  const retryInMs = Math.min(ctx.intervalMs, RETRY_BASE_MS * 2 ** Math.min(failures - 1, 16));
  return {
    state: { ...state, phase: 'lagging', consecutiveFailures: failures, needsRead: true, behindSince: state.behindSince ?? startedAt, lastError: error, nextPassAt: ctx.now + retryInMs },
    retryInMs,
  };
}

/** How a visibility watch of the last write ended; a watch of an older write changes nothing. */
export function onVisibility(state: ZoneSyncState, write: WriteRecord, outcome: { visible: true; ms: number } | { visible: false }): ZoneSyncState {
  if (state.lastWrite?.at !== write.at || state.lastWrite.visible !== 'pending') return state;
  return { ...state, lastWrite: outcome.visible ? { ...state.lastWrite, visible: 'visible', timeToVisibleMs: outcome.ms } : { ...state.lastWrite, visible: 'timed-out' } };
}

/** A pass that ended with the provider at the target (`wrote`: by a write), or with drift left in place, or changes refused. */
function finishPass(state: ZoneSyncState, phase: 'in-sync' | 'drift-reported' | 'refused', ctx: StepContext, wrote = false): ZoneSyncState {
  // Caught up unless a newer target came while the pass ran (onNewTarget set `due` for it). When
  // caught up, a trigger that came meanwhile was for this target (the pass's own read decides the
  // first one) and needs no pass of its own; an operator's request to read keeps `needsRead`.
  const caughtUp = ctx.targetVersion !== undefined && state.converged?.version === ctx.targetVersion;
  return {
    ...state,
    due: state.due && !(caughtUp && !state.needsRead),
    phase,
    consecutiveFailures: 0,
    lastError: null,
    lastSuccessAt: phase === 'in-sync' || wrote ? ctx.now : state.lastSuccessAt,
    nextPassAt: ctx.now + ctx.intervalMs,
    behindSince: caughtUp ? undefined : state.behindSince,
  };
}
