import { randomInt } from 'node:crypto';
import type { Clock } from '../../src/lib/clock.js';
import { invalidInput, noSuchChange, noSuchHostedZone } from './api-error.js';
import { applyBatch } from './batch.js';
import type { RequestedBatch } from './batch.js';
import { compareNames, isInZone, isNameProblem, normalizeName } from './names.js';
import { compareRecordSets, identityOf } from './records.js';
import type { FakeRecordSet } from './records.js';

/**
 * The fake's account: hosted zones with their record sets, and the changes submitted to them.
 * Everything is in memory and answers immediately; PENDING is a matter of time passing on the
 * injected clock.
 */

/** A VPC a private hosted zone is associated with. */
export interface FakeVpc {
  /** e.g. "eu-west-1". */
  readonly region: string;
  /** e.g. "vpc-0a1b2c3d". */
  readonly id: string;
}

export interface HostedZone {
  /** Bare id, e.g. "Z0DQ3E0P2X8N4TL5K7MBA". */
  readonly id: string;
  /** Stored form: lowercase, absolute, unescaped. */
  readonly name: string;
  readonly callerReference: string;
  readonly comment?: string;
  /** The delegation set, as GetHostedZone lists it (no trailing dot); empty for a private zone, which has none. */
  readonly nameservers: readonly string[];
  /** The VPCs of a private zone; empty for a public zone. */
  readonly vpcs: readonly FakeVpc[];
  sets: Map<string, FakeRecordSet>;
  /** SOA serial served over DNS: 1 at creation, +1 for every applied batch or direct change. */
  serial: number;
  /** The latest ChangeResourceRecordSets change to the zone. */
  lastChange: ChangeRecord | undefined;
}

export interface ChangeRecord {
  /** Bare id, e.g. "C2682N5HXP0BZ4XYZ0ABC". */
  readonly id: string;
  readonly submittedAt: number;
  /** When it goes INSYNC: submittedAt + the change delay, moved while PENDING by setChangeDelay. */
  insyncAt: number;
  readonly comment?: string;
  /** The zone whose record sets it changed (absent for zone creation). */
  readonly zoneId?: string;
}

export type ChangeStatus = 'PENDING' | 'INSYNC';

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const TLDS = ['com', 'net', 'org', 'co.uk'] as const;
/** What Route53 puts into a new zone's apex. */
const SOA_TTL = 900;
const NS_TTL = 172_800;
/** The apex NS Route53 gives every private zone: the same four names, served only inside the VPC. */
const PRIVATE_ZONE_NAMESERVERS = ['ns-0.awsdns-00.com', 'ns-512.awsdns-00.net', 'ns-1024.awsdns-00.org', 'ns-1536.awsdns-00.co.uk'] as const;

function randomId(prefix: string): string {
  let id = prefix;
  for (let i = 0; i < 20; i++) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)] ?? 'A';
  return id;
}

/**
 * Four name servers named the way Route53 names them: one per TLD, "ns-N.awsdns-M.tld" with N in
 * the TLD's block of 512 and M = (N mod 512) / 8, as in ns-885.awsdns-46.net or ns-1536.awsdns-00.co.uk.
 */
function delegationSet(): string[] {
  return TLDS.map((tld, block) => {
    const n = block * 512 + randomInt(512);
    return `ns-${n}.awsdns-${String(Math.floor((n % 512) / 8)).padStart(2, '0')}.${tld}`;
  });
}

export class Route53State {
  private readonly zones = new Map<string, HostedZone>();
  private readonly changes = new Map<string, ChangeRecord>();
  private readonly callerReferences = new Set<string>();
  /** Bumped on every change to any zone, so derived views (the DNS data) know when to rebuild. */
  version = 0;

  constructor(
    private readonly clock: Clock,
    /** How long a change stays PENDING (see setChangeDelay). */
    private changeDelayMs: number,
    /**
     * Name servers every new zone gets, like a Route53 reusable delegation set; unset: four at
     * random per zone, as Route53 assigns them.
     */
    private readonly delegation?: readonly string[],
  ) {}

