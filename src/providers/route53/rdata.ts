import { canonicalValue } from '../../domain/record.js';
import type { RecordType } from '../../domain/record.js';
import { decodeName } from './names.js';

/**
 * Record values between our canonical presentation form (src/domain/record.ts) and the form
 * Route53 stores in a ResourceRecord `Value`.
 *
 * TXT is the one that differs: Route53 keeps a TXT value as one or more quoted character-strings
 * of at most 255 bytes each (`"part one" "part two"`), with `"` and `\` backslash-escaped and
 * other bytes possibly as `\ooo` octal. Our canonical TXT value is the character data of all its
 * strings joined, unquoted.
 */

/** Longest character-string in a TXT record (RFC 1035 §3.3: one length octet). */
export const TXT_STRING_MAX_BYTES = 255;

/** The character-strings of one TXT value as Route53 returns it, each as raw bytes. */
export function parseTxtStrings(wire: string): Buffer[] {
  const strings: Buffer[] = [];
  let i = 0;
  while (i < wire.length) {
    const ch = wire[i] ?? '';
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const quoted = ch === '"';
    if (quoted) i++;
    const bytes: number[] = [];
    while (i < wire.length) {
      const c = wire[i] ?? '';
      if (quoted ? c === '"' : /\s/.test(c)) break;
      if (c === '\\' && i + 1 < wire.length) {
        const octal = /^[0-3][0-7]{2}/.exec(wire.slice(i + 1, i + 4));
        if (octal !== null) {
          bytes.push(parseInt(octal[0], 8));
          i += 4;
          continue;
        }
        const escaped = String.fromCodePoint(wire.codePointAt(i + 1) ?? 0);
        bytes.push(...Buffer.from(escaped, 'utf8'));
        i += 1 + escaped.length;
        continue;
      }
      const literal = String.fromCodePoint(wire.codePointAt(i) ?? 0);
      bytes.push(...Buffer.from(literal, 'utf8'));
      i += literal.length;
    }
    if (quoted) i++; // the closing quote
    strings.push(Buffer.from(bytes));
  }
  return strings;
}

/** One TXT value as Route53 holds it -> our canonical value (the strings joined). */
export function txtFromRoute53(wire: string): string {
  return canonicalValue('TXT', Buffer.concat(parseTxtStrings(wire)).toString('utf8'));
}

function quoteTxtString(bytes: Buffer): string {
  let out = '"';
  for (const byte of bytes) {
    if (byte === 0x22) out += '\\"';
    else if (byte === 0x5c) out += '\\\\';
    else if (byte >= 0x20 && byte <= 0x7e) out += String.fromCharCode(byte);
    else out += `\\${byte.toString(8).padStart(3, '0')}`;
  }
  return `${out}"`;
}

/**
 * Our canonical TXT value -> Route53's form: the UTF-8 bytes cut into strings of at most 255
 * bytes, each quoted with `"` and `\` escaped and non-printable or non-ASCII bytes as `\ooo`
 * (Route53 wants those as octal escapes). An empty value is one empty string.
 */
export function txtToRoute53(value: string): string {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length === 0) return '""';
  const parts: string[] = [];
  for (let at = 0; at < bytes.length; at += TXT_STRING_MAX_BYTES) {
    parts.push(quoteTxtString(bytes.subarray(at, at + TXT_STRING_MAX_BYTES)));
  }
  return parts.join(' ');
}

/** A value Route53 returned, in our canonical form. */
export function valueFromRoute53(type: RecordType, wire: string): string {
  switch (type) {
    case 'TXT':
      return txtFromRoute53(wire);
    case 'CNAME':
    case 'NS':
    case 'PTR':
      return canonicalValue(type, decodeName(wire.trim()));
    case 'MX':
    case 'SRV': {
      // The target, last, is a domain name and may carry octal escapes like any name.
      const fields = wire.trim().split(/\s+/);
      const target = fields.pop() ?? '';
      return canonicalValue(type, [...fields, target === '.' ? '.' : decodeName(target)].join(' '));
    }
    default:
      return canonicalValue(type, wire);
  }
}

/** A canonical value in the form a ChangeResourceRecordSets request carries. */
export function valueToRoute53(type: RecordType, value: string): string {
  return type === 'TXT' ? txtToRoute53(value) : value;
}
