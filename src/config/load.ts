import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ConfigError, DnsQuorumError } from '../lib/errors.js';
import type { ConfigIssue } from '../lib/errors.js';
import { expandTree, hideEnvironmentValues } from './env.js';
import { deepFreeze } from './freeze.js';
import { FILE_START, parseYaml } from './positions.js';
import type { Problem } from './positions.js';
import { Reporter, readersFor } from './reader.js';
import { readConfig } from './schema.js';
import type { ReadSecretFile } from './secrets.js';
import type { ResolvedConfig } from './types.js';

/**
 * Loading: YAML with positions -> ${VAR} expansion -> validation and resolution -> deep freeze.
 * Every problem found is collected and thrown together as one ConfigError; after a YAML syntax
 * error nothing else is checked, because a broken document's shape cannot be trusted.
 */

const readSecretFileSync: ReadSecretFile = (path) => readFileSync(path, 'utf8');

function byPosition(a: Problem, b: Problem): number {
  return a.pos.line - b.pos.line || a.pos.col - b.pos.col;
}

function toIssues(file: string, problems: readonly Problem[]): ConfigIssue[] {
  return [...problems].sort(byPosition).map((p) => ({ file, line: p.pos.line, col: p.pos.col, message: p.message }));
}

/**
 * Parses and validates config text. `file` names the text in issues (as given) and anchors
 * relative paths (stateDir, secret files) at its directory.
 */
export function parseConfigText(
  text: string,
  file: string,
  env: NodeJS.ProcessEnv,
  readSecretFile: ReadSecretFile = readSecretFileSync,
): ResolvedConfig {
  const parsed = parseYaml(text);
  if (parsed.problems.length > 0) throw new ConfigError(toIssues(file, parsed.problems));

  const source = resolve(file);
  const baseDir = dirname(source);
  const expansionProblems: Problem[] = [];
  const root = parsed.root === undefined ? undefined : expandTree(parsed.root, env, expansionProblems);
  const reporter = new Reporter();
  const config = readConfig(readersFor(reporter), root, { source, baseDir, env, secrets: { baseDir, readSecretFile } });
  const problems = [...expansionProblems, ...reporter.problems];
  if (problems.length > 0) throw new ConfigError(toIssues(file, hideEnvironmentValues(problems, parsed.root, env)));
  if (config === undefined) {
    throw new DnsQuorumError('DQ_INTERNAL', `${file}: the configuration was refused without a reason being recorded`);
  }
  return deepFreeze({ source, ...config });
}

function readReason(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    if (err.code === 'ENOENT') return 'no such file';
    if (err.code === 'EACCES') return 'permission denied';
    if (err.code === 'EISDIR') return 'is a directory, not a file';
  }
  return err instanceof Error ? err.message : String(err);
}

/** Reads, validates and resolves a config file; every problem comes back in one ConfigError. */
export async function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): Promise<ResolvedConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err: unknown) {
    throw new ConfigError([{ file: path, line: FILE_START.line, col: FILE_START.col, message: `cannot read the config file: ${readReason(err)}` }], {
      cause: err,
    });
  }
  return parseConfigText(text, path, env);
}
