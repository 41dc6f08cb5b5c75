import type { ChangeSet } from '../domain/change-set.js';
import { changeCount } from '../domain/change-set.js';
import { keyOf, recordKey } from '../domain/record.js';
import type { RecordKey, RecordSet } from '../domain/record.js';
import type { ZoneSpec } from '../domain/zone.js';
import { sleep } from '../lib/backoff.js';
import type { Clock } from '../lib/clock.js';
import { startDeadline, withDeadline } from '../lib/deadline.js';
import { errorMessage, errorSummary } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { Wakeup } from '../lib/wakeup.js';
import type { DesiredZone } from '../plan/desired.js';
import { changedRecordNames, shortList, splitDrift } from '../plan/drift.js';
import type { DnsProvider } from '../providers/provider.js';
import type { Expectation } from '../verify/compare.js';
import type { ServerVerification } from '../verify/verify.js';
import type { ZoneDecider, ZoneTarget } from './decider.js';
import { createIfMissing, desiredAt, planProvider, readZone, unsafeChanges } from './provider-plan.js';
import type { ProviderStatus, ProviderZoneState, ProviderZoneStatus, StatusError, SyncObserver, WriteEvent } from './status.js';

/** Asks each of `hosts` the questions; one result per host, in order. */
export type AskServers = (hosts: readonly string[], expectations: readonly Expectation[], signal: AbortSignal) => Promise<ServerVerification[]>;

export interface ProviderSyncerOptions {
  readonly provider: DnsProvider;
  /** The zones that list this provider. */
  readonly zones: readonly ZoneSpec[];
  readonly decider: ZoneDecider;
  readonly askServers: AskServers;
  /** The questions that show a provider's servers answer `desired` (verify's own). */
  readonly expectations: (zone: ZoneSpec, desired: DesiredZone) => Expectation[];
  /** Why writes must wait (the startup hold), or undefined. */
  readonly holdReason: () => string | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly observer: SyncObserver;
  /** Compare with the desired state over DNS at least this often. */
  readonly intervalMs: number;
  /** Read the API at least this often even when DNS agrees. */
  readonly readIntervalMs: number;
  /** After a write, wait this long at most for every server to answer it. */
  readonly visibleTimeoutMs: number;
  /** Longest one pass over one zone may take; shutdown never cuts a pass short, this does. */
  readonly passTimeoutMs: number;
}

const RETRY_BASE_MS = 1000;
const VISIBLE_POLL_FIRST_MS = 100;
const VISIBLE_POLL_MAX_MS = 2000;

interface WriteRecord {
  readonly at: number;
  readonly changes: number;
  timeToVisibleMs: number | null;
  visible: 'pending' | 'visible' | 'timed-out' | 'superseded';
}

interface ZoneState {
  readonly zone: ZoneSpec;
  state: ProviderZoneState;
  /** Ask for a pass as soon as the loop comes round (a new target). */
  due: boolean;
  /** Read the API on the next pass rather than comparing over DNS. */
  needsRead: boolean;
  nextPassAt: number;
  /** The target this provider was last brought to, by key; the baseline for telling drift. */
  converged: { version: number; records: ReadonlyMap<RecordKey, RecordSet> } | undefined;
  /** Since when it has been behind the desired state. */
  behindSince: number | undefined;
  lastError: StatusError | null;
  consecutiveFailures: number;
  lastReadAt: number | null;
  /** When a pass last ended in-sync or applied. */
  lastSuccessAt: number | null;
  lastDnsCheckAt: number | null;
  lastWrite: WriteRecord | null;
  /** Ends the visibility watch of the last write when a newer write supersedes it. */
  visibilityWatch: AbortController | undefined;
  driftDetected: number;
  driftRepaired: number;
  /** Record sets that differ now and were left (drift: report), by key. */
  driftCurrent: readonly string[];
  driftCurrentKeys: ReadonlySet<RecordKey>;
  /**
   * Record sets whose drift was already counted and logged, until the provider converges: a
   * repair that fails and is retried, or drift that is left, is counted once.
   */
  driftNoted: ReadonlySet<string>;
}

