import type { ChangeSet } from '../../domain/change-set.js';
import { RECORD_TYPES, compareRecordSets, fqdn, isInZone, isRecordType, keyOf, normalizeRecordSet, recordSetsEqual } from '../../domain/record.js';
import type { RecordKey, RecordSet, RecordType } from '../../domain/record.js';
import { NS1_DEFAULTS } from '../../config/providers.js';
import type { Ns1ProviderConfig } from '../../config/types.js';
import type { Sleep } from '../../lib/backoff.js';
import type { Clock } from '../../lib/clock.js';
import { ProviderError } from '../../lib/errors.js';
import { KeyedLock } from '../../lib/keyed-lock.js';
import type { Logger } from '../../lib/logger.js';
import type { ApiCallObserver, DnsProvider, ProviderCapabilities } from '../provider.js';
import { valueFromNs1, valueFromShortAnswer, valueToNs1 } from './answers.js';
import { DEFAULT_NS1_RETRY, Ns1Client, bareName } from './client.js';
import type { Ns1CallStats, Ns1RecordSummary, Ns1RecordWrite, Ns1RetryPolicy, Ns1Zone } from './client.js';
import { Ns1ApiError } from './errors.js';

export interface Ns1ProviderOptions {
  readonly config: Ns1ProviderConfig;
  /** Paces requests by NS1's rate-limit headers (a ManualClock in tests, with `sleep` moving it). */
  readonly clock: Clock;
  readonly logger: Logger;
  /** Backoff tuning (tests use small bases); not part of the user config (maxRetries is). */
  readonly retry?: Partial<Omit<Ns1RetryPolicy, 'maxRetries'>>;
  /** Source of backoff jitter (tests pass a seeded one). */
  readonly random?: () => number;
  readonly sleep?: Sleep;
  /** Told about every request the client sends (metrics). */
  readonly apiCalls?: ApiCallObserver;
}

/** One read of a zone. */
interface ZoneSnapshot {
  readonly records: RecordSet[];
  /** Plain records: answers only, no filter chain, no link. */
  readonly held: ReadonlyMap<RecordKey, RecordSet>;
  /** Records with a filter chain or a link, with what they are: listed, never written. */
  readonly foreign: ReadonlyMap<RecordKey, string>;
}

export type WriteKind = 'create' | 'update' | 'delete';

/** One API write: the record set to create or update to, or the one to delete. */
export interface Write {
  readonly kind: WriteKind;
  readonly record: RecordSet;
}

/**
 * NS1 through its REST API (src/providers/ns1/client.ts). NS1 has no batch and no conditional
 * write: every record set is its own request. So applyChanges reads the zone first and checks
 * every update and delete against it before sending anything (a conflict changes nothing), skips
 * what is already in place (a half-applied pass is finished by the next one), and writes creates
 * and updates before deletes, an update as one POST, so no name is served empty in between.
 * See docs/ns1.md.
 */
export class Ns1Provider implements DnsProvider {
  readonly name: string;
  readonly type = 'ns1';
  readonly capabilities: ProviderCapabilities = {
    // One request per record set, and nothing NS1 offers spans two of them.
    atomicBatch: false,
    maxBatchSize: 1,
    recordTypes: new Set<RecordType>(RECORD_TYPES),
  };
  readonly client: Ns1Client;

  private readonly logger: Logger;
  /** Zone FQDN -> its name servers (NS1's dns_servers, read-only at NS1, so kept). */
  private readonly nameserverCache = new Map<string, readonly string[]>();
  /** One write at a time per zone (key: the zone FQDN). */
  private readonly zoneWrites = new KeyedLock();

  constructor(options: Ns1ProviderOptions) {
    this.name = options.config.name;
    // The registry's logger already carries the provider's name.
    this.logger = options.logger.child({ component: 'ns1-provider' });
    this.client = new Ns1Client({
      endpoint: options.config.endpoint,
      apiKey: options.config.apiKey,
      requestTimeoutMs: options.config.requestTimeoutMs ?? NS1_DEFAULTS.requestTimeoutMs,
      retry: { ...DEFAULT_NS1_RETRY, ...options.retry, maxRetries: options.config.maxRetries ?? NS1_DEFAULTS.maxRetries },
      clock: options.clock,
      ...(options.sleep === undefined ? {} : { sleep: options.sleep }),
      ...(options.random === undefined ? {} : { random: options.random }),
      logger: this.logger,
      ...(options.apiCalls === undefined ? {} : { apiCalls: { provider: this.name, observer: options.apiCalls } }),
    });
  }

