import { formatSoa, parseSoa } from '../../src/dns/rdata.js';
import { isRecordType } from '../../src/domain/record.js';
import type { RecordSet } from '../../src/domain/record.js';
import type { ZoneContents } from '../../src/dns/authority.js';
import { isInZone } from './names.js';
import { parseCharacterStrings, routingPolicy } from './records.js';
import type { FakeRecordSet } from './records.js';
import type { HostedZone } from './state.js';

/**
 * What the fake's name servers answer: every hosted zone turned into plain record sets for
 * src/dns. Route53 answers one record set per name and type even where several are configured
 * (routing policies); the fake picks one deterministically, since it evaluates no health checks,
 * latency or location. Anything src/dns cannot serve is left out by indexZones.
 */

/**
 * The set a resolver is given for a group of sets with the same name and type:
 * failover -> PRIMARY (health checks are not evaluated, so the primary counts as healthy);
 * weighted -> the heaviest (ties: the lowest set identifier); multivalue -> the union of values;
 * latency and geolocation -> the lowest set identifier.
 */
function representative(group: readonly FakeRecordSet[]): FakeRecordSet | undefined {
  const [first] = group;
  if (first === undefined || group.length === 1) return first;
  const sorted = [...group].sort((a, b) => ((a.setIdentifier ?? '') < (b.setIdentifier ?? '') ? -1 : 1));
  switch (routingPolicy(first)) {
    case 'failover':
      return sorted.find((rs) => rs.failover === 'PRIMARY') ?? sorted[0];
    case 'weighted':
      return sorted.reduce((best, rs) => ((rs.weight ?? 0) > (best.weight ?? 0) ? rs : best));
    case 'multivalue': {
      // Route53 answers up to eight healthy values of a multivalue group.
      const values = [...new Set(sorted.flatMap((rs) => rs.values))].slice(0, 8);
      return { ...first, values, ttl: Math.min(...sorted.map((rs) => rs.ttl)) };
    }
    default:
      return sorted[0];
  }
}

/** TXT values in Route53 form ("a" "b") as the character data src/dns stores (strings joined). */
function servedValue(rs: FakeRecordSet, value: string, serial: number): string | undefined {
  switch (rs.type) {
    case 'TXT': {
      const strings = parseCharacterStrings(value);
      return strings === undefined ? undefined : Buffer.concat(strings).toString('utf8');
    }
    case 'SOA': {
      const soa = parseSoa(value);
      return soa === undefined ? undefined : formatSoa({ ...soa, serial });
    }
    default:
      return value;
  }
}

function servedZone(zone: HostedZone): RecordSet[] {
  const groups = new Map<string, FakeRecordSet[]>();
  for (const rs of zone.sets.values()) {
    const key = `${rs.name} ${rs.type}`;
    const group = groups.get(key) ?? [];
    group.push(rs);
    groups.set(key, group);
  }
  const chosen = new Map<string, FakeRecordSet>();
  for (const [key, group] of groups) {
    const rs = representative(group);
    if (rs !== undefined) chosen.set(key, rs);
  }
  const served: RecordSet[] = [];
  for (const rs of chosen.values()) {
    if (!isRecordType(rs.type)) continue;
    let source = rs;
    if (rs.aliasTarget !== undefined) {
      // An alias answers with its target's data; only targets in the same zone can be followed here.
      const target = isInZone(rs.aliasTarget.dnsName, zone.name) ? chosen.get(`${rs.aliasTarget.dnsName} ${rs.type}`) : undefined;
      if (target === undefined || target.aliasTarget !== undefined) continue;
      source = target;
    }
    const values = source.values.map((v) => servedValue(source, v, zone.serial));
    if (values.some((v) => v === undefined)) continue;
    served.push({ name: rs.name, type: rs.type, ttl: source.ttl, values: values.filter((v): v is string => v !== undefined) });
  }
  return served;
}

/**
 * Every public hosted zone as src/dns content; of two zones with one name, the first created is
 * served. Private zones answer only inside their VPCs, never on the fake's (public) DNS address.
 */
export function dnsContents(zones: readonly HostedZone[]): ZoneContents {
  const contents: Record<string, { records: RecordSet[] }> = {};
  for (const zone of zones) {
    if (zone.vpcs.length > 0 || Object.hasOwn(contents, zone.name)) continue;
    contents[zone.name] = { records: servedZone(zone) };
  }
  return { zones: contents };
}
