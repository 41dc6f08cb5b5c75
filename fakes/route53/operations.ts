import { ApiError, invalidInput, invalidXml, priorRequestNotComplete } from './api-error.js';
import { readChangeRequest } from './batch.js';
import { compareNames, escapeName, isNameProblem, normalizeName } from './names.js';
import { ROUTE53_TYPES, comparePositions, positionOf, recordSetXml } from './records.js';
import type { ListPosition } from './records.js';
import { booleanValue, boundedText, optionalText, readChildren, requiredText } from './schema.js';
import type { FakeVpc, HostedZone, Route53State } from './state.js';
import { changeInfoXml, delegationSetXml, document, hostedZoneXml, isPrivate, vpcXml, vpcsXml } from './wire.js';
import { XmlSyntaxError, parseXml, textElement } from './xml.js';
import type { XmlElement } from './xml.js';

/**
 * The seven operations of the 2013-04-01 REST API that the fake answers, behind the HTTP plumbing:
 * a route in, a status and an XML body out (or an ApiError thrown).
 */

export type Route =
  | { readonly operation: 'CreateHostedZone' }
  | { readonly operation: 'ListHostedZones' }
  | { readonly operation: 'ListHostedZonesByName' }
  | { readonly operation: 'GetHostedZone'; readonly zoneId: string }
  | { readonly operation: 'ChangeResourceRecordSets'; readonly zoneId: string }
  | { readonly operation: 'ListResourceRecordSets'; readonly zoneId: string }
  | { readonly operation: 'GetChange'; readonly changeId: string };

export type OperationName = Route['operation'];

/** Ids arrive bare from the SDK (it strips the prefix), but "/hostedzone/Z1" or "hostedzone/Z1" are taken too. */
function bareId(raw: string, prefix: 'hostedzone' | 'change'): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return undefined;
  }
  const id = decoded.replace(new RegExp(`^/?${prefix}/`), '');
  return id === '' || id.includes('/') ? undefined : id;
}

/** The operation a method and path name, or undefined. `/rrset` and `/rrset/` are both taken (the JS SDK and botocore differ). */
export function matchRoute(method: string, pathname: string): Route | undefined {
  const base = '/2013-04-01/';
  if (!pathname.startsWith(base)) return undefined;
  const rest = pathname.slice(base.length);
  if (rest === 'hostedzone' || rest === 'hostedzone/') {
    if (method === 'POST') return { operation: 'CreateHostedZone' };
    if (method === 'GET') return { operation: 'ListHostedZones' };
    return undefined;
  }
  if (rest === 'hostedzonesbyname' && method === 'GET') return { operation: 'ListHostedZonesByName' };
  const rrset = /^hostedzone\/(.+?)\/rrset\/?$/.exec(rest);
  if (rrset !== null) {
    const zoneId = bareId(rrset[1] ?? '', 'hostedzone');
    if (zoneId === undefined) return undefined;
    if (method === 'POST') return { operation: 'ChangeResourceRecordSets', zoneId };
    if (method === 'GET') return { operation: 'ListResourceRecordSets', zoneId };
    return undefined;
  }
  const zone = /^hostedzone\/(.+)$/.exec(rest);
  if (zone !== null && method === 'GET') {
    const zoneId = bareId(zone[1] ?? '', 'hostedzone');
    return zoneId === undefined ? undefined : { operation: 'GetHostedZone', zoneId };
  }
  const change = /^change\/(.+)$/.exec(rest);
  if (change !== null && method === 'GET') {
    const changeId = bareId(change[1] ?? '', 'change');
    return changeId === undefined ? undefined : { operation: 'GetChange', changeId };
  }
  return undefined;
}

export interface OperationContext {
  readonly state: Route53State;
  readonly query: URLSearchParams;
  readonly body: string;
  /** Whether PriorRequestNotComplete is switched on. */
  readonly priorRequestNotComplete: boolean;
  /** Where the request log wants the number of Change elements of a ChangeResourceRecordSets. */
  noteChanges(count: number): void;
}

