import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { Document, Node as YamlNode, Scalar } from 'yaml';

/**
 * The YAML document as a small tree in which every node and every mapping key carries its
 * 1-based line and column, so that validation can point at the exact spot of each mistake.
 */

export interface Position {
  readonly line: number;
  readonly col: number;
}

/** A mistake found at a position; load.ts adds the file name. */
export interface Problem {
  readonly pos: Position;
  readonly message: string;
}

export interface ScalarNode {
  readonly kind: 'scalar';
  readonly pos: Position;
  readonly value: string | number | boolean | null;
  /** The scalar as written in the file, before ${VAR} expansion. */
  readonly raw: string;
  /** Written in quotes: never re-typed after ${VAR} expansion. */
  readonly quoted: boolean;
  /** The value came out of a ${VAR} expansion (numbers and booleans then arrive as strings). */
  readonly expanded: boolean;
  /** Expansion failed (and was reported): validators skip the node without a second message. */
  readonly unresolved: boolean;
}

export interface MapEntry {
  readonly key: string;
  readonly keyPos: Position;
  readonly value: ConfigNode;
}

export interface MapNode {
  readonly kind: 'map';
  readonly pos: Position;
  readonly entries: readonly MapEntry[];
}

export interface SeqNode {
  readonly kind: 'seq';
  readonly pos: Position;
  readonly items: readonly ConfigNode[];
}

export type ConfigNode = ScalarNode | MapNode | SeqNode;

export interface ParsedYaml {
  /** Undefined when the document is empty or so broken that nothing could be read. */
  readonly root: ConfigNode | undefined;
  readonly problems: readonly Problem[];
}

/**
 * One syntax error tends to set off a cascade of "unexpected token" errors on the lines after it;
 * the first error of each line is the useful one, and past a few the rest is noise.
 */
const MAX_SYNTAX_PROBLEMS = 10;

/** Aliases can make a small file expand into a huge tree ("billion laughs"); stop well before. */
const MAX_NODES = 100_000;

const START: Position = { line: 1, col: 1 };

/** The yaml package appends a source excerpt to its messages; the position already says where. */
function yamlMessage(code: string, message: string, text: string, offset: number): string {
  if (code === 'MULTIPLE_DOCS') return 'the file holds several YAML documents (---); dnsquorum reads exactly one';
  // The yaml package reads nested collections recursively and reports the engine's "Maximum call
  // stack size exceeded" when they nest deeper than its stack allows.
  if (code === 'RESOURCE_EXHAUSTION') return 'YAML syntax: lists or mappings are nested too deeply here to be read';
  // The excerpt and quoted tokens are dropped: the position says where, and a quoted token could
  // be a secret someone pasted into the file.
  const cut = message.search(/ at line \d+, column \d+|: ".*"$/);
  // In flow style, "{" and "}" are syntax: an unquoted ${VAR} breaks the line it is on.
  const hint = text.slice(offset - 1, offset + 1) === '${' ? ' (quote values holding ${VAR} inside { } or [ ])' : '';
  return `YAML syntax: ${cut >= 0 ? message.slice(0, cut) : message}${hint}`;
}

class TreeBuilder {
  readonly problems: Problem[] = [];
  private nodeCount = 0;
  private readonly resolving = new Set<YamlNode>();