  /** Requests, retries, 429s and pacing so far. */
  get stats(): Ns1CallStats {
    return this.client.stats;
  }

  async listRecords(zone: string, signal: AbortSignal): Promise<RecordSet[]> {
    return (await this.readZone(fqdn(zone), signal)).records;
  }

  async applyChanges(changes: ChangeSet, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    const apex = fqdn(changes.zone);
    const creates = changes.creates.map(normalizeRecordSet);
    const updates = changes.updates.map((u) => ({ before: normalizeRecordSet(u.before), after: normalizeRecordSet(u.after) })).filter((u) => !recordSetsEqual(u.before, u.after));
    const deletes = changes.deletes.map(normalizeRecordSet);
    this.refuseWhatIsNeverWritten(apex, [...creates, ...updates.flatMap((u) => [u.before, u.after]), ...deletes]);
    if (creates.length + updates.length + deletes.length === 0) return;

    await this.zoneWrites.run(apex, signal, async () => {
      // NS1 cannot make a write conditional on what it holds, so the check is ours, against a
      // fresh read, for the whole change set before its first write.
      const snapshot = await this.readZone(apex, signal);
      const conflicts: string[] = [];
      const foreign: string[] = [];
      const writes: Write[] = [];
      let inPlace = 0;
      const against = (rs: RecordSet): { held: RecordSet | undefined; foreign: string | undefined } => ({ held: snapshot.held.get(keyOf(rs)), foreign: snapshot.foreign.get(keyOf(rs)) });

      for (const after of creates) {
        const now = against(after);
        if (now.foreign !== undefined) foreign.push(`${keyOf(after)} (${now.foreign})`);
        else if (now.held === undefined) writes.push({ kind: 'create', record: after });
        else if (recordSetsEqual(now.held, after)) inPlace++;
        else conflicts.push(`${keyOf(after)}: to be created, but NS1 already holds ${describe(now.held)}`);
      }
      for (const { before, after } of updates) {
        const now = against(after);
        if (now.foreign !== undefined) foreign.push(`${keyOf(after)} (${now.foreign})`);
        else if (now.held !== undefined && recordSetsEqual(now.held, after)) inPlace++;
        else if (now.held !== undefined && recordSetsEqual(now.held, before)) writes.push({ kind: 'update', record: after });
        else conflicts.push(`${keyOf(after)}: expected ${describe(before)}, NS1 holds ${describe(now.held)}`);
      }
      for (const before of deletes) {
        const now = against(before);
        if (now.foreign !== undefined) foreign.push(`${keyOf(before)} (${now.foreign})`);
        else if (now.held === undefined) inPlace++;
        else if (recordSetsEqual(now.held, before)) writes.push({ kind: 'delete', record: before });
        else conflicts.push(`${keyOf(before)}: expected ${describe(before)} to delete, NS1 holds ${describe(now.held)}`);
      }
      if (foreign.length > 0) {
        throw new ProviderError(
          'DQ_PROVIDER_REJECTED',
          this.name,
          `in ${apex}, ${foreign.join('; ')} ${foreign.length === 1 ? 'has' : 'have'} an NS1 filter chain or link, which dnsquorum never writes; ` +
            'remove it at NS1, or take the name out of the config and keep unmanaged: keep (nothing was applied)',
        );
      }
      if (conflicts.length > 0) {
        throw new ProviderError('DQ_PROVIDER_CONFLICT', this.name, `${apex} does not hold what the plan expected (nothing was applied): ${conflicts.join('; ')}`);
      }
      if (inPlace > 0) this.logger.info({ zone: apex, inPlace }, 'changes already in place at NS1 (a pass finished half-way, or another writer); skipped');
      await this.write(apex, orderWrites(writes), signal);
    });
  }

  async ensureZone(zone: string, signal: AbortSignal): Promise<void> {
    const apex = fqdn(zone);
    await this.zoneWrites.run(apex, signal, async () => {
      try {
        this.remember(apex, await this.client.getZone(apex, signal, { records: false }));
        return;
      } catch (err) {
        if (!(err instanceof Ns1ApiError && err.kind === 'zone-not-found')) throw this.translate(err, apex, 'reading the zone');
      }
      try {
        await this.client.createZone(apex, signal);
        this.logger.info({ zone: apex }, 'zone created at NS1');
      } catch (err) {
        // A retried PUT whose first try went through, or another replica: the zone is there.
        if (!(err instanceof Ns1ApiError && err.kind === 'already-exists')) throw this.translate(err, apex, 'creating the zone');
      }
    });
  }

