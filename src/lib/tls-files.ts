import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import { DnsQuorumError, errorMessage } from './errors.js';

/**
 * The TLS files dnsquorum reads: the admin API's certificate and key (api.tls) and the CA bundle
 * peers are checked against (cluster.ca). The same checks run when the config is validated, when
 * the daemon starts and when a pair is reloaded, so a pair `dnsquorum validate` accepts is one the
 * server can serve, and a half-written rotation is refused before it replaces a working pair.
 */

/** Paths of a certificate (PEM, the leaf first, then any intermediates) and its private key (PEM, unencrypted). */
export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
}

/** The contents of TlsFiles. */
export interface TlsPair {
  readonly cert: string;
  readonly key: string;
}

/** Which file a problem is in: the certificate, the key, or neither alone (they do not belong together). */
export interface TlsPairProblem {
  readonly part: 'cert' | 'key' | 'pair';
  readonly reason: string;
}

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** Why reading a file failed, in words. */
export function fileReadReason(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') {
    const known: Readonly<Record<string, string>> = { ENOENT: 'no such file', EACCES: 'permission denied', EISDIR: 'is a directory' };
    return known[err.code] ?? err.code;
  }
  return errorMessage(err);
}

/** Why `cert` and `key` (PEM text) are not a pair a TLS server can serve; undefined when they are. */
export function tlsPairProblem(cert: string, key: string): TlsPairProblem | undefined {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (err) {
    return { part: 'cert', reason: `holds no PEM certificate (${errorMessage(err)})` };
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    return { part: 'key', reason: `holds no unencrypted PEM private key (${errorMessage(err)})` };
  }
  if (!leaf.checkPrivateKey(privateKey)) return { part: 'pair', reason: `the key is not the private key of the certificate (${leaf.subject.replace(/\n/g, ', ')})` };
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    return { part: 'pair', reason: `OpenSSL refuses the pair: ${errorMessage(err)}` };
  }
  return undefined;
}

/** Why `pem` is not a bundle of PEM certificates to trust; undefined when it is. */
export function caBundleProblem(pem: string): string | undefined {
  const blocks = pem.match(CERTIFICATE_BLOCK) ?? [];
  if (blocks.length === 0) return 'holds no PEM certificate (-----BEGIN CERTIFICATE-----)';
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch (err) {
      return `certificate ${i + 1} of ${blocks.length} does not parse: ${errorMessage(err)}`;
    }
  }
  return undefined;
}

async function readNamed(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new DnsQuorumError('DQ_TLS_INVALID', `${what} ${path}: cannot read it: ${fileReadReason(err)}`, { cause: err });
  }
}

/** Reads and checks a certificate and its key; DQ_TLS_INVALID naming the file and `what` (the config key) otherwise. */
export async function readTlsPair(files: TlsFiles, what: string): Promise<TlsPair> {
  const [cert, key] = await Promise.all([readNamed(files.cert, `${what}.cert`), readNamed(files.key, `${what}.key`)]);
  const problem = tlsPairProblem(cert, key);
  if (problem === undefined) return { cert, key };
  const where = problem.part === 'cert' ? `${what}.cert ${files.cert}` : problem.part === 'key' ? `${what}.key ${files.key}` : `${what} (${files.cert}, ${files.key})`;
  throw new DnsQuorumError('DQ_TLS_INVALID', `${where}: ${problem.reason}`);
}

/** Reads and checks a CA bundle; DQ_TLS_INVALID naming the file and `what` otherwise. */
export async function readCaBundle(path: string, what: string): Promise<string> {
  const pem = await readNamed(path, what);
  const problem = caBundleProblem(pem);
  if (problem !== undefined) throw new DnsQuorumError('DQ_TLS_INVALID', `${what} ${path}: ${problem}`);
  return pem;
}

/** What a certificate says about itself, for log lines: never the key. */
export function describeCertificate(cert: string): { readonly subject: string; readonly validTo: string; readonly fingerprint256: string } {
  const leaf = new X509Certificate(cert);
  return { subject: leaf.subject.replace(/\n/g, ', '), validTo: leaf.validTo, fingerprint256: leaf.fingerprint256 };
}
