import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, skipReason, startProcess, waitUntilReady } from './real-server.js';
import type { RunningServer } from './real-server.js';

/**
 * A real PowerDNS Authoritative server (Debian pdns-server + pdns-backend-sqlite3) on loopback:
 * a fresh sqlite database in a temp dir, the HTTP API on one port, DNS on another.
 */

export const POWERDNS_BINARIES = ['pdns_server', 'sqlite3'];
const SCHEMA_PATHS = ['/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql', '/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql'];

export interface PowerDnsServer {
  /** Base URL of the HTTP API, e.g. "http://127.0.0.1:38081". */
  readonly url: string;
  readonly apiKey: string;
  readonly dns: { readonly host: string; readonly port: number };
  stop(): Promise<void>;
}

/** Why PowerDNS tests cannot run here (outside CI), or undefined. */
export function powerDnsSkipReason(): string | undefined {
  return skipReason(...POWERDNS_BINARIES);
}

async function schema(): Promise<string> {
  for (const path of SCHEMA_PATHS) {
    try {
      return await readFile(path, 'utf8');
    } catch {
      // Try the next place Debian puts it.
    }
  }
  throw new Error(`the PowerDNS sqlite3 schema is not at ${SCHEMA_PATHS.join(' or ')} (is pdns-backend-sqlite3 installed?)`);
}

export async function startPowerDns(): Promise<PowerDnsServer> {
  const dir = await mkdtemp(join(tmpdir(), 'dq-pdns-'));
  const database = join(dir, 'pdns.sqlite3');
  execFileSync('sqlite3', [database], { input: await schema() });
  const apiPort = await freePort();
  const dnsPort = await freePort();
  const apiKey = `test-key-${Math.random().toString(36).slice(2)}`;
  await writeFile(
    join(dir, 'pdns.conf'),
    [
      'launch=gsqlite3',
      `gsqlite3-database=${database}`,
      'local-address=127.0.0.1',
      `local-port=${dnsPort}`,
      'api=yes',
      `api-key=${apiKey}`,
      'webserver=yes',
      'webserver-address=127.0.0.1',
      `webserver-port=${apiPort}`,
      'webserver-allow-from=127.0.0.0/8',
      `socket-dir=${dir}`,
      'guardian=no',
      'daemon=no',
      'disable-syslog=yes',
      'loglevel=3',
      // A test's zone is read back at once: no packet cache between a write and the next query.
      'cache-ttl=0',
      'negquery-cache-ttl=0',
      'query-cache-ttl=0',
      'zone-cache-refresh-interval=0',
      '',
    ].join('\n'),
  );
  const server: RunningServer = startProcess('pdns_server', [`--config-dir=${dir}`]);
  const url = `http://127.0.0.1:${apiPort}`;
  const stop = async (): Promise<void> => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilReady(server, 'pdns_server', async () => (await fetch(`${url}/api/v1/servers/localhost`, { headers: { 'X-API-Key': apiKey } })).ok);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, apiKey, dns: { host: '127.0.0.1', port: dnsPort }, stop };
}
