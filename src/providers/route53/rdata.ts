import { canonicalValue } from '../../domain/record.js';
import type { RecordType } from '../../domain/record.js';
import { parseCharacterStrings, quoteCharacterStrings } from '../../dns/presentation.js';
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

/** One TXT value as Route53 holds it -> our canonical value (the strings joined). */
export function txtFromRoute53(wire: string): string {
  return canonicalValue('TXT', Buffer.concat(parseCharacterStrings(wire, 'octal')).toString('utf8'));
}

/**
 * Our canonical TXT value -> Route53's form: strings of at most 255 bytes, each quoted with `"`
 * and `\` escaped and non-printable or non-ASCII bytes as `\ooo` (Route53 wants those as octal).
 */
export function txtToRoute53(value: string): string {
  return quoteCharacterStrings(value, 'octal');
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
