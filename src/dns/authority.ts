import { compareRecordSets, isInZone, normalizeRecordSet } from '../domain/record.js';
import type { RecordSet, RecordType } from '../domain/record.js';
import { hostNameProblem, parseSoa, valueProblem } from './rdata.js';

/**
 * Authoritative lookup over a set of zones, as RFC 1034 4.3.2 describes it: find the
 * zone, stop at delegations, answer exact matches, follow CNAMEs inside the zone, synthesise from
 * wildcards (RFC 4592), and tell NXDOMAIN (no such name) from NODATA (the name exists, not the
 * type). Names are in presentation form with \DDD escapes (see names.ts), so a label is whatever
 * lies between two unescaped dots, whatever bytes it holds. Pure: the server turns the result
 * into a packet.
 */

export interface ZoneData {
  readonly apex: string;
  readonly soa: RecordSet;
  /** TTL of the SOA in negative answers: min(SOA TTL, SOA MINIMUM), RFC 2308 3. */
  readonly negativeTtl: number;
  /** Owner name -> its record sets by type. */
  readonly nodes: ReadonlyMap<string, ReadonlyMap<RecordType, RecordSet>>;
  /** Every name that exists: owners and their ancestors up to the apex (empty non-terminals). */
  readonly existing: ReadonlySet<string>;
  /** Names below the apex holding NS: delegations to other servers. */
  readonly cuts: ReadonlySet<string>;
}

export type ServedZones = ReadonlyMap<string, ZoneData>;

function parentOf(name: string): string | undefined {
  const dot = name.indexOf('.');
  if (dot < 0 || dot === name.length - 1) return undefined;
  return name.slice(dot + 1);
}

/** Why a held record set cannot be put on the wire, or undefined. */
function servingProblem(rs: RecordSet): string | undefined {
  if (rs.values.length === 0) return `${rs.name} ${rs.type} has no values`;
  for (const value of rs.values) {
    const problem = valueProblem(rs.type, value);
    if (problem !== undefined) return `${rs.name} ${rs.type}: cannot serve ${problem}`;
  }
  return undefined;
}

/** The content of one zone as plain record sets; the apex SOA among them carries the serial. */
export interface ZoneContent {
  readonly records: readonly RecordSet[];
}

/** Zones to serve: zone FQDN -> its record sets (the local provider's state has this shape). */
export interface ZoneContents {
  readonly zones: Readonly<Record<string, ZoneContent>>;
}

/**
 * Builds the lookup structures of every zone. Sources are meant to hold valid data only, but a
 * state file can be edited by hand and an API fake stores what its API accepts: whatever could not
 * be served is reported and left out.
 */
export function indexZones(contents: ZoneContents): { zones: Map<string, ZoneData>; problems: string[] } {
  const zones = new Map<string, ZoneData>();
  const problems: string[] = [];
  for (const [apex, content] of Object.entries(contents.zones)) {
    const apexProblem = hostNameProblem(apex);
    if (apexProblem !== undefined) {
      problems.push(`zone ${apex}: ${apexProblem}; zone not served`);
      continue;
    }
    const nodes = new Map<string, Map<RecordType, RecordSet>>();
    const existing = new Set<string>([apex]);
    const cuts = new Set<string>();
    for (const held of content.records) {
      // Checked as held: normalising first would turn a bad address into "NaN" in the message.
      const problem = servingProblem(held);
      if (problem !== undefined) {
        problems.push(`zone ${apex}: ${problem}; not served`);
        continue;
      }
      const rs = normalizeRecordSet(held);
      if (!isInZone(rs.name, apex)) {
        problems.push(`zone ${apex}: ${rs.name} ${rs.type} is outside the zone; not served`);
        continue;
      }
      const node = nodes.get(rs.name) ?? new Map<RecordType, RecordSet>();
      node.set(rs.type, rs);
      nodes.set(rs.name, node);
      if (rs.type === 'NS' && rs.name !== apex) cuts.add(rs.name);
      for (let name: string | undefined = rs.name; name !== undefined && name !== apex; name = parentOf(name)) existing.add(name);
    }
    const soa = nodes.get(apex)?.get('SOA');
    const soaFields = soa?.values[0] === undefined ? undefined : parseSoa(soa.values[0]);
    if (soa === undefined || soaFields === undefined) {
      problems.push(`zone ${apex}: no valid apex SOA; zone not served`);
      continue;
    }
    zones.set(apex, { apex, soa, negativeTtl: Math.min(soa.ttl, soaFields.minimum), nodes, existing, cuts });
  }
  return { zones, problems };
}