  /** The zone's dns_servers, never the apex NS record (which anyone may have edited). */
  async nameservers(zone: string, signal: AbortSignal): Promise<string[]> {
    const apex = fqdn(zone);
    const cached = this.nameserverCache.get(apex);
    if (cached !== undefined) return [...cached];
    try {
      return [...this.remember(apex, await this.client.getZone(apex, signal, { records: false }))];
    } catch (err) {
      throw this.translate(err, apex, 'reading the zone');
    }
  }

  close(): Promise<void> {
    this.client.close();
    return Promise.resolve();
  }

  // ---- reads ----

  private remember(apex: string, zone: Ns1Zone): readonly string[] {
    const servers = zone.dnsServers.map(fqdn);
    if (servers.length > 0) this.nameserverCache.set(apex, servers);
    return servers;
  }

  /**
   * The zone listing with every record summary. Plain records come from their short answers.
   * Records above tier 1 (advanced configuration) are read one by one: plain ones among them
   * from their full answers; those with a filter chain, and linked records, are not dnsquorum's:
   * they are listed once with TTL 0 (a TTL no config can declare, so the planner never takes one
   * for its own) and never written. The SOA is made from the zone's own fields, as NS1 serves it.
   */
  private async readZone(apex: string, signal: AbortSignal): Promise<ZoneSnapshot> {
    let zone: Ns1Zone;
    try {
      zone = await this.client.getZone(apex, signal);
    } catch (err) {
      throw this.translate(err, apex, 'reading the zone');
    }
    this.remember(apex, zone);
    const held = new Map<RecordKey, RecordSet>();
    const foreign = new Map<RecordKey, string>();
    const records: RecordSet[] = [];
    let skipped = 0;
    for (const summary of zone.records) {
      if (!isRecordType(summary.type) || summary.type === 'SOA' || !isInZone(fqdn(summary.domain), apex)) {
        skipped++;
        continue;
      }
      const type = summary.type;
      const name = fqdn(summary.domain);
      const listed = await this.recordOf(apex, summary, type, signal);
      if (listed === undefined) continue;
      if (listed.foreign === undefined) held.set(keyOf(listed.record), listed.record);
      else foreign.set(keyOf({ name, type }), listed.foreign);
      records.push(listed.record);
    }
    if (foreign.size > 0 || skipped > 0) {
      this.logger.debug({ zone: apex, foreign: Object.fromEntries(foreign), otherTypes: skipped }, 'records dnsquorum lists but never writes, or does not list');
    }
    records.push(soaOf(apex, zone));
    return { records: records.sort(compareRecordSets), held, foreign };
  }

  private async recordOf(
    apex: string,
    summary: Ns1RecordSummary,
    type: Exclude<RecordType, 'SOA'>,
    signal: AbortSignal,
  ): Promise<{ record: RecordSet; foreign?: string } | undefined> {
    const name = fqdn(summary.domain);
    const fromShort = (): string[] => summary.shortAnswers.map((s) => valueFromShortAnswer(type, s));
    if (summary.link !== null) {
      return { record: normalizeRecordSet({ name, type, ttl: 0, values: fromShort() }), foreign: `linked to ${summary.link}` };
    }
    if (summary.tier <= 1) return { record: normalizeRecordSet({ name, type, ttl: summary.ttl ?? 0, values: fromShort() }) };
    let full;
    try {
      full = await this.client.getRecord(apex, summary.domain, type, signal);
    } catch (err) {
      // Deleted between the listing and now: it is not there.
      if (err instanceof Ns1ApiError && err.kind === 'record-not-found') return undefined;
      throw this.translate(err, apex, `reading ${name} ${type}`);
    }
    const values = full.answers.map((a) => valueFromNs1(type, a.answer));
    if (full.link !== null) return { record: normalizeRecordSet({ name, type, ttl: 0, values }), foreign: `linked to ${full.link}` };
    if (full.filters.length > 0) {
      return { record: normalizeRecordSet({ name, type, ttl: 0, values }), foreign: `filter chain ${filterNames(full.filters)}` };
    }
    return { record: normalizeRecordSet({ name, type, ttl: full.ttl ?? summary.ttl ?? 0, values }) };
  }

  // ---- writes ----

  /** The apex SOA and out-of-zone names are refused before anything is sent. */
  private refuseWhatIsNeverWritten(apex: string, records: readonly RecordSet[]): void {
    for (const rs of records) {
      if (rs.type === 'SOA') {
        throw new ProviderError('DQ_PROVIDER_REJECTED', this.name, `${rs.name} SOA belongs to NS1 (it is made from the zone's settings); dnsquorum never changes or deletes it (nothing was applied)`);
      }
      if (!isInZone(rs.name, apex)) {
        throw new ProviderError('DQ_PROVIDER_REJECTED', this.name, `${rs.name} ${rs.type} is outside zone ${apex} (nothing was applied)`);
      }
    }
  }

