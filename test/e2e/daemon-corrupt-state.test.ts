import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { queryDns, rcodeName } from '../../src/lib/dns-query.js';
import { runCli } from '../helpers/cli.js';
import { CORRUPTIONS, PROVIDER, ZONE, corruptStateConfig, daemonEnvironment, recoveryLine, snapshot, startAndAwaitZone } from './corrupt-state-harness.js';
import type { RunningDaemon } from './daemon-harness.js';

/**
 * The built-in DNS server's zone must survive a corrupt state file at start: the daemon holds the
 * whole desired state, so it moves the file aside (kept), rebuilds the zone and says so. A corrupt
 * overrides file, which holds what operators asked for and cannot be rebuilt, stops the start, and
 * the error says the DNS servers are down because of it and how to recover.
 */

let dir = '';
let stateDir = '';
let configPath = '';
let daemon: RunningDaemon | undefined;

/** A webhook receiver on loopback: every notification body the daemons post. */
const posted: Record<string, unknown>[] = [];
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (chunk: Buffer) => (body += chunk.toString()));
  req.on('end', () => {
    posted.push(JSON.parse(body) as Record<string, unknown>);
    res.writeHead(204).end();
  });
});
let webhook = '';
beforeAll(async () => {
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  webhook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
});
afterAll(async () => {
  receiver.closeAllConnections();
  receiver.close();
  await once(receiver, 'close');
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dq-corrupt-state-'));
  stateDir = join(dir, 'state');
  configPath = join(dir, 'dnsquorum.yaml');
  posted.length = 0;
  await writeFile(configPath, corruptStateConfig(stateDir, webhook));
});
afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
  await rm(dir, { recursive: true, force: true });
});

const byName = (name: string): (typeof CORRUPTIONS)[number] => {
  const found = CORRUPTIONS.find((c) => c.name === name);
  if (found === undefined) throw new Error(`no corruption ${name}`);
  return found;
};

describe('a corrupt local state file at start', () => {
  it.each(['truncated JSON', 'a directory in place of the file', 'a file in place of the local directory'])(
    '%s: the zone is served from the config, the bad file is kept aside, and the log, status and notification say so',
    // Longer than the bounded waits inside, so a wait that runs out says what it saw.
    { timeout: 60_000 },
    async (name) => {
      const moved = await byName(name).make(stateDir);
      const before = await snapshot(moved);

      const started = await startAndAwaitZone(configPath);
      daemon = started.daemon;

      const line = recoveryLine(daemon.logs());
      expect(line?.msg).toMatch(/^state file .* did not load \(.*\); moved aside to .*\.corrupt-\d{8}T\d{6}Z and kept for inspection/);
      const movedTo = line?.movedTo;
      if (typeof movedTo !== 'string') throw new Error(`no movedTo in ${JSON.stringify(line)}`);
      expect(movedTo.startsWith(`${moved}.corrupt-`)).toBe(true);
      expect(await snapshot(movedTo)).toEqual(before);

      const status = await daemon.status();
      expect(status.corruptStateFiles).toEqual([expect.objectContaining({ provider: PROVIDER, path: moved, movedTo, moveError: null })]);
      const zone = status.providers.find((p) => p.provider === PROVIDER)?.zones[0];
      expect(zone?.state).toBe('in-sync');

      const shown = await runCli(['status', '--api', daemon.apiUrl, '--config', configPath], { env: daemonEnvironment });
      expect(shown.code).toBe(0);
      expect(shown.stdout).toContain(`${PROVIDER}: state file ${moved} did not load at start (`);
      expect(shown.stdout).toContain(`moved aside to ${movedTo}, its zones rebuilt from the config`);

      const notified = await vi.waitFor(() => {
        const event = posted.find((e) => e.kind === 'state-file-corrupt');
        if (event === undefined) throw new Error(`no state-file-corrupt notification yet: ${JSON.stringify(posted.map((e) => e.kind))}`);
        return event;
      }, { timeout: 10_000, interval: 50 });
      expect(notified).toMatchObject({ severity: 'warning', provider: PROVIDER, details: { path: moved, movedTo, moveError: null } });
    },
  );

  it('is moved once: a restart on the rebuilt file serves the same zone and moves nothing', { timeout: 90_000 }, async () => {
    await byName('binary garbage').make(stateDir);
    daemon = (await startAndAwaitZone(configPath)).daemon;
    expect(await daemon.stop()).toBe(0);
    daemon = undefined;
    const copies = (await readdir(join(stateDir, 'local'))).filter((f) => f.includes('.corrupt-'));
    expect(copies).toHaveLength(1);

    daemon = (await startAndAwaitZone(configPath)).daemon;
    expect(recoveryLine(daemon.logs())).toBeUndefined();
    expect((await readdir(join(stateDir, 'local'))).filter((f) => f.includes('.corrupt-'))).toEqual(copies);
  });
});

describe('a corrupt overrides file at start', () => {
  it('stops the start with an error that names the file and where it breaks, says the DNS servers are down, and gives the command; that command recovers', async () => {
    const overrides = join(stateDir, 'overrides.json');
    await mkdir(stateDir, { recursive: true });
    await writeFile(overrides, '{\n  "version": 1,\n  "entries": [\n    { "slot": ');

    const refused = await runCli(['run', '--config', configPath], { env: daemonEnvironment, timeoutMs: 30_000 });

    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`dnsquorum run: DQ_STATE_CORRUPT: ${overrides}: not valid JSON: ends early at line 4, column 15 (truncated)`);
    expect(refused.stderr).toMatch(new RegExp(`the built-in DNS servers ${PROVIDER} \\(127\\.0\\.0\\.1:0\\) are NOT serving`));
    expect(await readFile(overrides, 'utf8')).toContain('"slot": ');
    const command = /(mv \S+ \S+)\s*$/.exec(refused.stderr)?.[1];
    if (command === undefined) throw new Error(`no recovery command in: ${refused.stderr}`);
    expect(command).toMatch(new RegExp(`^mv ${overrides} ${overrides}\\.corrupt-\\d{8}T\\d{6}Z$`));

    const to = command.split(' ')[2] ?? '';
    // What the operator pastes: the file moves aside, the daemon starts and serves the zone.
    await promisify(execFile)('sh', ['-c', command]);
    expect(await readFile(to, 'utf8')).toContain('"slot": ');
    const started = await startAndAwaitZone(configPath);
    daemon = started.daemon;
    expect(rcodeName((await queryDns(started.address, ZONE, 'SOA')).packet)).toBe('NOERROR');
  });

  it('a directory in place of the overrides file is refused the same way', async () => {
    await mkdir(join(stateDir, 'overrides.json'), { recursive: true });
    const refused = await runCli(['run', '--config', configPath], { env: daemonEnvironment, timeoutMs: 30_000 });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/overrides\.json: cannot be read \(EISDIR.*\); the daemon does not start without its overrides, so nothing is probed or written, and the built-in DNS servers lab .* are NOT serving\..* mv \S+overrides\.json \S+overrides\.json\.corrupt-\d{8}T\d{6}Z\s*$/s);
  });
});
