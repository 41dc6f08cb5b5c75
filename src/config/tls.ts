import { isAbsolute, resolve } from 'node:path';
import { caBundleProblem, fileReadReason, tlsPairProblem } from '../lib/tls-files.js';
import type { TlsFiles } from '../lib/tls-files.js';
import type { ConfigNode } from './positions.js';
import { readMap } from './reader.js';
import type { MapView, Path, Readers } from './reader.js';
import type { SecretSource } from './secrets.js';

/**
 * api.tls and cluster.ca: paths to PEM files (relative ones resolve against the config file's
 * directory), read and checked when the config is, so that `dnsquorum validate` refuses a pair the
 * server could not serve. The config keeps the paths, not the contents: the daemon reads the files
 * again at start and when they change. No message quotes a file's content.
 */

function absolutePath(source: SecretSource, path: string): string {
  return isAbsolute(path) ? path : resolve(source.baseDir, path);
}

/** The file at view[key], read; undefined (reported at the path's position) when it cannot be. */
function readFileAt(readers: Readers, view: MapView, key: string, file: string, source: SecretSource): string | undefined {
  try {
    return source.readSecretFile(file);
  } catch (err) {
    readers.reporter.report(view.entry(key)?.value.pos ?? view.pos, view.at(key), `cannot read ${file}: ${fileReadReason(err)}`);
    return undefined;
  }
}

/** api.tls: { cert, key }. */
export function readApiTls(readers: Readers, node: ConfigNode, path: Path, source: SecretSource): TlsFiles | undefined {
  const view = readMap(readers.reporter, node, path, { allowed: ['cert', 'key'] });
  if (view === undefined) return undefined;
  const certPath = view.required('cert', readers.string, ': the PEM certificate file (the leaf first, then any intermediates)');
  const keyPath = view.required('key', readers.string, ': the PEM private key file (unencrypted)');
  if (certPath === undefined || keyPath === undefined) return undefined;
  const files: TlsFiles = { cert: absolutePath(source, certPath), key: absolutePath(source, keyPath) };
  const cert = readFileAt(readers, view, 'cert', files.cert, source);
  const key = readFileAt(readers, view, 'key', files.key, source);
  if (cert === undefined || key === undefined) return undefined;
  const problem = tlsPairProblem(cert, key);
  if (problem === undefined) return files;
  if (problem.part === 'pair') {
    readers.reporter.report(view.pos, view.path, `${files.cert} and ${files.key} are not a pair: ${problem.reason}`);
  } else {
    readers.reporter.report(view.entry(problem.part)?.value.pos ?? view.pos, view.at(problem.part), `${files[problem.part]} ${problem.reason}`);
  }
  return undefined;
}

/** cluster.ca: the path of a PEM bundle of CA certificates. */
export function readCaBundlePath(readers: Readers, node: ConfigNode, path: Path, source: SecretSource): string | undefined {
  const given = readers.string(node, path);
  if (given === undefined) return undefined;
  const file = absolutePath(source, given);
  let pem: string;
  try {
    pem = source.readSecretFile(file);
  } catch (err) {
    readers.reporter.report(node.pos, path, `cannot read ${file}: ${fileReadReason(err)}`);
    return undefined;
  }
  const problem = caBundleProblem(pem);
  if (problem !== undefined) {
    readers.reporter.report(node.pos, path, `${file} ${problem}`);
    return undefined;
  }
  return file;
}
