import { watch } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { recordKey } from '../../src/domain/record.js';
import { hasErrorCode } from '../../src/lib/atomic-file.js';
import { parseState } from '../../src/providers/local/state.js';
import { WAIT, startDaemon } from '../e2e/daemon-harness.js';
import type { RunningDaemon } from '../e2e/daemon-harness.js';
import { faultCases, recordFault } from './fault-table.js';

/**
 * A daemon in a crash loop must not get a fresh hourly write budget at each start. A real
 * `dnsquorum run` process writes one failover record (maxWritesPerHour: 2) to a local provider
 * while the record's primary flaps (a loopback HTTP server switched between 200 and 500 every
 * FLIP_MS); it is SIGKILLed and started again on the same state directory, round after round, at
 * a moment that differs from round to round (some as a write to the provider begins). Every write
 * to the zone raises the local provider's SOA serial by one, so the serial counts the
 * health-driven writes exactly, kills included; over all rounds (well inside one hour) they must
 * never exceed the budget. The record must be there after every kill.
 */

const FAULT = 'crash loop vs write budget';
const ZONE = 'crashloop.example.com.';
const RECORD = `api.${ZONE}`;
const BUDGET = 2;
/** Loopback addresses of this file's probe targets (no other test uses 127.0.57.x). */
const PRIMARY = '127.0.57.1';
const SECONDARY = '127.0.57.2';
const FLIP_MS = 250;
const ROUNDS = faultCases(6, 30);
/** How long each round runs after the admin API listens, unless a write to the provider begins first. */
const roundMs = (round: number): number => 700 + ((round * 389) % 900);
/** Rounds that are killed as a write to the provider begins (plus a few ms), when one does. */
const killOnWrite = (round: number): boolean => round % 2 === 0;

/** An HTTP health endpoint whose answer the test switches. */
interface Switchable {
  healthy: boolean;
  readonly server: Server;
}

function switchable(): Switchable {
  const target: Switchable = {
    healthy: true,
    server: createServer((req, res) => {
      res.writeHead(req.url === '/healthz' && target.healthy ? 200 : 500, { 'content-type': 'text/plain' }).end();
    }),
  };
  return target;
}

