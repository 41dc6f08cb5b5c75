import { isIPv4, isIPv6 } from 'node:net';
import type { Answer } from 'dns-packet';
import { fqdn } from '../domain/record.js';
import type { RecordType } from '../domain/record.js';

/**
 * Record values in presentation form, checked and turned into dns-packet answer data. Whoever
 * feeds the authoritative server (the local provider, the fakes) refuses or leaves out anything it
 * could not put on the wire, so the server never meets a value it cannot encode.
 */

/** One TXT character-string holds at most 255 bytes (RFC 1035 3.3). */
export const TXT_STRING_MAX_BYTES = 255;
/** Longest TXT value accepted: its RDATA (strings plus length bytes) must stay well inside 65,535. */
export const TXT_VALUE_MAX_BYTES = 60_000;

const LABEL = /^[a-z0-9_-]{1,63}$/;

/** Why `name` is not a usable host name (lowercase FQDN), or undefined when it is. */
export function hostNameProblem(name: string, options: { allowWildcard?: boolean; allowRoot?: boolean } = {}): string | undefined {
  if (name === '.') return options.allowRoot === true ? undefined : 'the root name "." is not allowed here';
  if (!name.endsWith('.')) return `"${name}" is not fully qualified (no trailing dot)`;
  // Wire length: one length byte per label plus the terminating zero byte.
  if (Buffer.byteLength(name) + 1 > 255) return `"${name}" is longer than 255 bytes on the wire`;
  const labels = name.slice(0, -1).split('.');
  for (const [i, label] of labels.entries()) {
    if (label === '*' && i === 0 && options.allowWildcard === true) continue;
    if (!LABEL.test(label)) {
      return label === '*'
        ? `"${name}": "*" is only allowed as the leftmost label of an owner name`
        : `"${name}": label "${label}" must be 1-63 characters of a-z, 0-9, "-" or "_"`;
    }
  }
  return undefined;
}

function isUint(text: string, max: number): boolean {
  if (!/^\d+$/.test(text)) return false;
  return Number(text) <= max;
}

/** The fields of a CAA value in presentation form: `0 issue "ca.example.net"`. */
function splitCaa(value: string): { flags: number; tag: string; value: string } | undefined {
  const m = /^(\d+)\s+([A-Za-z0-9]+)\s+(.*)$/s.exec(value.trim());
  if (!m) return undefined;
  const raw = m[3] ?? '';
  const inner = raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
  return { flags: Number(m[1]), tag: (m[2] ?? '').toLowerCase(), value: inner };
}

export interface SoaFields {
  readonly mname: string;
  readonly rname: string;
  readonly serial: number;
  readonly refresh: number;
  readonly retry: number;
  readonly expire: number;
  readonly minimum: number;
}

export function parseSoa(value: string): SoaFields | undefined {
  const parts = value.trim().split(/\s+/);
  if (parts.length !== 7) return undefined;
  const [mname = '', rname = '', ...numbers] = parts;
  if (!numbers.every((n) => isUint(n, 0xffffffff))) return undefined;
  const [serial = 0, refresh = 0, retry = 0, expire = 0, minimum = 0] = numbers.map(Number);
  return { mname, rname, serial, refresh, retry, expire, minimum };
}

export function formatSoa(soa: SoaFields): string {
  return `${soa.mname} ${soa.rname} ${soa.serial} ${soa.refresh} ${soa.retry} ${soa.expire} ${soa.minimum}`;
}

