import type { ChangeSet } from '../domain/change-set.js';
import { changeCount } from '../domain/change-set.js';
import { keyOf, recordKey } from '../domain/record.js';
import type { ZoneSpec } from '../domain/zone.js';
import type { Clock } from '../lib/clock.js';
import { startDeadline, withDeadline } from '../lib/deadline.js';
import { errorMessage, errorSummary } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { Wakeup } from '../lib/wakeup.js';
import { changedRecordNames, shortList } from '../plan/drift.js';
import { desiredExpectations } from '../plan/expectations.js';
import type { Expectation } from '../plan/expectations.js';
import { needsOwnNameservers, planZone } from '../plan/zone-plan.js';
import type { ProviderPlan } from '../plan/zone-plan.js';
import { createIfMissing, readNameservers, readZone } from '../providers/listing.js';
import type { DnsProvider } from '../providers/provider.js';
import type { ServerVerification } from '../verify/verify.js';
import type { ZoneDecider, ZoneTarget } from './decider.js';
import type { ProviderStatus, ProviderZoneStatus, StatusError, SyncObserver, WriteEvent } from './status.js';
import {
  HOLD_RECHECK_MS,
  initialZoneSyncState,
  nextAction,
  onBehind,
  onCheckNow,
  onConverged,
  onDnsChecked,
  onDriftFound,
  onFailed,
  onHold,
  onNewTarget,
  onPassStart,
  onRead,
  onVisibility,
} from './syncer-step.js';
import type { StepContext, WriteRecord, ZoneSyncState } from './syncer-step.js';

/** Asks each of `hosts` the questions; one result per host, in order. */
export type AskServers = (hosts: readonly string[], expectations: readonly Expectation[], signal: AbortSignal) => Promise<ServerVerification[]>;

export interface ProviderSyncerOptions {
  readonly provider: DnsProvider;
  /** The zones that list this provider. */
  readonly zones: readonly ZoneSpec[];
  readonly decider: ZoneDecider;
  readonly askServers: AskServers;
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

const VISIBLE_POLL_FIRST_MS = 100;
const VISIBLE_POLL_MAX_MS = 2000;

type PassOutcome = 'in-sync' | 'applied' | 'refused' | 'drift-reported';

/**
 * Keeps one provider at the desired state of each of its zones, on its own schedule: it is
 * triggered when a zone's target changes, compares over DNS every interval (no API quota), reads
 * the API when DNS differs or readInterval has passed, writes only the differences, and retries
 * with backoff when the provider fails. Another provider's outage or slowness never waits on it.
 *
 * What to do next is decided by the pure step in syncer-step.ts from one state value per zone;
 * this class does the I/O the step asks for and feeds the outcomes back.
 */
export class ProviderSyncer {
  private readonly wakeup: Wakeup;
  private readonly zones: ReadonlyMap<string, ZoneSpec>;
  private readonly states = new Map<string, ZoneSyncState>();
  private readonly watches = new Set<Promise<void>>();
  /** Ends the visibility watch of a zone's last write when a newer write supersedes it. */
  private readonly watchOf = new Map<string, AbortController>();
  private readonly stopWatches = new AbortController();
  private readonly log: Logger;

  constructor(private readonly options: ProviderSyncerOptions) {
    this.wakeup = new Wakeup(options.clock);
    this.log = options.logger.child({ provider: options.provider.name });
    this.zones = new Map(options.zones.map((zone) => [zone.name, zone]));
    for (const zone of options.zones) this.states.set(zone.name, initialZoneSyncState);
  }

  get name(): string {
    return this.options.provider.name;
  }

  /** Asks for a pass over `zone` as soon as the one in flight (if any) ends. */
  trigger(zone: string): void {
    const state = this.states.get(zone);
    if (state === undefined) return;
    this.states.set(zone, onNewTarget(state, this.options.clock.now()));
    this.wakeup.notify();
  }

