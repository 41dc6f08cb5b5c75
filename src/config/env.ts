import type { ConfigNode, MapEntry, Problem, ScalarNode } from './positions.js';
import { formatPath } from './reader.js';
import type { Path } from './reader.js';

/**
 * ${VAR} and ${VAR:-default} references inside string scalars. Shell semantics for the default:
 * it applies when the variable is unset or empty. "$${" writes a literal "${". Expanded text is
 * never expanded again.
 */

export interface Reference {
  readonly name: string;
  readonly fallback?: string;
}

export type Expansion =
  | { readonly ok: true; readonly value: string; readonly references: readonly Reference[] }
  | { readonly ok: false; readonly errors: readonly string[] };

const REFERENCE_BODY = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/;

/** Expands every reference in text, or lists every reason it cannot (each missing variable by name). */
export function expandReferences(text: string, env: NodeJS.ProcessEnv): Expansion {
  let out = '';
  const references: Reference[] = [];
  const errors: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('$${', i)) {
      out += '${';
      i += 3;
      continue;
    }
    if (!text.startsWith('${', i)) {
      out += text.charAt(i);
      i += 1;
      continue;
    }
    const close = text.indexOf('}', i + 2);
    if (close < 0) {
      errors.push('unclosed ${ reference; write ${NAME} or ${NAME:-default} (or $${ for a literal "${")');
      break;
    }
    const body = text.slice(i + 2, close);
    const match = REFERENCE_BODY.exec(body);
    const name = match?.[1];
    if (match === null || name === undefined) {
      errors.push(`\${${body}} is not a valid reference; write \${NAME} or \${NAME:-default}`);
    } else {
      const fallback = match[2];
      references.push(fallback === undefined ? { name } : { name, fallback });
      const value = env[name];
      if (fallback !== undefined) {
        out += value === undefined || value === '' ? fallback : value;
      } else if (value === undefined) {
        errors.push(`environment variable ${name} is not set`);
      } else {
        out += value;
      }
    }
    i = close + 1;
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: out, references };
}

/** True when text is exactly one ${NAME} reference, nothing around it and no default. */
export function isWholeReference(text: string): boolean {
  return /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(text);
}

export function hasReference(text: string): boolean {
  return text.replaceAll('$${', '').includes('${');
}

function expandScalar(node: ScalarNode, path: Path, env: NodeJS.ProcessEnv, problems: Problem[]): ScalarNode {
  if (typeof node.value !== 'string' || !hasReference(node.value)) {
    if (typeof node.value === 'string' && node.value.includes('$${')) {
      return { ...node, value: node.value.replaceAll('$${', '${') };
    }
    return node;
  }
  const result = expandReferences(node.value, env);
  if (!result.ok) {
    const prefix = path.length > 0 ? `${formatPath(path)}: ` : '';
    for (const message of result.errors) problems.push({ pos: node.pos, message: `${prefix}${message}` });
    return { ...node, unresolved: true };
  }
  return { ...node, value: result.value, expanded: true };
}

/** A copy of the tree with every string value expanded. Keys are left as written. */
export function expandTree(node: ConfigNode, env: NodeJS.ProcessEnv, problems: Problem[], path: Path = []): ConfigNode {
  switch (node.kind) {
    case 'scalar':
      return expandScalar(node, path, env, problems);
    case 'seq':
      return { ...node, items: node.items.map((item, i) => expandTree(item, env, problems, [...path, i])) };
    case 'map':
      return {
        ...node,
        entries: node.entries.map((entry): MapEntry => ({ ...entry, value: expandTree(entry.value, env, problems, [...path, entry.key]) })),
      };
  }
}

/** Shorter values are left in messages: no secret is that short, and numbers such as ports would garble them. */
const MIN_HIDDEN_LENGTH = 6;

/**
 * Replaces, in problem messages, every value a ${VAR} reference in the tree took from the
 * environment with the reference itself. Any variable may hold a secret, and a secret's reference
 * written into the wrong field (api.listen: ${DNSQUORUM_API_TOKEN}) must not print the secret in
 * the error about that field; the reference says just as well which value is wrong.
 */
export function hideEnvironmentValues(problems: readonly Problem[], node: ConfigNode | undefined, env: NodeJS.ProcessEnv): Problem[] {
  const hidden = new Map<string, string>();
  const visit = (n: ConfigNode): void => {
    if (n.kind === 'seq') n.items.forEach(visit);
    else if (n.kind === 'map') n.entries.forEach((e) => { visit(e.value); });
    else if (typeof n.value === 'string' && hasReference(n.value)) {
      const result = expandReferences(n.value, env);
      for (const { name } of result.ok ? result.references : []) {
        const value = env[name];
        if (value === undefined || value.length < MIN_HIDDEN_LENGTH) continue;
        // As it is, and as a message quoting it with JSON.stringify would escape it.
        hidden.set(value, `\${${name}}`);
        hidden.set(JSON.stringify(value).slice(1, -1), `\${${name}}`);
      }
    }
  };
  if (node !== undefined) visit(node);
  if (hidden.size === 0) return [...problems];
  const longestFirst = [...hidden].sort(([a], [b]) => b.length - a.length);
  return problems.map((p) => ({ ...p, message: longestFirst.reduce((message, [value, reference]) => message.replaceAll(value, reference), p.message) }));
}