/** Why `value` (as given, before canonicalisation) is not a valid value of `type`, or undefined. */
export function valueProblem(type: RecordType, value: string): string | undefined {
  const v = value.trim();
  const tokens = v.split(/\s+/);
  const host = (h: string, allowRoot = false): string | undefined => hostNameProblem(fqdn(h), { allowRoot });
  switch (type) {
    case 'A':
      return isIPv4(v) ? undefined : `"${value}" is not an IPv4 address`;
    case 'AAAA':
      return isIPv6(v) ? undefined : `"${value}" is not an IPv6 address`;
    case 'CNAME':
    case 'NS':
    case 'PTR':
      return tokens.length === 1 && v !== '' ? host(v) : `"${value}" is not a host name`;
    case 'MX': {
      const [pref = '', exchange = ''] = tokens;
      if (tokens.length !== 2 || !isUint(pref, 65535)) return `"${value}" is not "<preference 0-65535> <host>"`;
      // "." is the null MX of RFC 7505.
      return host(exchange, true);
    }
    case 'SRV': {
      const [priority = '', weight = '', port = '', target = ''] = tokens;
      if (tokens.length !== 4 || ![priority, weight, port].every((n) => isUint(n, 65535))) {
        return `"${value}" is not "<priority> <weight> <port> <target>" with numbers 0-65535`;
      }
      // "." means "no service here" (RFC 2782).
      return host(target, true);
    }
    case 'CAA': {
      const caa = splitCaa(v);
      if (caa === undefined || caa.flags > 255) return `"${value}" is not '<flags 0-255> <tag> "<value>"'`;
      if (Buffer.byteLength(caa.tag) > 255) return `"${value}": CAA tag longer than 255 bytes`;
      return undefined;
    }
    case 'TXT':
      return Buffer.byteLength(value) > TXT_VALUE_MAX_BYTES ? `TXT value of ${Buffer.byteLength(value)} bytes is longer than ${TXT_VALUE_MAX_BYTES}` : undefined;
    case 'SOA': {
      const soa = parseSoa(v);
      if (soa === undefined) return `"${value}" is not "<mname> <rname> <serial> <refresh> <retry> <expire> <minimum>"`;
      return host(soa.mname) ?? host(soa.rname);
    }
  }
}

/** Splits a TXT value into character-strings of at most 255 bytes; an empty value is one empty string. */
export function txtStrings(value: string): Buffer[] {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length === 0) return [Buffer.alloc(0)];
  const strings: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += TXT_STRING_MAX_BYTES) {
    strings.push(bytes.subarray(offset, offset + TXT_STRING_MAX_BYTES));
  }
  return strings;
}

/**
 * One dns-packet answer for one canonical value of `type`. It converts and does not validate: the
 * sources store only values that pass valueProblem, and indexZones checks every value with
 * valueProblem before serving it, which keeps this check off the per-query path.
 */
export function toAnswer(type: RecordType, owner: string, ttl: number, value: string): Answer {
  const fields = value.trim().split(/\s+/);
  switch (type) {
    case 'A':
    case 'AAAA':
    case 'CNAME':
    case 'NS':
    case 'PTR':
      return { type, name: owner, ttl, class: 'IN', data: value };
    case 'MX': {
      const [preference = '', exchange = ''] = fields;
      return { type, name: owner, ttl, class: 'IN', data: { preference: Number(preference), exchange } };
    }
    case 'SRV': {
      const [priority = '', weight = '', port = '', target = ''] = fields;
      return { type, name: owner, ttl, class: 'IN', data: { priority: Number(priority), weight: Number(weight), port: Number(port), target } };
    }
    case 'CAA': {
      const caa = splitCaa(value);
      if (caa === undefined) throw new Error(`${owner} CAA: cannot parse "${value}"`);
      // dns-packet's types list only the three RFC 8659 tags, but it writes any tag string as is.
      const tag = caa.tag as 'issue';
      return { type, name: owner, ttl, class: 'IN', data: { flags: caa.flags, tag, value: caa.value } };
    }
    case 'TXT':
      return { type, name: owner, ttl, class: 'IN', data: txtStrings(value) };
    case 'SOA': {
      const soa = parseSoa(value);
      if (soa === undefined) throw new Error(`${owner} SOA: cannot parse "${value}"`);
      return { type, name: owner, ttl, class: 'IN', data: { ...soa } };
    }
  }
}
