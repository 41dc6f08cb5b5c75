import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/lib/errors.js';
import { runCli } from '../helpers/cli.js';
import { faultCases, recordFault } from './fault-table.js';
import { STACK_LINE, describeError, runProperty } from './hostile-common.js';

/**
 * Fault "mutated config": the shipped configs, mutated line by line and byte by byte (lines
 * deleted, duplicated, swapped and re-indented, scalars replaced by odd strings, numbers, unicode
 * and huge values, the text cut short, ${...} references and binary bytes injected). Every mutant
 * either loads or is refused with a ConfigError whose every issue has file:line:col and a
 * message; never another exception, never a stack trace. The real CLI's `validate` is run on a
 * handful of them: exit 0 or 1, and no stack on stderr.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SOURCES = [
  'config/example.yaml',
  'config/demo.yaml',
  'test/fixtures/config/valid-minimal.yaml',
  'test/fixtures/config/valid-everything.yaml',
  'test/fixtures/config/valid-env.yaml',
  'test/fixtures/config/valid-secrets.yaml',
] as const;

/** What the shipped configs reference, so that the unmutated files load. */
const ENV: NodeJS.ProcessEnv = {
  DNSQUORUM_API_TOKEN: 'hostile-api-token',
  DNSQUORUM_CLUSTER_SECRET: 'hostile-cluster-secret',
  NS1_API_KEY: 'hostile-ns1-key',
  DQ_TEST_CLUSTER_SECRET: 'hostile-cluster-secret-2',
  DQ_TEST_PORT: '5301',
  DQ_TEST_TTL: '300',
  DQ_TEST_TLS_VERIFY: 'true',
  DQ_EMPTY: '',
  DQ_SPACES: '   ',
  DQ_YAMLISH: '{ a: [1, 2 }',
};

interface Source {
  readonly path: string;
  readonly text: string;
}

let sources: readonly Source[] = [];
let tmp = '';

beforeAll(async () => {
  sources = await Promise.all(SOURCES.map(async (rel) => ({ path: join(ROOT, rel), text: await readFile(join(ROOT, rel), 'utf8') })));
  tmp = await mkdtemp(join(tmpdir(), 'dq-hostile-config-'));
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Mutations

const HUGE_STRING = 'x'.repeat(70_000);

/** Scalars that go in place of a value: odd strings, numbers, unicode, huge values, YAML syntax. */
const oddScalar: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.integer().map(String),
  fc.double().map(String),
  fc.bigInt({ min: -(2n ** 200n), max: 2n ** 200n }).map(String),
  fc.constantFrom(
    HUGE_STRING,
    '9'.repeat(400),
    '1e308',
    '1e309',
    '-0',
    '.nan',
    '.inf',
    '0x7fffffffffffffff',
    '0o777',
    '~',
    'null',
    'yes',
    'NO',
    '[]',
    '{}',
    '[1, [2, [3]]]',
    '{ a: b, c: { d: e } }',
    '&anchor value',
    '*anchor',
    '*undefined_alias',
    '!!binary aGVsbG8=',
    '!!timestamp 2001-12-14',
    '!!str',
    '!custom tag',
    '"unterminated',
    "'single",
    '|',
    '>-',
    '- item',
    '? complex',
    ': colon',
    '# comment only',
    '%YAML 1.1',
    '---',
    '...',
    '\t tab',
    '"\\u0000 nul"',
    '"\\uD800 lone surrogate"',
    '\u202e right-to-left \u202c',
    '\u{1F4A5}\u{1F4A5}',
    'ж.example.com.',
    '192.0.2.256',
    '::ffff:192.0.2.1',
    '[::1]:99999',
    '127.0.0.1:-1',
    'http://[::1',
    '0s',
    '-5s',
    '99999999999999999999h',
    '1.5e3ms',
    '100%',
    '-1%',
    '1e400%',
    // An alias bomb: each level doubles the tree.
    `&l0 [x, x]\n${Array.from({ length: 25 }, (_, i) => `l${String(i + 1)}: &l${String(i + 1)} [*l${String(i)}, *l${String(i)}]`).join('\n')}`,
  ),
);

/** ${...} references, well formed and not. */
const envReference: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '${DNSQUORUM_API_TOKEN}',
    '${DQ_MISSING}',
    '${DQ_MISSING:-}',
    '${DQ_MISSING:-fallback}',
    '${DQ_EMPTY}',
    '${DQ_SPACES}',
    '${DQ_YAMLISH}',
    '${}',
    '${',
    '}',
    '$${DQ_EMPTY}',
    '$$',
    '${DQ_MISSING:-${DQ_EMPTY}}',
    '${DQ_MISSING:-${}',
    '${1BAD}',
    '${DQ-BAD}',
    '${DQ_EMPTY:?required}',
    '${DQ_EMPTY:+set}',
    '${ DQ_EMPTY }',
    '"${DQ_TEST_PORT}"',
    `\${${'A'.repeat(5000)}}`,
    `\${DQ_MISSING:-${'d'.repeat(5000)}}`,
  ),
  fc.string({ maxLength: 20 }).map((s) => `\${${s}}`),
  fc.tuple(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 })).map(([a, b]) => `\${${a}:-${b}}`),
);

