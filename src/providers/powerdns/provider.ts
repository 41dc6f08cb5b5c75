import type { ChangeSet } from '../../domain/change-set.js';
import { CONFIGURABLE_TYPES, canonicalValue, compareRecordSets, fqdn, isInZone, isRecordType, keyOf, normalizeRecordSet, recordSetsEqual } from '../../domain/record.js';
import type { RecordKey, RecordSet, RecordType } from '../../domain/record.js';
import { POWERDNS_DEFAULTS } from '../../config/providers.js';
import type { PowerDnsProviderConfig } from '../../config/types.js';
import { parseCharacterStrings, quoteCharacterStrings } from '../../dns/presentation.js';
import type { Clock } from '../../lib/clock.js';
import { ProviderError, errorMessage } from '../../lib/errors.js';
import { KeyedLock } from '../../lib/keyed-lock.js';
import type { Logger } from '../../lib/logger.js';
import type { ApiCallObserver, DnsProvider, ProviderCapabilities } from '../provider.js';
import { PdnsClient } from './client.js';
import type { PdnsRrsetChange, PdnsZone } from './client.js';

export interface PowerDnsProviderOptions {
  readonly config: PowerDnsProviderConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly apiCalls?: ApiCallObserver;
}

/**
 * RRsets one PATCH carries. PowerDNS applies a PATCH all or nothing; its webserver refuses bodies
 * over 2 MB by default (webserver-max-bodysize), and 1,000 RRsets of ordinary records stay well
 * below that.
 */
const MAX_RRSETS_PER_PATCH = 1000;

/**
 * A PowerDNS Authoritative server through its HTTP API (src/providers/powerdns/client.ts). A PATCH
 * of RRsets is atomic but not conditional, so applyChanges reads the zone first, checks every
 * update and delete against what it holds (a conflict sends nothing), skips what is already in
 * place, and sends the rest as one PATCH. Two writers racing between that read and the PATCH are
 * not caught by PowerDNS; within one dnsquorum only one writer writes a zone, and the per-zone lock
 * keeps this process's own writes apart. See docs/powerdns.md.
 */
export class PowerDnsProvider implements DnsProvider {
  readonly name: string;
  readonly type = 'powerdns';
  readonly capabilities: ProviderCapabilities = {
    atomicBatch: true,
    maxBatchSize: MAX_RRSETS_PER_PATCH,
    recordTypes: new Set<RecordType>([...CONFIGURABLE_TYPES, 'SOA']),
  };

  private readonly client: PdnsClient;
  private readonly config: PowerDnsProviderConfig;
  private readonly logger: Logger;
  private readonly writes = new KeyedLock();
  /** Types PowerDNS served that dnsquorum does not manage, told once per zone and type. */
  private readonly toldForeign = new Set<string>();

  constructor(options: PowerDnsProviderOptions) {
    this.name = options.config.name;
    this.config = options.config;
    this.logger = options.logger;
    this.client = new PdnsClient({
      provider: options.config.name,
      url: options.config.url,
      apiKey: options.config.apiKey,
      serverId: options.config.serverId ?? POWERDNS_DEFAULTS.serverId,
      requestTimeoutMs: options.config.requestTimeoutMs ?? POWERDNS_DEFAULTS.requestTimeoutMs,
      clock: options.clock,
      ...(options.apiCalls === undefined ? {} : { apiCalls: options.apiCalls }),
    });
  }

  async listRecords(zone: string, signal: AbortSignal): Promise<RecordSet[]> {
    return this.recordsOf(await this.client.getZone(fqdn(zone), signal));
  }

  async applyChanges(changes: ChangeSet, signal: AbortSignal): Promise<void> {
    const apex = fqdn(changes.zone);
    for (const rs of [...changes.creates, ...changes.updates.flatMap((u) => [u.before, u.after]), ...changes.deletes]) {
      if (rs.type === 'SOA') throw new ProviderError('DQ_PROVIDER_REJECTED', this.name, `${rs.name} SOA belongs to PowerDNS (soa_edit_api raises its serial); dnsquorum never changes or deletes it (nothing was applied)`);
      if (!isInZone(rs.name, apex)) throw new ProviderError('DQ_PROVIDER_REJECTED', this.name, `${rs.name} ${rs.type} is outside zone ${apex} (nothing was applied)`);
    }
    await this.writes.run(apex, signal, async () => {
      const zone = await this.client.getZone(apex, signal);
      const held = new Map(this.recordsOf(zone).map((rs) => [keyOf(rs), rs]));
      const rrsets = planPatch(this.name, changes, held);
      for (let at = 0; at < rrsets.length; at += MAX_RRSETS_PER_PATCH) {
        await this.client.patchRrsets(apex, rrsets.slice(at, at + MAX_RRSETS_PER_PATCH), signal);
      }
      if (rrsets.length > 0 && zone.kind.toLowerCase() === 'master') await this.notifySecondaries(apex, signal);
    });
  }