export interface OperationResult {
  readonly status: number;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Route53 pages hosted zones by at most 100 and record sets by at most 300. */
const MAX_ZONES_PER_PAGE = 100;
const MAX_RECORD_SETS_PER_PAGE = 300;

function parseBody(body: string): XmlElement {
  try {
    return parseXml(body);
  } catch (err) {
    if (err instanceof XmlSyntaxError) throw invalidXml(err.message);
    throw err;
  }
}

/** maxitems: a positive integer; pages are capped at `cap` whatever was asked. */
function maxItems(query: URLSearchParams, cap: number): { requested: number; page: number } {
  const raw = query.get('maxitems');
  if (raw === null) return { requested: cap, page: cap };
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw invalidInput(`Invalid value for maxitems: '${raw}'; it must be a positive integer`);
  const requested = Number(raw);
  return { requested, page: Math.min(requested, cap) };
}

function queryName(query: URLSearchParams, param: string): string | undefined {
  const raw = query.get(param);
  if (raw === null) return undefined;
  const name = normalizeName(raw);
  if (isNameProblem(name)) throw invalidInput(`FATAL problem: ${name.code} (${name.text}) encountered with '${raw}'`);
  return name;
}

function createHostedZone(ctx: OperationContext): OperationResult {
  const root = parseBody(ctx.body);
  if (root.name !== 'CreateHostedZoneRequest') throw new ApiError(400, 'MalformedInput', `${root.name} is not valid, expected CreateHostedZoneRequest`);
  const found = readChildren(root, [
    { name: 'Name', required: true },
    { name: 'CallerReference', required: true },
    { name: 'VPC' },
    { name: 'HostedZoneConfig' },
    { name: 'DelegationSetId' },
  ]);
  const vpcElement = found.get('VPC')?.[0];
  const vpc = vpcElement === undefined ? undefined : readVpc(vpcElement);
  if (found.has('DelegationSetId')) throw invalidInput('The fake Route53 does not support reusable delegation sets; DelegationSetId is not supported');
  const name = boundedText(requiredText(found, 'Name'), 1, 1024, 'DNSName');
  const callerReference = boundedText(requiredText(found, 'CallerReference'), 1, 128, 'Nonce');
  let comment: string | undefined;
  const config = found.get('HostedZoneConfig')?.[0];
  if (config !== undefined) {
    const configFound = readChildren(config, [{ name: 'Comment' }, { name: 'PrivateZone' }]);
    const commentText = optionalText(configFound, 'Comment');
    comment = commentText === undefined ? undefined : boundedText(commentText, 0, 256, 'ResourceDescription');
    const privateZone = optionalText(configFound, 'PrivateZone');
    // The VPC makes a zone private; PrivateZone without one cannot be honoured.
    if (privateZone !== undefined && booleanValue(privateZone) && vpc === undefined) throw invalidInput('Invalid request: a private hosted zone needs a VPC');
  }
  if (ctx.state.hasCallerReference(callerReference)) {
    throw new ApiError(409, 'HostedZoneAlreadyExists', 'A hosted zone has already been created with the specified caller reference.');
  }
  const { zone, change } = ctx.state.createZone(name, callerReference, comment, vpc);
  return {
    status: 201,
    headers: { Location: `https://route53.amazonaws.com/2013-04-01/hostedzone/${zone.id}` },
    body: document('CreateHostedZoneResponse', `${hostedZoneXml(zone)}${changeInfoXml(change, 'PENDING')}${delegationSetXml(zone)}${vpc === undefined ? '' : vpcXml(vpc)}`),
  };
}

const VPC_REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const VPC_ID = /^vpc-[0-9a-f]{8}([0-9a-f]{9})?$/;

/** CreateHostedZone's VPC: both members, a region name, an id of the form vpc-0123abcd. */
function readVpc(element: XmlElement): FakeVpc {
  const found = readChildren(element, [{ name: 'VPCRegion' }, { name: 'VPCId' }]);
  const region = optionalText(found, 'VPCRegion');
  const id = optionalText(found, 'VPCId');
  if (region === undefined || id === undefined) throw invalidInput('Invalid request: a VPC needs both VPCRegion and VPCId');
  if (!VPC_REGION.test(region)) throw invalidXml(`cvc-enumeration-valid: Value '${region}' is not facet-valid with respect to enumeration of type 'VPCRegion'. It must be a value from the enumeration.`);
  if (!VPC_ID.test(id)) throw new ApiError(400, 'InvalidVPCId', "The VPC ID that you specified either isn't a valid ID or the current account is not authorized to access this VPC.");
  return { region, id };
}

function getHostedZone(ctx: OperationContext, zoneId: string): OperationResult {
  const zone = ctx.state.zone(zoneId);
  return { status: 200, body: document('GetHostedZoneResponse', `${hostedZoneXml(zone)}${delegationSetXml(zone)}${vpcsXml(zone)}`) };
}

function listHostedZones(ctx: OperationContext): OperationResult {
  const { requested, page } = maxItems(ctx.query, MAX_ZONES_PER_PAGE);
  const marker = ctx.query.get('marker');
  const type = ctx.query.get('hostedzonetype');
  if (type !== null && type !== 'PrivateHostedZone') throw invalidInput(`Invalid value for hostedzonetype: '${type}'`);
  if (ctx.query.has('delegationsetid')) throw invalidInput('The fake Route53 does not support reusable delegation sets; delegationsetid is not supported');
  const zones = ctx.state.allZones().filter((z) => type === null || isPrivate(z));
  let start = 0;
  if (marker !== null) {
    start = zones.findIndex((z) => z.id === marker);
    if (start < 0) throw invalidInput(`Invalid marker: '${marker}' is not the id of a hosted zone`);
  }
  const slice = zones.slice(start, start + page);
  const next = zones[start + page];
  const content =
    `<HostedZones>${slice.map(hostedZoneXml).join('')}</HostedZones>` +
    `${marker === null ? '' : textElement('Marker', marker)}${textElement('IsTruncated', next !== undefined)}` +
    `${next === undefined ? '' : textElement('NextMarker', next.id)}${textElement('MaxItems', requested)}`;
  return { status: 200, body: document('ListHostedZonesResponse', content) };
}

function listHostedZonesByName(ctx: OperationContext): OperationResult {
  const { requested, page } = maxItems(ctx.query, MAX_ZONES_PER_PAGE);
  const dnsName = queryName(ctx.query, 'dnsname');
  const hostedZoneId = ctx.query.get('hostedzoneid');
  if (hostedZoneId !== null && dnsName === undefined) throw invalidInput('Invalid request: hostedzoneid can be given only together with dnsname');
  const zones = ctx.state.zonesByName();
  const start =
    dnsName === undefined
      ? 0
      : zones.findIndex((z) => {
          const byName = compareNames(z.name, dnsName);
          return byName > 0 || (byName === 0 && (hostedZoneId === null || z.id >= hostedZoneId));
        });
  const from = start < 0 ? zones.length : start;
  const slice = zones.slice(from, from + page);
  const next: HostedZone | undefined = zones[from + page];
  const content =
    `<HostedZones>${slice.map(hostedZoneXml).join('')}</HostedZones>` +
    `${dnsName === undefined ? '' : textElement('DNSName', escapeName(dnsName))}${hostedZoneId === null ? '' : textElement('HostedZoneId', hostedZoneId)}` +
    textElement('IsTruncated', next !== undefined) +
    (next === undefined ? '' : `${textElement('NextDNSName', escapeName(next.name))}${textElement('NextHostedZoneId', next.id)}`) +
    textElement('MaxItems', requested);
  return { status: 200, body: document('ListHostedZonesByNameResponse', content) };
}

function changeResourceRecordSets(ctx: OperationContext, zoneId: string): OperationResult {
  const zone = ctx.state.zone(zoneId);
  const batch = readChangeRequest(parseBody(ctx.body));
  ctx.noteChanges(batch.changes.length);
  if (ctx.priorRequestNotComplete && ctx.state.hasPendingChange(zone)) throw priorRequestNotComplete();
  const change = ctx.state.applyChanges(zone, batch);
  return { status: 200, body: document('ChangeResourceRecordSetsResponse', changeInfoXml(change, 'PENDING')) };
}

function listResourceRecordSets(ctx: OperationContext, zoneId: string): OperationResult {
  const zone = ctx.state.zone(zoneId);
  const { requested, page } = maxItems(ctx.query, MAX_RECORD_SETS_PER_PAGE);
  const name = queryName(ctx.query, 'name');
  const type = ctx.query.get('type');
  const identifier = ctx.query.get('identifier');
  if (type !== null && name === undefined) throw invalidInput('Invalid request: StartRecordType can be given only together with StartRecordName');
  if (identifier !== null && type === null) throw invalidInput('Invalid request: StartRecordIdentifier can be given only together with StartRecordName and StartRecordType');
  if (type !== null && !(ROUTE53_TYPES as readonly string[]).includes(type)) {
    throw invalidInput(`Invalid value for type: '${type}'; it must be one of [${ROUTE53_TYPES.join(', ')}]`);
  }
  const sets = ctx.state.sortedSets(zone);
  let from = 0;
  if (name !== undefined) {
    const start: ListPosition = { name, type: type ?? '', setIdentifier: identifier ?? '' };
    from = sets.findIndex((rs) => comparePositions(positionOf(rs), start) >= 0);
    if (from < 0) from = sets.length;
  }
  const slice = sets.slice(from, from + page);
  const next = sets[from + page];
  let content = `<ResourceRecordSets>${slice.map(recordSetXml).join('')}</ResourceRecordSets>${textElement('IsTruncated', next !== undefined)}`;
  if (next !== undefined) {
    content += `${textElement('NextRecordName', escapeName(next.name))}${textElement('NextRecordType', next.type)}`;
    if (next.setIdentifier !== undefined) content += textElement('NextRecordIdentifier', next.setIdentifier);
  }
  content += textElement('MaxItems', requested);
  return { status: 200, body: document('ListResourceRecordSetsResponse', content) };
}

function getChange(ctx: OperationContext, changeId: string): OperationResult {
  const change = ctx.state.change(changeId);
  return { status: 200, body: document('GetChangeResponse', changeInfoXml(change, ctx.state.status(change))) };
}

export function runOperation(route: Route, ctx: OperationContext): OperationResult {
  switch (route.operation) {
    case 'CreateHostedZone':
      return createHostedZone(ctx);
    case 'GetHostedZone':
      return getHostedZone(ctx, route.zoneId);
    case 'ListHostedZones':
      return listHostedZones(ctx);
    case 'ListHostedZonesByName':
      return listHostedZonesByName(ctx);
    case 'ChangeResourceRecordSets':
      return changeResourceRecordSets(ctx, route.zoneId);
    case 'ListResourceRecordSets':
      return listResourceRecordSets(ctx, route.zoneId);
    case 'GetChange':
      return getChange(ctx, route.changeId);
  }
}
