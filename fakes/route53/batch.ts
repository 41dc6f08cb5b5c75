import { isIPv4, isIPv6 } from 'node:net';
import { ApiError, invalidChangeBatch, invalidInput, invalidXml } from './api-error.js';
import { escapeName, isInZone, isNameProblem, normalizeName } from './names.js';
import type { NameProblem } from './names.js';
import { ROUTE53_TYPES, describeSet, identityOf, parseCharacterStrings, routingPolicy, sameRecordSet } from './records.js';
import type { FakeAliasTarget, FakeGeoLocation, FakeRecordSet, RoutingPolicy } from './records.js';
import { booleanValue, boundedText, enumValue, integerValue, optionalText, readChildren, requiredText } from './schema.js';
import type { XmlElement } from './xml.js';

/**
 * ChangeResourceRecordSets: the request document read into changes, then the batch validated and
 * applied on a working copy of the zone, all or nothing, in order, the way Route53 documents it.
 */

export const ACTIONS = ['CREATE', 'DELETE', 'UPSERT'] as const;
export type ChangeAction = (typeof ACTIONS)[number];

/** A request may hold this many ResourceRecord elements; UPSERT counts each twice. */
export const MAX_RECORDS_PER_REQUEST = 1000;
/** ...and this many characters of Value text, UPSERT again counting twice. */
export const MAX_VALUE_CHARS_PER_REQUEST = 32_000;
/** A TXT character-string holds at most 255 bytes (RFC 1035 3.3). */
const MAX_CHARACTER_STRING_BYTES = 255;

export interface RequestedChange {
  readonly action: ChangeAction;
  /** The Name element as sent (escapes, case and trailing dot as the client wrote them). */
  readonly rawName: string;
  /** The record set with `name` left empty: the name is checked in the zone's context. */
  readonly rrset: FakeRecordSet;
}

export interface RequestedBatch {
  readonly changes: readonly RequestedChange[];
  readonly comment?: string;
}

const TTL_MAX = 2_147_483_647;

const RRSET_MEMBERS = [
  { name: 'Name', required: true },
  { name: 'Type', required: true },
  { name: 'SetIdentifier' },
  { name: 'Weight' },
  { name: 'Region' },
  { name: 'GeoLocation' },
  { name: 'Failover' },
  { name: 'MultiValueAnswer' },
  { name: 'TTL' },
  { name: 'ResourceRecords' },
  { name: 'AliasTarget' },
  { name: 'HealthCheckId' },
  { name: 'TrafficPolicyInstanceId' },
  { name: 'CidrRoutingConfig' },
  { name: 'GeoProximityLocation' },
] as const;

/** Routing features the fake does not model; refused plainly rather than stored half-understood. */
const UNSUPPORTED = ['TrafficPolicyInstanceId', 'CidrRoutingConfig', 'GeoProximityLocation'] as const;

function changeLabel(action: string, name: string, type: string, setIdentifier: string | undefined): string {
  return `Change with [Action=${action}, Name=${name}, Type=${type}, SetIdentifier=${setIdentifier ?? 'null'}]`;
}

function readGeoLocation(element: XmlElement): FakeGeoLocation {
  const found = readChildren(element, [{ name: 'ContinentCode' }, { name: 'CountryCode' }, { name: 'SubdivisionCode' }]);
  const continentCode = optionalText(found, 'ContinentCode');
  const countryCode = optionalText(found, 'CountryCode');
  const subdivisionCode = optionalText(found, 'SubdivisionCode');
  return {
    ...(continentCode === undefined ? {} : { continentCode: boundedText(continentCode, 2, 2, 'GeoLocationContinentCode') }),
    ...(countryCode === undefined ? {} : { countryCode: boundedText(countryCode, 1, 2, 'GeoLocationCountryCode') }),
    ...(subdivisionCode === undefined ? {} : { subdivisionCode: boundedText(subdivisionCode, 1, 3, 'GeoLocationSubdivisionCode') }),
  };
}