  /**
   * Creates a zone with Route53's apex SOA and NS. `name` is as a client sends it. With `vpc` the
   * zone is private: no delegation set, the fixed private apex NS, not served on the fake's DNS.
   */
  createZone(rawName: string, callerReference: string, comment?: string, vpc?: FakeVpc): { zone: HostedZone; change: ChangeRecord } {
    const name = normalizeName(rawName);
    if (isNameProblem(name) || name === '.') {
      throw invalidInput(`${rawName} is not a valid domain name${isNameProblem(name) ? `: ${name.text}` : ''}`);
    }
    let id = randomId('Z');
    while (this.zones.has(id)) id = randomId('Z');
    const nameservers = vpc !== undefined ? [] : this.delegation === undefined ? delegationSet() : [...this.delegation];
    const apexServers = vpc === undefined ? nameservers : PRIVATE_ZONE_NAMESERVERS;
    const soa: FakeRecordSet = { name, type: 'SOA', ttl: SOA_TTL, values: [`${apexServers[0] ?? ''}. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400`] };
    const ns: FakeRecordSet = { name, type: 'NS', ttl: NS_TTL, values: apexServers.map((host) => `${host}.`) };
    const zone: HostedZone = {
      id,
      name,
      callerReference,
      ...(comment === undefined ? {} : { comment }),
      nameservers,
      vpcs: vpc === undefined ? [] : [vpc],
      sets: new Map([soa, ns].map((rs) => [identityOf(rs), rs])),
      serial: 1,
      lastChange: undefined,
    };
    this.zones.set(id, zone);
    this.callerReferences.add(callerReference);
    this.version++;
    return { zone, change: this.recordChange(undefined, undefined) };
  }

  /** Removes a zone and every record set in it (as the console does after emptying it); NoSuchHostedZone when unknown. */
  deleteZone(id: string): void {
    this.zone(id);
    this.zones.delete(id);
    this.version++;
  }

  hasCallerReference(callerReference: string): boolean {
    return this.callerReferences.has(callerReference);
  }

  /** A zone by bare id, or NoSuchHostedZone. */
  zone(id: string): HostedZone {
    const zone = this.zones.get(id);
    if (zone === undefined) throw noSuchHostedZone(id);
    return zone;
  }

  /** A zone by bare id or by name (the first created of that name); undefined when none. */
  findZone(idOrName: string): HostedZone | undefined {
    const byId = this.zones.get(idOrName);
    if (byId !== undefined) return byId;
    const name = normalizeName(idOrName);
    if (isNameProblem(name)) return undefined;
    for (const zone of this.zones.values()) if (zone.name === name) return zone;
    return undefined;
  }

  /** Zones in creation order. */
  allZones(): HostedZone[] {
    return [...this.zones.values()];
  }

  /** Zones in ListHostedZonesByName order: reversed-label name, then id. */
  zonesByName(): HostedZone[] {
    return this.allZones().sort((a, b) => compareNames(a.name, b.name) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  sortedSets(zone: HostedZone): FakeRecordSet[] {
    return [...zone.sets.values()].sort(compareRecordSets);
  }

  /** True while a ChangeResourceRecordSets change to the zone is still PENDING. */
  hasPendingChange(zone: HostedZone): boolean {
    // Every change stays PENDING equally long, so the latest one is the last to finish.
    return zone.lastChange !== undefined && this.status(zone.lastChange) === 'PENDING';
  }

  /** Applies a batch all or nothing (throws InvalidChangeBatch) and records the change. */
  applyChanges(zone: HostedZone, batch: RequestedBatch): ChangeRecord {
    zone.sets = applyBatch({ zoneName: zone.name, sets: zone.sets }, batch);
    zone.serial = (zone.serial + 1) >>> 0;
    this.version++;
    const change = this.recordChange(zone.id, batch.comment);
    zone.lastChange = change;
    return change;
  }

  /** Replaces or adds one record set without going through the API's checks beyond "inside the zone". */
  putDirect(zone: HostedZone, rrset: FakeRecordSet): void {
    const name = normalizeName(rrset.name);
    if (isNameProblem(name) || !isInZone(name, zone.name)) {
      throw new Error(`putRecordDirect: ${rrset.name} is not a name inside zone ${zone.name}`);
    }
    const stored: FakeRecordSet = { ...rrset, name, values: [...rrset.values] };
    zone.sets.set(identityOf(stored), stored);
    zone.serial = (zone.serial + 1) >>> 0;
    this.version++;
  }

  change(id: string): ChangeRecord {
    const change = this.changes.get(id);
    if (change === undefined) throw noSuchChange(id);
    return change;
  }

  status(change: ChangeRecord): ChangeStatus {
    return this.clock.now() >= change.insyncAt ? 'INSYNC' : 'PENDING';
  }

  /**
   * How long changes stay PENDING: those submitted from now on, and those still PENDING (measured
   * from their submission). A change already INSYNC stays INSYNC, as at Route53.
   */
  setChangeDelay(ms: number): void {
    this.changeDelayMs = ms;
    const now = this.clock.now();
    for (const change of this.changes.values()) {
      if (now < change.insyncAt) change.insyncAt = change.submittedAt + ms;
    }
  }

  private recordChange(zoneId: string | undefined, comment: string | undefined): ChangeRecord {
    let id = randomId('C');
    while (this.changes.has(id)) id = randomId('C');
    const submittedAt = this.clock.now();
    const change: ChangeRecord = {
      id,
      submittedAt,
      insyncAt: submittedAt + this.changeDelayMs,
      ...(comment === undefined ? {} : { comment }),
      ...(zoneId === undefined ? {} : { zoneId }),
    };
    this.changes.set(id, change);
    return change;
  }
}
