import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface SelfSignedCert {
  /** PEM private key. */
  readonly key: string;
  /** PEM certificate. */
  readonly cert: string;
  /** notBefore and notAfter as the certificate states them, in ms since the epoch. */
  readonly validFrom: number;
  readonly validTo: number;
}

/**
 * A self-signed certificate for `names` (first one is the CN; all are DNS subjectAltNames), valid
 * from now for `days` days, made with the openssl CLI in a temporary directory removed afterwards.
 */
export async function createSelfSignedCert(names: readonly [string, ...string[]], days: number): Promise<SelfSignedCert> {
  const dir = await mkdtemp(join(tmpdir(), 'dnsquorum-tls-'));
  try {
    const keyPath = join(dir, 'key.pem');
    const certPath = join(dir, 'cert.pem');
    await run('openssl', [
      'req', '-x509', '-nodes',
      '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
      '-keyout', keyPath, '-out', certPath,
      '-days', String(days),
      '-subj', `/CN=${names[0]}`,
      '-addext', `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`,
    ]);
    const [key, cert] = await Promise.all([readFile(keyPath, 'utf8'), readFile(certPath, 'utf8')]);
    const x509 = new X509Certificate(cert);
    return { key, cert, validFrom: Date.parse(x509.validFrom), validTo: Date.parse(x509.validTo) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