  async ensureZone(zone: string, signal: AbortSignal): Promise<void> {
    const apex = fqdn(zone);
    try {
      await this.client.getZone(apex, signal);
      return;
    } catch (err) {
      if (!(err instanceof ProviderError) || err.code !== 'DQ_ZONE_NOT_FOUND') throw err;
    }
    try {
      await this.client.createZone(apex, this.config.kind ?? POWERDNS_DEFAULTS.kind, this.config.nameservers, signal);
      this.logger.info({ zone: apex, kind: this.config.kind ?? POWERDNS_DEFAULTS.kind, nameservers: this.config.nameservers }, 'created the zone at PowerDNS');
    } catch (err) {
      // Created meanwhile by someone else (HTTP 409): the zone is there, which is all that was asked.
      if (err instanceof ProviderError && /HTTP 409/.test(err.message)) return;
      throw err;
    }
  }

  /** PowerDNS keeps no delegation set of its own: its name servers are the ones the config names. */
  nameservers(): Promise<string[]> {
    return Promise.resolve(this.config.nameservers.map(fqdn));
  }

  close(): Promise<void> {
    this.client.close();
    return Promise.resolve();
  }

  private recordsOf(zone: PdnsZone): RecordSet[] {
    const apex = fqdn(zone.name);
    const out: RecordSet[] = [];
    for (const rrset of zone.rrsets) {
      const name = fqdn(rrset.name);
      const type = rrset.type.toUpperCase();
      if (!isRecordType(type) || !isInZone(name, apex)) {
        this.tellForeign(apex, type);
        continue;
      }
      // A disabled record is not served; an RRset of only disabled records serves nothing.
      const values = rrset.records.filter((r) => !r.disabled).map((r) => valueFromPdns(type, r.content));
      if (values.length === 0) continue;
      out.push(normalizeRecordSet({ name, type, ttl: rrset.ttl, values }));
    }
    return out.sort(compareRecordSets);
  }

  private tellForeign(zone: string, type: string): void {
    const key = `${zone} ${type}`;
    if (this.toldForeign.has(key)) return;
    this.toldForeign.add(key);
    this.logger.info({ zone, type }, 'PowerDNS serves records of a type dnsquorum does not manage; they are left alone');
  }

  private async notifySecondaries(zone: string, signal: AbortSignal): Promise<void> {
    try {
      await this.client.notify(zone, signal);
    } catch (err) {
      // The change has landed; secondaries also catch up on their SOA refresh timer.
      this.logger.warn({ zone, err: errorMessage(err) }, 'PowerDNS did not take the request to NOTIFY the secondaries after a change');
    }
  }
}

/**
 * The RRset changes that bring `held` to what `changes` asks, checked first: an update or delete
 * whose `before` is not held, or a create where something else is held, is a conflict and nothing
 * is sent; what is already in place is skipped.
 */
export function planPatch(provider: string, changes: ChangeSet, held: ReadonlyMap<RecordKey, RecordSet>): PdnsRrsetChange[] {
  const conflicts: string[] = [];
  const out: PdnsRrsetChange[] = [];
  const same = (a: RecordSet | undefined, b: RecordSet): boolean => a !== undefined && recordSetsEqual(a, b);
  for (const rs of changes.creates.map(normalizeRecordSet)) {
    const now = held.get(keyOf(rs));
    if (same(now, rs)) continue;
    if (now !== undefined) conflicts.push(`${keyOf(rs)} is already there with other data`);
    else out.push(replace(rs));
  }
  for (const update of changes.updates) {
    const before = normalizeRecordSet(update.before);
    const after = normalizeRecordSet(update.after);
    const now = held.get(keyOf(before));
    if (same(now, after)) continue;
    if (!same(now, before)) conflicts.push(now === undefined ? `${keyOf(before)} is gone` : `${keyOf(before)} holds other data than the change expects`);
    else out.push(replace(after));
  }
  for (const rs of changes.deletes.map(normalizeRecordSet)) {
    const now = held.get(keyOf(rs));
    if (now === undefined) continue;
    if (!same(now, rs)) conflicts.push(`${keyOf(rs)} holds other data than the delete expects`);
    else out.push({ name: rs.name, type: rs.type, changetype: 'DELETE' });
  }
  if (conflicts.length > 0) {
    throw new ProviderError('DQ_PROVIDER_CONFLICT', provider, `the zone changed behind our back: ${conflicts.slice(0, 5).join('; ')}${conflicts.length > 5 ? ` and ${conflicts.length - 5} more` : ''} (nothing was applied)`);
  }
  return out;
}

/** `rs` is normalised (lowercase FQDN, canonical values). */
function replace(rs: RecordSet): PdnsRrsetChange {
  return { name: rs.name, type: rs.type, changetype: 'REPLACE', ttl: rs.ttl, records: rs.values.map((v) => ({ content: valueToPdns(rs.type, v), disabled: false })) };
}

/** A record's content as PowerDNS holds it (zone-file presentation form) → our canonical value. */
export function valueFromPdns(type: RecordType, content: string): string {
  if (type === 'TXT') return canonicalValue('TXT', Buffer.concat(parseCharacterStrings(content, 'decimal')).toString('utf8'));
  return canonicalValue(type, content);
}

/** Our canonical value → the content PowerDNS takes: presentation form, TXT quoted and escaped. */
export function valueToPdns(type: RecordType, value: string): string {
  return type === 'TXT' ? quoteCharacterStrings(value, 'decimal') : value;
}
