import { randomUUID } from 'node:crypto';
import type { ChangeSet } from '../../domain/change-set.js';
import { RECORD_TYPES, compareRecordSets, fqdn, isInZone, isRecordType, keyOf, normalizeRecordSet, recordSetsEqual } from '../../domain/record.js';
import type { RecordKey, RecordSet, RecordType } from '../../domain/record.js';
import { ROUTE53_DEFAULTS } from '../../config/providers.js';
import type { Route53ProviderConfig } from '../../config/types.js';
import type { Clock } from '../../lib/clock.js';
import { ProviderError } from '../../lib/errors.js';
import { startDeadline } from '../../lib/deadline.js';
import { KeyedLock } from '../../lib/keyed-lock.js';
import type { Logger } from '../../lib/logger.js';
import type { ApiCallObserver, DnsProvider, ProviderCapabilities } from '../provider.js';
import { Route53ApiError, SdkRoute53Api } from './api.js';
import type { ChangeStatus, ListedRecordSet, RecordSetCursor, Route53Api } from './api.js';
import { ROUTE53_MAX_BATCH_VALUE_CHARS, batchChanges, packBatches } from './batches.js';
import type { BatchLimits, RecordOp, WireChange, WireRecordSet } from './batches.js';
import { parseInvalidChangeBatch } from './change-errors.js';
import { PROCESS_PENDING_CHANGES, zoneKey } from './pending-changes.js';
import type { PendingChanges } from './pending-changes.js';
import type { ChangeBatchReason } from './change-errors.js';
import { decodeName, encodeName } from './names.js';
import { TokenBucket, sleep as realSleep } from './rate-limiter.js';
import type { Sleep } from './rate-limiter.js';
import { valueFromRoute53, valueToRoute53 } from './rdata.js';
import { DEFAULT_RETRY_POLICY, newCallStats } from './retry.js';
import type { CallStats, RetryPolicy } from './retry.js';

export interface Route53ProviderOptions {
  readonly config: Route53ProviderConfig;
  /** Measures how long changes take to go INSYNC and bounds that wait; paces the rate limiter. */
  readonly clock: Clock;
  readonly logger: Logger;
  /** Environment for AWS_REGION (default process.env). Credentials come from the SDK's default chain. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Retry tuning (tests use small bases); not part of the user config. */
  readonly retry?: Partial<RetryPolicy>;
  /** Requests the bucket lets through at once after a quiet spell (default 1: evenly paced). */
  readonly rateBurst?: number;
  /** Source of backoff jitter (tests pass a seeded one). */
  readonly random?: () => number;
  readonly sleep?: Sleep;
  /** Another implementation of the port instead of the AWS SDK (unit tests). */
  readonly api?: Route53Api;
  /** Told about every request the SDK sends (metrics). */
  readonly apiCalls?: ApiCallObserver;
  /** Changes still PENDING per hosted zone, shared with the other providers (default: the process's). */
  readonly pendingChanges?: PendingChanges;
}

/** How many times one batch is rebuilt from a fresh read after InvalidChangeBatch before giving up. */
const MAX_RECOVERY_ROUNDS = 3;

/** A plain record set as Route53 holds it, with its canonical form. */
interface HeldRecordSet {
  /** Exactly what Route53 returned (TTL, values), for DELETEs that must match it. */
  readonly wire: WireRecordSet;
  readonly canonical: RecordSet;
}

/** One read of a hosted zone. */
interface ZoneSnapshot {
  readonly records: RecordSet[];
  readonly held: ReadonlyMap<RecordKey, HeldRecordSet>;
  /** Keys held by alias, routing-policy or set-identifier record sets, with what they are. */
  readonly foreign: ReadonlyMap<RecordKey, string>;
}

interface QueuedBatch {
  readonly ops: readonly RecordOp[];
  readonly round: number;
}

/** How sending one batch ended: INSYNC, refused and rebuilt (send these instead), or handed over while PENDING. */
type Submitted = { readonly kind: 'insync' } | { readonly kind: 'resend'; readonly ops: RecordOp[] } | { readonly kind: 'handed-over' };

/**
 * AWS Route53 through the real SDK. Reads page through ListResourceRecordSets; writes go out in
 * batches within Route53's request limits, one change in flight per hosted zone, each waited
 * for until INSYNC. Every request passes one shared token bucket and our own retries. See
 * docs/route53.md.
 */
export class Route53Provider implements DnsProvider {
  readonly name: string;
  readonly type = 'route53';
  readonly capabilities: ProviderCapabilities = {
    atomicBatch: true,
    maxBatchSize: 1000,
    // Route53 serves every type dnsquorum knows (and SPF, NAPTR, DS, ... which dnsquorum does not).
    recordTypes: new Set<RecordType>(RECORD_TYPES),
  };
  /** Requests, retries and failures so far. */
  readonly stats: CallStats = newCallStats();
  /** The shared client-side rate limit (rate and burst). */
  readonly rateLimiter: TokenBucket;
  /** How long the most recent change took from Route53's answer to INSYNC, in ms. */
  lastInsyncMs: number | undefined;

