import { isIPv4, isIPv6 } from 'node:net';
import { hostNameProblem, TXT_VALUE_MAX_BYTES } from '../../src/dns/rdata.js';
import { fqdn } from '../../src/domain/record.js';
import { badValue, isJsonObject, validationFailed, wrongType } from './api-error.js';
import type { JsonObject, JsonValue } from './api-error.js';

/**
 * What the fake NS1 accepts in request bodies, checked the way NS1's validator does: every
 * typed field must have its type (`null` is no array and no object), answers must fit their
 * record type, names must lie in the zone. Unknown fields are ignored, as NS1 ignores them
 * (lexicon sends `name` in updates and is answered 200).
 */

/** The record types the fake stores and serves: those the shared DNS engine can put on the wire, SOA aside. */
export const NS1_RECORD_TYPES = ['A', 'AAAA', 'CNAME', 'TXT', 'MX', 'SRV', 'CAA', 'NS', 'PTR'] as const;
export type Ns1RecordType = (typeof NS1_RECORD_TYPES)[number];

export function isNs1RecordType(value: string): value is Ns1RecordType {
  return (NS1_RECORD_TYPES as readonly string[]).includes(value);
}

/** One answer's rdata as NS1 carries it: `["1.2.3.4"]`, `[10, "mx.example.com"]`. */
export type Rdata = readonly (string | number)[];

export interface AnswerInput {
  readonly answer: Rdata;
  readonly id?: string;
  readonly meta?: JsonObject;
  readonly region?: string;
}

export interface FilterInput {
  readonly filter: string;
  readonly config: JsonObject;
  readonly disabled?: boolean;
}

/** The record fields a body carried; absent ones stay undefined (an update keeps what it has). */
export interface RecordInput {
  ttl?: number;
  answers?: AnswerInput[];
  filters?: FilterInput[];
  regions?: JsonObject;
  meta?: JsonObject;
  use_client_subnet?: boolean;
  networks?: number[];
  tags?: JsonObject;
  blocked_tags?: string[];
  override_ttl?: boolean;
  override_address_records?: boolean;
}

export interface ZoneInput {
  ttl?: number;
  refresh?: number;
  retry?: number;
  expiry?: number;
  nx_ttl?: number;
  hostmaster?: string;
  meta?: JsonObject;
  networks?: number[];
  tags?: JsonObject;
}

const OBJ = '<obj>';
const MAX_INT32 = 2_147_483_647;

function has(obj: JsonObject, key: string): boolean {
  return Object.hasOwn(obj, key);
}

function readInteger(obj: JsonObject, key: string, path: string, max = MAX_INT32): number | undefined {
  if (!has(obj, key)) return undefined;
  const value = obj[key];
  if (typeof value !== 'number' || !Number.isInteger(value)) throw wrongType(`${path}.${key}`, value, 'integer');
  if (value < 0 || value > max) throw badValue(`${path}.${key}`, value, `is not between 0 and ${max}`);
  return value;
}

function readString(obj: JsonObject, key: string, path: string): string | undefined {
  if (!has(obj, key)) return undefined;
  const value = obj[key];
  if (typeof value !== 'string') throw wrongType(`${path}.${key}`, value, 'string');
  return value;
}

function readBoolean(obj: JsonObject, key: string, path: string): boolean | undefined {
  if (!has(obj, key)) return undefined;
  const value = obj[key];
  if (typeof value !== 'boolean') throw wrongType(`${path}.${key}`, value, 'boolean');
  return value;
}

function readObject(obj: JsonObject, key: string, path: string): JsonObject | undefined {
  if (!has(obj, key)) return undefined;
  const value = obj[key];
  if (!isJsonObject(value)) throw wrongType(`${path}.${key}`, value, 'object');
  return value;
}

function readArray(obj: JsonObject, key: string, path: string): JsonValue[] | undefined {
  if (!has(obj, key)) return undefined;
  const value = obj[key];
  if (!Array.isArray(value)) throw wrongType(`${path}.${key}`, value, 'array');
  return value;
}

function readIntegers(obj: JsonObject, key: string, path: string): number[] | undefined {
  return readArray(obj, key, path)?.map((item, i) => {
    if (typeof item !== 'number' || !Number.isInteger(item)) throw wrongType(`${path}.${key}[${i}]`, item, 'integer');
    return item;
  });
}

function readStrings(obj: JsonObject, key: string, path: string): string[] | undefined {
  return readArray(obj, key, path)?.map((item, i) => {
    if (typeof item !== 'string') throw wrongType(`${path}.${key}[${i}]`, item, 'string');
    return item;
  });
}

/** The body as a JSON object; an empty body counts as `{}`. */
export function parseBody(text: string): JsonObject {
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw validationFailed('the request body is not valid JSON');
  }
  if (!isJsonObject(parsed)) throw validationFailed('the request body must be a JSON object');
  return parsed;
}

