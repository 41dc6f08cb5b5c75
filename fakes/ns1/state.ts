import type { Clock } from '../../src/lib/clock.js';
import { recordExists, recordNotFound, validationFailed, zoneExists, zoneNotFound } from './api-error.js';
import type { JsonObject } from './api-error.js';
import { isInZone, nameProblem } from './validate.js';
import type { AnswerInput, FilterInput, Ns1RecordType, Rdata, RecordInput, RecordTarget, ZoneInput } from './validate.js';

/**
 * What the fake NS1 holds: zones with their settings and records, keyed by (domain, type) as NS1
 * keys them. Every change raises the zone's serial and the state's version (the DNS view
 * rebuilds on a new version). Names are stored lowercase without the trailing dot.
 */

export interface StoredAnswer {
  readonly id: string;
  readonly answer: Rdata;
  readonly meta?: JsonObject;
  readonly region?: string;
}

export interface StoredRecord {
  readonly id: string;
  readonly zone: string;
  readonly domain: string;
  readonly type: Ns1RecordType;
  ttl: number;
  answers: StoredAnswer[];
  filters: FilterInput[];
  regions: JsonObject;
  meta: JsonObject;
  use_client_subnet: boolean;
  networks: number[];
  tags?: JsonObject;
  blocked_tags?: string[];
  override_ttl?: boolean;
  override_address_records?: boolean;
}

export interface StoredZone {
  readonly id: string;
  readonly name: string;
  ttl: number;
  refresh: number;
  retry: number;
  expiry: number;
  nx_ttl: number;
  hostmaster: string;
  meta: JsonObject;
  networks: number[];
  tags?: JsonObject;
  readonly dnsServers: readonly string[];
  serial: number;
  readonly records: Map<string, StoredRecord>;
}

/** NS1's zone defaults, as the recorded GET zone answer shows them. */
const ZONE_DEFAULTS = { ttl: 3600, refresh: 43_200, retry: 7200, expiry: 1_209_600, nx_ttl: 3600, hostmaster: 'hostmaster@nsone.net' };
const MAX_SERIAL = 0xffff_ffff;

export const DEFAULT_DNS_SERVERS: readonly string[] = ['dns1.p01.nsone.net', 'dns2.p01.nsone.net', 'dns3.p01.nsone.net', 'dns4.p01.nsone.net'];

function recordKey(domain: string, type: string): string {
  return `${domain} ${type}`;
}

export class Ns1State {
  /** Rises with every change to any zone. */
  version = 0;
  private readonly zones = new Map<string, StoredZone>();
  private idCounter = 0;

  constructor(
    private readonly clock: Clock,
    private readonly dnsServers: readonly string[],
  ) {}

  /** A 24-hex id like NS1's (MongoDB ObjectId: seconds, then a counter), repeatable under a manual clock. */
  newId(): string {
    this.idCounter += 1;
    const seconds = (Math.floor(this.clock.now() / 1000) >>> 0).toString(16).padStart(8, '0');
    return `${seconds}${this.idCounter.toString(16).padStart(16, '0')}`;
  }

  findZone(name: string): StoredZone | undefined {
    return this.zones.get(name.toLowerCase());
  }

  requireZone(name: string): StoredZone {
    const zone = this.findZone(name);
    if (zone === undefined) throw zoneNotFound();
    return zone;
  }

  allZones(): StoredZone[] {
    return [...this.zones.values()];
  }

  /** PUT /zones/{zone}: a new zone holding its apex NS record (answers = dns_servers), as NS1 creates it. */
  createZone(name: string, input: ZoneInput = {}): StoredZone {
    const zoneName = name.toLowerCase();
    const problem = nameProblem(zoneName);
    if (problem !== undefined) throw validationFailed(`Value '${name}' for field 'zone' ${problem}`);
    if (this.zones.has(zoneName)) throw zoneExists();
    const zone: StoredZone = {
      id: this.newId(),
      name: zoneName,
      ...ZONE_DEFAULTS,
      meta: {},
      networks: [0],
      dnsServers: [...this.dnsServers],
      serial: Math.max(1, Math.min(MAX_SERIAL, Math.floor(this.clock.now() / 1000))),
      records: new Map(),
    };
    applyZoneInput(zone, input);
    const apexNs = this.newRecord(zone, { zone: zoneName, domain: zoneName, type: 'NS' }, { answers: zone.dnsServers.map((ns) => ({ answer: [ns] })) });
    zone.records.set(recordKey(apexNs.domain, apexNs.type), apexNs);
    this.zones.set(zoneName, zone);
    this.version += 1;
    return zone;
  }

  updateZone(zone: StoredZone, input: ZoneInput): void {
    applyZoneInput(zone, input);
    this.touch(zone);
  }

  deleteZone(zone: StoredZone): void {
    this.zones.delete(zone.name);
    this.version += 1;
  }

  findRecord(zone: StoredZone, domain: string, type: string): StoredRecord | undefined {
    return zone.records.get(recordKey(domain.toLowerCase(), type));
  }

  requireRecord(zone: StoredZone, domain: string, type: string): StoredRecord {
    const record = this.findRecord(zone, domain, type);
    if (record === undefined) throw recordNotFound();
    return record;
  }