type PassOutcome = 'in-sync' | 'applied' | 'refused' | 'drift-reported';

/**
 * Keeps one provider at the desired state of each of its zones, on its own schedule: it is
 * triggered when a zone's target changes, compares over DNS every interval (no API quota), reads
 * the API when DNS differs or readInterval has passed, writes only the differences, and retries
 * with backoff when the provider fails. Another provider's outage or slowness never waits on it.
 */
export class ProviderSyncer {
  private readonly wakeup = new Wakeup();
  private readonly states: Map<string, ZoneState>;
  private readonly watches = new Set<Promise<void>>();
  private readonly stopWatches = new AbortController();
  private readonly log: Logger;

  constructor(private readonly options: ProviderSyncerOptions) {
    this.log = options.logger.child({ provider: options.provider.name });
    this.states = new Map(options.zones.map((zone) => [zone.name, initialState(zone)]));
  }

  get name(): string {
    return this.options.provider.name;
  }

  /** Asks for a pass over `zone` as soon as the one in flight (if any) ends. */
  trigger(zone: string): void {
    const state = this.states.get(zone);
    if (state === undefined) return;
    state.due = true;
    state.behindSince ??= this.options.clock.now();
    this.wakeup.notify();
  }

  /**
   * Asks for a pass over every zone now, reading the API when `read` (an operator's request, a
   * config reload), else comparing over DNS first as the interval does.
   */
  checkNow(read: boolean): void {
    for (const state of this.states.values()) {
      state.due = true;
      if (read) state.needsRead = true;
    }
    this.wakeup.notify();
  }

  async run(signal: AbortSignal): Promise<void> {
    try {
      while (!signal.aborted) {
        const hold = this.options.holdReason();
        if (hold !== undefined) {
          for (const state of this.states.values()) state.state = 'held';
          await this.wakeup.wait(Math.min(this.options.intervalMs, 1000), signal);
          continue;
        }
        for (const state of this.states.values()) {
          if (signal.aborted) break;
          if (!state.due && this.options.clock.now() < state.nextPassAt) continue;
          state.due = false;
          await this.pass(state);
        }
        const next = Math.min(...[...this.states.values()].map((s) => (s.due ? 0 : s.nextPassAt)));
        await this.wakeup.wait(Math.max(0, next - this.options.clock.now()), signal);
      }
    } finally {
      this.stopWatches.abort();
      await Promise.all(this.watches);
    }
  }

  status(): ProviderStatus {
    const now = this.options.clock.now();
    const zones = [...this.states.values()].map((s): ProviderZoneStatus => ({
      zone: s.zone.name,
      state: s.state,
      lagMs: s.behindSince === undefined ? 0 : now - s.behindSince,
      lastError: s.lastError,
      consecutiveFailures: s.consecutiveFailures,
      nextPassAt: s.due ? now : s.nextPassAt,
      lastReadAt: s.lastReadAt,
      lastSuccessAt: s.lastSuccessAt,
      lastDnsCheckAt: s.lastDnsCheckAt,
      lastWrite: s.lastWrite === null ? null : { ...s.lastWrite },
      drift: { detected: s.driftDetected, repaired: s.driftRepaired, current: s.driftCurrent },
    }));
    return { provider: this.options.provider.name, type: this.options.provider.type, zones };
  }

