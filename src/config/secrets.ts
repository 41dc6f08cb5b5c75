import { isAbsolute, resolve } from 'node:path';
import { isWholeReference } from './env.js';
import type { ConfigNode } from './positions.js';
import { formatPath, readMap } from './reader.js';
import type { Path, Readers } from './reader.js';

/**
 * Secrets (api.token, cluster.secret, providers.*.apiKey) come from `${VAR}` or `{ file: PATH }`,
 * never from the YAML itself, so a config file can be committed and shown to people. No message
 * here ever contains a secret's value.
 */

export type ReadSecretFile = (path: string) => string;

export interface SecretSource {
  /** Relative secret file paths resolve against this directory (the config file's). */
  readonly baseDir: string;
  readonly readSecretFile: ReadSecretFile;
}

function fsReason(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') {
    const known: Readonly<Record<string, string>> = {
      ENOENT: 'no such file',
      EACCES: 'permission denied',
      EISDIR: 'is a directory',
    };
    return known[err.code] ?? err.code;
  }
  return err instanceof Error ? err.message : String(err);
}

function fromFile(readers: Readers, node: ConfigNode, path: Path, source: SecretSource): string | undefined {
  const view = readMap(readers.reporter, node, path, { allowed: ['file'] });
  const file = view?.required('file', readers.string);
  if (view === undefined || file === undefined) return undefined;
  const pos = view.entry('file')?.value.pos ?? view.pos;
  const absolute = isAbsolute(file) ? file : resolve(source.baseDir, file);
  let content: string;
  try {
    content = source.readSecretFile(absolute);
  } catch (err: unknown) {
    readers.reporter.report(pos, view.at('file'), `cannot read secret file ${absolute}: ${fsReason(err)}`);
    return undefined;
  }
  const secret = content.replace(/[\r\n]+$/, '');
  if (secret === '') {
    readers.reporter.report(pos, view.at('file'), `secret file ${absolute} is empty`);
    return undefined;
  }
  return secret;
}

/** Reads a secret from its ${VAR} reference or { file: ... }; reports anything else. */
export function readSecret(readers: Readers, node: ConfigNode, path: Path, source: SecretSource): string | undefined {
  const { reporter } = readers;
  if (node.kind === 'map') return fromFile(readers, node, path, source);
  if (node.kind === 'seq') {
    reporter.report(node.pos, path, 'expected a ${VAR} reference or { file: ... }, found a list');
    return undefined;
  }
  if (node.unresolved) return undefined;
  if (typeof node.value === 'string' && isWholeReference(node.raw)) {
    if (node.value === '') {
      reporter.report(node.pos, path, `environment variable ${node.raw.slice(2, -1)} is empty`);
      return undefined;
    }
    return node.value;
  }
  if (node.expanded) {
    reporter.report(
      node.pos,
      path,
      'must be exactly one ${VAR} reference, with no text around it and no :-default, so that no part of the secret is in the YAML',
    );
    return undefined;
  }
  reporter.reportRaw(node.pos, `${formatPath(path)} must come from an \${ENV} reference or { file: ... }, not the YAML itself`);
  return undefined;
}