  /**
   * Sends the writes one by one. A write NS1 refuses as invalid (400) is reported at the end
   * and the others still go out, except deletes at its name (whose replacement did not arrive).
   * Anything else (unavailable, throttled after every retry, the key refused) stops the pass:
   * what was written stays, and the next pass re-reads and finishes the rest.
   */
  private async write(apex: string, writes: readonly Write[], signal: AbortSignal): Promise<void> {
    let applied = 0;
    const refused: string[] = [];
    const held = new Set<string>();
    for (const write of writes) {
      const { record } = write;
      if (write.kind === 'delete' && held.has(record.name)) continue;
      try {
        await this.send(apex, write, signal);
        applied++;
      } catch (err) {
        if (err instanceof Ns1ApiError && (err.kind === 'invalid' || err.kind === 'not-found')) {
          refused.push(`${write.kind} ${record.name} ${record.type}: ${err.ns1Message ?? err.message}`);
          held.add(record.name);
          continue;
        }
        const progress = `${applied} of ${writes.length} writes to ${apex} went through before this one; the next pass re-reads and finishes the rest`;
        this.logger.warn({ zone: apex, applied, writes: writes.length, failed: `${write.kind} ${record.name} ${record.type}` }, 'NS1 writes stopped half-way');
        throw this.translate(err, apex, `${write.kind} of ${record.name} ${record.type} (${progress})`);
      }
    }
    this.logger.debug({ zone: apex, applied, refused: refused.length }, 'NS1 writes done');
    if (refused.length > 0) {
      throw new ProviderError(
        'DQ_PROVIDER_REJECTED',
        this.name,
        `NS1 refused ${refused.length} of ${writes.length} writes to ${apex} (the other ${applied} went through): ${refused.join('; ')}`,
      );
    }
  }

  /** One write, tolerant of its result being in place already (a retried request that went through). */
  private async send(apex: string, write: Write, signal: AbortSignal): Promise<void> {
    const { record } = write;
    switch (write.kind) {
      case 'create':
        try {
          await this.client.createRecord(ns1Record(apex, record), signal);
        } catch (err) {
          if (!(err instanceof Ns1ApiError && err.kind === 'already-exists')) throw err;
          await this.expectInPlace(apex, record, signal, err);
        }
        return;
      case 'update':
        try {
          await this.client.updateRecord(ns1Record(apex, record), signal, { landed: (s) => this.holdsAlready(apex, record, s) });
        } catch (err) {
          if (err instanceof Ns1ApiError && err.kind === 'record-not-found') {
            throw new ProviderError('DQ_PROVIDER_CONFLICT', this.name, `${keyOf(record)} was deleted at NS1 while dnsquorum updated it`, { cause: err });
          }
          throw err;
        }
        return;
      case 'delete':
        try {
          await this.client.deleteRecord(apex, record.name, record.type, signal);
        } catch (err) {
          // Gone already: a retried DELETE whose first try went through, or another writer.
          if (!(err instanceof Ns1ApiError && err.kind === 'record-not-found')) throw err;
        }
        return;
    }
  }

  /** Whether NS1 holds `record` exactly, as a plain record (a write whose answer was lost went through). */
  private async holdsAlready(apex: string, record: RecordSet, signal: AbortSignal): Promise<boolean> {
    let full;
    try {
      full = await this.client.getRecord(apex, record.name, record.type, signal);
    } catch (err) {
      if (err instanceof Ns1ApiError && err.kind === 'record-not-found') return false;
      throw err;
    }
    const now = normalizeRecordSet({ name: record.name, type: record.type, ttl: full.ttl ?? 0, values: full.answers.map((a) => valueFromNs1(record.type, a.answer)) });
    return full.filters.length === 0 && full.link === null && recordSetsEqual(now, record);
  }

  /** "record already exists" on a create: fine if it holds what we meant to write. */
  private async expectInPlace(apex: string, record: RecordSet, signal: AbortSignal, cause: Ns1ApiError): Promise<void> {
    const full = await this.client.getRecord(apex, record.name, record.type, signal);
    const now = normalizeRecordSet({ name: record.name, type: record.type, ttl: full.ttl ?? 0, values: full.answers.map((a) => valueFromNs1(record.type, a.answer)) });
    if (full.filters.length === 0 && full.link === null && recordSetsEqual(now, record)) return;
    throw new ProviderError('DQ_PROVIDER_CONFLICT', this.name, `${keyOf(record)} appeared at NS1 while dnsquorum created it, holding ${describe(now)}`, { cause });
  }