  /**
   * Asks for a pass over every zone now, reading the API when `read` (an operator's request, a
   * config reload), else comparing over DNS first as the interval does.
   */
  checkNow(read: boolean): void {
    for (const [zone, state] of this.states) this.states.set(zone, onCheckNow(state, read));
    this.wakeup.notify();
  }

  async run(signal: AbortSignal): Promise<void> {
    try {
      while (!signal.aborted) {
        let wakeAt = Number.POSITIVE_INFINITY;
        for (const zone of this.zones.values()) {
          if (signal.aborted) break;
          const ctx = this.context(zone);
          const action = nextAction(this.state(zone), ctx);
          if (action.kind === 'hold') {
            this.states.set(zone.name, onHold(this.state(zone)));
            wakeAt = Math.min(wakeAt, ctx.now + Math.min(this.options.intervalMs, HOLD_RECHECK_MS));
          } else if (action.kind === 'wait') {
            wakeAt = Math.min(wakeAt, action.until);
          } else {
            await this.pass(zone, action.kind === 'compare-dns');
            wakeAt = ctx.now;
          }
        }
        if (signal.aborted) break;
        const now = this.options.clock.now();
        if (wakeAt > now) await this.wakeup.wait(Number.isFinite(wakeAt) ? wakeAt - now : this.options.intervalMs, signal);
      }
    } finally {
      this.stopWatches.abort();
      await Promise.all(this.watches);
    }
  }

  status(): ProviderStatus {
    const now = this.options.clock.now();
    const zones = [...this.zones.values()].map((zone): ProviderZoneStatus => {
      const s = this.state(zone);
      return {
        zone: zone.name,
        state: s.phase,
        lagMs: s.behindSince === undefined ? 0 : now - s.behindSince,
        lastError: s.lastError,
        consecutiveFailures: s.consecutiveFailures,
        nextPassAt: s.due ? now : s.nextPassAt,
        lastReadAt: s.lastReadAt,
        lastSuccessAt: s.lastSuccessAt,
        lastDnsCheckAt: s.lastDnsCheckAt,
        lastWrite: s.lastWrite,
        refused: s.refused,
        drift: { detected: s.drift.detected, repaired: s.drift.repaired, current: s.drift.current },
      };
    });
    return { provider: this.options.provider.name, type: this.options.provider.type, zones };
  }

  private state(zone: ZoneSpec): ZoneSyncState {
    return this.states.get(zone.name) ?? initialZoneSyncState;
  }

  private context(zone: ZoneSpec): StepContext {
    return {
      now: this.options.clock.now(),
      hold: this.options.holdReason(),
      targetVersion: this.options.decider.target(zone.name)?.version,
      intervalMs: this.options.intervalMs,
      readIntervalMs: this.options.readIntervalMs,
    };
  }

  /** One pass over one zone; never throws: a failure is recorded and retried with backoff. */
  private async pass(zone: ZoneSpec, compareOverDns: boolean): Promise<void> {
    const { clock, observer, provider } = this.options;
    const startedAt = clock.now();
    const wasLagging = this.state(zone).phase === 'lagging';
    this.states.set(zone.name, onPassStart(this.state(zone)));
    try {
      const outcome = await withDeadline([], this.options.passTimeoutMs, (signal) => this.reconcile(zone, compareOverDns, signal), clock);
      observer.pass({ zone: zone.name, provider: provider.name, outcome, durationMs: clock.now() - startedAt });
    } catch (err) {
      const error: StatusError = { ...describe(err), at: clock.now() };
      const failed = onFailed(this.state(zone), error, startedAt, this.context(zone));
      this.states.set(zone.name, failed.state);
      const level = failed.state.consecutiveFailures === 1 || !wasLagging ? 'warn' : 'debug';
      this.log[level](
        { zone: zone.name, err, failures: failed.state.consecutiveFailures, retryInMs: failed.retryInMs },
        `${provider.name} could not be brought to the desired state of ${zone.name}: ${error.message}; retrying in ${failed.retryInMs} ms while the other providers go on`,
      );
      observer.pass({ zone: zone.name, provider: provider.name, outcome: 'failed', durationMs: clock.now() - startedAt });
    }
  }