function readAliasTarget(element: XmlElement, action: string, rawName: string, type: string, setIdentifier: string | undefined): FakeAliasTarget {
  const found = readChildren(element, [
    { name: 'HostedZoneId', required: true },
    { name: 'DNSName', required: true },
    { name: 'EvaluateTargetHealth', required: true },
  ]);
  const hostedZoneId = boundedText(requiredText(found, 'HostedZoneId'), 1, 32, 'ResourceId').replace(/^\/?hostedzone\//, '');
  const dnsName = normalizeName(boundedText(requiredText(found, 'DNSName'), 1, 1024, 'DNSName'));
  if (isNameProblem(dnsName)) {
    throw invalidInput(`Invalid request: FATAL problem: ${dnsName.code} (${dnsName.text}) in AliasTarget of ${changeLabel(action, rawName, type, setIdentifier)}`);
  }
  return { hostedZoneId, dnsName, evaluateTargetHealth: booleanValue(requiredText(found, 'EvaluateTargetHealth')) };
}

function readChange(element: XmlElement): RequestedChange {
  const change = readChildren(element, [
    { name: 'Action', required: true },
    { name: 'ResourceRecordSet', required: true },
  ]);
  const action = enumValue(requiredText(change, 'Action'), ACTIONS);
  const rrsetElement = change.get('ResourceRecordSet')?.[0];
  if (rrsetElement === undefined) throw invalidXml(`cvc-complex-type.2.4.b: The content of element 'Change' is not complete.`);
  const found = readChildren(rrsetElement, RRSET_MEMBERS);
  for (const name of UNSUPPORTED) {
    if (found.has(name)) throw invalidInput(`The fake Route53 does not support ${name}; send record sets without it`);
  }
  const rawName = boundedText(requiredText(found, 'Name'), 0, 1024, 'DNSName');
  const type = enumValue(requiredText(found, 'Type'), ROUTE53_TYPES);
  const setIdentifierText = optionalText(found, 'SetIdentifier');
  const setIdentifier = setIdentifierText === undefined ? undefined : boundedText(setIdentifierText, 1, 128, 'ResourceRecordSetIdentifier');
  const label = changeLabel(action, rawName, type, setIdentifier);

  const weightText = optionalText(found, 'Weight');
  const region = optionalText(found, 'Region');
  const geoElement = found.get('GeoLocation')?.[0];
  const failoverText = optionalText(found, 'Failover');
  const multiValueText = optionalText(found, 'MultiValueAnswer');
  const ttlText = optionalText(found, 'TTL');
  const recordsElement = found.get('ResourceRecords')?.[0];
  const aliasElement = found.get('AliasTarget')?.[0];
  const healthCheckId = optionalText(found, 'HealthCheckId');

  const values: string[] = [];
  if (recordsElement !== undefined) {
    const records = readChildren(recordsElement, [{ name: 'ResourceRecord', required: true, repeated: true }]);
    for (const record of records.get('ResourceRecord') ?? []) {
      const value = readChildren(record, [{ name: 'Value', required: true }]);
      values.push(boundedText(requiredText(value, 'Value'), 0, 4000, 'RData'));
    }
  }

  const hasRecords = ttlText !== undefined && recordsElement !== undefined;
  const hasAlias = aliasElement !== undefined;
  if (hasRecords === hasAlias || (!hasRecords && (ttlText !== undefined || recordsElement !== undefined))) {
    const howMany = hasAlias && (ttlText !== undefined || recordsElement !== undefined) ? 'more than one' : 'none';
    throw invalidInput(`Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found ${howMany} in ${label}`);
  }

  const policies = [weightText, region, geoElement, failoverText, multiValueText].filter((p) => p !== undefined).length;
  if (policies > 1) {
    throw invalidInput(`Invalid request: Expected exactly one of [Weight, Region, Failover, GeoLocation, MultiValueAnswer, GeoProximityLocation, or CidrRoutingConfig], but found more than one in ${label}`);
  }
  if (policies === 1 && setIdentifier === undefined) throw invalidInput(`Invalid request: Missing field 'SetIdentifier' in ${label}`);
  if (policies === 0 && setIdentifier !== undefined) {
    throw invalidInput(`Invalid request: Expected exactly one of [Weight, Region, Failover, GeoLocation, MultiValueAnswer, GeoProximityLocation, or CidrRoutingConfig], but found none in ${label}`);
  }

  const ttl = ttlText === undefined ? 0 : integerValue(ttlText, 0, TTL_MAX, 'TTL');
  const aliasTarget = aliasElement === undefined ? undefined : readAliasTarget(aliasElement, action, rawName, type, setIdentifier);
  const rrset: FakeRecordSet = {
    name: '',
    type,
    ttl,
    values,
    ...(setIdentifier === undefined ? {} : { setIdentifier }),
    ...(weightText === undefined ? {} : { weight: integerValue(weightText, 0, 255, 'ResourceRecordSetWeight') }),
    ...(region === undefined ? {} : { region: boundedText(region, 1, 64, 'ResourceRecordSetRegion') }),
    ...(geoElement === undefined ? {} : { geoLocation: readGeoLocation(geoElement) }),
    ...(failoverText === undefined ? {} : { failover: enumValue(failoverText, ['PRIMARY', 'SECONDARY'] as const) }),
    ...(multiValueText === undefined ? {} : { multiValueAnswer: booleanValue(multiValueText) }),
    ...(aliasTarget === undefined ? {} : { aliasTarget }),
    ...(healthCheckId === undefined ? {} : { healthCheckId: boundedText(healthCheckId, 1, 64, 'HealthCheckId') }),
  };
  return { action, rawName, rrset };
}

/** Reads a ChangeResourceRecordSetsRequest document. Throws ApiError (InvalidInput, MalformedInput). */
export function readChangeRequest(root: XmlElement): RequestedBatch {
  if (root.name !== 'ChangeResourceRecordSetsRequest') {
    throw new ApiError(400, 'MalformedInput', `${root.name} is not valid, expected ChangeResourceRecordSetsRequest`);
  }
  const request = readChildren(root, [{ name: 'ChangeBatch', required: true }]);
  const batchElement = request.get('ChangeBatch')?.[0];
  if (batchElement === undefined) throw invalidXml(`cvc-complex-type.2.4.b: The content of element '${root.name}' is not complete.`);
  // The SDK sends Comment after Changes and the API documents it before: Route53 takes both.
  const batch = readChildren(batchElement, [{ name: 'Comment' }, { name: 'Changes', required: true }], true);
  const comment = optionalText(batch, 'Comment');
  const changesElement = batch.get('Changes')?.[0];
  if (changesElement === undefined) throw invalidXml(`cvc-complex-type.2.4.b: The content of element 'ChangeBatch' is not complete.`);
  const changes = readChildren(changesElement, [{ name: 'Change', required: true, repeated: true }]);
  return {
    changes: (changes.get('Change') ?? []).map(readChange),
    ...(comment === undefined ? {} : { comment: boundedText(comment, 0, 256, 'ResourceDescription') }),
  };
}

/** The number of ResourceRecord elements and Value characters a request counts against the limits. */
export function requestWeight(batch: RequestedBatch): { records: number; characters: number } {
  let records = 0;
  let characters = 0;
  for (const { action, rrset } of batch.changes) {
    const factor = action === 'UPSERT' ? 2 : 1;
    records += rrset.values.length * factor;
    characters += rrset.values.reduce((sum, v) => sum + v.length, 0) * factor;
  }
  return { records, characters };
}

function fatal(problem: NameProblem, raw: string): string {
  return `FATAL problem: ${problem.code} (${problem.text}) encountered with '${raw}'`;
}

function invalidRecord(code: string, text: string, value: string): string {
  return `Invalid Resource Record: 'FATAL problem: ${code} (${text}) encountered with '${value}''`;
}

/** The first thing wrong with the values of a record set, in Route53's words, or undefined. */
function valuesProblem(rs: FakeRecordSet): string | undefined {
  const seen = new Set<string>();
  for (const value of rs.values) {
    if (seen.has(value)) return `Duplicate Resource Record: '${value}'`;
    seen.add(value);
    switch (rs.type) {
      case 'A':
        if (/\s/.test(value.trim())) return invalidRecord('ARRDATANotSingleField', 'Value contains spaces', value);
        if (!isIPv4(value.trim())) return invalidRecord('ARRDATAIllegalIPv4Address', 'Value is not a valid IPv4 address', value);
        break;
      case 'AAAA':
        if (!isIPv6(value.trim())) return invalidRecord('AAAARRDATAIllegalIPv6Address', 'Value is not a valid IPv6 address', value);
        break;
      case 'TXT':
      case 'SPF': {
        const strings = parseCharacterStrings(value);
        if (strings === undefined) return invalidRecord('InvalidCharacterString', 'Value should be enclosed in quotation marks', value);
        if (strings.some((s) => s.length > MAX_CHARACTER_STRING_BYTES)) return invalidRecord('CharacterStringTooLong', 'Value is too long', value);
        break;
      }
      default:
        break;
    }
  }
  if (rs.type === 'CNAME' && rs.values.length > 1) {
    return `The request contains an invalid set of changes for a resource record set 'CNAME ${escapeName(rs.name)}'`;
  }
  return undefined;
}

const POLICY_WORD: Readonly<Record<RoutingPolicy, string>> = {
  simple: 'simple',
  weighted: 'weighted',
  latency: 'latency',
  geolocation: 'geolocation',
  failover: 'failover',
  multivalue: 'multivalue answer',
};

/** Problems of creating or replacing `rs` next to what the zone holds (CNAME exclusivity, routing policy mixes). */
function coexistenceProblem(rs: FakeRecordSet, zoneName: string, sets: ReadonlyMap<string, FakeRecordSet>): string | undefined {
  const name = escapeName(rs.name);
  const zone = escapeName(zoneName);
  let otherTypes = false;
  let cname = false;
  const sameGroup: FakeRecordSet[] = [];
  for (const held of sets.values()) {
    if (held.name !== rs.name) continue;
    if (held.type === rs.type) {
      if (identityOf(held) !== identityOf(rs)) sameGroup.push(held);
    } else if (held.type === 'CNAME') {
      cname = true;
    } else {
      otherTypes = true;
    }
  }
  if (rs.type === 'CNAME' && otherTypes) {
    return `RRSet of type CNAME with DNS name ${name} is not permitted as it conflicts with other records with the same DNS name in zone ${zone}`;
  }
  if (rs.type !== 'CNAME' && cname) {
    return `RRSet of type ${rs.type} with DNS name ${name} is not permitted because a conflicting RRSet of type CNAME with the same DNS name already exists in zone ${zone}`;
  }
  if (sameGroup.length === 0) return undefined;
  const policy = routingPolicy(rs);
  if (policy === 'simple') return `RRSet with DNS name ${name}, type ${rs.type} cannot be created as other RRSets exist with the same name and type.`;
  if (sameGroup.some((held) => routingPolicy(held) !== policy)) {
    if (policy === 'multivalue') {
      return `RRSet with DNS name ${name}, type ${rs.type}, SetIdentifier "${rs.setIdentifier ?? ''}" cannot be created because a non multivalue answer rrset exists with the same name and type.`;
    }
    return `RRSet with DNS name ${name}, type ${rs.type}, SetIdentifier ${rs.setIdentifier ?? ''} cannot be created as a non-${POLICY_WORD[policy]} set exists with the same name and type.`;
  }
  if (policy === 'weighted' && sameGroup.some((held) => held.ttl !== rs.ttl)) {
    return `RRSet with DNS name ${name} and type ${rs.type}, SetIdentifier ${rs.setIdentifier ?? ''} cannot be created as weighted sets must contain the same TTL.`;
  }
  return undefined;
}

export interface BatchTarget {
  /** The zone's stored name (lowercase, absolute). */
  readonly zoneName: string;
  readonly sets: ReadonlyMap<string, FakeRecordSet>;
}

/**
 * Validates `batch` against the zone and returns the zone's record sets after it, keyed by
 * identity. Nothing is changed when anything is wrong: the InvalidChangeBatch lists every problem.
 */
export function applyBatch(target: BatchTarget, batch: RequestedBatch): Map<string, FakeRecordSet> {
  const { records, characters } = requestWeight(batch);
  if (records > MAX_RECORDS_PER_REQUEST) throw invalidChangeBatch([`Number of records limit of ${MAX_RECORDS_PER_REQUEST} exceeded.`]);
  if (characters > MAX_VALUE_CHARS_PER_REQUEST) throw invalidChangeBatch([`RDATA character limit of ${MAX_VALUE_CHARS_PER_REQUEST} exceeded.`]);

  const working = new Map(target.sets);
  const messages: string[] = [];
  const zone = target.zoneName;
  for (const change of batch.changes) {
    const name = normalizeName(change.rawName);
    if (isNameProblem(name)) {
      messages.push(fatal(name, change.rawName));
      continue;
    }
    const rs: FakeRecordSet = { ...change.rrset, name };
    if (!isInZone(name, zone)) {
      messages.push(`RRSet with DNS name ${escapeName(name)} is not permitted in zone ${escapeName(zone)}`);
      continue;
    }
    const key = identityOf(rs);
    const held = working.get(key);
    if (change.action === 'DELETE') {
      if (held === undefined) {
        messages.push(`Tried to delete resource record set ${describeSet(rs)} but it was not found`);
      } else if (!sameRecordSet(held, rs)) {
        messages.push(`Tried to delete resource record set ${describeSet(rs)} but the values provided do not match the current values`);
      } else {
        working.delete(key);
      }
      continue;
    }
    if (change.action === 'CREATE' && held !== undefined) {
      messages.push(`Tried to create resource record set ${describeSet(rs)} but it already exists`);
      continue;
    }
    const problem =
      valuesProblem(rs) ??
      (rs.type === 'CNAME' && name === zone ? `RRSet of type CNAME with DNS name ${escapeName(name)} is not permitted at apex in zone ${escapeName(zone)}` : undefined) ??
      coexistenceProblem(rs, zone, working);
    if (problem !== undefined) {
      messages.push(problem);
      continue;
    }
    working.set(key, rs);
  }
  if (messages.length === 0) {
    const apex = [...working.values()].filter((rs) => rs.name === zone);
    if (apex.filter((rs) => rs.type === 'SOA').length !== 1) messages.push('A HostedZone must contain exactly one SOA record.');
    if (!apex.some((rs) => rs.type === 'NS')) messages.push('A HostedZone must contain at least one NS record for the zone itself.');
  }
  if (messages.length > 0) throw invalidChangeBatch(messages);
  return working;
}