/** The DS query type (RFC 4034 5), which no zone source holds but which has its own place at a cut. */
export const QTYPE_DS = 43;

/** The most specific served zone containing `name` (lowercase FQDN), if any. */
export function findZone(zones: ServedZones, name: string): ZoneData | undefined {
  for (let candidate: string | undefined = name; candidate !== undefined; candidate = parentOf(candidate)) {
    const zone = zones.get(candidate);
    if (zone !== undefined) return zone;
  }
  return zones.get('.');
}

/**
 * The zone that answers a DS question. DS records belong to the parent side of a cut (RFC 4034 5,
 * RFC 4035 3.1.4.1), so when `name` is the apex of one served zone and its parent zone is served
 * too, the parent answers; otherwise the zone that holds the name, as for any other type.
 */
export function zoneForDs(zones: ServedZones, name: string): ZoneData | undefined {
  const exact = findZone(zones, name);
  if (exact === undefined || exact.apex !== name) return exact;
  const parent = parentOf(name);
  return (parent === undefined ? undefined : findZone(zones, parent)) ?? exact;
}

/** A record set placed in a response under an owner name (the query's spelling for synthesised or matched names). */
export interface Placed {
  readonly owner: string;
  readonly rs: RecordSet;
  /** Overrides rs.ttl (the SOA of a negative answer). */
  readonly ttl?: number;
}

export interface Resolution {
  readonly rcode: 'NOERROR' | 'NXDOMAIN';
  /** AA: false only for referrals, where the data belongs to the child zone. */
  readonly authoritative: boolean;
  readonly answer: readonly Placed[];
  readonly authority: readonly Placed[];
  readonly additional: readonly Placed[];
  /** The additional section is referral glue: it may not be dropped to make the answer fit. */
  readonly additionalRequired: boolean;
}

/** What was asked: a record type we hold, ANY (255), or any other type number (never held). */
export type QueryType = RecordType | 'ANY' | number;

export interface Question {
  /** FQDN in presentation form, ASCII letters lowercased: what is matched. */
  readonly name: string;
  /** The name as the client spelled it (case kept), used as owner of answers at the query name. */
  readonly spelling: string;
  readonly type: QueryType;
}

/** RFC 1034 leaves the bound open; BIND follows 16 CNAMEs in one answer. */
export const MAX_CNAME_CHAIN = 16;

function findCut(zone: ZoneData, name: string): string | undefined {
  if (zone.cuts.size === 0) return undefined;
  const between: string[] = [];
  for (let n: string | undefined = name; n !== undefined && n !== zone.apex; n = parentOf(n)) between.push(n);
  // The delegation closest to the apex wins: everything below it belongs to the child.
  for (let i = between.length - 1; i >= 0; i--) {
    const candidate = between[i];
    if (candidate !== undefined && zone.cuts.has(candidate)) return candidate;
  }
  return undefined;
}

function addresses(zone: ZoneData, host: string): Placed[] {
  const node = zone.nodes.get(host);
  if (node === undefined) return [];
  const placed: Placed[] = [];
  for (const type of ['A', 'AAAA'] as const) {
    const rs = node.get(type);
    if (rs !== undefined) placed.push({ owner: rs.name, rs });
  }
  return placed;
}

/** Host names an answer points at, whose addresses belong in the additional section (RFC 1035 3.3.9, 3.3.11; RFC 2782). */
function targetsOf(rs: RecordSet): string[] {
  switch (rs.type) {
    case 'NS':
      return [...rs.values];
    case 'MX':
      return rs.values.map((v) => v.split(' ')[1] ?? '');
    case 'SRV':
      return rs.values.map((v) => v.split(' ')[3] ?? '');
    default:
      return [];
  }
}

