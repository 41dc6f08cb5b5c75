import { compareAscii, escapeName, reversedName } from './names.js';
import { escapeXml, textElement } from './xml.js';

/**
 * Record sets as the fake stores them, how Route53 orders them, and how they go on the wire.
 */

/** Every type the 2013-04-01 API accepts (the XSD enumeration, in its order). */
export const ROUTE53_TYPES = ['SOA', 'A', 'TXT', 'NS', 'CNAME', 'MX', 'NAPTR', 'PTR', 'SRV', 'SPF', 'AAAA', 'CAA', 'DS', 'TLSA', 'SSHFP', 'SVCB', 'HTTPS'] as const;

export function isRoute53Type(value: string): boolean {
  return (ROUTE53_TYPES as readonly string[]).includes(value);
}

export interface FakeAliasTarget {
  /** Bare hosted zone id of the target. */
  readonly hostedZoneId: string;
  /** Lowercase, absolute, unescaped. */
  readonly dnsName: string;
  readonly evaluateTargetHealth: boolean;
}

export interface FakeGeoLocation {
  readonly continentCode?: string;
  readonly countryCode?: string;
  readonly subdivisionCode?: string;
}

/** A record set as the fake stores it: lowercase absolute name (trailing dot, unescaped), values as in the XML. */
export interface FakeRecordSet {
  readonly name: string;
  readonly type: string;
  /** 0 for alias record sets, which have no TTL of their own. */
  readonly ttl: number;
  /** Empty for alias record sets. */
  readonly values: readonly string[];
  readonly setIdentifier?: string;
  readonly weight?: number;
  readonly region?: string;
  readonly geoLocation?: FakeGeoLocation;
  readonly failover?: 'PRIMARY' | 'SECONDARY';
  readonly multiValueAnswer?: boolean;
  readonly aliasTarget?: FakeAliasTarget;
  readonly healthCheckId?: string;
}

export type RoutingPolicy = 'simple' | 'weighted' | 'latency' | 'geolocation' | 'failover' | 'multivalue';

export function routingPolicy(rs: FakeRecordSet): RoutingPolicy {
  if (rs.weight !== undefined) return 'weighted';
  if (rs.region !== undefined) return 'latency';
  if (rs.geoLocation !== undefined) return 'geolocation';
  if (rs.failover !== undefined) return 'failover';
  if (rs.multiValueAnswer !== undefined) return 'multivalue';
  return 'simple';
}

/** Identity of a record set inside a zone: (name, type, set identifier). */
export function identityOf(rs: Pick<FakeRecordSet, 'name' | 'type' | 'setIdentifier'>): string {
  return `${rs.name}\u0000${rs.type}\u0000${rs.setIdentifier ?? ''}`;
}

/** Position of a record set in ListResourceRecordSets: reversed name, then type, then set identifier. */
export interface ListPosition {
  readonly name: string;
  readonly type: string;
  readonly setIdentifier: string;
}

export function positionOf(rs: FakeRecordSet): ListPosition {
  return { name: rs.name, type: rs.type, setIdentifier: rs.setIdentifier ?? '' };
}

export function comparePositions(a: ListPosition, b: ListPosition): number {
  return compareAscii(reversedName(a.name), reversedName(b.name)) || compareAscii(a.type, b.type) || compareAscii(a.setIdentifier, b.setIdentifier);
}

export function compareRecordSets(a: FakeRecordSet, b: FakeRecordSet): number {
  return comparePositions(positionOf(a), positionOf(b));
}

function sameValues(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const sortedA = [...a].sort();
  const sortedB = [...b].sort();
  return sortedA.every((v, i) => v === sortedB[i]);
}

/** A DELETE must name a set exactly as it is: TTL, values and every routing field. */
export function sameRecordSet(a: FakeRecordSet, b: FakeRecordSet): boolean {
  return (
    a.ttl === b.ttl &&
    sameValues(a.values, b.values) &&
    a.weight === b.weight &&
    a.region === b.region &&
    a.failover === b.failover &&
    a.multiValueAnswer === b.multiValueAnswer &&
    a.healthCheckId === b.healthCheckId &&
    a.geoLocation?.continentCode === b.geoLocation?.continentCode &&
    a.geoLocation?.countryCode === b.geoLocation?.countryCode &&
    a.geoLocation?.subdivisionCode === b.geoLocation?.subdivisionCode &&
    (a.geoLocation === undefined) === (b.geoLocation === undefined) &&
    a.aliasTarget?.hostedZoneId === b.aliasTarget?.hostedZoneId &&
    a.aliasTarget?.dnsName === b.aliasTarget?.dnsName &&
    a.aliasTarget?.evaluateTargetHealth === b.aliasTarget?.evaluateTargetHealth &&
    (a.aliasTarget === undefined) === (b.aliasTarget === undefined)
  );
}

