import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { vi } from 'vitest';
import { answerPresentation, queryDns, rcodeName } from '../../src/lib/dns-query.js';
import type { DnsReply } from '../../src/lib/dns-query.js';
import type { DnsServerAddress } from '../../src/lib/dns-query.js';
import { API_TOKEN, WAIT, startDaemon } from './daemon-harness.js';
import type { LogLine, RunningDaemon } from './daemon-harness.js';

/**
 * A real `dnsquorum run` with one local provider whose state file is corrupt before the start,
 * in each of the ways a file can be: what the e2e test and the fault row share. The zone must be
 * served again, over DNS, from the config alone; the bad file must be kept, and the log must say so.
 */

export const ZONE = 'corrupt.example.com';
export const PROVIDER = 'lab';

/** What the zone must answer once rebuilt: [name, type, values], from the config below. */
export const EXPECTED: readonly (readonly [string, 'A' | 'CNAME' | 'MX' | 'TXT', readonly string[]])[] = [
  [`www.${ZONE}`, 'A', ['192.0.2.10', '192.0.2.11']],
  [`alias.${ZONE}`, 'CNAME', [`www.${ZONE}`]],
  [`mail.${ZONE}`, 'MX', ['10 mx.example.net']],
  [`note.${ZONE}`, 'TXT', ['rebuilt from the config']],
];

/** The config; with `webhook`, every notification is also posted there. */
export function corruptStateConfig(stateDir: string, webhook?: string): string {
  const notifications = webhook === undefined ? '' : `notifications:\n  sinks:\n    - { name: hook, type: webhook, url: "${webhook}" }\n`;
  return `region: test
stateDir: ${stateDir}
api: { listen: 127.0.0.1:0, token: "\${DNSQUORUM_API_TOKEN}" }
sync: { interval: 1s }
providers:
  ${PROVIDER}: { type: local, listen: 127.0.0.1:0, nameserver: ns1.lab.example.net. }
zones:
  ${ZONE}:
    providers: [${PROVIDER}]
    records:
      www: { type: A, ttl: 60, values: [192.0.2.10, 192.0.2.11] }
      alias: { type: CNAME, ttl: 300, value: www.${ZONE}. }
      mail: { type: MX, ttl: 300, value: "10 mx.example.net." }
      note: { type: TXT, ttl: 300, value: "rebuilt from the config" }
${notifications}`;
}

export const daemonEnvironment: NodeJS.ProcessEnv = { DNSQUORUM_API_TOKEN: API_TOKEN, DNSQUORUM_API_URL: '', DNSQUORUM_REGION: '', DNSQUORUM_LOG_LEVEL: 'info' };

/** A state file from an earlier run that held other records: what a rebuild must not bring back. */
const EARLIER = `${JSON.stringify({ version: 1, zones: { [`${ZONE}.`]: { serial: 5, records: [{ name: `old.${ZONE}.`, type: 'A', ttl: 60, values: ['198.51.100.1'] }] } } }, null, 2)}\n`;

export interface Corruption {
  readonly name: string;
  /** Puts the corruption in place under `stateDir`; returns the path that must be moved aside. */
  readonly make: (stateDir: string) => Promise<string>;
}

function statePath(stateDir: string): string {
  return join(stateDir, 'local', `${PROVIDER}.json`);
}

async function writeState(stateDir: string, content: string | Buffer): Promise<string> {
  await mkdir(join(stateDir, 'local'), { recursive: true });
  await writeFile(statePath(stateDir), content);
  return statePath(stateDir);
}

export const CORRUPTIONS: readonly Corruption[] = [
  { name: 'truncated JSON', make: (s) => writeState(s, EARLIER.slice(0, Math.floor(EARLIER.length / 2))) },
  { name: 'an empty file', make: (s) => writeState(s, '') },
  { name: 'a wrong shape', make: (s) => writeState(s, JSON.stringify({ version: 1, zones: { [`${ZONE}.`]: { serial: 'five', records: {} } } })) },
  { name: 'another format version', make: (s) => writeState(s, JSON.stringify({ version: 9, zones: {} })) },
  { name: 'binary garbage', make: (s) => writeState(s, Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 151 + 7) % 256))) },
  {
    name: 'a directory in place of the file',
    make: async (s) => {
      await mkdir(join(statePath(s), 'leftover'), { recursive: true });
      await writeFile(join(statePath(s), 'leftover', 'x'), 'x');
      return statePath(s);
    },
  },
  {
    name: 'a file in place of the local directory',
    make: async (s) => {
      await mkdir(s, { recursive: true });
      await writeFile(join(s, 'local'), EARLIER);
      return join(s, 'local');
    },
  },
];

