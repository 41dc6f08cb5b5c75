import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LocalProviderConfig } from '../../src/config/types.js';
import { corruptAsidePath } from '../../src/lib/corrupt-file.js';
import { ManualClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/logger.js';
import { LocalProvider } from '../../src/providers/local/provider.js';
import { setAsideCorruptState } from '../../src/providers/local/recovery.js';
import { LocalDnsServer } from '../../src/providers/local/server.js';
import { EMPTY_STATE, LocalStateStore, serializeState } from '../../src/providers/local/state.js';
import { queryUdp } from '../helpers/dns-client.js';
import { memoryLogger } from '../helpers/memory-logger.js';

/**
 * At the daemon's start a local provider's state file that does not load is moved aside, kept,
 * and reported, so the provider starts from no zones and the first pass writes them again; until
 * then the DNS server answers SERVFAIL for the zones it is configured to serve.
 */

const never = new AbortController().signal;
const AT = Date.UTC(2025, 0, 2, 3, 4, 5);
const STAMP = '20250102T030405Z';
const ZONE = 'example.test.';

let dir = '';
let statePath = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dq-local-recovery-'));
  statePath = join(dir, 'local', 'lab.json');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function store(): LocalStateStore {
  return new LocalStateStore({ path: statePath, providerName: 'lab', lockTimeoutMs: 2_000 });
}

const VALID = serializeState({ zones: { [ZONE]: { serial: 7, records: [] } } });

/** Each way a state file can fail to load, as bytes (or a directory) in its place, and what the problem says. */
const CORRUPTIONS: readonly { name: string; make: () => Promise<void>; problem: RegExp }[] = [
  { name: 'truncated JSON', make: () => writeFile(statePath, VALID.slice(0, 40)), problem: /^not valid JSON: ends early at line 4, column \d+ \(truncated\)$/ },
  { name: 'a wrong shape', make: () => writeFile(statePath, '{"version":1,"zones":{"example.test.":{"serial":-1,"records":[]}}}'), problem: /^not a dnsquorum local state file: zones\.example\.test\.\.serial: / },
  { name: 'binary garbage', make: () => writeFile(statePath, Buffer.from([0x00, 0xff, 0x13, 0x37, 0x0a, 0x80])), problem: /^not valid JSON: unexpected character U\+0000 at line 1, column 1$/ },
  { name: 'a directory in its place', make: async () => { await mkdir(join(statePath, 'inside'), { recursive: true }); }, problem: /^is a directory, not a state file$/ },
];

describe('LocalStateStore.setAsideIfCorrupt', () => {
  it.each(CORRUPTIONS)('$name: moved aside whole, reported, and the store reads as empty', async ({ make, problem }) => {
    await mkdir(dirname(statePath), { recursive: true });
    await make();
    const before = await snapshot(statePath);

    const recovery = await store().setAsideIfCorrupt(never, AT);

    expect(recovery).toEqual({ provider: 'lab', statePath, path: statePath, problem: expect.stringMatching(problem) as unknown, movedTo: `${statePath}.corrupt-${STAMP}`, moveError: null, at: AT });
    expect(await snapshot(`${statePath}.corrupt-${STAMP}`)).toEqual(before);
    expect(await store().read()).toEqual(EMPTY_STATE);
    // The next start finds nothing wrong: the move is done once.
    expect(await store().setAsideIfCorrupt(never, AT + 1000)).toBeUndefined();
  });

  it('a file where the local directory should be: the file is moved, and the provider can write again', async () => {
    await writeFile(join(dir, 'local'), 'not a directory\n');

    const recovery = await store().setAsideIfCorrupt(never, AT);

    expect(recovery).toMatchObject({ path: join(dir, 'local'), movedTo: join(dir, `local.corrupt-${STAMP}`), moveError: null });
    expect(recovery?.problem).toBe(`${join(dir, 'local')} is not a directory, so ${statePath} cannot be read`);
    expect(await readFile(join(dir, `local.corrupt-${STAMP}`), 'utf8')).toBe('not a directory\n');
    const provider = new LocalProvider({ config: localConfig(), statePath, clock: new ManualClock(AT), logger: silentLogger() });
    await provider.ensureZone(ZONE, never);
    expect((await provider.listRecords(ZONE, never)).map((rs) => rs.type)).toEqual(['NS', 'SOA']);
  });

  it('leaves a valid file and a missing one alone', async () => {
    expect(await store().setAsideIfCorrupt(never, AT)).toBeUndefined();
    await writeFile(statePath, VALID);
    expect(await store().setAsideIfCorrupt(never, AT)).toBeUndefined();
    expect(await readFile(statePath, 'utf8')).toBe(VALID);
    expect(await readdir(dirname(statePath))).toEqual(['lab.json']);
  });

  it('never overwrites an earlier copy, and says so when no name is left: the file stays where it was', async () => {
    await mkdir(dirname(statePath), { recursive: true });
    const aside = corruptAsidePath(statePath, AT);
    await writeFile(aside, 'first copy');
    for (let n = 2; n <= 100; n++) await writeFile(`${aside}-${n}`, `copy ${n}`);
    await writeFile(statePath, '{"version":');

    const recovery = await store().setAsideIfCorrupt(never, AT);

    expect(recovery).toMatchObject({ movedTo: null, moveError: `${aside} and 99 further names are all taken` });
    expect(await readFile(statePath, 'utf8')).toBe('{"version":');
    expect(await readFile(aside, 'utf8')).toBe('first copy');
  });
});

describe('setAsideCorruptState', () => {
  it('logs one error line naming the file, the problem and the copy', async () => {
    await mkdir(dirname(statePath), { recursive: true });
    await writeFile(statePath, '{"version": 1, "zones": {');
    const { logger, lines } = memoryLogger();

    const recovery = await setAsideCorruptState({ providerName: 'lab', statePath, now: AT, logger });

    expect(recovery?.movedTo).toBe(`${statePath}.corrupt-${STAMP}`);
    const errors = lines.filter((l) => l.level === 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ statePath, movedTo: `${statePath}.corrupt-${STAMP}`, err: { code: 'DQ_STATE_CORRUPT' } });
    expect(errors[0]?.msg).toBe(
      `state file ${statePath} did not load (not valid JSON: ends early at line 1, column 26 (truncated)); moved aside to ${statePath}.corrupt-${STAMP} and kept for inspection. ` +
        'Its zones are rebuilt from the config by the first sync pass; until then the DNS server answers SERVFAIL for them',
    );
  });

  it('when the file cannot be moved, the line says so and gives the command', async () => {
    await mkdir(dirname(statePath), { recursive: true });
    const aside = corruptAsidePath(statePath, AT);
    for (let n = 1; n <= 100; n++) await writeFile(n === 1 ? aside : `${aside}-${n}`, '');
    await writeFile(statePath, 'garbage');
    const { logger, lines } = memoryLogger();

    const recovery = await setAsideCorruptState({ providerName: 'lab', statePath, now: AT, logger });

    expect(recovery?.movedTo).toBeNull();
    const [line] = lines.filter((l) => l.level === 50);
    expect(line?.msg).toMatch(/could not be moved aside \(.* are all taken\)\. Its zones are not served and cannot be rebuilt until it is moved away: mv \S+lab\.json \S+lab\.json\.corrupt-20250102T030405Z, then restart$/);
  });

  it('does not fail the start when the file cannot even be checked (its lock held too long): warns and goes on', async () => {
    await mkdir(dirname(statePath), { recursive: true });
    await writeFile(statePath, 'garbage');
    // A live process on this host holds the lock: ours, in the lock file's own format, from another pid (1 is always alive).
    await writeFile(`${statePath}.lock`, `1 ${hostname()}\n`);
    const { logger, lines } = memoryLogger();

    expect(await setAsideCorruptState({ providerName: 'lab', statePath, now: AT, logger, lockTimeoutMs: 100 })).toBeUndefined();
    expect(lines.filter((l) => l.level === 40).map((l) => l.msg)).toEqual([expect.stringMatching(/could not check the state file .*locked by pid 1/)]);
    expect(await readFile(statePath, 'utf8')).toBe('garbage');
  });
});

