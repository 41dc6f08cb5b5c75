import { lstat, rename } from 'node:fs/promises';
import { hasErrorCode } from './atomic-file.js';
import { errorMessage } from './errors.js';

/**
 * What the state files that do not load have in common: a message that says where the JSON
 * breaks (line and column, never the file's bytes, which may be binary garbage or hold what an
 * operator typed), the name a corrupt file is kept under once moved aside, and the move itself.
 */

/** `<path>.corrupt-20250101T120000Z`: UTC, sortable, no colons (which some file systems and tools refuse). */
export function corruptAsidePath(path: string, at: number): string {
  const stamp = new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
  return `${path}.corrupt-${stamp}`;
}

/** Names tried after the first one is taken (two recoveries in the same second). */
const ASIDE_NAME_ATTEMPTS = 100;

export type MoveAsideResult = { readonly movedTo: string } | { readonly failed: string };

/**
 * Renames `path` (a file or a directory) to a free `corruptAsidePath` name next to it. Nothing is
 * ever deleted or overwritten: a name in use is skipped (`-2`, `-3`, ...), and after
 * ASIDE_NAME_ATTEMPTS taken names, or when the rename fails (read-only file system, no
 * permission), the result says why and `path` is where it was.
 */
export async function moveAside(path: string, at: number): Promise<MoveAsideResult> {
  const base = corruptAsidePath(path, at);
  for (let attempt = 1; attempt <= ASIDE_NAME_ATTEMPTS; attempt++) {
    const candidate = attempt === 1 ? base : `${base}-${attempt}`;
    try {
      await lstat(candidate);
      continue;
    } catch (err) {
      if (!hasErrorCode(err, 'ENOENT')) return { failed: `cannot check ${candidate}: ${errorMessage(err)}` };
    }
    try {
      await rename(path, candidate);
      return { movedTo: candidate };
    } catch (err) {
      return { failed: errorMessage(err) };
    }
  }
  return { failed: `${base} and ${ASIDE_NAME_ATTEMPTS - 1} further names are all taken` };
}

/** `path` quoted for a POSIX shell, so a recovery command in a message can be pasted as it is. */
export function shellQuote(path: string): string {
  return /^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`;
}

/**
 * Where and why `text` stops being JSON (RFC 8259), for a message: "unexpected '}' at line 3,
 * column 7", or "ends early at line 9, column 1 (truncated)". For text JSON.parse refused; its own
 * messages quote the text itself and, on Node 20, often give no position.
 */
export function jsonSyntaxProblem(text: string): string {
  const at = firstJsonError(text);
  if (at < 0) return 'not JSON';
  const { line, column } = lineColumn(text, at);
  if (at >= text.length) return `ends early at line ${line}, column ${column} (truncated)`;
  return `unexpected ${describeChar(text.codePointAt(at) ?? 0)} at line ${line}, column ${column}`;
}

function lineColumn(text: string, at: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < at; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: at - lineStart + 1 };
}

function describeChar(code: number): string {
  if (code > 0x20 && code < 0x7f) return `'${String.fromCodePoint(code)}'`;
  return `character U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

type Scan = { readonly end: number } | { readonly error: number };

const HEX_DIGIT = /^[0-9a-fA-F]$/;

function scanString(text: string, start: number): Scan {
  for (let i = start + 1; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x22) return { end: i + 1 };
    if (code < 0x20) return { error: i };
    if (code !== 0x5c) continue;
    const escape = text[i + 1];
    if (escape === undefined) return { error: text.length };
    if (escape === 'u') {
      for (let k = i + 2; k < i + 6; k++) {
        if (k >= text.length) return { error: text.length };
        if (!HEX_DIGIT.test(text.charAt(k))) return { error: k };
      }
      i += 5;
    } else if ('"\\/bfnrt'.includes(escape)) i += 1;
    else return { error: i + 1 };
  }
  return { error: text.length };
}

function scanScalar(text: string, start: number): Scan {
  const first = text[start];
  if (first === '"') return scanString(text, start);
  for (const literal of ['true', 'false', 'null']) {
    if (first !== literal[0]) continue;
    for (let k = 1; k < literal.length; k++) {
      if (start + k >= text.length) return { error: text.length };
      if (text[start + k] !== literal[k]) return { error: start + k };
    }
    return { end: start + literal.length };
  }
  return scanNumber(text, start);
}

/** RFC 8259 6: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?; the error is where a digit was needed. */
function scanNumber(text: string, start: number): Scan {
  let i = start;
  if (text[i] === '-') i++;
  if (text[i] === '0') i++;
  else if (!isDigit(text[i])) return { error: Math.min(i, text.length) };
  while (isDigit(text[i])) i++;
  if (text[i] === '.') {
    i++;
    if (!isDigit(text[i])) return { error: Math.min(i, text.length) };
    while (isDigit(text[i])) i++;
  }
  if (text[i] === 'e' || text[i] === 'E') {
    i++;
    if (text[i] === '+' || text[i] === '-') i++;
    if (!isDigit(text[i])) return { error: Math.min(i, text.length) };
    while (isDigit(text[i])) i++;
  }
  return { end: i };
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/**
 * The offset of the first character that makes `text` invalid JSON (text.length when it ends too
 * early), or -1 when it is valid. Iterative, so a file of a million `[` cannot overflow the stack.
 */
export function firstJsonError(text: string): number {
  const open: ('{' | '[')[] = [];
  let expect: 'value' | 'first-value' | 'key' | 'first-key' | 'colon' | 'next' = 'value';
  let i = 0;
  for (;;) {
    while (i < text.length && ' \t\n\r'.includes(text.charAt(i))) i++;
    if (i >= text.length) return expect === 'next' && open.length === 0 ? -1 : text.length;
    const c = text.charAt(i);
    if (expect === 'first-value' && c === ']') {
      open.pop();
      i++;
      expect = 'next';
    } else if (expect === 'first-key' && c === '}') {
      open.pop();
      i++;
      expect = 'next';
    } else if (expect === 'value' || expect === 'first-value') {
      if (c === '{' || c === '[') {
        open.push(c);
        i++;
        expect = c === '{' ? 'first-key' : 'first-value';
        continue;
      }
      const scalar = scanScalar(text, i);
      if ('error' in scalar) return scalar.error;
      i = scalar.end;
      expect = 'next';
    } else if (expect === 'key' || expect === 'first-key') {
      if (c !== '"') return i;
      const key = scanString(text, i);
      if ('error' in key) return key.error;
      i = key.end;
      expect = 'colon';
    } else if (expect === 'colon') {
      if (c !== ':') return i;
      i++;
      expect = 'value';
    } else {
      const top = open.at(-1);
      if (top === undefined) return i;
      if (c === ',') {
        i++;
        expect = top === '{' ? 'key' : 'value';
      } else if ((c === '}' && top === '{') || (c === ']' && top === '[')) {
        open.pop();
        i++;
      } else return i;
    }
  }
}