/**
 * The character-strings of a TXT/SPF value in Route53's presentation form: one or more
 * double-quoted strings, optionally separated by white space; inside, `\"` and `\\` stand for themselves and
 * `\ooo` for one byte. Undefined when the value is not in that form.
 */
export function parseCharacterStrings(value: string): Buffer[] | undefined {
  const strings: Buffer[] = [];
  let i = 0;
  const skipSpace = (): void => {
    while (i < value.length && /\s/.test(value[i] ?? '')) i++;
  };
  skipSpace();
  if (i >= value.length) return undefined;
  while (i < value.length) {
    if (value[i] !== '"') return undefined;
    i++;
    const bytes: number[] = [];
    let closed = false;
    while (i < value.length) {
      const ch = value[i] ?? '';
      if (ch === '"') {
        closed = true;
        i++;
        break;
      }
      if (ch === '\\') {
        const octal = /^[0-7]{3}/.exec(value.slice(i + 1, i + 4));
        if (octal !== null) {
          bytes.push(Number.parseInt(octal[0], 8) & 0xff);
          i += 4;
          continue;
        }
        const next = value[i + 1];
        if (next === undefined) return undefined;
        bytes.push(...Buffer.from(next, 'utf8'));
        i += 2;
        continue;
      }
      const codePoint = value.codePointAt(i) ?? 0;
      const char = String.fromCodePoint(codePoint);
      bytes.push(...Buffer.from(char, 'utf8'));
      i += char.length;
    }
    if (!closed) return undefined;
    strings.push(Buffer.from(bytes));
    // Route53 takes adjacent strings without a space between them (`"a""b"`) as two strings.
    skipSpace();
  }
  return strings;
}

/** One `<ResourceRecordSet>` as ListResourceRecordSets returns it (schema member order). */
export function recordSetXml(rs: FakeRecordSet): string {
  let xml = `<ResourceRecordSet>${textElement('Name', escapeName(rs.name))}${textElement('Type', rs.type)}`;
  if (rs.setIdentifier !== undefined) xml += textElement('SetIdentifier', rs.setIdentifier);
  if (rs.weight !== undefined) xml += textElement('Weight', rs.weight);
  if (rs.region !== undefined) xml += textElement('Region', rs.region);
  if (rs.geoLocation !== undefined) {
    const geo = rs.geoLocation;
    xml += '<GeoLocation>';
    if (geo.continentCode !== undefined) xml += textElement('ContinentCode', geo.continentCode);
    if (geo.countryCode !== undefined) xml += textElement('CountryCode', geo.countryCode);
    if (geo.subdivisionCode !== undefined) xml += textElement('SubdivisionCode', geo.subdivisionCode);
    xml += '</GeoLocation>';
  }
  if (rs.failover !== undefined) xml += textElement('Failover', rs.failover);
  if (rs.multiValueAnswer !== undefined) xml += textElement('MultiValueAnswer', rs.multiValueAnswer);
  if (rs.aliasTarget === undefined) {
    xml += textElement('TTL', rs.ttl);
    xml += `<ResourceRecords>${rs.values.map((v) => `<ResourceRecord><Value>${escapeXml(v)}</Value></ResourceRecord>`).join('')}</ResourceRecords>`;
  } else {
    const alias = rs.aliasTarget;
    xml += `<AliasTarget>${textElement('HostedZoneId', alias.hostedZoneId)}${textElement('DNSName', escapeName(alias.dnsName))}${textElement('EvaluateTargetHealth', alias.evaluateTargetHealth)}</AliasTarget>`;
  }
  if (rs.healthCheckId !== undefined) xml += textElement('HealthCheckId', rs.healthCheckId);
  return `${xml}</ResourceRecordSet>`;
}

/** `[name='x.example.com.', type='A']`, with `, set-identifier='id'` when there is one: how Route53 names a set in messages. */
export function describeSet(rs: Pick<FakeRecordSet, 'name' | 'type' | 'setIdentifier'>): string {
  const id = rs.setIdentifier === undefined ? '' : `, set-identifier='${rs.setIdentifier}'`;
  return `[name='${escapeName(rs.name)}', type='${rs.type}'${id}]`;
}
