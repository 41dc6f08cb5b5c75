import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A private CA for tests, made with the openssl CLI (node:crypto parses X.509 but cannot issue it):
 * a CA certificate, and server certificates it signs for loopback (IP 127.0.0.1 and ::1, DNS
 * localhost), as an operator's own CA would sign each replica's admin API certificate.
 */

export interface IssuedCert {
  /** PEM certificate. */
  readonly cert: string;
  /** PEM private key (unencrypted). */
  readonly key: string;
  /** SHA-256 fingerprint as node:tls shows it (AA:BB:...). */
  readonly fingerprint256: string;
}

export interface TestCa {
  /** The CA's PEM certificate: what cluster.ca or --ca points at. */
  readonly cert: string;
  /** A server certificate for loopback, signed by this CA; `name` becomes its CN. */
  issue(name: string): Promise<IssuedCert>;
  /** Removes the CA's key and working files. */
  dispose(): Promise<void>;
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];

export async function createTestCa(name: string): Promise<TestCa> {
  const dir = await mkdtemp(join(tmpdir(), 'dnsquorum-ca-'));
  const caKey = join(dir, 'ca.key');
  const caCert = join(dir, 'ca.pem');
  await run('openssl', [
    'req', '-x509', '-nodes', ...EC_KEY, '-keyout', caKey, '-out', caCert, '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  const cert = await readFile(caCert, 'utf8');
  let serial = 0;
  return {
    cert,
    issue: async (leafName) => {
      serial += 1;
      const base = join(dir, `leaf-${serial}`);
      await writeFile(`${base}.ext`, 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
      await run('openssl', ['req', '-new', '-nodes', ...EC_KEY, '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${leafName}`]);
      await run('openssl', [
        'x509', '-req', '-in', `${base}.csr`, '-CA', caCert, '-CAkey', caKey, '-set_serial', String(1000 + serial),
        '-days', '2', '-extfile', `${base}.ext`, '-out', `${base}.pem`,
      ]);
      const [leafCert, leafKey] = await Promise.all([readFile(`${base}.pem`, 'utf8'), readFile(`${base}.key`, 'utf8')]);
      return { cert: leafCert, key: leafKey, fingerprint256: new X509Certificate(leafCert).fingerprint256 };
    },
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Writes a file whole, by rename, as a certificate rotation should (the reader never sees half of it). */
export async function replaceFile(path: string, content: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, content);
  await rename(temporary, path);
}