/** Why `name` (FQDN without trailing dot, as NS1 writes names) is unusable, or undefined. */
export function nameProblem(name: string, options: { allowWildcard?: boolean } = {}): string | undefined {
  if (name === '') return 'is empty';
  if (name.endsWith('.')) return 'must be written without a trailing dot';
  const problem = hostNameProblem(fqdn(name), { allowWildcard: options.allowWildcard === true });
  return problem === undefined ? undefined : 'is not a valid domain name';
}

/** True when `domain` is `zone` or below it (both lowercase, no trailing dot). */
export function isInZone(domain: string, zone: string): boolean {
  return domain === zone || domain.endsWith(`.${zone}`);
}

/** NS1 stores host names without the trailing dot ("." itself, the null MX/SRV target, stays). */
function bareHost(host: string): string {
  return host.length > 1 && host.endsWith('.') ? host.slice(0, -1) : host;
}

function checkHost(value: string | number, path: string, allowRoot: boolean): string {
  if (typeof value !== 'string') throw wrongType(path, value, 'string');
  const host = bareHost(value);
  if (host === '.' && allowRoot) return host;
  if (host === '' || host === '.' || hostNameProblem(fqdn(host), { allowWildcard: false }) !== undefined) {
    throw badValue(path, value, 'is not a valid host name');
  }
  return host;
}

/** A number field of rdata: a JSON integer or a string of digits (ns1-go sends "10"), kept as sent. */
function checkUint(value: string | number, path: string, max: number): string | number {
  const numeric = typeof value === 'number' ? value : /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(numeric) || numeric < 0 || numeric > max) throw badValue(path, value, `is not an integer from 0 to ${max}`);
  return value;
}

const SHAPES: Record<Ns1RecordType, string> = {
  A: '[address]',
  AAAA: '[address]',
  CNAME: '[target]',
  NS: '[nameserver]',
  PTR: '[target]',
  TXT: '[text]',
  MX: '[preference, exchange]',
  SRV: '[priority, weight, port, target]',
  CAA: '[flags, tag, value]',
};

/** Checks one answer's rdata for `type` and returns it as NS1 stores it (host names without trailing dot). */
export function checkRdata(type: Ns1RecordType, raw: readonly JsonValue[], path: string): Rdata {
  const fields = raw.map((item, i) => {
    if (typeof item !== 'string' && typeof item !== 'number') throw wrongType(`${path}[${i}]`, item, 'string');
    return item;
  });
  const arity = SHAPES[type].split(',').length;
  if (fields.length !== arity) throw badValue(path, raw, `does not fit type ${type}: expected ${SHAPES[type]}`);
  const at = (i: number): string => `${path}[${i}]`;
  const [f0 = '', f1 = '', f2 = '', f3 = ''] = fields;
  switch (type) {
    case 'A':
      if (typeof f0 !== 'string' || !isIPv4(f0)) throw badValue(at(0), f0, 'is not a valid IPv4 address');
      return [f0];
    case 'AAAA':
      if (typeof f0 !== 'string' || !isIPv6(f0)) throw badValue(at(0), f0, 'is not a valid IPv6 address');
      return [f0];
    case 'CNAME':
    case 'NS':
    case 'PTR':
      return [checkHost(f0, at(0), false)];
    case 'TXT':
      if (typeof f0 !== 'string') throw wrongType(at(0), f0, 'string');
      if (Buffer.byteLength(f0) > TXT_VALUE_MAX_BYTES) throw badValue(at(0), `${f0.slice(0, 20)}...`, `is longer than ${TXT_VALUE_MAX_BYTES} bytes`);
      return [f0];
    case 'MX':
      return [checkUint(f0, at(0), 65_535), checkHost(f1, at(1), true)];
    case 'SRV':
      return [checkUint(f0, at(0), 65_535), checkUint(f1, at(1), 65_535), checkUint(f2, at(2), 65_535), checkHost(f3, at(3), true)];
    case 'CAA': {
      const flags = checkUint(f0, at(0), 255);
      if (typeof f1 !== 'string' || !/^[A-Za-z0-9]{1,255}$/.test(f1)) throw badValue(at(1), f1, 'is not a CAA tag (letters and digits)');
      if (typeof f2 !== 'string') throw wrongType(at(2), f2, 'string');
      return [flags, f1, f2];
    }
  }
}