  constructor(
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {}

  positionOf(node: YamlNode | null | undefined, fallback: Position): Position {
    const offset = node?.range?.[0];
    if (offset === undefined) return fallback;
    return this.lines.linePos(offset);
  }

  build(node: unknown, fallback: Position): ConfigNode | undefined {
    if (++this.nodeCount > MAX_NODES) {
      if (this.nodeCount === MAX_NODES + 1) {
        this.problems.push({ pos: fallback, message: `the document expands to more than ${MAX_NODES} nodes (aliases?)` });
      }
      return undefined;
    }
    if (node === null || node === undefined) {
      return { kind: 'scalar', pos: fallback, value: null, raw: '', quoted: false, expanded: false, unresolved: false };
    }
    if (isAlias(node)) {
      const pos = this.positionOf(node, fallback);
      const target = node.resolve(this.doc);
      if (target === undefined) {
        this.problems.push({ pos, message: `YAML syntax: alias *${node.source} has no anchor &${node.source} before it` });
        return undefined;
      }
      if (this.resolving.has(target)) {
        this.problems.push({ pos, message: `YAML syntax: alias *${node.source} refers to a node that contains it` });
        return undefined;
      }
      this.resolving.add(target);
      try {
        return this.build(target, pos);
      } finally {
        this.resolving.delete(target);
      }
    }
    if (isScalar(node)) return this.scalar(node, fallback);
    if (isMap(node)) {
      const pos = this.positionOf(node, fallback);
      const entries: MapEntry[] = [];
      for (const pair of node.items) {
        const keyNode = isScalar(pair.key) || isAlias(pair.key) ? pair.key : null;
        const keyPos = this.positionOf(pair.key as YamlNode | null, pos);
        const key = keyNode !== null && isScalar(keyNode) ? this.keyText(keyNode) : undefined;
        if (key === undefined) {
          this.problems.push({ pos: keyPos, message: 'mapping keys must be plain scalars' });
          continue;
        }
        const value = this.build(pair.value, keyPos);
        if (value !== undefined) entries.push({ key, keyPos, value });
      }
      return { kind: 'map', pos, entries };
    }
    if (isSeq(node)) {
      const pos = this.positionOf(node, fallback);
      const items: ConfigNode[] = [];
      for (const item of node.items) {
        const built = this.build(item, pos);
        if (built !== undefined) items.push(built);
      }
      return { kind: 'seq', pos, items };
    }
    this.problems.push({ pos: fallback, message: 'unsupported YAML node' });
    return undefined;
  }

  private scalar(node: Scalar, fallback: Position): ScalarNode {
    // An empty value ("key:") has no text of its own; point at its key instead.
    const empty = node.value === null && (node.source ?? '') === '';
    const pos = empty ? fallback : this.positionOf(node, fallback);
    const quoted = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE';
    const raw = typeof node.value === 'string' ? node.value : (node.source ?? String(node.value));
    const value = node.value;
    if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      return { kind: 'scalar', pos, value, raw, quoted, expanded: false, unresolved: false };
    }
    // Tagged scalars (!!binary, timestamps) have no place in this config; keep them as text.
    return { kind: 'scalar', pos, value: raw, raw, quoted, expanded: false, unresolved: false };
  }

  /** Keys as written: "1.10" stays "1.10" rather than becoming the number 1.1. */
  private keyText(node: Scalar): string | undefined {
    if (typeof node.value === 'string') return node.value;
    if (typeof node.value !== 'number' && typeof node.value !== 'boolean') return undefined;
    return node.source ?? String(node.value);
  }
}

/** Parses one YAML document into a positioned tree. Syntax errors become problems, never throws. */
export function parseYaml(text: string): ParsedYaml {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, version: '1.2' });
  const problems: Problem[] = [];
  const linesWithProblem = new Set<number>();
  let dropped = 0;
  for (const err of [...doc.errors, ...doc.warnings]) {
    const pos = lines.linePos(err.pos[0]);
    if (linesWithProblem.has(pos.line)) continue;
    if (problems.length >= MAX_SYNTAX_PROBLEMS) {
      dropped++;
      continue;
    }
    linesWithProblem.add(pos.line);
    problems.push({ pos, message: yamlMessage(err.code, err.message, text, err.pos[0]) });
  }
  const last = problems.at(-1);
  if (dropped > 0 && last !== undefined) {
    problems.push({ pos: last.pos, message: `YAML syntax: ${dropped} more errors after this one, most likely caused by the ones above` });
  }
  const builder = new TreeBuilder(doc, lines);
  const root = doc.contents === null ? undefined : builder.build(doc.contents, START);
  return { root, problems: [...problems, ...builder.problems] };
}

export const FILE_START = START;