  private readonly config: Route53ProviderConfig;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly sleep: Sleep;
  private readonly api: Route53Api;
  private readonly limits: BatchLimits;
  private readonly insyncTimeoutMs: number;
  private readonly insyncPollIntervalMs: number;
  /** Zone FQDN -> bare hosted zone id, once found (configured ids once checked). */
  private readonly zoneIds = new Map<string, string>();
  private readonly nameserverCache = new Map<string, readonly string[]>();
  /** Zone FQDN -> its last read, for DELETEs with Route53's own values and for foreign keys. */
  private readonly snapshots = new Map<string, ZoneSnapshot>();
  /** One write at a time per zone (key: the zone FQDN). */
  private readonly zoneWrites = new KeyedLock();
  /** The record sets dnsquorum never writes that were reported already (see reportKept). */
  private readonly keptReported = new Set<string>();
  private readonly pending: PendingChanges;
  /** Aborted by handOver or close: waits end at once and nothing more is sent. */
  private readonly stopped = new AbortController();

  constructor(options: Route53ProviderOptions) {
    this.config = options.config;
    this.name = options.config.name;
    this.clock = options.clock;
    // The registry's logger already carries the provider's name.
    this.logger = options.logger.child({ component: 'route53-provider' });
    this.sleep = options.sleep ?? realSleep;
    this.rateLimiter = new TokenBucket({
      ratePerSecond: options.config.rateLimit ?? ROUTE53_DEFAULTS.rateLimit,
      burst: options.rateBurst ?? 1,
      clock: options.clock,
      sleep: this.sleep,
    });
    this.limits = { maxRecords: options.config.maxBatchRecords ?? ROUTE53_DEFAULTS.maxBatchRecords, maxValueChars: ROUTE53_MAX_BATCH_VALUE_CHARS };
    this.insyncTimeoutMs = options.config.insyncTimeoutMs ?? ROUTE53_DEFAULTS.insyncTimeoutMs;
    this.insyncPollIntervalMs = options.config.insyncPollIntervalMs ?? ROUTE53_DEFAULTS.insyncPollIntervalMs;
    this.pending = options.pendingChanges ?? PROCESS_PENDING_CHANGES;
    const env = options.env ?? process.env;
    this.api =
      options.api ??
      new SdkRoute53Api({
        region: env.AWS_REGION !== undefined && env.AWS_REGION !== '' ? env.AWS_REGION : 'us-east-1',
        ...(options.config.endpoint === undefined ? {} : { endpoint: options.config.endpoint }),
        ...(options.apiCalls === undefined ? {} : { apiCalls: options.apiCalls }),
        caller: {
          provider: this.name,
          limiter: this.rateLimiter,
          policy: { ...DEFAULT_RETRY_POLICY, ...options.retry },
          requestTimeoutMs: options.config.requestTimeoutMs ?? ROUTE53_DEFAULTS.requestTimeoutMs,
          random: options.random ?? Math.random,
          sleep: this.sleep,
          logger: this.logger,
          stats: this.stats,
        },
      });
  }

  async listRecords(zone: string, signal: AbortSignal): Promise<RecordSet[]> {
    const apex = fqdn(zone);
    const zoneId = await this.zoneId(apex, signal);
    const snapshot = await this.readZone(apex, zoneId, signal);
    return snapshot.records;
  }

