/**
 * Domain names between the wire (labels of any bytes, RFC 2181 11) and the presentation form the
 * server matches on. A label byte that is not a letter, digit, "-", "_" or "*" is written \DDD
 * (RFC 1035 5.1), so a "." inside a label never reads as a separator and every name has exactly
 * one spelling per case. dns-packet cannot do this: it splits names on every "." and writes
 * labels as UTF-8.
 */

const PLAIN_BYTE = /^[A-Za-z0-9_*-]$/;
const MAX_LABEL_BYTES = 63;
const MAX_NAME_BYTES = 255;

/** One wire label in presentation form, with the case of its letters as sent. */
export function presentLabel(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) {
    const ch = String.fromCharCode(byte);
    text += PLAIN_BYTE.test(ch) ? ch : `\\${String(byte).padStart(3, '0')}`;
  }
  return text;
}

/**
 * The wire form of a name in presentation form: "\DDD" is one byte, "\X" is X, an unescaped "."
 * ends a label. Throws on a name that cannot go on the wire; the names handed in come from a
 * checked question or from checked zone data, so a throw is a bug, answered with SERVFAIL.
 */
export function encodeName(name: string): Buffer {
  if (name === '.' || name === '') return Buffer.from([0]);
  const labels: number[][] = [];
  let label: number[] = [];
  const chars = Array.from(name);
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] ?? '';
    if (ch === '.') {
      labels.push(label);
      label = [];
    } else if (ch === '\\') {
      const digits = /^\d{3}$/.exec(chars.slice(i + 1, i + 4).join(''))?.[0];
      const escaped = chars[i + 1];
      if (digits !== undefined && Number(digits) <= 255) {
        label.push(Number(digits));
        i += 3;
      } else if (escaped !== undefined) {
        label.push(...Buffer.from(escaped, 'utf8'));
        i += 1;
      } else {
        throw new Error(`name ${JSON.stringify(name)} ends in a lone backslash`);
      }
    } else {
      label.push(...Buffer.from(ch, 'utf8'));
    }
  }
  if (label.length > 0) labels.push(label);
  const parts: number[] = [];
  for (const bytes of labels) {
    if (bytes.length === 0 || bytes.length > MAX_LABEL_BYTES) throw new Error(`name ${JSON.stringify(name)} has a label of ${bytes.length} bytes`);
    parts.push(bytes.length, ...bytes);
  }
  parts.push(0);
  if (parts.length > MAX_NAME_BYTES) throw new Error(`name ${JSON.stringify(name)} is longer than ${MAX_NAME_BYTES} bytes on the wire`);
  return Buffer.from(parts);
}