  /** One pass over one zone; never throws: a failure is recorded and retried with backoff. */
  private async pass(state: ZoneState): Promise<void> {
    const { clock, observer, provider } = this.options;
    const startedAt = clock.now();
    const previous = state.state;
    state.state = 'syncing';
    try {
      const outcome = await withDeadline([], this.options.passTimeoutMs, (signal) => this.reconcile(state, signal));
      state.state = outcome === 'applied' ? (state.driftCurrent.length > 0 ? 'drift-reported' : 'in-sync') : outcome;
      // Caught up unless a newer target came while the pass ran (the trigger set `due` for it).
      if (outcome !== 'refused' && state.converged?.version === this.options.decider.target(state.zone.name)?.version) state.behindSince = undefined;
      state.consecutiveFailures = 0;
      if (outcome !== 'refused') state.lastError = null;
      if (outcome === 'in-sync' || outcome === 'applied') state.lastSuccessAt = clock.now();
      state.nextPassAt = clock.now() + this.options.intervalMs;
      observer.pass({ zone: state.zone.name, provider: provider.name, outcome, durationMs: clock.now() - startedAt });
    } catch (err) {
      state.consecutiveFailures += 1;
      state.needsRead = true;
      state.state = 'lagging';
      state.behindSince ??= startedAt;
      state.lastError = { ...describe(err), at: clock.now() };
      const delay = Math.min(this.options.intervalMs, RETRY_BASE_MS * 2 ** Math.min(state.consecutiveFailures - 1, 16));
      state.nextPassAt = clock.now() + delay;
      const level = state.consecutiveFailures === 1 || previous !== 'lagging' ? 'warn' : 'debug';
      this.log[level](
        { zone: state.zone.name, err, failures: state.consecutiveFailures, retryInMs: delay },
        `${provider.name} could not be brought to the desired state of ${state.zone.name}: ${state.lastError.message}; retrying in ${delay} ms while the other providers go on`,
      );
      observer.pass({ zone: state.zone.name, provider: provider.name, outcome: 'failed', durationMs: clock.now() - startedAt });
    }
  }

  private async reconcile(state: ZoneState, signal: AbortSignal): Promise<PassOutcome> {
    const { clock, provider, observer } = this.options;
    const { zone } = state;
    const known = this.options.decider.target(zone.name);
    if (known !== undefined && this.mayCompareOverDns(state, known)) {
      const differs = await this.differsOverDns(state, known, signal);
      state.lastDnsCheckAt = clock.now();
      observer.check({ zone: zone.name, provider: provider.name, via: 'dns', differs });
      if (!differs) return state.driftCurrent.length > 0 ? 'drift-reported' : 'in-sync';
      this.log.info({ zone: zone.name }, `${provider.name}'s name servers differ from the desired state of ${zone.name}; reading its API`);
    }

    const listing = await createIfMissing(provider, zone.name, await readZone(provider, zone.name, signal), signal);
    if (!listing.ok) throw listing.error;
    if (listing.zoneMissing) this.log.info({ zone: zone.name }, `created zone ${zone.name} at ${provider.name}`);
    const current = listing.records;
    state.lastReadAt = clock.now();
    state.needsRead = false;
    const nameservers = zone.nameservers === 'sync' ? await provider.nameservers(zone.name, signal) : undefined;
    const target = this.options.decider.observe(zone, provider.name, current, nameservers);
    const desired = desiredAt(target.desired, target.keptAsHeld, current);

    const { changes } = planProvider(zone, desired, current);
    const split = splitDrift(changes, desired.records, state.converged?.records);
    observer.check({ zone: zone.name, provider: provider.name, via: 'api', differs: changeCount(changes) > 0 });
    const drifted = changedRecordNames(split.drift);
    this.noteDrift(state, split.drift, drifted);
    const repair = zone.drift === 'repair';
    const toApply = repair ? changes : split.intended;

    if (changeCount(toApply) === 0) {
      this.converge(state, target.version, desired, repair ? [] : drifted);
      return state.driftCurrent.length > 0 ? 'drift-reported' : 'in-sync';
    }
    state.behindSince ??= clock.now();

    const blocking = unsafeChanges(zone, desired, toApply, current, false);
    if (blocking.length > 0) {
      const message = `changes refused: ${blocking.map((v) => v.message).join('; ')}`;
      if (state.lastError?.message !== message) this.log.error({ zone: zone.name, violations: blocking }, `${provider.name}, ${zone.name}: ${message}`);
      state.lastError = { code: 'DQ_PLAN_UNSAFE', message, at: clock.now() };
      return 'refused';
    }

    const writeAt = clock.now();
    const count = changeCount(toApply);
    const changed = changedRecordNames(toApply);
    const written = { zone: zone.name, provider: provider.name, changes: count, records: shortList(changed), decisions: decisionsOf(target, changed) };
    try {
      await provider.applyChanges(toApply, signal);
    } catch (err) {
      observer.write({ ...written, error: errorSummary(err).message });
      throw err;
    }
    observer.write({ ...written, error: null });
    this.log.info(
      { zone: zone.name, creates: toApply.creates.length, updates: toApply.updates.length, deletes: toApply.deletes.length, records: shortList(changedRecordNames(toApply)), tookMs: clock.now() - writeAt },
      `applied ${count} changes to ${zone.name} at ${provider.name}`,
    );
    if (repair && drifted.length > 0) {
      state.driftRepaired += drifted.length;
      observer.drift({ zone: zone.name, provider: provider.name, records: drifted.length, repaired: true });
    }
    this.converge(state, target.version, desired, repair ? [] : drifted);
    this.watchVisibility(state, toApply, writeAt);
    return 'applied';
  }