  /** Client errors as ProviderErrors; ProviderErrors and aborts pass through. */
  private translate(err: unknown, apex: string, doing: string): unknown {
    if (!(err instanceof Ns1ApiError)) return err;
    const options = { cause: err };
    switch (err.kind) {
      case 'unauthorized':
        return new ProviderError('DQ_PROVIDER_REJECTED', this.name, `NS1 refused the API key (HTTP 401) ${doing} of ${apex}; check providers.${this.name}.apiKey`, options);
      case 'forbidden':
        return new ProviderError('DQ_PROVIDER_REJECTED', this.name, `the API key may not do this (HTTP 403) ${doing} of ${apex}; give the key the DNS permissions it needs`, options);
      case 'zone-not-found':
        this.nameserverCache.delete(apex);
        return new ProviderError('DQ_ZONE_NOT_FOUND', this.name, `NS1 has no zone ${bareName(apex)} (${err.message})`, options);
      case 'throttled':
        return new ProviderError('DQ_PROVIDER_THROTTLED', this.name, `NS1 kept answering 429 ${doing}: ${err.message}`, options);
      case 'server':
      case 'network':
      case 'timeout':
      case 'malformed':
        return new ProviderError('DQ_PROVIDER_UNAVAILABLE', this.name, `NS1 failed ${doing}: ${err.message}`, options);
      case 'record-not-found':
      case 'already-exists':
        return new ProviderError('DQ_PROVIDER_CONFLICT', this.name, `${doing}: ${err.message}`, options);
      case 'invalid':
      case 'not-found':
        return new ProviderError('DQ_PROVIDER_REJECTED', this.name, `NS1 refused ${doing}: ${err.message}`, options);
    }
  }
}

/**
 * Creates and updates first, then deletes, so no name is served empty between two requests.
 * One exception, because a CNAME shares its name with nothing: a delete that must make room for
 * a create at the same name (the CNAME a new A replaces, or the records a new CNAME replaces)
 * goes right before that create. That name is briefly empty: there is no order that avoids it.
 */
export function orderWrites(writes: readonly Write[]): Write[] {
  const deletes = writes.filter((w) => w.kind === 'delete');
  const making = writes.filter((w) => w.kind !== 'delete');
  const early = new Set<Write>();
  const ordered: Write[] = [];
  for (const write of making) {
    const { name, type } = write.record;
    const room = deletes.filter((d) => !early.has(d) && d.record.name === name && (type === 'CNAME' ? d.record.type !== 'CNAME' : d.record.type === 'CNAME'));
    for (const d of room) early.add(d);
    ordered.push(...room, write);
  }
  ordered.push(...deletes.filter((d) => !early.has(d)));
  return ordered;
}

function ns1Record(apex: string, rs: RecordSet): Ns1RecordWrite {
  return { zone: bareName(apex), domain: bareName(rs.name), type: rs.type, ttl: rs.ttl, answers: rs.values.map((v) => ({ answer: valueToNs1(rs.type, v) })) };
}

/**
 * NS1 keeps no SOA record; it serves one made from the zone: MNAME its first name server, RNAME
 * the hostmaster address, then serial, refresh, retry, expiry and nx_ttl, at the zone's TTL.
 */
function soaOf(apex: string, zone: Ns1Zone): RecordSet {
  const mname = zone.dnsServers[0] === undefined ? apex : fqdn(zone.dnsServers[0]);
  const hostmaster = zone.hostmaster ?? `hostmaster@${bareName(apex)}`;
  const at = hostmaster.indexOf('@');
  const rname = fqdn(at < 0 ? hostmaster : `${hostmaster.slice(0, at).replaceAll('.', '\\.')}.${hostmaster.slice(at + 1)}`);
  const fields = [mname, rname, zone.serial ?? 0, zone.refresh ?? 43_200, zone.retry ?? 7_200, zone.expiry ?? 1_209_600, zone.nxTtl ?? 3_600];
  return normalizeRecordSet({ name: apex, type: 'SOA', ttl: zone.ttl ?? 3_600, values: [fields.join(' ')] });
}

function filterNames(filters: readonly unknown[]): string {
  const names = filters.map((f) => (typeof f === 'object' && f !== null && 'filter' in f && typeof f.filter === 'string' ? f.filter : '?'));
  return `(${names.join(' -> ')})`;
}

function describe(rs: RecordSet | undefined): string {
  return rs === undefined ? 'nothing' : `TTL ${rs.ttl} [${rs.values.join(', ')}]`;
}