  private async reconcile(zone: ZoneSpec, compareOverDns: boolean, signal: AbortSignal): Promise<PassOutcome> {
    const { provider, observer } = this.options;
    const known = this.options.decider.target(zone.name);
    if (compareOverDns && known !== undefined) {
      const differs = await this.differsOverDns(zone, known, signal);
      const checked = onDnsChecked(this.state(zone), differs, this.context(zone));
      this.states.set(zone.name, checked);
      observer.check({ zone: zone.name, provider: provider.name, via: 'dns', differs });
      if (!differs) return checked.phase === 'drift-reported' ? 'drift-reported' : 'in-sync';
      this.log.info({ zone: zone.name }, `${provider.name}'s name servers differ from the desired state of ${zone.name}; reading its API`);
    }
    return this.readAndApply(zone, signal);
  }

  /** Reads the provider, plans it against the zone's target with the one pass, and writes the difference. */
  private async readAndApply(zone: ZoneSpec, signal: AbortSignal): Promise<PassOutcome> {
    const { clock, provider, observer } = this.options;
    const listing = await createIfMissing(provider, zone.name, await readZone(provider, zone.name, signal), signal);
    if (!listing.ok) throw listing.error;
    if (listing.zoneMissing) this.log.info({ zone: zone.name }, `created zone ${zone.name} at ${provider.name}`);
    this.states.set(zone.name, onRead(this.state(zone), clock.now()));
    const nameservers = await this.ownNameservers(zone, signal);
    const target = this.options.decider.observe(zone, provider.name, listing.records, nameservers);
    const converged = this.state(zone).converged;
    // The guardrail keeps every provider's own name servers in the apex NS: this one's as just
    // read, the others' as the decider last had them.
    const owners = new Map(target.nameservers);
    if (nameservers !== undefined && nameservers.length > 0) owners.set(provider.name, nameservers);
    const [plan] = planZone({
      zone,
      listings: new Map([[provider.name, listing.records]]),
      nameservers: owners,
      decision: { decided: target.desired },
      keptAsHeld: target.keptAsHeld,
      ...(converged === undefined ? {} : { converged: new Map([[provider.name, converged.records]]) }),
      force: false,
    }).providers;
    if (plan === undefined) throw new Error(`no plan for ${provider.name}, which ${zone.name} lists`);

    observer.check({ zone: zone.name, provider: provider.name, via: 'api', differs: changeCount(plan.changes) > 0 });
    const drifted = changedRecordNames(plan.drift);
    this.noteDrift(zone, plan.drift, drifted);
    const repair = zone.drift === 'repair';
    const driftLeft = repair ? [] : drifted;

    // What the guardrails hold back is left as it is and reported; everything else, a failover
    // first of all, is written in this very pass.
    if (changeCount(plan.apply) === 0) return this.converge(zone, target, plan, driftLeft, undefined);
    this.states.set(zone.name, onBehind(this.state(zone), clock.now()));

    const toApply = plan.apply;
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
      { zone: zone.name, creates: toApply.creates.length, updates: toApply.updates.length, deletes: toApply.deletes.length, records: shortList(changed), tookMs: clock.now() - writeAt },
      `applied ${count} changes to ${zone.name} at ${provider.name}`,
    );
    const writtenNames = new Set(changed);
    const repaired = repair ? drifted.filter((name) => writtenNames.has(name)).length : 0;
    if (repaired > 0) observer.drift({ zone: zone.name, provider: provider.name, records: repaired, repaired: true });
    const write: WriteRecord = { at: writeAt, changes: count, timeToVisibleMs: null, visible: 'pending' };
    this.converge(zone, target, plan, driftLeft, { write, repaired });
    this.watchVisibility(zone, toApply, write);
    return 'applied';
  }