function localConfig(): LocalProviderConfig {
  return { type: 'local', name: 'lab', listen: { host: '127.0.0.1', port: 0 }, nameserver: `ns1.${ZONE}` };
}

describe('LocalDnsServer with its configured zones', () => {
  it('answers SERVFAIL for a configured zone the file does not hold yet, REFUSED outside, and serves it once written', async () => {
    const server = new LocalDnsServer({ config: localConfig(), statePath, logger: silentLogger(), zones: () => [ZONE, 'Inner.Example.Test'] });
    await server.start();
    try {
      const address = server.address();
      expect((await queryUdp(address, 'example.test', 'SOA')).rcode).toBe('SERVFAIL');
      expect((await queryUdp(address, 'www.example.test', 'A')).rcode).toBe('SERVFAIL');
      expect((await queryUdp(address, 'example.org', 'SOA')).rcode).toBe('REFUSED');

      // A zone nested in the one awaited is answered as soon as it is held.
      const provider = new LocalProvider({ config: localConfig(), statePath, clock: new ManualClock(AT), logger: silentLogger() });
      await provider.ensureZone('inner.example.test', never);
      expect((await queryUdp(address, 'inner.example.test', 'SOA')).rcode).toBe('NOERROR');
      expect((await queryUdp(address, 'www.inner.example.test', 'A')).rcode).toBe('NXDOMAIN');
      expect((await queryUdp(address, 'www.example.test', 'A')).rcode).toBe('SERVFAIL');

      await provider.ensureZone(ZONE, never);
      const soa = await queryUdp(address, 'example.test', 'SOA');
      expect(soa.rcode).toBe('NOERROR');
      expect(soa.answers.map((a) => a.type)).toEqual(['SOA']);
    } finally {
      await server.close();
    }
  });

  it('answers from the last zones read when the file becomes unreadable while it runs', async () => {
    const provider = new LocalProvider({ config: localConfig(), statePath, clock: new ManualClock(AT), logger: silentLogger() });
    await provider.ensureZone(ZONE, never);
    const { logger, lines } = memoryLogger();
    const server = new LocalDnsServer({ config: localConfig(), statePath, logger, zones: () => [ZONE] });
    await server.start();
    try {
      await rm(statePath);
      await mkdir(statePath);
      expect((await queryUdp(server.address(), 'example.test', 'SOA')).rcode).toBe('NOERROR');
      expect(lines.filter((l) => l.level === 50).map((l) => l.msg)).toEqual(['cannot read state file; serving the last zones read']);
      expect((await stat(statePath)).isDirectory()).toBe(true);
    } finally {
      await server.close();
    }
  });
});

/** A file's bytes, or a directory's listing, to compare before and after a move. */
async function snapshot(path: string): Promise<string> {
  const st = await stat(path);
  if (st.isDirectory()) return `dir:${(await readdir(path)).join(',')}`;
  return `file:${(await readFile(path)).toString('hex')}`;
}