  async applyChanges(changes: ChangeSet, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    this.stopped.signal.throwIfAborted();
    const apex = fqdn(changes.zone);
    const creates = changes.creates.map(normalizeRecordSet);
    const updates = changes.updates.map((u) => ({ before: normalizeRecordSet(u.before), after: normalizeRecordSet(u.after) }));
    const deletes = changes.deletes.map(normalizeRecordSet);
    this.refuseWhatIsNeverWritten(apex, [...creates, ...updates.flatMap((u) => [u.before, u.after]), ...deletes]);
    if (creates.length + updates.length + deletes.length === 0) return;

    await this.orStopped(signal, (waits) => this.zoneWrites.run(apex, waits, async () => {
      const zoneId = await this.zoneId(apex, signal);
      const snapshot = this.snapshots.get(apex);
      const ops: RecordOp[] = [
        ...creates.map((after) => createOp(after)),
        ...updates.filter((u) => !recordSetsEqual(u.before, u.after)).map((u) => updateOp(u.before, u.after, snapshot?.held.get(keyOf(u.before)), apex)),
        ...deletes.map((before) => deleteOp(before, snapshot?.held.get(keyOf(before)))),
      ];
      const refused = new Map<RecordKey, string>();
      const writable = snapshot === undefined ? ops : this.setAsideUnwritable(apex, ops, snapshot, refused);
      const queue: QueuedBatch[] = this.pack(writable).map((batch) => ({ ops: batch, round: 0 }));
      for (let request = 1; queue.length > 0; request++) {
        const batch = queue.shift();
        if (batch === undefined || batch.ops.length === 0) continue;
        const sent = await this.submit(apex, zoneId, batch, `dnsquorum ${this.name}: ${apex} request ${request}`, refused, signal);
        if (sent.kind === 'resend') queue.unshift(...this.pack(sent.ops).map((again) => ({ ops: again, round: batch.round + 1 })));
        if (sent.kind === 'handed-over' && queue.length > 0) {
          throw new ProviderError('DQ_PROVIDER_UNAVAILABLE', this.name, `handed over after ${request} requests to ${apex}, before the rest of the change set was sent; the provider that took over re-plans it`);
        }
        if (sent.kind === 'handed-over') break;
      }
      if (refused.size > 0) {
        const latest = this.snapshots.get(apex);
        const applied = ops.filter((op) => !refused.has(keyOf(op)) && !(op.kind === 'delete' && latest?.foreign.has(keyOf(op)) === true));
        throw this.refusedUnwritable(apex, refused, applied.length);
      }
    }));
  }

  async ensureZone(zone: string, signal: AbortSignal): Promise<void> {
    this.stopped.signal.throwIfAborted();
    const apex = fqdn(zone);
    await this.orStopped(signal, (waits) => this.zoneWrites.run(apex, waits, async () => {
      // A configured id that names no zone is never "missing" (zoneId refuses it), so only a zone found by name is created.
      if (await this.zoneExists(apex, signal)) return;
      // The same reference on every retry of this call, so a lost answer cannot create two zones.
      const callerReference = `dnsquorum-${randomUUID()}`;
      let created;
      try {
        created = await this.api.createHostedZone(apex, callerReference, signal);
      } catch (err) {
        if (err instanceof Route53ApiError && err.code === 'HostedZoneAlreadyExists' && (await this.zoneExists(apex, signal))) return;
        throw this.translate(err, apex);
      }
      this.zoneIds.set(apex, created.zone.id);
      this.nameserverCache.set(apex, created.nameservers);
      this.logger.info({ zone: apex, hostedZoneId: created.zone.id, nameservers: created.nameservers }, 'hosted zone created');
      await this.waitInsync(apex, undefined, created.change, 'CreateHostedZone', signal);
    }));
  }

  /** The delegation set of the hosted zone (GetHostedZone), never the apex NS record. */
  async nameservers(zone: string, signal: AbortSignal): Promise<string[]> {
    const apex = fqdn(zone);
    const cached = this.nameserverCache.get(apex);
    if (cached !== undefined) return [...cached];
    const zoneId = await this.zoneId(apex, signal);
    const again = this.nameserverCache.get(apex);
    if (again !== undefined) return [...again];
    let detail;
    try {
      detail = await this.api.getHostedZone(zoneId, signal);
    } catch (err) {
      throw this.translate(err, apex);
    }
    this.nameserverCache.set(apex, detail.nameservers);
    return [...detail.nameservers];
  }

  /**
   * A config reload replaces this provider. Nothing more is sent; a write waiting for its change
   * to go INSYNC stops waiting and returns (Route53 has accepted it and lists it already), so the
   * reload never waits on Route53's propagation, and the change is left in the process's record of
   * pending changes, for the new provider to wait out before it writes to that zone.
   */
  handOver(): void {
    if (this.stopped.signal.aborted) return;
    this.logger.info('handed over to the provider of the reloaded config: nothing more is sent, and no INSYNC is waited for');
    this.stopped.abort(new ProviderError('DQ_PROVIDER_UNAVAILABLE', this.name, 'handed over to the provider of the reloaded config, which writes from now on'));
  }

  close(): Promise<void> {
    if (!this.stopped.signal.aborted) this.stopped.abort(new ProviderError('DQ_PROVIDER_UNAVAILABLE', this.name, 'closed'));
    this.api.close();
    return Promise.resolve();
  }

  // ---- zones ----

  private async zoneExists(apex: string, signal: AbortSignal): Promise<boolean> {
    try {
      await this.zoneId(apex, signal);
      return true;
    } catch (err) {
      if (err instanceof ProviderError && err.code === 'DQ_ZONE_NOT_FOUND') return false;
      throw err;
    }
  }