  /**
   * This provider's own name servers for the zone, when planning needs them (see
   * needsOwnNameservers). With `nameservers: sync` a failed read fails the pass, as the apex NS
   * cannot be planned without them; for the guardrail alone it does not: unknown, the guardrail
   * holds back any removal from the apex NS.
   */
  private async ownNameservers(zone: ZoneSpec, signal: AbortSignal): Promise<string[] | undefined> {
    const { provider } = this.options;
    if (zone.nameservers === 'sync') return provider.nameservers(zone.name, signal);
    if (!needsOwnNameservers(zone)) return undefined;
    const read = await readNameservers(provider, zone.name, signal);
    if (read.ok) return read.hosts;
    this.log.debug({ zone: zone.name, err: read.error }, `the name servers of ${provider.name} could not be read; any removal from the apex NS of ${zone.name} is held back`);
    return undefined;
  }

  /** True when any server answers differently or not at all; record sets already reported as drift are not asked again. */
  private async differsOverDns(zone: ZoneSpec, target: ZoneTarget, signal: AbortSignal): Promise<boolean> {
    const hosts = await this.options.provider.nameservers(zone.name, signal);
    if (hosts.length === 0) return true;
    const state = this.state(zone);
    // What this provider was brought to: the target, but records kept as held as it holds them.
    const broughtTo = { ...target.desired, records: [...(state.converged?.records.values() ?? target.desired.records)] };
    const left = new Set(state.drift.current);
    const expectations = desiredExpectations(zone, broughtTo, []).filter((e) => !left.has(recordKey(e.name, e.type)));
    const servers = await this.options.askServers(hosts, expectations, signal);
    const differing = servers.filter((s) => s.differences.length > 0);
    for (const s of differing) {
      const [first] = s.differences;
      this.log.debug({ zone: zone.name, server: s.host, differences: s.differences.length }, first?.message ?? 'differs');
    }
    return differing.length > 0;
  }

  private noteDrift(zone: ZoneSpec, drift: ChangeSet, drifted: readonly string[]): void {
    if (drifted.length === 0) return;
    // The same drift is found again by every read until it is repaired (or, in report mode, for
    // as long as it is left); it is counted and logged once.
    const found = onDriftFound(this.state(zone), drifted);
    this.states.set(zone.name, found.state);
    if (found.fresh.length === 0) return;
    const { provider } = this.options;
    const repair = zone.drift === 'repair';
    this.log.warn(
      { zone: zone.name, drift: { creates: drift.creates.length, updates: drift.updates.length, deletes: drift.deletes.length }, records: shortList(found.fresh) },
      `drift: ${found.fresh.length} record sets of ${zone.name} were changed at ${provider.name} behind our back; ${repair ? 'writing the desired state back' : 'leaving them (drift: report)'}`,
    );
    if (!repair) this.options.observer.drift({ zone: zone.name, provider: provider.name, records: found.fresh.length, repaired: false });
  }

  /** The provider now holds `plan.reached` (its copy of the target, less what is refused), apart from `driftLeft`. */
  private converge(zone: ZoneSpec, target: ZoneTarget, plan: ProviderPlan, driftLeft: readonly string[], wrote: { write: WriteRecord; repaired: number } | undefined): PassOutcome {
    const { state, driftCleared, refusalChanged } = onConverged(
      this.state(zone),
      {
        version: target.version,
        records: new Map(plan.reached.map((rs) => [keyOf(rs), rs])),
        driftLeft,
        repaired: wrote?.repaired ?? 0,
        refused: plan.refused.map((r) => ({ rule: r.rule, forceable: r.forceable, message: r.message, records: shortList(r.records) })),
        ...(wrote === undefined ? {} : { write: wrote.write }),
      },
      this.context(zone),
    );
    this.states.set(zone.name, state);
    const { provider, observer } = this.options;
    if (driftCleared) {
      this.log.info({ zone: zone.name }, `the drift reported at ${provider.name} for ${zone.name} is gone: it holds the desired state again`);
      observer.driftCleared({ zone: zone.name, provider: provider.name });
    }
    if (refusalChanged) this.logRefusals(zone, plan, wrote !== undefined);
    if (wrote !== undefined) return 'applied';
    if (state.refused.length > 0) return 'refused';
    return state.phase === 'drift-reported' ? 'drift-reported' : 'in-sync';
  }

