/**
 * TXT character-strings in zone-file presentation form (RFC 1035 §5.1), as the APIs of Route53
 * and PowerDNS hold them: one or more strings of at most 255 bytes, each quoted, with `"` and `\`
 * backslash-escaped and other bytes possibly as `\DDD` (decimal, RFC 1035) or, as Route53 writes
 * them, `\ooo`. Our canonical TXT value is the character data of all its strings joined, unquoted.
 */
import { txtStrings } from './rdata.js';

/**
 * The character-strings of one TXT value in presentation form, each as raw bytes. `escapes` says
 * how a three-digit escape reads: 'decimal' per RFC 1035 (PowerDNS, BIND), 'octal' as Route53
 * writes them.
 */
export function parseCharacterStrings(text: string, escapes: 'decimal' | 'octal'): Buffer[] {
  const digits = escapes === 'octal' ? /^[0-3][0-7]{2}/ : /^[0-2]\d{2}/;
  const radix = escapes === 'octal' ? 8 : 10;
  const strings: Buffer[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i] ?? '';
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const quoted = ch === '"';
    if (quoted) i++;
    const bytes: number[] = [];
    while (i < text.length) {
      const c = text[i] ?? '';
      if (quoted ? c === '"' : /\s/.test(c)) break;
      if (c === '\\' && i + 1 < text.length) {
        const code = digits.exec(text.slice(i + 1, i + 4));
        if (code !== null && parseInt(code[0], radix) <= 255) {
          bytes.push(parseInt(code[0], radix));
          i += 4;
          continue;
        }
        const escaped = String.fromCodePoint(text.codePointAt(i + 1) ?? 0);
        bytes.push(...Buffer.from(escaped, 'utf8'));
        i += 1 + escaped.length;
        continue;
      }
      const literal = String.fromCodePoint(text.codePointAt(i) ?? 0);
      bytes.push(...Buffer.from(literal, 'utf8'));
      i += literal.length;
    }
    if (quoted) i++; // the closing quote
    strings.push(Buffer.from(bytes));
  }
  return strings;
}

function quoteString(bytes: Buffer, escapes: 'decimal' | 'octal'): string {
  let out = '"';
  for (const byte of bytes) {
    if (byte === 0x22) out += '\\"';
    else if (byte === 0x5c) out += '\\\\';
    else if (byte >= 0x20 && byte <= 0x7e) out += String.fromCharCode(byte);
    else out += `\\${byte.toString(escapes === 'octal' ? 8 : 10).padStart(3, '0')}`;
  }
  return `${out}"`;
}

/**
 * A canonical TXT value in presentation form: its UTF-8 bytes cut into strings of at most 255
 * bytes, each quoted, with non-printable and non-ASCII bytes escaped. An empty value is one empty
 * string.
 */
export function quoteCharacterStrings(value: string, escapes: 'decimal' | 'octal'): string {
  return txtStrings(value)
    .map((bytes) => quoteString(bytes, escapes))
    .join(' ');
}
