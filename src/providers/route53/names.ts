import { fqdn } from '../../domain/record.js';

/**
 * Route53's domain-name format. Route53 stores names lowercase and absolute, and returns every
 * character other than a-z, 0-9, hyphen, underscore and dot as a three-digit octal escape: the
 * wildcard `*.example.com` is listed as `\052.example.com.` (Route53 developer guide, "DNS domain
 * name format").
 */

const PLAIN_NAME_CHAR = /^[a-z0-9_.-]$/;

/** Decodes `\ooo` octal escapes (and `\X` for any other X) and returns a lowercase FQDN. */
export function decodeName(wire: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < wire.length; i++) {
    const ch = wire[i] ?? '';
    if (ch === '\\') {
      const octal = /^[0-3][0-7]{2}/.exec(wire.slice(i + 1, i + 4));
      if (octal !== null) {
        bytes.push(parseInt(octal[0], 8));
        i += 3;
        continue;
      }
      const next = wire[i + 1];
      if (next !== undefined) {
        bytes.push(...Buffer.from(next, 'utf8'));
        i += 1;
        continue;
      }
    }
    bytes.push(...Buffer.from(ch, 'utf8'));
  }
  return fqdn(Buffer.from(bytes).toString('utf8'));
}

/**
 * The name as a ChangeResourceRecordSets request carries it. A leading `*` label stays as it is
 * (Route53's documented wildcard spelling); any other character outside a-z, 0-9, `-`, `_` and
 * `.` is octal-escaped byte by byte, which Route53 requires.
 */
export function encodeName(name: string): string {
  const absolute = fqdn(name);
  const wildcard = absolute.startsWith('*.');
  const rest = wildcard ? absolute.slice(1) : absolute;
  let out = wildcard ? '*' : '';
  for (const ch of rest) {
    if (PLAIN_NAME_CHAR.test(ch)) {
      out += ch;
      continue;
    }
    for (const byte of Buffer.from(ch, 'utf8')) out += `\\${byte.toString(8).padStart(3, '0')}`;
  }
  return out;
}