  /** Once each time what is held back changes, not on every read that finds it again. */
  private logRefusals(zone: ZoneSpec, plan: ProviderPlan, wrote: boolean): void {
    const { provider } = this.options;
    if (plan.refused.length === 0) {
      this.log.info({ zone: zone.name }, `${provider.name}, ${zone.name}: the guardrails hold nothing back any more`);
      return;
    }
    const held = plan.refused.reduce((n, r) => n + r.records.length, 0);
    this.log.error(
      { zone: zone.name, refused: plan.refused.map((r) => ({ rule: r.rule, forceable: r.forceable, message: r.message, records: shortList(r.records) })) },
      `${provider.name}, ${zone.name}: ${held} change${held === 1 ? '' : 's'} held back (${plan.refused.map((r) => `${r.rule}: ${r.message}`).join('; ')}); ${wrote ? 'every other change was written' : 'nothing else was needed'}`,
    );
  }

  /**
   * Asks the provider's servers, in the background, for the record sets just written until every
   * one answers them; records how long that took from the start of the write. A newer write to the
   * zone supersedes the watch; so does shutdown.
   */
  private watchVisibility(zone: ZoneSpec, changes: ChangeSet, write: WriteRecord): void {
    const { clock, provider, observer } = this.options;
    this.watchOf.get(zone.name)?.abort();
    const superseded = new AbortController();
    this.watchOf.set(zone.name, superseded);
    const deadline = startDeadline([superseded.signal, this.stopWatches.signal], this.options.visibleTimeoutMs, clock);
    const { signal } = deadline;
    const expectations: Expectation[] = [
      ...changes.creates.map((rs) => ({ name: rs.name, type: rs.type, expected: rs })),
      ...changes.updates.map((u) => ({ name: u.after.name, type: u.after.type, expected: u.after })),
      ...changes.deletes.map((rs) => ({ name: rs.name, type: rs.type, expected: null })),
    ];
    const name = zone.name;
    let pending: string[] = [];
    const watch = (async (): Promise<void> => {
      pending = await provider.nameservers(name, signal);
      let pause = VISIBLE_POLL_FIRST_MS;
      while (pending.length > 0) {
        const servers = await this.options.askServers(pending, expectations, signal);
        pending = servers.filter((s) => s.differences.length > 0).map((s) => s.host);
        if (pending.length === 0) break;
        await clock.sleep(pause, signal);
        pause = Math.min(pause * 2, VISIBLE_POLL_MAX_MS);
      }
      const ms = clock.now() - write.at;
      this.states.set(name, onVisibility(this.state(zone), write, { visible: true, ms }));
      observer.visible({ zone: name, provider: provider.name, ms });
      this.log.info({ zone: name, timeToVisibleMs: ms }, `every name server of ${provider.name} answers the write to ${name} (${ms} ms after it began)`);
    })().catch((err: unknown) => {
      if (superseded.signal.aborted || this.stopWatches.signal.aborted) return;
      this.states.set(name, onVisibility(this.state(zone), write, { visible: false }));
      this.log.warn(
        { zone: name, err, servers: pending },
        `the write to ${name} at ${provider.name} was not answered by ${pending.length > 0 ? pending.join(', ') : 'its name servers'} within ${this.options.visibleTimeoutMs} ms: ${errorMessage(err)}`,
      );
    });
    this.watches.add(watch);
    void watch.finally(() => {
      deadline.dispose();
      this.watches.delete(watch);
      if (this.watchOf.get(name) === superseded) this.watchOf.delete(name);
    });
  }
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