/** Nested lists or mappings, up to deep enough to exhaust a recursive parser's stack. */
const deepNesting: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom('flow-seq', 'flow-map', 'block-map', 'block-seq'),
    // Mostly shallow; now and then past the parser's limit (a few hundred levels), which costs ~0.1 s.
    fc.oneof({ arbitrary: fc.integer({ min: 1, max: 200 }), weight: 3 }, { arbitrary: fc.integer({ min: 201, max: 3000 }), weight: 1 }),
  )
  .map(([shape, depth]) => {
    switch (shape) {
      case 'flow-seq':
        return `${'['.repeat(depth)}x${']'.repeat(depth)}`;
      case 'flow-map':
        return `${'{ a: '.repeat(depth)}1${' }'.repeat(depth)}`;
      case 'block-map':
        return `\n${Array.from({ length: Math.min(depth, 500) }, (_, i) => `${' '.repeat(i + 1)}k${String(i)}:`).join('\n')} x`;
      case 'block-seq':
        return `\n${Array.from({ length: Math.min(depth, 500) }, (_, i) => `${' '.repeat(i + 1)}-`).join('\n')} x`;
    }
  });

type Mutation =
  | { readonly kind: 'delete-line'; readonly at: number }
  | { readonly kind: 'duplicate-line'; readonly at: number }
  | { readonly kind: 'swap-lines'; readonly at: number; readonly other: number }
  | { readonly kind: 'indent'; readonly at: number; readonly indent: string }
  | { readonly kind: 'replace-scalar'; readonly at: number; readonly value: string }
  | { readonly kind: 'inject-reference'; readonly at: number; readonly reference: string; readonly replace: boolean }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'binary'; readonly at: number; readonly bytes: Uint8Array };

/** `at` and `other` are fractions of the text's lines or bytes, so a mutation fits any source. */
const fraction = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fraction.map((at): Mutation => ({ kind: 'delete-line', at })),
  fraction.map((at): Mutation => ({ kind: 'duplicate-line', at })),
  fc.tuple(fraction, fraction).map(([at, other]): Mutation => ({ kind: 'swap-lines', at, other })),
  fc
    .tuple(fraction, fc.oneof(fc.constantFrom('', ' ', '  ', '   ', '\t', ' \t', '        '), fc.string({ unit: fc.constantFrom(' ', '\t'), maxLength: 30 })))
    .map(([at, indent]): Mutation => ({ kind: 'indent', at, indent })),
  { arbitrary: fc.tuple(fraction, oddScalar).map(([at, value]): Mutation => ({ kind: 'replace-scalar', at, value })), weight: 4 },
  fc.tuple(fraction, deepNesting).map(([at, value]): Mutation => ({ kind: 'replace-scalar', at, value })),
  { arbitrary: fc.tuple(fraction, envReference, fc.boolean()).map(([at, reference, replace]): Mutation => ({ kind: 'inject-reference', at, reference, replace })), weight: 2 },
  fraction.map((at): Mutation => ({ kind: 'truncate', at })),
  fc.tuple(fraction, fc.uint8Array({ minLength: 1, maxLength: 16 })).map(([at, bytes]): Mutation => ({ kind: 'binary', at, bytes })),
);