async function listen(server: Server, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

async function close(server: Server): Promise<void> {
  if (!server.listening) return;
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
}

/** The two targets on one port (a failover record has one check port): retried when the port is taken on the second address. */
async function startTargets(): Promise<{ port: number; primary: Switchable; secondary: Switchable }> {
  for (let attempt = 1; ; attempt++) {
    const primary = switchable();
    const secondary = switchable();
    const port = await listen(primary.server, PRIMARY, 0);
    try {
      await listen(secondary.server, SECONDARY, port);
      return { port, primary, secondary };
    } catch (err) {
      await close(primary.server);
      if (attempt >= 20 || !hasErrorCode(err, 'EADDRINUSE')) throw err;
    }
  }
}

function config(stateDir: string, port: number): string {
  return `region: test
stateDir: ${stateDir}
api: { listen: 127.0.0.1:0 }
cluster: { warmup: 2s }
sync: { interval: 1s }
providers:
  lab: { type: local, listen: 127.0.0.1:0, nameserver: ns1.lab.example.net. }
zones:
  ${ZONE}:
    providers: [lab]
    records:
      api:
        type: A
        ttl: 30
        failover:
          check: { protocol: http, port: ${port}, path: /healthz, expect: 200, interval: 100ms, timeout: 80ms, fall: 1, rise: 1 }
          pools:
            - { name: primary, values: [${PRIMARY}] }
            - { name: secondary, values: [${SECONDARY}] }
          holdDown: 0s
          maxWritesPerHour: ${BUDGET}
`;
}

describe(FAULT, () => {
  let dir: string;
  let stateDir: string;
  let configPath: string;
  let targets: Awaited<ReturnType<typeof startTargets>>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dq-crashloop-'));
    stateDir = join(dir, 'state');
    await mkdir(join(stateDir, 'local'), { recursive: true });
    configPath = join(dir, 'dnsquorum.yaml');
    targets = await startTargets();
    await writeFile(configPath, config(stateDir, targets.port));
  });
  afterAll(async () => {
    await Promise.all([close(targets.primary.server), close(targets.secondary.server)]);
    await rm(dir, { recursive: true, force: true });
  });

  /** The zone's serial and what the record serves, from the local provider's state file. */
  async function held(): Promise<{ serial: number; values: readonly string[] | undefined } | undefined> {
    const path = join(stateDir, 'local', 'lab.json');
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if (hasErrorCode(err, 'ENOENT')) return undefined;
      throw err;
    }
    const zone = parseState(path, text).zones[ZONE];
    if (zone === undefined) return undefined;
    return { serial: zone.serial, values: zone.records.find((r) => r.name === RECORD && r.type === 'A')?.values };
  }

  /** Runs until the round's time is up or, in a kill-on-write round, a write to the provider begins. */
  async function roundEnds(round: number): Promise<string> {
    const timeUp = new Promise<string>((resolve) => setTimeout(() => { resolve('time'); }, roundMs(round)));
    if (!killOnWrite(round)) return timeUp;
    const watcher = watch(join(stateDir, 'local'));
    const writing = new Promise<string>((resolve) => {
      watcher.on('change', (_event, file) => {
        if (String(file).startsWith('.lab.json.tmp-')) setTimeout(() => { resolve('write'); }, round % 5);
      });
    });
    try {
      return await Promise.race([timeUp, writing]);
    } finally {
      watcher.close();
    }
  }

  it('never writes a record more often than maxWritesPerHour, however often the daemon is killed and started again', async ({ task }) => {
    let passed = 0;
    let lost = 0;
    const failures: string[] = [];
    const kills: string[] = [];
    let flipper: NodeJS.Timeout | undefined;
    let daemon: RunningDaemon | undefined;
    let baseline: number | undefined;
    let writes = 0;
    try {
      for (let round = 0; round < ROUNDS; round++) {
        daemon = await startDaemon(configPath, {});
        if (baseline === undefined) {
          // First start, primary healthy: the record is created (not a health-driven change). Then the flapping starts.
          baseline = await vi.waitFor(async () => {
            const now = await held();
            if (now?.values?.[0] !== PRIMARY) throw new Error(`the record is not created yet: ${JSON.stringify(now)}`);
            return now.serial;
          }, WAIT);
          flipper = setInterval(() => { targets.primary.healthy = !targets.primary.healthy; }, FLIP_MS);
        }
        kills.push(await roundEnds(round));
        daemon.signal('SIGKILL');
        await daemon.exited();
        daemon = undefined;

        const after = await held();
        writes = after === undefined ? writes : after.serial - baseline;
        if (after?.values === undefined) {
          lost++;
          failures.push(`round ${round}: the record is gone from the provider`);
        } else if (writes > BUDGET) {
          failures.push(`round ${round}: ${writes} health-driven writes since the first start (maxWritesPerHour ${BUDGET})`);
        } else {
          passed++;
        }
      }
    } finally {
      clearInterval(flipper);
      if (daemon !== undefined) {
        daemon.signal('SIGKILL');
        await daemon.exited();
      }
    }
    console.log(`crash loop: ${ROUNDS} rounds ended by ${kills.join(', ')}; ${writes} health-driven writes`);
    recordFault({ task }, { fault: FAULT, cases: ROUNDS, passed, lost });
    expect(failures).toEqual([]);
    expect(lost).toBe(0);
    // The flapping did drive writes, and the budget it spent is on record, bounded.
    expect(writes).toBeGreaterThanOrEqual(1);
    const budget = JSON.parse(await readFile(join(stateDir, 'write-budget.json'), 'utf8')) as { records: Record<string, unknown[]> };
    expect(budget.records[recordKey(RECORD, 'A')]).toHaveLength(BUDGET);
  }, 180_000);
});
