import { Ns1ApiError, recordNotFound, validationFailed } from './api-error.js';
import type { JsonValue } from './api-error.js';
import type { Ns1State } from './state.js';
import { isNs1RecordType, nameProblem, parseBody, parseRecordBody, parseZoneBody } from './validate.js';
import type { RecordTarget } from './validate.js';
import { recordJson, zoneJson } from './wire.js';

/**
 * The routes of NS1's REST API the fake answers (provider-api-notes §9.2, §9.3): the zone list,
 * zones and records, each with GET (read), PUT (create), POST (update) and DELETE.
 */

export type Route =
  | { readonly kind: 'zones' }
  | { readonly kind: 'zone'; readonly zone: string }
  | { readonly kind: 'record'; readonly zone: string; readonly domain: string; readonly type: string };

/** The route a path names, or undefined for a path NS1 has no zone or record route for. */
export function matchRoute(pathname: string): Route | undefined {
  let segments: string[];
  try {
    segments = pathname.split('/').map(decodeURIComponent);
  } catch {
    return undefined;
  }
  // "/v1/zones/" and "/v1/zones" alike.
  if (segments.length > 1 && segments.at(-1) === '') segments.pop();
  const [root, version, collection, zone, domain, type, ...rest] = segments;
  if (root !== '' || version !== 'v1' || collection !== 'zones' || rest.length > 0) return undefined;
  if (zone === undefined) return { kind: 'zones' };
  if (zone === '') return undefined;
  if (domain === undefined) return { kind: 'zone', zone: zone.toLowerCase() };
  if (type === undefined || domain === '' || type === '') return undefined;
  return { kind: 'record', zone: zone.toLowerCase(), domain: domain.toLowerCase(), type: type.toUpperCase() };
}

/** The name a route's requests are logged and rate-limited under. */
export function routeName(route: Route | undefined): string {
  return route?.kind ?? 'unknown';
}

export function isRecordWrite(route: Route | undefined, method: string): boolean {
  return route?.kind === 'record' && (method === 'PUT' || method === 'POST' || method === 'DELETE');
}

export interface OperationContext {
  readonly state: Ns1State;
  readonly method: string;
  readonly query: URLSearchParams;
  readonly body: string;
  /** Base of links in answers, e.g. "http://127.0.0.1:PORT/v1/". */
  readonly endpoint: string;
  readonly pageSize: number | undefined;
}

export interface OperationResult {
  readonly status: number;
  readonly body: JsonValue;
  readonly headers?: Readonly<Record<string, string>>;
}

const methodNotAllowed = (): Ns1ApiError => new Ns1ApiError(405, 'Method Not Allowed');

function ok(body: JsonValue, headers?: Record<string, string>): OperationResult {
  return headers === undefined ? { status: 200, body } : { status: 200, body, headers };
}

function pageOf(query: URLSearchParams): number {
  const text = query.get('page');
  if (text === null) return 1;
  if (!/^[1-9]\d{0,8}$/.test(text)) throw validationFailed(`Value '${text}' for field 'page' is not a page number`);
  return Number(text);
}

function zoneRead(route: { zone: string }, ctx: OperationContext): OperationResult {
  const zone = ctx.state.requireZone(route.zone);
  if (ctx.query.get('records') === 'false') return ok(zoneJson(zone, undefined));
  const records = ctx.state.sortedRecords(zone);
  if (ctx.pageSize === undefined) return ok(zoneJson(zone, records));
  const page = pageOf(ctx.query);
  const slice = records.slice((page - 1) * ctx.pageSize, page * ctx.pageSize);
  if (page * ctx.pageSize >= records.length) return ok(zoneJson(zone, slice));
  const next = `${ctx.endpoint}zones/${encodeURIComponent(zone.name)}?page=${page + 1}`;
  return ok(zoneJson(zone, slice), { Link: `<${next}>; rel="next"` });
}

function zoneOperation(route: { zone: string }, ctx: OperationContext): OperationResult {
  const { state } = ctx;
  switch (ctx.method) {
    case 'GET':
      return zoneRead(route, ctx);
    case 'PUT': {
      const problem = nameProblem(route.zone);
      if (problem !== undefined) throw validationFailed(`Value '${route.zone}' for field 'zone' ${problem}`);
      const zone = state.createZone(route.zone, parseZoneBody(parseBody(ctx.body), route.zone));
      return ok(zoneJson(zone, state.sortedRecords(zone)));
    }
    case 'POST': {
      const zone = state.requireZone(route.zone);
      state.updateZone(zone, parseZoneBody(parseBody(ctx.body), zone.name));
      return ok(zoneJson(zone, state.sortedRecords(zone)));
    }
    case 'DELETE':
      state.deleteZone(state.requireZone(route.zone));
      return ok({});
    default:
      throw methodNotAllowed();
  }
}

function recordOperation(route: { zone: string; domain: string; type: string }, ctx: OperationContext): OperationResult {
  const { state } = ctx;
  if (!['GET', 'PUT', 'POST', 'DELETE'].includes(ctx.method)) throw methodNotAllowed();
  const zone = state.requireZone(route.zone);
  const { type } = route;
  if (!isNs1RecordType(type)) {
    if (ctx.method === 'PUT') throw validationFailed(`Value '${type}' for field 'type' is not a record type this fake NS1 supports`);
    throw recordNotFound();
  }
  const target: RecordTarget = { zone: zone.name, domain: route.domain, type };
  switch (ctx.method) {
    case 'GET':
      return ok(recordJson(state.requireRecord(zone, route.domain, type)));
    case 'PUT': {
      const problem = nameProblem(route.domain, { allowWildcard: true });
      if (problem !== undefined) throw validationFailed(`Value '${route.domain}' for field '<obj>.domain' ${problem}`);
      const input = parseRecordBody(parseBody(ctx.body), target);
      return ok(recordJson(state.createRecord(zone, target, input)));
    }
    case 'POST': {
      const record = state.requireRecord(zone, route.domain, type);
      const input = parseRecordBody(parseBody(ctx.body), target);
      return ok(recordJson(state.updateRecord(zone, record, input)));
    }
    default:
      state.deleteRecord(zone, state.requireRecord(zone, route.domain, type));
      return ok({});
  }
}

/** Runs one request against the state; NS1's refusals are thrown as Ns1ApiError. */
export function runOperation(route: Route, ctx: OperationContext): OperationResult {
  switch (route.kind) {
    case 'zones':
      if (ctx.method !== 'GET') throw methodNotAllowed();
      return ok(ctx.state.allZones().map((zone) => zoneJson(zone, undefined)));
    case 'zone':
      return zoneOperation(route, ctx);
    case 'record':
      return recordOperation(route, ctx);
  }
}
