import { watch } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseState } from '../../src/providers/local/state.js';
import { exited, runCli, startCli } from '../helpers/cli.js';

/**
 * SIGKILL the daemon while it writes a large zone to a local provider, many times: the moment its
 * temp file appears (the write has begun), plus a few milliseconds that differ from round to round. The
 * state file must always be whole: exactly the zone before the write, or exactly after it. Then a
 * plain sync converges and plan finds nothing to do.
 */
const ZONE = 'crash.example.com.';
const BASE_RECORDS = 3000;
const ADDED_PER_ROUND = 500;

function hostsIn(round: number): number {
  return BASE_RECORDS + ADDED_PER_ROUND * round;
}

function config(stateDir: string, round: number): string {
  const records = Array.from({ length: hostsIn(round) }, (_, i) => `      h${i}: { type: A, ttl: 300, value: 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255} }`);
  return `region: test
stateDir: ${stateDir}
api: { listen: 127.0.0.1:0 }
sync: { interval: 1h }
providers:
  lab: { type: local, listen: 127.0.0.1:0, nameserver: ns1.lab.example.net. }
zones:
  ${ZONE}:
    providers: [lab]
    records:
${records.join('\n')}
`;
}

/**
 * Milliseconds between the temp file appearing and the kill, one per round: short ones land
 * before the rename (old state), long ones after it (new state), the ones between race it.
 */
const KILL_DELAYS_MS = [0, 2, 30, 5, 1, 45, 10, 3, 20, 8];
const ROUNDS = KILL_DELAYS_MS.length;

describe('SIGKILL in the middle of a write', () => {
  let dir: string;
  let statePath: string;
  let configPath: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dq-crash-'));
    statePath = join(dir, 'state', 'local', 'lab.json');
    await mkdir(join(dir, 'state', 'local'), { recursive: true });
    configPath = join(dir, 'dnsquorum.yaml');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('leaves the local state file whole every time, and the next sync converges', async () => {
    const outcomes: string[] = [];
    /** A-record count the file held after the previous round; undefined while no write has landed. */
    let previous: number | undefined;
    for (let round = 0; round < ROUNDS; round++) {
      await writeFile(configPath, config(join(dir, 'state'), round));
      const delay = KILL_DELAYS_MS[round] ?? 0;
      const writing = new Promise<void>((resolve) => {
        const watcher = watch(join(dir, 'state', 'local'), (_event, file) => {
          if (file?.startsWith('.lab.json.tmp-') === true) {
            watcher.close();
            resolve();
          }
        });
      });
      const daemon = startCli(['run', '--config', configPath]);
      await Promise.race([writing, exited(daemon.child)]);
      await new Promise((r) => setTimeout(r, delay));
      expect(daemon.child.exitCode, daemon.stderr.join('')).toBeNull();
      daemon.child.kill('SIGKILL');
      await exited(daemon.child);

      let text: string | undefined;
      try {
        text = await readFile(statePath, 'utf8');
      } catch {
        text = undefined;
      }
      if (text === undefined) {
        expect(previous).toBeUndefined();
        outcomes.push('absent');
        continue;
      }
      const state = parseState(statePath, text);
      const records = state.zones[ZONE]?.records ?? [];
      const hosts = records.filter((r) => r.type === 'A').length;
      // Old (what the last round left; an empty new zone if none) or new, never anything between.
      expect([previous ?? 0, hostsIn(round)]).toContain(hosts);
      outcomes.push(hosts === hostsIn(round) ? 'new' : 'old');
      previous = hosts;
    }
    console.log(`SIGKILL rounds: ${outcomes.join(', ')}`);

    const apply = await runCli(['sync', '--apply', '--config', configPath]);
    expect(apply.code).toBe(0);
    const plan = await runCli(['plan', '--config', configPath]);
    expect(plan.code).toBe(0);
    // Ten daemon starts on a 6,500-record zone: about 25 s alone, more beside a second test worker.
  }, 90_000);
});