  /** PUT /zones/{zone}/{domain}/{type}: creates; the record must not exist and needs answers. */
  createRecord(zone: StoredZone, target: RecordTarget, input: RecordInput): StoredRecord {
    if (!isInZone(target.domain, zone.name)) throw validationFailed(`Value '${target.domain}' for field '<obj>.domain' is not in zone '${zone.name}'`);
    if (this.findRecord(zone, target.domain, target.type) !== undefined) throw recordExists();
    if (input.answers === undefined) throw validationFailed("field '<obj>.answers' is required");
    const record = this.newRecord(zone, target, input);
    zone.records.set(recordKey(record.domain, record.type), record);
    this.touch(zone);
    return record;
  }

  /** POST: the fields given replace the stored ones; answers sent with a known id keep it. */
  updateRecord(zone: StoredZone, record: StoredRecord, input: RecordInput): StoredRecord {
    if (input.ttl !== undefined) record.ttl = input.ttl;
    if (input.answers !== undefined) record.answers = this.withIds(input.answers, record.answers);
    if (input.filters !== undefined) record.filters = input.filters;
    if (input.regions !== undefined) record.regions = input.regions;
    if (input.meta !== undefined) record.meta = input.meta;
    if (input.use_client_subnet !== undefined) record.use_client_subnet = input.use_client_subnet;
    if (input.networks !== undefined) record.networks = input.networks;
    if (input.tags !== undefined) record.tags = input.tags;
    if (input.blocked_tags !== undefined) record.blocked_tags = input.blocked_tags;
    if (input.override_ttl !== undefined) record.override_ttl = input.override_ttl;
    if (input.override_address_records !== undefined) record.override_address_records = input.override_address_records;
    this.touch(zone);
    return record;
  }

  deleteRecord(zone: StoredZone, record: StoredRecord): void {
    zone.records.delete(recordKey(record.domain, record.type));
    this.touch(zone);
  }

  /** Adds or replaces a record without the API's checks (a replaced record keeps its id). */
  putDirect(zone: StoredZone, target: RecordTarget, ttl: number, answers: readonly AnswerInput[]): StoredRecord {
    const existing = this.findRecord(zone, target.domain, target.type);
    const fresh = this.newRecord(zone, target, { ttl, answers: [...answers] });
    const record = existing === undefined ? fresh : { ...fresh, id: existing.id };
    zone.records.set(recordKey(record.domain, record.type), record);
    this.touch(zone);
    return record;
  }

  /** The zone's records in NS1's listing order: by domain, then type. */
  sortedRecords(zone: StoredZone): StoredRecord[] {
    return [...zone.records.values()].sort((a, b) => {
      if (a.domain !== b.domain) return a.domain < b.domain ? -1 : 1;
      if (a.type !== b.type) return a.type < b.type ? -1 : 1;
      return 0;
    });
  }

  private newRecord(zone: StoredZone, target: RecordTarget, input: RecordInput): StoredRecord {
    const record: StoredRecord = {
      id: this.newId(),
      zone: zone.name,
      domain: target.domain,
      type: target.type,
      ttl: input.ttl ?? zone.ttl,
      answers: this.withIds(input.answers ?? [], []),
      filters: input.filters ?? [],
      regions: input.regions ?? {},
      meta: input.meta ?? {},
      use_client_subnet: input.use_client_subnet ?? true,
      networks: input.networks ?? [0],
    };
    if (input.tags !== undefined) record.tags = input.tags;
    if (input.blocked_tags !== undefined) record.blocked_tags = input.blocked_tags;
    if (input.override_ttl !== undefined) record.override_ttl = input.override_ttl;
    if (input.override_address_records !== undefined) record.override_address_records = input.override_address_records;
    return record;
  }

  private withIds(answers: readonly AnswerInput[], previous: readonly StoredAnswer[]): StoredAnswer[] {
    const known = new Set(previous.map((a) => a.id));
    return answers.map((a) => ({ ...a, id: a.id !== undefined && known.has(a.id) ? a.id : this.newId() }));
  }

  /** NS1's serials look like the epoch seconds of the last change; they also rise on changes within one second. */
  private touch(zone: StoredZone): void {
    zone.serial = Math.min(MAX_SERIAL, Math.max(zone.serial + 1, Math.floor(this.clock.now() / 1000)));
    this.version += 1;
  }
}

function applyZoneInput(zone: StoredZone, input: ZoneInput): void {
  if (input.ttl !== undefined) zone.ttl = input.ttl;
  if (input.refresh !== undefined) zone.refresh = input.refresh;
  if (input.retry !== undefined) zone.retry = input.retry;
  if (input.expiry !== undefined) zone.expiry = input.expiry;
  if (input.nx_ttl !== undefined) zone.nx_ttl = input.nx_ttl;
  if (input.hostmaster !== undefined) zone.hostmaster = input.hostmaster;
  if (input.meta !== undefined) zone.meta = input.meta;
  if (input.networks !== undefined) zone.networks = input.networks;
  if (input.tags !== undefined) zone.tags = input.tags;
}