  /** The zone's hosted zone id: configured (checked once against its name) or found by name. */
  private async zoneId(apex: string, signal: AbortSignal): Promise<string> {
    const cached = this.zoneIds.get(apex);
    if (cached !== undefined) return cached;
    const configured = this.config.hostedZoneIds[apex];
    const id = configured === undefined ? await this.findZone(apex, signal) : await this.checkConfiguredZone(apex, configured.replace(/^\/?hostedzone\//, ''), signal);
    this.zoneIds.set(apex, id);
    return id;
  }

  private async checkConfiguredZone(apex: string, id: string, signal: AbortSignal): Promise<string> {
    let detail;
    try {
      detail = await this.api.getHostedZone(id, signal);
    } catch (err) {
      throw this.translate(err, apex);
    }
    if (detail.zone.name !== apex) {
      throw new ProviderError('DQ_PROVIDER_REJECTED', this.name, `hostedZoneIds names ${id} for ${apex}, but that hosted zone is ${detail.zone.name}`);
    }
    this.nameserverCache.set(apex, detail.nameservers);
    return id;
  }

  /**
   * ListHostedZonesByName starts at the first zone whose name sorts at or after ours, so the
   * exact matches come first; the first other name ends the search.
   */
  private async findZone(apex: string, signal: AbortSignal): Promise<string> {
    const matches: { id: string; privateZone: boolean }[] = [];
    let start: { dnsName: string; zoneId: string | undefined } = { dnsName: apex, zoneId: undefined };
    for (;;) {
      let page;
      try {
        page = await this.api.listHostedZonesByName(start.dnsName, start.zoneId, signal);
      } catch (err) {
        throw this.translate(err, apex);
      }
      const other = page.zones.findIndex((z) => z.name !== apex);
      matches.push(...page.zones.slice(0, other < 0 ? undefined : other));
      if (other >= 0 || page.next === undefined) break;
      start = page.next;
    }
    if (matches.length === 0) throw new ProviderError('DQ_ZONE_NOT_FOUND', this.name, `Route53 has no hosted zone named ${apex}`);
    const publicZones = matches.filter((z) => !z.privateZone);
    const [chosen] = publicZones;
    if (chosen !== undefined && publicZones.length === 1) return chosen.id;
    const listed = matches.map((z) => `${z.id}${z.privateZone ? ' private' : ''}`).join(', ');
    if (chosen === undefined) {
      // A private zone answers only inside its VPCs: writing the public zone's records into it
      // would serve nobody who asks the public name servers, and creating a public one beside it
      // may not be what its owner wants. Only an explicit id makes dnsquorum use it.
      throw new ProviderError(
        'DQ_PROVIDER_REJECTED',
        this.name,
        `Route53 has only private hosted zones named ${apex} (${listed}), which answer inside their VPCs, not on the public DNS; dnsquorum uses a private zone only when ` +
          `providers.${this.name}.hostedZoneIds names it, and creates no public zone beside it: name the zone's id there, or create the public zone at Route53`,
      );
    }
    throw new ProviderError('DQ_PROVIDER_REJECTED', this.name, `Route53 has ${matches.length} hosted zones named ${apex} (${listed}); name the one to use in providers.${this.name}.hostedZoneIds`);
  }

  // ---- reads ----

  private async readZone(apex: string, zoneId: string, signal: AbortSignal): Promise<ZoneSnapshot> {
    const listed: ListedRecordSet[] = [];
    let start: RecordSetCursor | undefined;
    for (;;) {
      let page;
      try {
        page = await this.api.listRecordSets(zoneId, start, signal);
      } catch (err) {
        throw this.translate(err, apex);
      }
      listed.push(...page.recordSets);
      if (page.next === undefined) break;
      if (start !== undefined && page.next.name === start.name && page.next.type === start.type && page.next.identifier === start.identifier) {
        throw new ProviderError('DQ_PROVIDER_UNAVAILABLE', this.name, `ListResourceRecordSets for ${apex} returned the same page twice (at ${start.name} ${start.type})`);
      }
      start = page.next;
    }
    const snapshot = this.snapshotOf(apex, listed);
    this.snapshots.set(apex, snapshot);
    return snapshot;
  }

  /**
   * Plain record sets become RecordSets as they are. Alias, routing-policy and set-identifier
   * record sets are not dnsquorum's: each name and type of them is listed once, with TTL 0 (a
   * TTL no config can declare, so the planner never takes one for its own) and the union of
   * their values (none for aliases), and is never written. Types dnsquorum does not know (SPF,
   * NAPTR, DS, ...) are left out.
   */
  private snapshotOf(apex: string, listed: readonly ListedRecordSet[]): ZoneSnapshot {
    const held = new Map<RecordKey, HeldRecordSet>();
    const foreignSets = new Map<RecordKey, { name: string; type: RecordType; values: string[]; what: string[] }>();
    let unknownTypes = 0;
    for (const rs of listed) {
      if (!isRecordType(rs.type)) {
        unknownTypes++;
        continue;
      }
      const type = rs.type;
      const name = decodeName(rs.name);
      const key = keyOf({ name, type });
      const values = rs.values.map((v) => valueFromRoute53(type, v));
      if (rs.routing === undefined && !foreignSets.has(key)) {
        const ttl = rs.ttl ?? 0;
        held.set(key, { wire: { name: encodeName(name), type, ttl, values: rs.values }, canonical: normalizeRecordSet({ name, type, ttl, values }) });
        continue;
      }
      const group = foreignSets.get(key) ?? { name, type, values: [], what: [] };
      group.values.push(...values);
      group.what.push(rs.setIdentifier === undefined ? (rs.routing ?? 'plain') : `${rs.routing ?? 'routed'} "${rs.setIdentifier}"`);
      foreignSets.set(key, group);
      const plain = held.get(key);
      if (plain !== undefined) {
        group.values.push(...plain.canonical.values);
        held.delete(key);
      }
    }
    const records = [...held.values()].map((h) => h.canonical);
    const foreign = new Map<RecordKey, string>();
    for (const [key, group] of foreignSets) {
      const what = group.what.join(', ');
      records.push({ ...normalizeRecordSet({ name: group.name, type: group.type, ttl: 0, values: group.values }), unwritable: what });
      foreign.set(key, what);
      this.reportKept(apex, key, what);
    }
    if (foreign.size > 0 || unknownTypes > 0) {
      this.logger.debug({ zone: apex, foreign: Object.fromEntries(foreign), unknownTypes }, 'record sets dnsquorum lists but never writes');
    }
    return { records: records.sort(compareRecordSets), held, foreign };
  }

  /** Once per zone, record set and kind of set for the provider's life: every read lists them again. */
  private reportKept(apex: string, key: RecordKey, what: string): void {
    const seen = `${apex}\u0000${key}\u0000${what}`;
    if (this.keptReported.has(seen)) return;
    this.keptReported.add(seen);
    this.logger.warn(
      { zone: apex, record: key, what },
      `${key} at Route53 is ${what}, which dnsquorum never writes: it is kept as it is (also under unmanaged: delete), and a config record of that name and type is refused`,
    );
  }

  // ---- writes ----

  /** The apex SOA and out-of-zone names are refused before anything is sent. */
  private refuseWhatIsNeverWritten(apex: string, records: readonly RecordSet[]): void {
    for (const rs of records) {
      if (rs.type === 'SOA') {
        throw new ProviderError('DQ_PROVIDER_REJECTED', this.name, `${rs.name} SOA belongs to Route53; dnsquorum never changes or deletes it (nothing was applied)`);
      }
      if (!isInZone(rs.name, apex)) {
        throw new ProviderError('DQ_PROVIDER_REJECTED', this.name, `${rs.name} ${rs.type} is outside zone ${apex} (nothing was applied)`);
      }
    }
  }

  /**
   * The ops that may go to Route53. An alias or routing-policy record set is never part of a
   * request, so it never holds back the rest: a delete of one is dropped (it is kept; the planner
   * does not plan those, see RecordSet.unwritable), a create or update of one is set aside in
   * `refused`, and applyChanges refuses it once the rest is applied.
   */
  private setAsideUnwritable(apex: string, ops: readonly RecordOp[], snapshot: ZoneSnapshot, refused: Map<RecordKey, string>): RecordOp[] {
    return ops.filter((op) => {
      const key = keyOf(op);
      const what = snapshot.foreign.get(key);
      if (what === undefined) return true;
      if (op.kind === 'delete') this.logger.debug({ zone: apex, record: key, what }, 'delete of a record set dnsquorum never writes dropped: it is kept');
      else refused.set(key, what);
      return false;
    });
  }

  private refusedUnwritable(apex: string, refused: ReadonlyMap<RecordKey, string>, others: number): ProviderError {
    const found = [...refused].map(([key, what]) => `${key} (${what})`);
    return new ProviderError(
      'DQ_PROVIDER_REJECTED',
      this.name,
      `in ${apex}, ${found.join('; ')} ${found.length === 1 ? 'is an alias or routing-policy record set' : 'are alias or routing-policy record sets'}, which dnsquorum never writes, ` +
        `so the config's ${found.length === 1 ? 'record' : 'records'} of that name and type ${found.length === 1 ? 'was' : 'were'} not written (the other ${others} changes were applied); ` +
        'remove the record set at Route53, or take the name out of the config',
    );
  }

  private pack(ops: readonly RecordOp[]): RecordOp[][] {
    const packing = packBatches(ops, this.limits);
    if (packing.ok) return packing.batches;
    const op = packing.tooLarge;
    throw new ProviderError(
      'DQ_PROVIDER_REJECTED',
      this.name,
      `${op.name} ${op.type} is too large for one Route53 change request (${packing.cost.records} ResourceRecords, ${packing.cost.chars} characters; ` +
        `the limits are ${this.limits.maxRecords} and ${this.limits.maxValueChars}; an update counts its old and new values, an UPSERT its new values twice)`,
    );
  }

  /**
   * Sends one batch and waits for INSYNC. Returns the ops to send again when Route53 refused the
   * batch (all or nothing) for reasons this provider can repair; throws for the rest.
   */
  private async submit(apex: string, zoneId: string, batch: QueuedBatch, comment: string, refused: Map<RecordKey, string>, signal: AbortSignal): Promise<Submitted> {
    await this.waitForPredecessor(apex, zoneId, signal);
    let change: ChangeStatus;
    try {
      change = await this.api.changeRecordSets(zoneId, batchChanges(batch.ops), comment, signal);
    } catch (err) {
      if (err instanceof Route53ApiError && err.code === 'InvalidChangeBatch') return { kind: 'resend', ops: await this.recover(apex, zoneId, batch, err, refused, signal) };
      throw this.translate(err, apex);
    }
    this.logger.debug({ zone: apex, changeId: change.id, changes: batch.ops.length }, 'change submitted');
    const outcome = await this.waitInsync(apex, zoneId, change, `${batch.ops.length} record set changes`, signal);
    return { kind: outcome };
  }

  /**
   * InvalidChangeBatch: nothing of the batch was applied. "already exists" on a CREATE, and "not
   * found" and "values do not match" on a DELETE, mean the zone changed since it was read (our own
   * earlier attempt whose answer was lost, another writer) or holds the same data spelt otherwise:
   * the zone is read again and each such op is rebuilt from what Route53 holds now — dropped when
   * its result is already there (so a batch that went through is never applied twice), a create
   * sent as UPSERT when other data holds its name, a delete sent again with Route53's own values
   * when they mean what `before` means, and a DQ_PROVIDER_CONFLICT when Route53 holds something
   * else, so the next pass re-plans from the fresh state. Any other reason is DQ_PROVIDER_REJECTED.
   */
  private async recover(apex: string, zoneId: string, batch: QueuedBatch, err: Route53ApiError, refused: Map<RecordKey, string>, signal: AbortSignal): Promise<RecordOp[]> {
    const reasons = parseInvalidChangeBatch(err.message);
    const rejected = (why: readonly ChangeBatchReason[]): ProviderError =>
      new ProviderError('DQ_PROVIDER_REJECTED', this.name, `Route53 refused the changes to ${apex} (nothing of that batch was applied): ${why.map((r) => r.text).join('; ')}`, {
        cause: err,
      });
    if (reasons.length === 0) throw rejected([{ text: err.message, problem: 'other' }]);
    const others = reasons.filter((r) => r.problem === 'other');
    if (others.length > 0) throw rejected(others);
    if (batch.round >= MAX_RECOVERY_ROUNDS) {
      throw new ProviderError('DQ_PROVIDER_CONFLICT', this.name, `${apex} kept changing while dnsquorum wrote it (${reasons.map((r) => r.text).join('; ')}); the next pass re-plans`, {
        cause: err,
      });
    }

    const ops = [...batch.ops];
    const reread = new Set<number>();
    for (const reason of reasons) {
      const index = ops.findIndex((op) => reasonNames(reason, op));
      const op = ops[index];
      if (op === undefined) throw rejected([reason]);
      reread.add(index);
    }

    const fresh = await this.readZone(apex, zoneId, signal);
    // A name another writer has just given an alias or a routing policy is set aside like those read before.
    const writable = new Set(this.setAsideUnwritable(apex, ops.filter((_, i) => reread.has(i)), fresh, refused));
    const conflicts: string[] = [];
    const rebuilt: RecordOp[] = [];
    ops.forEach((op, i) => {
      if (!reread.has(i)) {
        rebuilt.push(op);
        return;
      }
      if (!writable.has(op)) return;
      const result = rebuildOp(op, fresh.held.get(keyOf(op)), apex);
      if (typeof result === 'string') conflicts.push(result);
      else if (result !== undefined) rebuilt.push(result);
    });
    if (conflicts.length > 0) {
      throw new ProviderError('DQ_PROVIDER_CONFLICT', this.name, `${apex} does not hold what the plan expected (nothing of that batch was applied): ${conflicts.join('; ')}`, {
        cause: err,
      });
    }
    this.logger.info({ zone: apex, reasons: reasons.map((r) => r.text), resend: rebuilt.length }, 'zone re-read after InvalidChangeBatch; sending the rebuilt batch');
    return rebuilt;
  }

  /**
   * Polls GetChange until INSYNC, at most insyncTimeout; records how long it took. While it is
   * PENDING, the change of a hosted zone (`zoneId`) is in the process's record of pending
   * changes. A handOver ends the wait ('handed-over'), the change still recorded; the caller's
   * abort ends it with the caller's reason.
   */
  private async waitInsync(apex: string, zoneId: string | undefined, change: ChangeStatus, what: string, signal: AbortSignal): Promise<'insync' | 'handed-over'> {
    const started = this.clock.now();
    const key = zoneId === undefined ? undefined : zoneKey(this.config.endpoint, zoneId);
    if (key !== undefined && change.status !== 'INSYNC') this.pending.set(key, { changeId: change.id, submittedAt: started });
    let status = change.status;
    let polls = 0;
    try {
      while (status !== 'INSYNC') {
        const elapsed = this.clock.now() - started;
        if (elapsed >= this.insyncTimeoutMs) {
          throw new ProviderError(
            'DQ_PROVIDER_UNAVAILABLE',
            this.name,
            `change ${change.id} to ${apex} (${what}) was accepted but is still PENDING after ${elapsed} ms; the next pass re-reads what Route53 holds`,
          );
        }
        if (polls > 0 && !(await this.pause(Math.min(this.insyncPollIntervalMs, this.insyncTimeoutMs - elapsed), signal))) {
          this.logger.info({ zone: apex, changeId: change.id, what, waitedMs: this.clock.now() - started }, 'handed over while the change is PENDING at Route53; the provider that took over waits for it');
          return 'handed-over';
        }
        polls++;
        try {
          status = (await this.api.getChange(change.id, signal)).status;
        } catch (err) {
          throw this.translate(err, apex);
        }
      }
    } catch (err) {
      // Given up (timeout, error, abort): a successor's own wait for it would end at the same time.
      if (key !== undefined) this.pending.settled(key, change.id);
      throw err;
    }
    if (key !== undefined) this.pending.settled(key, change.id);
    const insyncMs = this.clock.now() - started;
    this.lastInsyncMs = insyncMs;
    this.logger.info({ zone: apex, changeId: change.id, insyncMs, polls, what }, 'change in sync at Route53');
    return 'insync';
  }

  /**
   * Waits until the zone's change that another provider of this process left PENDING (the one a
   * reload replaced) is INSYNC, at most insyncTimeout after it was accepted, so that this
   * provider never causes a PriorRequestNotComplete. Its own changes are waited for as they are
   * sent, so they are never found here.
   */
  private async waitForPredecessor(apex: string, zoneId: string, signal: AbortSignal): Promise<void> {
    const key = zoneKey(this.config.endpoint, zoneId);
    const before = this.pending.get(key);
    if (before === undefined) return;
    for (let polls = 0; ; polls++) {
      const waited = this.clock.now() - before.submittedAt;
      if (waited >= this.insyncTimeoutMs) {
        this.logger.warn({ zone: apex, changeId: before.changeId, waitedMs: waited }, 'an earlier change to the zone is still PENDING after insyncTimeout; writing anyway');
        this.pending.settled(key, before.changeId);
        return;
      }
      if (polls > 0 && !(await this.pause(Math.min(this.insyncPollIntervalMs, this.insyncTimeoutMs - waited), signal))) {
        throw new ProviderError('DQ_PROVIDER_UNAVAILABLE', this.name, `handed over while waiting for an earlier change to ${apex} to go INSYNC; nothing was sent`);
      }
      let status;
      try {
        status = (await this.api.getChange(before.changeId, signal)).status;
      } catch (err) {
        if (err instanceof Route53ApiError && err.code === 'NoSuchChange') status = 'INSYNC';
        else throw this.translate(err, apex);
      }
      if (status === 'INSYNC') {
        this.pending.settled(key, before.changeId);
        this.logger.debug({ zone: apex, changeId: before.changeId, waitedMs: this.clock.now() - before.submittedAt }, 'the earlier change to the zone is INSYNC; writing');
        return;
      }
    }
  }

  /** Sleeps `ms`; false when a handOver (or close) cut it short. The caller's abort rejects with its reason. */
  private async pause(ms: number, signal: AbortSignal): Promise<boolean> {
    if (this.stopped.signal.aborted) return false;
    try {
      await this.orStopped(signal, (waits) => this.sleep(ms, waits));
      return true;
    } catch (err) {
      if (signal.aborted || !this.stopped.signal.aborted) throw err;
      return false;
    }
  }

  /** Runs `task` with a signal that aborts with the caller's or when the provider is handed over or closed. */
  private async orStopped<T>(signal: AbortSignal, task: (waits: AbortSignal) => Promise<T>): Promise<T> {
    const waits = startDeadline([signal, this.stopped.signal]);
    try {
      return await task(waits.signal);
    } finally {
      waits.dispose();
    }
  }

  /**
   * Route53 API errors as ProviderErrors; anything already typed passes through. A hosted zone
   * that is gone is DQ_ZONE_NOT_FOUND (created on apply) when it was found by name, but not when
   * hostedZoneIds names it: dnsquorum never creates a zone for a configured id, so `plan` must not
   * promise one, and the provider stays unreadable (its name servers unknown) until the id is fixed.
   */
  private translate(err: unknown, apex: string): unknown {
    if (!(err instanceof Route53ApiError)) return err;
    if (err.code === 'NoSuchHostedZone') {
      this.zoneIds.delete(apex);
      this.nameserverCache.delete(apex);
      this.snapshots.delete(apex);
      const configured = this.config.hostedZoneIds[apex];
      if (configured !== undefined) {
        return new ProviderError(
          'DQ_PROVIDER_REJECTED',
          this.name,
          `providers.${this.name}.hostedZoneIds names ${configured} for ${apex}, but Route53 has no such hosted zone (${err.message}); dnsquorum never creates a zone for a ` +
            'configured id: fix the id, or remove it to have the zone found by name (and created on apply if Route53 has none)',
          { cause: err },
        );
      }
      return new ProviderError('DQ_ZONE_NOT_FOUND', this.name, `the hosted zone of ${apex} no longer exists (${err.message})`, { cause: err });
    }
    return new ProviderError('DQ_PROVIDER_REJECTED', this.name, `Route53 refused a request for ${apex}: ${err.code}: ${err.message}`, { cause: err });
  }
}

// ---- ops ----

function wireOf(rs: RecordSet): WireRecordSet {
  return { name: encodeName(rs.name), type: rs.type, ttl: rs.ttl, values: rs.values.map((v) => valueToRoute53(rs.type, v)) };
}

/** DELETE must carry exactly what Route53 holds: its own spelling when it means `before`. */
function deletionOf(before: RecordSet, held: HeldRecordSet | undefined): WireChange {
  return { action: 'DELETE', recordSet: held !== undefined && recordSetsEqual(held.canonical, before) ? held.wire : wireOf(before) };
}

function createOp(after: RecordSet, action: 'CREATE' | 'UPSERT' = 'CREATE'): RecordOp {
  return { kind: 'create', name: after.name, type: after.type, after, changes: [{ action, recordSet: wireOf(after) }] };
}

/**
 * DELETE `before` then CREATE `after`, in one all-or-nothing request: Route53 itself refuses it
 * when the record set no longer holds `before`. The apex NS is the exception: Route53 refuses to
 * delete it, so it is replaced with UPSERT (without that check).
 */
function updateOp(before: RecordSet, after: RecordSet, held: HeldRecordSet | undefined, apex: string): RecordOp {
  const changes: WireChange[] =
    after.type === 'NS' && after.name === apex ? [{ action: 'UPSERT', recordSet: wireOf(after) }] : [deletionOf(before, held), { action: 'CREATE', recordSet: wireOf(after) }];
  return { kind: 'update', name: after.name, type: after.type, before, after, changes };
}

function deleteOp(before: RecordSet, held: HeldRecordSet | undefined): RecordOp {
  return { kind: 'delete', name: before.name, type: before.type, before, changes: [deletionOf(before, held)] };
}

/**
 * An op rebuilt against what Route53 holds now: undefined when its result is already in place,
 * a string (the conflict, in words) when Route53 holds neither `before` nor the result.
 */
function rebuildOp(op: RecordOp, held: HeldRecordSet | undefined, apex: string): RecordOp | string | undefined {
  const key = `${op.name} ${op.type}`;
  const describe = (rs: RecordSet | undefined): string => (rs === undefined ? 'nothing' : `TTL ${rs.ttl} [${rs.values.join(', ')}]`);
  const now = held?.canonical;
  switch (op.kind) {
    case 'create':
      if (op.after === undefined) return undefined;
      if (now !== undefined && recordSetsEqual(now, op.after)) return undefined;
      return createOp(op.after, now === undefined ? 'CREATE' : 'UPSERT');
    case 'update':
      if (op.before === undefined || op.after === undefined) return undefined;
      if (now !== undefined && recordSetsEqual(now, op.after)) return undefined;
      if (now !== undefined && recordSetsEqual(now, op.before)) return updateOp(op.before, op.after, held, apex);
      return `${key}: expected ${describe(op.before)}, Route53 holds ${describe(now)}`;
    case 'delete':
      if (op.before === undefined || now === undefined) return undefined;
      if (recordSetsEqual(now, op.before)) return deleteOp(op.before, held);
      return `${key}: expected ${describe(op.before)} to delete, Route53 holds ${describe(now)}`;
  }
}

/** Whether an InvalidChangeBatch reason is about this op (its record set and, if named, its action). */
function reasonNames(reason: ChangeBatchReason, op: RecordOp): boolean {
  if (reason.name !== op.name || reason.type !== op.type || reason.setIdentifier !== undefined) return false;
  if (reason.action === undefined) return true;
  return op.changes.some((c) => c.action === reason.action);
}

