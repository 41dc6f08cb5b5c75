import { decodeName } from './names.js';

/**
 * Route53 answers a refused ChangeResourceRecordSets with InvalidChangeBatch and puts every
 * reason in the one `<Message>`, bracketed and comma-joined:
 *
 *   [Tried to create resource record set [name='a.example.com.', type='A'] but it already exists,
 *    Tried to delete resource record set [name='b.example.com.', type='TXT'] but it was not found]
 *
 * The SDK's `messages` member stays empty for real Route53, so the text is all there is. Each
 * reason names its record set in a nested `[name='…', type='…'(, set-identifier='…')]`, which
 * is why the split below tracks bracket depth and quotes.
 */

export type ChangeProblem =
  /** CREATE of a record set that exists. */
  | 'already-exists'
  /** DELETE of a record set that does not exist. */
  | 'not-found'
  /** DELETE whose TTL or values differ from what Route53 holds. */
  | 'values-mismatch'
  /** Anything else: invalid data, CNAME conflicts, limits, out-of-zone names... */
  | 'other';

export interface ChangeBatchReason {
  readonly text: string;
  readonly problem: ChangeProblem;
  /** The action the reason names ("Tried to create ..."), when it names one. */
  readonly action?: 'CREATE' | 'DELETE' | 'UPSERT';
  /** The record set the reason names: lowercase FQDN with escapes decoded. */
  readonly name?: string;
  readonly type?: string;
  readonly setIdentifier?: string;
}

/** Splits at top-level ", " — never inside [...] or inside '...' within brackets. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let inQuote = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inQuote) {
      if (ch === "'") inQuote = false;
      continue;
    }
    if (ch === "'" && depth > 0) inQuote = true;
    else if (ch === '[') depth++;
    else if (ch === ']') depth = Math.max(0, depth - 1);
    else if (ch === ',' && depth === 0 && text[i + 1] === ' ') {
      parts.push(text.slice(start, i));
      start = i + 2;
      i++;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

/** True when the `[` at 0 is closed by the last character, i.e. the whole text is one list. */
function isOuterList(text: string): boolean {
  if (!text.startsWith('[') || !text.endsWith(']')) return false;
  let depth = 0;
  let inQuote = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inQuote) {
      if (ch === "'") inQuote = false;
      continue;
    }
    if (ch === "'" && depth > 1) inQuote = true;
    else if (ch === '[') depth++;
    else if (ch === ']') {
      depth--;
      if (depth === 0) return i === text.length - 1;
    }
  }
  return false;
}

function classify(text: string): ChangeProblem {
  if (/\balready exists\b/i.test(text) && /\btried to create\b/i.test(text)) return 'already-exists';
  if (/\bwas not found\b|\bnot found\b/i.test(text) && /\btried to (delete|upsert)\b/i.test(text)) return 'not-found';
  if (/\bvalues provided do not match\b|\bdo not match the current values\b/i.test(text)) return 'values-mismatch';
  return 'other';
}

function parseReason(text: string): ChangeBatchReason {
  const problem = classify(text);
  const verb = /\btried to (create|delete|upsert)\b/i.exec(text)?.[1]?.toUpperCase();
  const action = verb === 'CREATE' || verb === 'DELETE' || verb === 'UPSERT' ? verb : undefined;
  const target = /\[name='((?:[^'\\]|\\.)*)',\s*type='([^']*)'(?:,\s*set-identifier='((?:[^'\\]|\\.)*)')?\]/i.exec(text);
  const name = target?.[1];
  const type = target?.[2];
  const setIdentifier = target?.[3];
  return {
    text,
    problem,
    ...(action === undefined ? {} : { action }),
    ...(name === undefined ? {} : { name: decodeName(name) }),
    ...(type === undefined ? {} : { type: type.toUpperCase() }),
    ...(setIdentifier === undefined ? {} : { setIdentifier }),
  };
}

/** Every reason in an InvalidChangeBatch message, in the order Route53 gave them. */
export function parseInvalidChangeBatch(message: string): ChangeBatchReason[] {
  const text = message.trim();
  if (text === '') return [];
  const body = isOuterList(text) ? text.slice(1, -1) : text;
  return splitTopLevel(body).map(parseReason);
}