function additionalFor(zone: ZoneData, answers: readonly Placed[]): Placed[] {
  const seen = new Set<string>();
  const placed: Placed[] = [];
  for (const { rs } of answers) {
    for (const target of targetsOf(rs)) {
      if (seen.has(target) || !isInZone(target, zone.apex)) continue;
      seen.add(target);
      placed.push(...addresses(zone, target));
    }
  }
  return placed;
}

function negative(zone: ZoneData, rcode: 'NOERROR' | 'NXDOMAIN', answer: readonly Placed[]): Resolution {
  return {
    rcode,
    authoritative: true,
    answer,
    authority: [{ owner: zone.apex, rs: zone.soa, ttl: zone.negativeTtl }],
    additional: [],
    additionalRequired: false,
  };
}

function positive(zone: ZoneData, answer: readonly Placed[]): Resolution {
  return { rcode: 'NOERROR', authoritative: true, answer, authority: [], additional: additionalFor(zone, answer), additionalRequired: false };
}

/** Closest encloser (RFC 4592 3.3.1): the longest existing ancestor of a name that does not exist. */
function closestEncloser(zone: ZoneData, name: string): string {
  for (let n = parentOf(name); n !== undefined; n = parentOf(n)) {
    if (zone.existing.has(n) || n === zone.apex) return n;
  }
  return zone.apex;
}

/** Answers one question for one zone that contains its name. */
export function resolveQuestion(zones: ServedZones, zone: ZoneData, question: Question): Resolution {
  const answer: Placed[] = [];
  const visited = new Set<string>();
  let name = question.name;
  let owner = question.spelling;

  for (let hop = 0; hop <= MAX_CNAME_CHAIN; hop++) {
    visited.add(name);
    const cut = findCut(zone, name);
    // The DS set of a cut is parent-side data (RFC 4035 3.1.4.1): answered here with AA, or NODATA, never referred.
    if (cut !== undefined && !(question.type === QTYPE_DS && cut === name)) {
      // A chain that runs into a delegation ends here; the resolver asks the child for the rest.
      if (hop > 0) return positive(zone, answer);
      const ns = zone.nodes.get(cut)?.get('NS');
      if (ns === undefined) return negative(zone, 'NXDOMAIN', answer);
      const glue = ns.values.filter((host) => isInZone(host, zone.apex)).flatMap((host) => addresses(zone, host));
      return { rcode: 'NOERROR', authoritative: false, answer: [], authority: [{ owner: cut, rs: ns }], additional: glue, additionalRequired: true };
    }

    let node = zone.nodes.get(name);
    if (node === undefined) {
      if (zone.existing.has(name)) return negative(zone, 'NOERROR', answer);
      // RFC 4592 3.3.1: closest encloser and source of synthesis depend on label boundaries only, not on label bytes.
      const wildcard = zone.nodes.get(`*.${closestEncloser(zone, name)}`);
      if (wildcard === undefined) return negative(zone, 'NXDOMAIN', answer);
      node = wildcard;
    }

    if (question.type === 'ANY') {
      const all = [...node.values()].sort(compareRecordSets).map((rs) => ({ owner, rs }));
      return all.length === 0 ? negative(zone, 'NOERROR', answer) : positive(zone, [...answer, ...all]);
    }
    const match = typeof question.type === 'string' ? node.get(question.type) : undefined;
    if (match !== undefined) return positive(zone, [...answer, { owner, rs: match }]);

    const cname = node.get('CNAME');
    if (cname === undefined) return negative(zone, 'NOERROR', answer);
    answer.push({ owner, rs: cname });
    const target = cname.values[0];
    // Only chains inside this zone are followed; the resolver chases the rest itself.
    if (target === undefined || visited.has(target) || findZone(zones, target) !== zone) return positive(zone, answer);
    name = target;
    owner = target;
  }
  return positive(zone, answer);
}
