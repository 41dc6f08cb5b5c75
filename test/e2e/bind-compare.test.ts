import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalProviderConfig } from '../../src/config/types.js';
import type { RecordSet } from '../../src/domain/record.js';
import { ManualClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/logger.js';
import { LocalProvider } from '../../src/providers/local/provider.js';
import { LocalDnsServer } from '../../src/providers/local/server.js';
import { freePort, skipReason, startProcess, waitUntilReady } from '../helpers/real-server.js';
import type { RunningServer } from '../helpers/real-server.js';

/**
 * The built-in DNS server against BIND 9 on the same zones: the same questions go to both over
 * UDP, asked and decoded by dig (a third party to both, and one that reads and writes any label
 * byte), and rcode, flags, answer, authority and additional sections must agree. The zones hold a
 * wildcard, a delegation with glue, a child zone served beside its parent, and the questions use
 * names with bytes outside host-name characters. BIND runs with `minimal-responses no-auth`:
 * authority data only where an answer needs it (negative answers, referrals), as our server does,
 * and additional addresses for NS, MX and SRV targets, as our server gives them.
 */

const run = promisify(execFile);
const never = new AbortController().signal;
const ZONE = 'example.test.';
const CHILD = 'child.example.test.';
const BIND_BINARIES = ['named', 'dig'];

function rs(name: string, type: RecordSet['type'], values: string[], ttl = 300): RecordSet {
  return { name, type, ttl, values };
}

const PARENT_RECORDS: RecordSet[] = [
  rs(`ns1.${ZONE}`, 'A', ['192.0.2.53']),
  rs(ZONE, 'MX', ['10 mail.example.test.']),
  rs(`mail.${ZONE}`, 'A', ['192.0.2.25']),
  rs(`www.${ZONE}`, 'A', ['192.0.2.1', '192.0.2.2'], 60),
  rs(`alias.${ZONE}`, 'CNAME', ['www.example.test.']),
  rs(`*.w.${ZONE}`, 'A', ['192.0.2.77']),
  rs(`*.w.${ZONE}`, 'TXT', ['wild']),
  rs(`b.w.${ZONE}`, 'A', ['192.0.2.78']),
  rs(`a.b.c.deep.${ZONE}`, 'A', ['192.0.2.70']),
  rs(`sub.${ZONE}`, 'NS', ['ns.sub.example.test.', 'ns.elsewhere.net.']),
  rs(`ns.sub.${ZONE}`, 'A', ['192.0.2.80']),
  rs(CHILD, 'NS', ['ns1.example.test.']),
];
const CHILD_RECORDS: RecordSet[] = [rs(`host.${CHILD}`, 'A', ['192.0.2.90'])];

/** Questions in dig's presentation form: "\." is a dot inside a label, "\DDD" any byte. */
const QUESTIONS: readonly [name: string, type: string][] = [
  ['a\\.b.w.example.test.', 'A'],
  ['a\\.b.w.example.test.', 'TXT'],
  ['x.a\\.b.w.example.test.', 'A'],
  ['A\\200b.w.example.test.', 'A'],
  ['sp\\032ace.w.example.test.', 'A'],
  ['\\000.w.example.test.', 'A'],
  ['ordinary.w.example.test.', 'A'],
  ['*.w.example.test.', 'TXT'],
  ['b.w.example.test.', 'A'],
  ['w.example.test.', 'A'],
  ['a\\.b.example.test.', 'A'],
  ['c.deep.example.test.', 'A'],
  ['nope.example.test.', 'A'],
  ['www.example.test.', 'AAAA'],
  ['WwW.ExAmPlE.TeSt.', 'A'],
  ['alias.example.test.', 'A'],
  ['example.test.', 'MX'],
  ['example.test.', 'SOA'],
  ['example.test.', 'DS'],
  ['sub.example.test.', 'DS'],
  ['x.sub.example.test.', 'DS'],
  ['sub.example.test.', 'A'],
  ['sub.example.test.', 'NS'],
  ['ns.sub.example.test.', 'A'],
  ['a\\.b.sub.example.test.', 'A'],
  ['child.example.test.', 'DS'],
  ['child.example.test.', 'SOA'],
  ['host.child.example.test.', 'A'],
  ['host.child.example.test.', 'DS'],
];

/** A record in zone-file form; TXT data is quoted with its quotes and backslashes escaped. */
function zoneLine(r: RecordSet, value: string): string {
  const data = r.type === 'TXT' ? `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"` : value;
  return `${r.name} ${r.ttl} IN ${r.type} ${data}`;
}

/** What one server answered, in the parts that must agree. */
interface Answered {
  readonly status: string;
  readonly flags: string;
  readonly answer: readonly string[];
  readonly authority: readonly string[];
  readonly additional: readonly string[];
}

/**
 * Reads dig's output. Owner names are compared with ASCII letters folded (RFC 4343: either case
 * is a correct answer); every other byte, and all data, as printed.
 */
function parseDig(output: string): Answered {
  const status = /status: ([A-Z]+)/.exec(output)?.[1] ?? `no status in:\n${output}`;
  const flags = /;; flags: ([a-z ]*);/.exec(output)?.[1]?.trim() ?? `no flags in:\n${output}`;
  const sections: Record<string, string[]> = { ANSWER: [], AUTHORITY: [], ADDITIONAL: [] };
  let current: string[] | undefined;
  for (const line of output.split('\n')) {
    const header = /^;; (ANSWER|AUTHORITY|ADDITIONAL) SECTION:$/.exec(line);
    if (header !== null) {
      current = sections[header[1] ?? ''];
      continue;
    }
    if (line.trim() === '' || line.startsWith(';')) {
      current = undefined;
      continue;
    }
    const [owner = '', ttl = '', klass = '', type = '', ...data] = line.split(/\s+/);
    current?.push([owner.replace(/[A-Z]/g, (c) => c.toLowerCase()), ttl, klass, type, data.join(' ')].join(' '));
  }
  const sorted = (lines: string[] | undefined): string[] => [...(lines ?? [])].sort();
  return { status, flags, answer: sorted(sections.ANSWER), authority: sorted(sections.AUTHORITY), additional: sorted(sections.ADDITIONAL) };
}

async function dig(port: number, name: string, type: string): Promise<Answered> {
  const { stdout } = await run('dig', [
    '@127.0.0.1',
    '-p',
    String(port),
    '+norecurse',
    '+noedns',
    '+nocookie',
    '+tries=1',
    '+time=3',
    '+nocmd',
    '+nostats',
    '+noquestion',
    name,
    type,
  ]);
  return parseDig(stdout);
}

interface Bind {
  readonly process: RunningServer;
  readonly port: number;
}

async function startBind(dir: string, zones: ReadonlyMap<string, RecordSet[]>): Promise<Bind> {
  const port = await freePort();
  const zoneStatements: string[] = [];
  for (const [apex, records] of zones) {
    const file = join(dir, `${apex}zone`);
    await writeFile(file, `${records.flatMap((r) => r.values.map((v) => zoneLine(r, v))).join('\n')}\n`);
    zoneStatements.push(`zone "${apex}" { type primary; file "${file}"; notify no; };`);
  }
  const conf = join(dir, 'named.conf');
  await writeFile(
    conf,
    [
      'options {',
      `  directory "${dir}";`,
      `  pid-file "${join(dir, 'named.pid')}";`,
      `  session-keyfile "${join(dir, 'session.key')}";`,
      `  listen-on port ${port} { 127.0.0.1; };`,
      '  listen-on-v6 { none; };',
      '  recursion no;',
      '  dnssec-validation no;',
      '  minimal-responses no-auth;',
      '};',
      // No control channel: it would take port 953 and read /etc/bind/rndc.key.
      'controls { };',
      ...zoneStatements,
      '',
    ].join('\n'),
  );
  // -g: foreground, log to stderr (kept for the failure message); -n 1: one worker thread.
  const process = startProcess('named', ['-g', '-n', '1', '-c', conf]);
  try {
    await waitUntilReady(process, `named on 127.0.0.1:${port}`, async () => {
      const soa = await dig(port, ZONE, 'SOA');
      return soa.status === 'NOERROR' && soa.answer.length === 1;
    });
  } catch (err) {
    await process.stop();
    throw err;
  }
  return { process, port };
}

const skip = skipReason(...BIND_BINARIES);

describe.skipIf(skip !== undefined)(`the built-in DNS server answers as BIND 9 does${skip === undefined ? '' : ` (skipped: ${skip})`}`, () => {
  let dir: string;
  let provider: LocalProvider;
  let ours: LocalDnsServer;
  let bind: Bind | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dq-bind-compare-'));
    const config: LocalProviderConfig = { type: 'local', name: 'lab', listen: { host: '127.0.0.1', port: 0 }, nameserver: `ns1.${ZONE}` };
    const statePath = join(dir, 'local', 'lab.json');
    provider = new LocalProvider({ config, statePath, clock: new ManualClock(1_700_000_000_000), logger: silentLogger() });
    await provider.ensureZone(ZONE, never);
    await provider.ensureZone(CHILD, never);
    await provider.applyChanges({ zone: ZONE, creates: PARENT_RECORDS, updates: [], deletes: [] }, never);
    await provider.applyChanges({ zone: CHILD, creates: CHILD_RECORDS, updates: [], deletes: [] }, never);
    ours = new LocalDnsServer({ config, statePath, logger: silentLogger() });
    await ours.start();
    // BIND gets exactly what our server serves, SOA and apex NS included, so serials and TTLs agree too.
    const zones = new Map([
      [ZONE, await provider.listRecords(ZONE, never)],
      [CHILD, await provider.listRecords(CHILD, never)],
    ]);
    bind = await startBind(dir, zones);
  });
  afterAll(async () => {
    await bind?.process.stop();
    await ours.close();
    await provider.close();
    await rm(dir, { recursive: true, force: true });
  });

  it.each(QUESTIONS)('%s %s: same rcode, flags and sections', async (name, type) => {
    if (bind === undefined) throw new Error('named did not start');
    const [theirs, mine] = await Promise.all([dig(bind.port, name, type), dig(ours.address().port, name, type)]);
    expect(mine).toEqual(theirs);
  });

  it('synthesises a\\.b.w from the wildcard on both, and answers DS at the cut with NODATA and AA on both', async () => {
    if (bind === undefined) throw new Error('named did not start');
    for (const port of [bind.port, ours.address().port]) {
      const wild = await dig(port, 'a\\.b.w.example.test.', 'A');
      expect([wild.status, wild.flags, wild.answer]).toEqual(['NOERROR', 'qr aa', ['a\\.b.w.example.test. 300 IN A 192.0.2.77']]);
      const ds = await dig(port, 'sub.example.test.', 'DS');
      expect([ds.status, ds.flags, ds.answer, ds.authority.map((l) => l.split(' ').slice(0, 4).join(' '))]).toEqual([
        'NOERROR',
        'qr aa',
        [],
        ['example.test. 300 IN SOA'],
      ]);
    }
  });
});