  /**
   * DNS is enough while the provider was last brought to the current target and its API was read
   * recently; a new target needs a read (the write is planned against what the provider holds).
   */
  private mayCompareOverDns(state: ZoneState, target: ZoneTarget): boolean {
    if (state.needsRead || state.lastReadAt === null) return false;
    if (state.converged?.version !== target.version) return false;
    return this.options.clock.now() - state.lastReadAt < this.options.readIntervalMs;
  }

  /** True when any server answers differently or not at all; record sets already reported as drift are not asked again. */
  private async differsOverDns(state: ZoneState, target: ZoneTarget, signal: AbortSignal): Promise<boolean> {
    const hosts = await this.options.provider.nameservers(state.zone.name, signal);
    if (hosts.length === 0) return true;
    // What this provider was brought to: the target, but records kept as held as it holds them.
    const broughtTo = { ...target.desired, records: [...(state.converged?.records.values() ?? target.desired.records)] };
    const expectations = this.options.expectations(state.zone, broughtTo).filter((e) => !state.driftCurrentKeys.has(recordKey(e.name, e.type)));
    const servers = await this.options.askServers(hosts, expectations, signal);
    const differing = servers.filter((s) => s.differences.length > 0);
    for (const s of differing) {
      const [first] = s.differences;
      this.log.debug({ zone: state.zone.name, server: s.host, differences: s.differences.length }, first?.message ?? 'differs');
    }
    return differing.length > 0;
  }

  private noteDrift(state: ZoneState, drift: ChangeSet, drifted: readonly string[]): void {
    if (drifted.length === 0) return;
    const { provider } = this.options;
    const zone = state.zone.name;
    // The same drift is found again by every read until it is repaired (or, in report mode, for
    // as long as it is left); it is counted and logged once.
    const fresh = drifted.filter((name) => !state.driftNoted.has(name));
    if (fresh.length === 0) return;
    state.driftNoted = new Set([...state.driftNoted, ...fresh]);
    state.driftDetected += fresh.length;
    const repair = state.zone.drift === 'repair';
    this.log.warn(
      { zone, drift: { creates: drift.creates.length, updates: drift.updates.length, deletes: drift.deletes.length }, records: shortList(fresh) },
      `drift: ${fresh.length} record sets of ${zone} were changed at ${provider.name} behind our back; ${repair ? 'writing the desired state back' : 'leaving them (drift: report)'}`,
    );
    if (!repair) this.options.observer.drift({ zone, provider: provider.name, records: fresh.length, repaired: false });
  }

  /** `desired` is the target as this provider holds it (desiredAt). */
  private converge(state: ZoneState, version: number, desired: DesiredZone, driftLeft: readonly string[]): void {
    if (state.driftCurrent.length > 0 && driftLeft.length === 0) {
      const { provider, observer } = this.options;
      this.log.info({ zone: state.zone.name }, `the drift reported at ${provider.name} for ${state.zone.name} is gone: it holds the desired state again`);
      observer.driftCleared({ zone: state.zone.name, provider: provider.name });
    }
    state.converged = { version, records: new Map(desired.records.map((rs) => [keyOf(rs), rs])) };
    state.driftCurrent = driftLeft;
    // changedRecordNames gives "name type", which is exactly a RecordKey.
    state.driftCurrentKeys = new Set(driftLeft);
    state.driftNoted = new Set(driftLeft);
  }

