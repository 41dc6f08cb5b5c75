/**
 * Domain names as Route53 handles them: accepted with or without the trailing dot, in any case,
 * with `\ooo` octal escapes; stored lowercase and absolute; returned with every character other
 * than a-z, 0-9, "-", "_" and "." written as `\ooo` (so `*.example.com.` comes back as
 * `\052.example.com.`); listed in the order of their labels reversed, trailing dot included.
 */

/** Why a name is unusable, in Route53's own words: "FATAL problem: <code> (<text>)". */
export interface NameProblem {
  readonly code: string;
  readonly text: string;
}

const ESCAPE = /\\([0-7]{3})/g;

/**
 * The stored form of a name as sent: escapes decoded, lowercase, trailing dot. Each character of
 * the result stands for one byte of the wire name (code 0-255).
 */
export function normalizeName(input: string): string | NameProblem {
  if (/[^\x21-\x7e]/.test(input)) return { code: 'UnsupportedCharacter', text: 'Value contains unsupported characters' };
  const decoded = input.replace(ESCAPE, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8) & 0xff));
  const lower = decoded.replace(/[A-Z]/g, (ch) => ch.toLowerCase());
  const absolute = lower.endsWith('.') ? lower : `${lower}.`;
  if (absolute === '.') return absolute;
  const labels = absolute.slice(0, -1).split('.');
  if (labels.some((label) => label === '')) return { code: 'DomainLabelEmpty', text: 'Domain label is empty' };
  if (labels.some((label) => label.length > 63)) return { code: 'DomainLabelTooLong', text: 'Domain label is too long' };
  // Wire length: a length byte per label, the label bytes, the root's zero byte.
  if (absolute.length + 1 > 255) return { code: 'DomainNameTooLong', text: 'Domain name is too long' };
  return absolute;
}

export function isNameProblem(value: string | NameProblem): value is NameProblem {
  return typeof value !== 'string';
}

/** The form Route53 returns: lowercase, absolute, special characters as three-digit octal escapes. */
export function escapeName(name: string): string {
  let out = '';
  for (const ch of name) {
    out += /[a-z0-9_.-]/.test(ch) ? ch : `\\${(ch.charCodeAt(0) & 0xff).toString(8).padStart(3, '0')}`;
  }
  return out;
}

/** "www.example.com." -> "com.example.www.": the key Route53 sorts names by. */
export function reversedName(name: string): string {
  if (name === '.') return '.';
  return `${name.slice(0, -1).split('.').reverse().join('.')}.`;
}

/** ASCII (byte) order of two strings whose characters are all below 256. */
export function compareAscii(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

/** Name order of ListResourceRecordSets and ListHostedZonesByName. */
export function compareNames(a: string, b: string): number {
  return compareAscii(reversedName(a), reversedName(b));
}

/** True when `name` is `zone` or below it (both stored forms). */
export function isInZone(name: string, zone: string): boolean {
  return zone === '.' || name === zone || name.endsWith(`.${zone}`);
}
