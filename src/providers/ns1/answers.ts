import type { RecordType } from '../../domain/record.js';
import type { Ns1Rdata } from './client.js';

/**
 * Record values in dnsquorum's canonical presentation form, to and from NS1 answers. NS1 keeps
 * each answer's rdata as an array of fields, host names without the trailing dot:
 *
 * | type            | dnsquorum value               | NS1 answer                       |
 * |-----------------|-------------------------------|----------------------------------|
 * | A, AAAA         | 192.0.2.1                     | ["192.0.2.1"]                    |
 * | CNAME, NS, PTR  | edge.example.net.             | ["edge.example.net"]             |
 * | MX              | 10 mx.example.net.            | [10, "mx.example.net"]           |
 * | SRV             | 10 5 443 sip.example.net.     | [10, 5, 443, "sip.example.net"]  |
 * | CAA             | 0 issue "letsencrypt.org"     | [0, "issue", "letsencrypt.org"]  |
 * | TXT             | v=spf1 -all                   | ["v=spf1 -all"]                  |
 *
 * TXT: NS1 stores the whole text as one field and cuts it into 255-byte character-strings itself
 * when it answers queries, so a value of any length is sent whole, unquoted and unsplit (octoDNS
 * does the same). An answer of several fields (another tool's) is read as their concatenation,
 * which is what a resolver sees.
 *
 * The zone listing carries `short_answers` (the fields joined with spaces) instead of arrays;
 * valueFromShortAnswer reads those.
 */

/** NS1 writes host names without the trailing dot; the root (null MX, SRV ".") stays ".". */
export function hostToNs1(host: string): string {
  return host.length > 1 && host.endsWith('.') ? host.slice(0, -1) : host;
}

function fields(value: string, count: number): string[] {
  const parts = value.trim().split(/\s+/);
  if (parts.length <= count) return parts;
  return [...parts.slice(0, count - 1), parts.slice(count - 1).join(' ')];
}

function uint(text: string): number | string {
  return /^\d+$/.test(text) ? Number(text) : text;
}

/** The NS1 rdata of one canonical value. */
export function valueToNs1(type: RecordType, value: string): Ns1Rdata {
  switch (type) {
    case 'A':
    case 'AAAA':
    case 'TXT':
    case 'SOA':
      return [value];
    case 'CNAME':
    case 'NS':
    case 'PTR':
      return [hostToNs1(value)];
    case 'MX': {
      const [preference = '', exchange = ''] = fields(value, 2);
      return [uint(preference), hostToNs1(exchange)];
    }
    case 'SRV': {
      const [priority = '', weight = '', port = '', target = ''] = fields(value, 4);
      return [uint(priority), uint(weight), uint(port), hostToNs1(target)];
    }
    case 'CAA': {
      const match = /^(\d+)\s+(\S+)\s+(.*)$/.exec(value.trim());
      if (match === null) return [value];
      const raw = match[3] ?? '';
      const unquoted = raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
      return [Number(match[1]), match[2] ?? '', unquoted];
    }
  }
}

/** A canonical-ish value (normalizeRecordSet finishes it) from one NS1 answer's rdata. */
export function valueFromNs1(type: RecordType, rdata: Ns1Rdata): string {
  const parts = rdata.map(String);
  switch (type) {
    case 'TXT':
      return parts.join('');
    case 'CAA': {
      if (parts.length === 1) return valueFromShortAnswer(type, parts[0] ?? '');
      const [flags = '0', tag = '', ...rest] = parts;
      return caaValue(flags, tag, rest.join(' '));
    }
    default:
      return parts.join(' ');
  }
}

/** A value from one of the zone listing's `short_answers` (fields joined with single spaces). */
export function valueFromShortAnswer(type: RecordType, short: string): string {
  if (type !== 'CAA') return short;
  const [flags = '0', tag = '', value = ''] = fields(short, 3);
  return caaValue(flags, tag, value);
}

function caaValue(flags: string, tag: string, value: string): string {
  const quoted = value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value : `"${value}"`;
  return `${flags} ${tag} ${quoted}`;
}