/** A file's bytes or a directory's listing, to show the copy kept is what stood there. */
export async function snapshot(path: string): Promise<string> {
  const st = await stat(path);
  if (st.isDirectory()) return `dir:${(await readdir(path, { recursive: true })).sort().join(',')}`;
  return `file:${(await readFile(path)).toString('hex')}`;
}

/** Where the daemon's local DNS server listens (port 0 in the config), from its log. */
export async function dnsAddress(daemon: RunningDaemon): Promise<DnsServerAddress> {
  return vi.waitFor(() => {
    const line = daemon.logs().find((l) => l.msg === 'DNS server listening (UDP and TCP)' && l.provider === PROVIDER);
    if (typeof line?.listen !== 'string') throw new Error('the DNS server is not listening yet');
    const colon = line.listen.lastIndexOf(':');
    return { host: line.listen.slice(0, colon), port: Number(line.listen.slice(colon + 1)) };
  }, WAIT);
}

/** The answers of one type, in presentation form, sorted. */
function presented(reply: DnsReply, type: string): string[] {
  return (reply.packet.answers ?? []).filter((a) => a.type === type).flatMap((a) => answerPresentation(a) ?? []).sort();
}

/** Every expected answer, over real DNS: the SOA first, then each record; undefined when all are served, else what differs. */
export async function servedDifference(address: DnsServerAddress): Promise<string | undefined> {
  const soa = await queryDns(address, ZONE, 'SOA');
  if (rcodeName(soa.packet) !== 'NOERROR' || presented(soa, 'SOA').length !== 1) return `${ZONE} SOA: ${rcodeName(soa.packet)}`;
  for (const [name, type, values] of EXPECTED) {
    const reply = await queryDns(address, name, type);
    const got = presented(reply, type);
    if (rcodeName(reply.packet) !== 'NOERROR' || JSON.stringify(got) !== JSON.stringify([...values].sort())) return `${name} ${type}: ${rcodeName(reply.packet)} ${got.join(', ')}`;
  }
  const old = await queryDns(address, `old.${ZONE}`, 'A');
  if (rcodeName(old.packet) !== 'NXDOMAIN') return `old.${ZONE} A: ${rcodeName(old.packet)} (a record of the corrupt file came back)`;
  return undefined;
}

/** How many of the configured record sets (and the SOA) the server does not answer as configured: what a failed rebuild lost. */
export async function missingRecordSets(address: DnsServerAddress): Promise<number> {
  let missing = 0;
  const soa = await queryDns(address, ZONE, 'SOA').catch(() => undefined);
  if (soa === undefined || rcodeName(soa.packet) !== 'NOERROR' || presented(soa, 'SOA').length !== 1) missing++;
  for (const [name, type, values] of EXPECTED) {
    const reply = await queryDns(address, name, type).catch(() => undefined);
    if (reply === undefined || rcodeName(reply.packet) !== 'NOERROR' || JSON.stringify(presented(reply, type)) !== JSON.stringify([...values].sort())) missing++;
  }
  return missing;
}

/** The error line that reports the file moved aside. */
export function recoveryLine(logs: readonly LogLine[]): LogLine | undefined {
  return logs.find((l) => l.level === 50 && l.component === 'local-state' && l.provider === PROVIDER);
}

/** Starts the daemon on `stateDir` and waits until the zone is served whole over DNS. */
export async function startAndAwaitZone(configPath: string): Promise<{ daemon: RunningDaemon; address: DnsServerAddress }> {
  const daemon = await startDaemon(configPath, daemonEnvironment);
  try {
    const address = await dnsAddress(daemon);
    await vi.waitFor(async () => {
      const difference = await servedDifference(address);
      if (difference !== undefined) throw new Error(`the zone is not served whole yet: ${difference}`);
    }, WAIT);
    return { daemon, address };
  } catch (err) {
    await daemon.stop();
    throw err;
  }
}