function lineIndex(lines: readonly string[], at: number): number {
  return Math.min(lines.length - 1, Math.floor(at * lines.length));
}

/** The value part of a line (after "key:" or "- "), or undefined when the line has none. */
const VALUE_AFTER = /^(\s*(?:-\s+)?(?:"[^"]*"|'[^']*'|[^\s:#][^:#]*?)?:\s+|\s*-\s+)(.*)$/;

function mutate(source: Buffer, m: Mutation): Buffer {
  if (m.kind === 'truncate') return source.subarray(0, Math.floor(m.at * source.length));
  if (m.kind === 'binary') {
    const at = Math.floor(m.at * source.length);
    return Buffer.concat([source.subarray(0, at), Buffer.from(m.bytes), source.subarray(at)]);
  }
  const lines = source.toString('utf8').split('\n');
  const i = lineIndex(lines, m.at);
  const line = lines[i] ?? '';
  switch (m.kind) {
    case 'delete-line':
      lines.splice(i, 1);
      break;
    case 'duplicate-line':
      lines.splice(i, 0, line);
      break;
    case 'swap-lines': {
      const j = lineIndex(lines, m.other);
      lines[i] = lines[j] ?? '';
      lines[j] = line;
      break;
    }
    case 'indent':
      lines[i] = m.indent + line.trimStart();
      break;
    case 'replace-scalar': {
      const match = VALUE_AFTER.exec(line);
      lines[i] = match === null ? `${line}${m.value}` : `${match[1] ?? ''}${m.value}`;
      break;
    }
    case 'inject-reference': {
      const match = VALUE_AFTER.exec(line);
      if (match === null) lines[i] = `${line}${m.reference}`;
      else lines[i] = m.replace ? `${match[1] ?? ''}${m.reference}` : `${match[1] ?? ''}${match[2] ?? ''}${m.reference}`;
      break;
    }
  }
  return Buffer.from(lines.join('\n'), 'utf8');
}

interface Mutant {
  readonly source: Source;
  readonly mutations: readonly Mutation[];
}

const mutant: fc.Arbitrary<Mutant> = fc
  .record({
    source: fc.nat().map((n) => sources[n % sources.length] as Source),
    mutations: fc.array(mutation, { minLength: 1, maxLength: 4 }),
  })
  // fast-check prints a counterexample with this: the file's path, not its whole text.
  .map((m) => Object.assign(m, { [fc.toStringMethod]: () => describeMutant(m) }));

function mutantBytes(m: Mutant): Buffer {
  return m.mutations.reduce<Buffer>((bytes, one) => mutate(bytes, one), Buffer.from(m.source.text, 'utf8'));
}

/** Shown with a failing case: which file and mutations, not the 70 kB strings they may carry. */
function describeMutant(m: Mutant): string {
  const short = (v: unknown): unknown => (typeof v === 'string' && v.length > 80 ? `${v.slice(0, 40)}...(${v.length} chars)` : v);
  return `${m.source.path} with ${JSON.stringify(m.mutations.map((x) => Object.fromEntries(Object.entries(x).map(([k, v]) => [k, v instanceof Uint8Array ? [...v] : short(v)]))))}`;
}

/** What JavaScript itself says when code breaks: a message holding it explains nothing to an operator. */
const ENGINE_TEXT = /\[object Object\]|Maximum call stack|Cannot read propert|is not a function|is not iterable|Invalid array length/;

/** Undefined when the outcome is one the contract allows: loaded, or a ConfigError with positioned issues. */
function problemWith(m: Mutant): string | undefined {
  // loadConfigFile reads the file as UTF-8; the mutant's bytes go through the same decoding.
  const text = mutantBytes(m).toString('utf8');
  try {
    parseConfigText(text, m.source.path, ENV);
    return undefined;
  } catch (err) {
    if (!(err instanceof ConfigError)) return `threw ${describeError(err)}`;
    if (err.issues.length === 0) return 'threw a ConfigError without issues';
    for (const issue of err.issues) {
      const where = `${issue.file}:${String(issue.line)}:${String(issue.col)}`;
      if (issue.file !== m.source.path) return `issue names file ${issue.file}, not ${m.source.path}`;
      if (!Number.isInteger(issue.line) || issue.line < 1 || !Number.isInteger(issue.col) || issue.col < 1) return `issue at ${where} has no valid line:col`;
      if (typeof issue.message !== 'string' || issue.message.trim() === '') return `issue at ${where} has no message`;
      if (STACK_LINE.test(issue.message)) return `issue at ${where} carries a stack trace: ${issue.message}`;
      if (ENGINE_TEXT.test(issue.message)) return `issue at ${where} passes on a JavaScript engine message instead of saying what is wrong: ${issue.message}`;
    }
    return undefined;
  }
}

describe('fault: mutated config', () => {
  it('every shipped config loads unmutated (the mutations start from valid files)', () => {
    for (const source of sources) expect(() => parseConfigText(source.text, source.path, ENV), source.path).not.toThrow();
  });

  it('every mutant loads or is refused with file:line:col issues, never another exception', async (context) => {
    const numRuns = faultCases(400, 2500);
    // Found by this property once: the parser's stack overflow came out as "Maximum call stack size exceeded".
    const example = sources[0];
    if (example === undefined) throw new Error('no source config');
    const lines = example.text.split('\n');
    const regionLine = (lines.findIndex((l) => l.startsWith('region:')) + 0.5) / lines.length;
    const tooDeep: Mutant = { source: example, mutations: [{ kind: 'replace-scalar', at: regionLine, value: `${'['.repeat(3000)}x${']'.repeat(3000)}` }] };
    const outcome = await runProperty(
      fc.property(mutant, (m) => {
        const problem = problemWith(m);
        if (problem !== undefined) throw new Error(`${describeMutant(m)}: ${problem}`);
      }),
      { numRuns, examples: [[tooDeep]] },
    );
    recordFault(context, { fault: 'mutated config', cases: outcome.cases, passed: outcome.passed, lost: 0 });
    expect(outcome.failure).toBeUndefined();
    expect(outcome.cases).toBeGreaterThanOrEqual(numRuns);
  }, 400_000);

  it('dnsquorum validate on mutants exits 0 or 1 and prints no stack trace', async (context) => {
    const numRuns = faultCases(5, 25);
    let index = 0;
    const outcome = await runProperty(
      fc.asyncProperty(mutant, async (m) => {
        const file = join(tmp, `mutant-${String(index++)}.yaml`);
        await writeFile(file, mutantBytes(m));
        const result = await runCli(['validate', '--config', file], { env: ENV, cwd: tmp });
        if (result.code !== 0 && result.code !== 1) throw new Error(`${describeMutant(m)}: exit ${String(result.code)}; stderr:\n${result.stderr}`);
        if (STACK_LINE.test(result.stderr) || STACK_LINE.test(result.stdout)) throw new Error(`${describeMutant(m)}: a stack trace was printed:\n${result.stderr}`);
        if (result.code === 1 && !/:\d+:\d+: /.test(result.stderr)) throw new Error(`${describeMutant(m)}: exit 1 without a file:line:col error:\n${result.stderr}`);
      }),
      // Each case is a process: no shrinking, a failing case is reported as found.
      { numRuns, endOnFailure: true },
    );
    recordFault(context, { fault: 'mutated config', cases: outcome.cases, passed: outcome.passed, lost: 0 });
    expect(outcome.failure).toBeUndefined();
    expect(outcome.cases).toBe(numRuns);
  }, 120_000);
});