  /**
   * Asks the provider's servers, in the background, for the record sets just written until every
   * one answers them; records how long that took from the start of the write. A newer write to the
   * zone supersedes the watch; so does shutdown.
   */
  private watchVisibility(state: ZoneState, changes: ChangeSet, writeAt: number): void {
    const { clock, provider, observer } = this.options;
    state.visibilityWatch?.abort();
    if (state.lastWrite?.visible === 'pending') state.lastWrite.visible = 'superseded';
    const write: WriteRecord = { at: writeAt, changes: changeCount(changes), timeToVisibleMs: null, visible: 'pending' };
    state.lastWrite = write;
    const superseded = new AbortController();
    state.visibilityWatch = superseded;
    const deadline = startDeadline([superseded.signal, this.stopWatches.signal], this.options.visibleTimeoutMs);
    const { signal } = deadline;
    const expectations: Expectation[] = [
      ...changes.creates.map((rs) => ({ name: rs.name, type: rs.type, expected: rs })),
      ...changes.updates.map((u) => ({ name: u.after.name, type: u.after.type, expected: u.after })),
      ...changes.deletes.map((rs) => ({ name: rs.name, type: rs.type, expected: null })),
    ];
    const zone = state.zone.name;
    let pending: string[] = [];
    const watch = (async (): Promise<void> => {
      pending = await provider.nameservers(zone, signal);
      let pause = VISIBLE_POLL_FIRST_MS;
      while (pending.length > 0) {
        const servers = await this.options.askServers(pending, expectations, signal);
        pending = servers.filter((s) => s.differences.length > 0).map((s) => s.host);
        if (pending.length === 0) break;
        await sleep(pause, signal);
        pause = Math.min(pause * 2, VISIBLE_POLL_MAX_MS);
      }
      write.timeToVisibleMs = clock.now() - writeAt;
      write.visible = 'visible';
      observer.visible({ zone, provider: provider.name, ms: write.timeToVisibleMs });
      this.log.info({ zone, timeToVisibleMs: write.timeToVisibleMs }, `every name server of ${provider.name} answers the write to ${zone} (${write.timeToVisibleMs} ms after it began)`);
    })().catch((err: unknown) => {
      if (superseded.signal.aborted || this.stopWatches.signal.aborted) return;
      write.visible = 'timed-out';
      this.log.warn(
        { zone, err, servers: pending },
        `the write to ${zone} at ${provider.name} was not answered by ${pending.length > 0 ? pending.join(', ') : 'its name servers'} within ${this.options.visibleTimeoutMs} ms: ${errorMessage(err)}`,
      );
    });
    this.watches.add(watch);
    void watch.finally(() => {
      deadline.dispose();
      this.watches.delete(watch);
    });
  }
}

function initialState(zone: ZoneSpec): ZoneState {
  return {
    zone,
    state: 'unknown',
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
    visibilityWatch: undefined,
    driftDetected: 0,
    driftRepaired: 0,
    driftCurrent: [],
    driftCurrentKeys: new Set(),
    driftNoted: new Set(),
  };
}

/** A pass cut short by its own time limit is the provider being too slow, not an internal error. */
function describe(err: unknown): { code: string; message: string } {
  if (err instanceof Error && err.name === 'TimeoutError') return { code: 'DQ_PROVIDER_UNAVAILABLE', message: 'the pass did not finish within its time limit' };
  return errorSummary(err);
}

/** The decisions behind the failover records among `names` ("name TYPE" of the record sets written). */
function decisionsOf(target: ZoneTarget, names: readonly string[]): WriteEvent['decisions'] {
  const written = new Set(names);
  return target.desired.decisions.filter((d) => written.has(`${d.name} ${d.type}`)).map((d) => ({ name: d.name, type: d.type, cause: d.cause, reason: d.reason }));
}