function parseAnswers(type: Ns1RecordType, items: readonly JsonValue[], path: string): AnswerInput[] {
  return items.map((item, i) => {
    const where = `${path}[${i}]`;
    if (!isJsonObject(item)) throw wrongType(where, item, 'object');
    const raw = readArray(item, 'answer', where);
    if (raw === undefined) throw validationFailed(`field '${where}.answer' is required`);
    const answer: { answer: Rdata; id?: string; meta?: JsonObject; region?: string } = { answer: checkRdata(type, raw, `${where}.answer`) };
    const id = readString(item, 'id', where);
    const meta = readObject(item, 'meta', where);
    const region = readString(item, 'region', where);
    if (id !== undefined) answer.id = id;
    if (meta !== undefined) answer.meta = meta;
    if (region !== undefined) answer.region = region;
    return answer;
  });
}

function parseFilters(items: readonly JsonValue[], path: string): FilterInput[] {
  return items.map((item, i) => {
    const where = `${path}[${i}]`;
    if (!isJsonObject(item)) throw wrongType(where, item, 'object');
    const filter = readString(item, 'filter', where);
    if (filter === undefined) throw validationFailed(`field '${where}.filter' is required`);
    const parsed: { filter: string; config: JsonObject; disabled?: boolean } = { filter, config: readObject(item, 'config', where) ?? {} };
    const disabled = readBoolean(item, 'disabled', where);
    if (disabled !== undefined) parsed.disabled = disabled;
    return parsed;
  });
}

/** The record the URL names: every name lowercase, no trailing dot. */
export interface RecordTarget {
  readonly zone: string;
  readonly domain: string;
  readonly type: Ns1RecordType;
}

function checkMatches(body: JsonObject, key: 'zone' | 'domain' | 'type', expected: string): void {
  const value = readString(body, key, OBJ);
  if (value === undefined) return;
  const given = key === 'type' ? value.toUpperCase() : value.toLowerCase();
  if (given !== expected) throw badValue(`${OBJ}.${key}`, value, `does not match the ${key} in the URL ('${expected}')`);
}

/** The fields of a record create (PUT) or update (POST) body, checked. */
export function parseRecordBody(body: JsonObject, target: RecordTarget): RecordInput {
  checkMatches(body, 'zone', target.zone);
  checkMatches(body, 'domain', target.domain);
  checkMatches(body, 'type', target.type);
  if (has(body, 'link') && body.link !== null) {
    if (typeof body.link !== 'string') throw wrongType(`${OBJ}.link`, body.link, 'string');
    throw badValue(`${OBJ}.link`, body.link, 'asks for a linked record, which this fake NS1 does not support');
  }
  const input: RecordInput = {};
  const ttl = readInteger(body, 'ttl', OBJ);
  if (ttl !== undefined) input.ttl = ttl;
  const answers = readArray(body, 'answers', OBJ);
  if (answers !== undefined) {
    if (answers.length === 0) throw validationFailed(`field '${OBJ}.answers' needs at least one answer`);
    input.answers = parseAnswers(target.type, answers, `${OBJ}.answers`);
  }
  const filters = readArray(body, 'filters', OBJ);
  if (filters !== undefined) input.filters = parseFilters(filters, `${OBJ}.filters`);
  const regions = readObject(body, 'regions', OBJ);
  if (regions !== undefined) input.regions = regions;
  const meta = readObject(body, 'meta', OBJ);
  if (meta !== undefined) input.meta = meta;
  const tags = readObject(body, 'tags', OBJ);
  if (tags !== undefined) input.tags = tags;
  const blockedTags = readStrings(body, 'blocked_tags', OBJ);
  if (blockedTags !== undefined) input.blocked_tags = blockedTags;
  const networks = readIntegers(body, 'networks', OBJ);
  if (networks !== undefined) input.networks = networks;
  for (const key of ['use_client_subnet', 'override_ttl', 'override_address_records'] as const) {
    const flag = readBoolean(body, key, OBJ);
    if (flag !== undefined) input[key] = flag;
  }
  return input;
}

/** The fields of a zone create (PUT) or update (POST) body, checked. */
export function parseZoneBody(body: JsonObject, zone: string): ZoneInput {
  checkMatches(body, 'zone', zone);
  const input: ZoneInput = {};
  for (const key of ['ttl', 'refresh', 'retry', 'expiry', 'nx_ttl'] as const) {
    const value = readInteger(body, key, OBJ);
    if (value !== undefined) input[key] = value;
  }
  const hostmaster = readString(body, 'hostmaster', OBJ);
  if (hostmaster !== undefined) input.hostmaster = hostmaster;
  const meta = readObject(body, 'meta', OBJ);
  if (meta !== undefined) input.meta = meta;
  const tags = readObject(body, 'tags', OBJ);
  if (tags !== undefined) input.tags = tags;
  const networks = readIntegers(body, 'networks', OBJ);
  if (networks !== undefined) input.networks = networks;
  // Accepted for their type only: the fake is always a plain primary zone.
  readObject(body, 'primary', OBJ);
  readObject(body, 'secondary', OBJ);
  return input;
}
