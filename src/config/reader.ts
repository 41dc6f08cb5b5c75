import { durationNeedsUnit, formatDuration, parseDuration } from './duration.js';
import type { ConfigNode, MapEntry, MapNode, Position, Problem, ScalarNode } from './positions.js';
import type { Checked } from './values.js';

/**
 * Typed reading of the positioned tree. Every reader reports what is wrong at the node's position
 * and returns undefined; it never throws, so one pass collects every mistake. A node whose
 * ${VAR} expansion already failed yields undefined silently (it has its own message).
 */

export type PathSegment = string | number;
export type Path = readonly PathSegment[];

/** api.listen, zones[example.com].records[www][1].ttl */
export function formatPath(path: Path): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${segment}]`;
  }
  return out;
}

export class Reporter {
  readonly problems: Problem[] = [];

  report(pos: Position, path: Path, reason: string): void {
    this.problems.push({ pos, message: path.length > 0 ? `${formatPath(path)}: ${reason}` : reason });
  }

  /** A message that names its subject itself (used for the wording the docs promise verbatim). */
  reportRaw(pos: Position, message: string): void {
    this.problems.push({ pos, message });
  }
}

export type Reader<T> = (node: ConfigNode, path: Path) => T | undefined;

function describe(node: ConfigNode): string {
  if (node.kind === 'map') return 'a mapping';
  if (node.kind === 'seq') return 'a list';
  if (node.value === null) return 'empty';
  return `the ${typeof node.value} ${typeof node.value === 'string' ? JSON.stringify(node.value) : String(node.value)}`;
}

/** Levenshtein distance, for "did you mean" hints on misspelt keys. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1;
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

export interface MapRules {
  readonly allowed: readonly string[];
  /** Keys that exist elsewhere but not here, with the reason ("path does not apply to tcp checks"). */
  readonly misplaced?: Readonly<Record<string, string>>;
}

/** A mapping whose keys were checked against the allowed list. */
export class MapView {
  constructor(
    readonly reporter: Reporter,
    readonly node: MapNode,
    readonly path: Path,
  ) {}

  get pos(): Position {
    return this.node.pos;
  }

  entry(key: string): MapEntry | undefined {
    return this.node.entries.find((e) => e.key === key);
  }

  has(key: string): boolean {
    return this.entry(key) !== undefined;
  }

  at(key: string): Path {
    return [...this.path, key];
  }

  /** The value, or undefined (reported) when missing or invalid. */
  required<T>(key: string, read: Reader<T>, hint = ''): T | undefined {
    const entry = this.entry(key);
    if (entry === undefined) {
      this.reporter.report(this.node.pos, this.path, `${key} is required${hint}`);
      return undefined;
    }
    if (isEmpty(entry.value)) {
      this.reporter.report(entry.keyPos, this.at(key), `needs a value${hint}`);
      return undefined;
    }
    return read(entry.value, this.at(key));
  }

  /** The value, the fallback when the key is absent, or undefined (reported) when invalid. */
  optional<T>(key: string, read: Reader<T>, fallback: T): T | undefined {
    const entry = this.entry(key);
    if (entry === undefined) return fallback;
    if (isEmpty(entry.value)) {
      this.reporter.report(entry.keyPos, this.at(key), 'needs a value (or leave the key out for the default)');
      return undefined;
    }
    return read(entry.value, this.at(key));
  }

  /** Like optional, without a default: absent is { present: false }. */
  maybe<T>(key: string, read: Reader<T>): { readonly present: false } | { readonly present: true; readonly value: T | undefined } {
    const entry = this.entry(key);
    if (entry === undefined) return { present: false };
    if (isEmpty(entry.value)) {
      this.reporter.report(entry.keyPos, this.at(key), 'needs a value (or leave the key out)');
      return { present: true, value: undefined };
    }
    return { present: true, value: read(entry.value, this.at(key)) };
  }
}

function isEmpty(node: ConfigNode): boolean {
  return node.kind === 'scalar' && node.value === null && !node.unresolved;
}

/** Reads a mapping and reports every key outside rules.allowed, at the key itself. */
export function readMap(reporter: Reporter, node: ConfigNode, path: Path, rules: MapRules): MapView | undefined {
  if (node.kind !== 'map') {
    if (!(node.kind === 'scalar' && node.unresolved)) reporter.report(node.pos, path, `expected a mapping, found ${describe(node)}`);
    return undefined;
  }
  for (const entry of node.entries) {
    if (rules.allowed.includes(entry.key)) continue;
    const misplaced = rules.misplaced?.[entry.key];
    if (misplaced !== undefined) {
      reporter.report(entry.keyPos, [...path, entry.key], misplaced);
      continue;
    }
    const close = rules.allowed.find((k) => distance(k, entry.key) <= Math.max(1, Math.floor(k.length / 4)));
    const hint = close !== undefined ? `; did you mean ${close}?` : `; expected one of: ${rules.allowed.join(', ')}`;
    reporter.report(entry.keyPos, [...path, entry.key], `unknown key${hint}`);
  }
  return new MapView(reporter, node, path);
}

/** A mapping with free-form keys (providers, zones, records, resolve): every entry in order. */
export function readEntries(reporter: Reporter, node: ConfigNode, path: Path): readonly MapEntry[] | undefined {
  if (node.kind === 'map') return node.entries;
  if (isEmpty(node)) return [];
  if (!(node.kind === 'scalar' && node.unresolved)) reporter.report(node.pos, path, `expected a mapping, found ${describe(node)}`);
  return undefined;
}

function scalarOf(reporter: Reporter, node: ConfigNode, path: Path, expected: string): ScalarNode | undefined {
  if (node.kind !== 'scalar') {
    reporter.report(node.pos, path, `expected ${expected}, found ${describe(node)}`);
    return undefined;
  }
  return node.unresolved ? undefined : node;
}

export interface Readers {
  readonly reporter: Reporter;
  readonly string: Reader<string>;
  /** A string that may be empty (TXT data). */
  readonly text: Reader<string>;
  readonly int: (min: number, max: number) => Reader<number>;
  readonly bool: Reader<boolean>;
  readonly oneOf: <T extends string>(options: readonly T[]) => Reader<T>;
  /** A duration in ms of at least min ms. */
  readonly duration: (min: number) => Reader<number>;
  readonly list: Reader<readonly ConfigNode[]>;
  /** A string passed through a value check (host name, host:port, URL, record data). */
  readonly checked: <T>(check: (text: string) => Checked<T>) => Reader<T>;
}

export function readersFor(reporter: Reporter): Readers {
  const string = (node: ConfigNode, path: Path): string | undefined => {
    const s = scalarOf(reporter, node, path, 'a string');
    if (s === undefined) return undefined;
    if (typeof s.value !== 'string') {
      reporter.report(s.pos, path, `expected a string, found ${describe(s)} (write it in quotes)`);
      return undefined;
    }
    if (s.value.trim() === '') {
      reporter.report(s.pos, path, 'must not be empty');
      return undefined;
    }
    return s.value;
  };

  const text = (node: ConfigNode, path: Path): string | undefined => {
    const s = scalarOf(reporter, node, path, 'a string');
    if (s === undefined) return undefined;
    if (typeof s.value !== 'string') {
      reporter.report(s.pos, path, `expected a string, found ${describe(s)} (write it in quotes)`);
      return undefined;
    }
    return s.value;
  };

  const int =
    (min: number, max: number): Reader<number> =>
    (node, path) => {
      const s = scalarOf(reporter, node, path, 'an integer');
      if (s === undefined) return undefined;
      const value = typeof s.value === 'number' ? s.value : s.expanded && typeof s.value === 'string' && /^-?\d+$/.test(s.value) ? Number(s.value) : undefined;
      if (value === undefined || !Number.isInteger(value)) {
        reporter.report(s.pos, path, `expected an integer, found ${describe(s)}`);
        return undefined;
      }
      if (value < min || value > max) {
        reporter.report(s.pos, path, `${value} is out of range ${min}..${max}`);
        return undefined;
      }
      return value;
    };

  const bool = (node: ConfigNode, path: Path): boolean | undefined => {
    const s = scalarOf(reporter, node, path, 'true or false');
    if (s === undefined) return undefined;
    if (typeof s.value === 'boolean') return s.value;
    if (s.expanded && (s.value === 'true' || s.value === 'false')) return s.value === 'true';
    reporter.report(s.pos, path, `expected true or false, found ${describe(s)}`);
    return undefined;
  };

  const oneOf =
    <T extends string>(options: readonly T[]): Reader<T> =>
    (node, path) => {
      const s = scalarOf(reporter, node, path, `one of ${options.join(', ')}`);
      if (s === undefined) return undefined;
      const found = options.find((o) => o === s.value);
      if (found === undefined) {
        reporter.report(s.pos, path, `expected one of ${options.join(', ')}, found ${describe(s)}`);
        return undefined;
      }
      return found;
    };

  const duration =
    (min: number): Reader<number> =>
    (node, path) => {
      const s = scalarOf(reporter, node, path, 'a duration such as 5s');
      if (s === undefined) return undefined;
      if (typeof s.value === 'number') {
        reporter.report(s.pos, path, durationNeedsUnit(s.raw));
        return undefined;
      }
      if (typeof s.value !== 'string') {
        reporter.report(s.pos, path, `expected a duration such as 5s, found ${describe(s)}`);
        return undefined;
      }
      const parsed = parseDuration(s.value);
      if (!parsed.ok) {
        reporter.report(s.pos, path, parsed.reason);
        return undefined;
      }
      if (parsed.ms < min) {
        reporter.report(s.pos, path, min === 1 ? 'must be longer than 0s' : `must be at least ${formatDuration(min)}`);
        return undefined;
      }
      return parsed.ms;
    };

  const list = (node: ConfigNode, path: Path): readonly ConfigNode[] | undefined => {
    if (node.kind === 'seq') return node.items;
    if (!(node.kind === 'scalar' && node.unresolved)) reporter.report(node.pos, path, `expected a list, found ${describe(node)}`);
    return undefined;
  };

  const checked =
    <T>(check: (text: string) => Checked<T>): Reader<T> =>
    (node, path) => {
      const s = string(node, path);
      if (s === undefined) return undefined;
      const result = check(s);
      if (!result.ok) {
        reporter.report(node.pos, path, result.reason);
        return undefined;
      }
      return result.value;
    };

  return { reporter, string, text, int, bool, oneOf, duration, list, checked };
}
