import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { loadConfigFile } from '../../config/load.js';
import type { LocalProviderConfig, ResolvedConfig } from '../../config/types.js';
import type { FailoverRecordSpec, ZoneSpec } from '../../domain/zone.js';
import { DnsQuorumError, errorMessage } from '../../lib/errors.js';
import { answerValues, queryDns } from '../../lib/dns-query.js';
import { parseCommand, stringOption } from '../args.js';
import type { CommandSpec } from '../args.js';
import { DemoBackend } from '../demo/backend.js';
import type { CommandIo } from './io.js';

export const demoSpec: CommandSpec = {
  name: 'demo',
  summary:
    'The no-cloud demonstration. Starts two local HTTP backends, runs the daemon on config/demo.yaml with two\n' +
    'built-in DNS providers, takes the primary backend down and brings it back, and shows the failover and\n' +
    'failback as real DNS queries to both providers see them. Exit 0 when it saw both; 1 otherwise.',
  options: {},
};

const BUNDLED_CONFIG = fileURLToPath(new URL('../../../config/demo.yaml', import.meta.url));
const CLI_ENTRY = fileURLToPath(new URL('../index.js', import.meta.url));
const POLL_MS = 100;

interface DemoPlan {
  readonly zone: ZoneSpec;
  readonly record: FailoverRecordSpec;
  readonly primary: readonly string[];
  readonly secondary: readonly string[];
  readonly port: number;
  readonly servers: readonly LocalProviderConfig[];
}

/** The first failover record with two pools, checked over http, on a zone served by local providers. */
function demoPlan(config: ResolvedConfig): DemoPlan {
  for (const zone of config.zones) {
    const servers = zone.providers.flatMap((name) => {
      const p = config.providers.get(name);
      return p?.type === 'local' ? [p] : [];
    });
    for (const record of zone.records) {
      if (record.kind !== 'failover' || record.type !== 'A' || record.failover.check.protocol !== 'http') continue;
      const [primary, secondary] = record.failover.pools;
      if (primary === undefined || secondary === undefined || servers.length === 0) continue;
      return { zone, record, primary: primary.values, secondary: secondary.values, port: record.failover.check.port, servers };
    }
  }
  throw new DnsQuorumError('DQ_USAGE', `${config.source}: the demo needs an A failover record with an http check and two pools, in a zone served by local providers`);
}

/** Prints events as they are seen, each stamped with seconds since the demo started. */
class Timeline {
  private readonly t0 = Date.now();

  constructor(private readonly io: CommandIo) {}

  now(): number {
    return Date.now() - this.t0;
  }

  /** Records an event seen now, or at `wallClockMs` (an event the daemon logged with its own time). */
  mark(text: string, wallClockMs?: number): number {
    const at = wallClockMs === undefined ? this.now() : wallClockMs - this.t0;
    this.io.out(`  +${(at / 1000).toFixed(2).padStart(6)}s  ${text}\n`);
    return at;
  }
}

/** JSON log lines of the daemon, kept for the phases to wait on. */
class DaemonLog {
  readonly lines: Record<string, unknown>[] = [];
  readonly stderr: string[] = [];

  constructor(child: ChildProcess) {
    if (child.stdout !== null) {
      createInterface({ input: child.stdout }).on('line', (line) => {
        try {
          this.lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          this.stderr.push(line);
        }
      });
    }
    if (child.stderr !== null) createInterface({ input: child.stderr }).on('line', (line) => this.stderr.push(line));
  }

  find(after: number, match: (line: Record<string, unknown>) => boolean): Record<string, unknown> | undefined {
    return this.lines.slice(after).find(match);
  }
}

async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined> | T | undefined, exited: () => boolean): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (exited()) throw new DnsQuorumError('DQ_INTERNAL', `the daemon exited while waiting for ${what}`);
    if (performance.now() > deadline) throw new DnsQuorumError('DQ_INTERNAL', `did not see ${what} within ${timeoutMs / 1000}s`);
    await delay(POLL_MS);
  }
}

async function served(server: LocalProviderConfig, name: string): Promise<string[]> {
  try {
    const reply = await queryDns(server.listen, name, 'A', { timeoutMs: 500 });
    return answerValues(reply.packet, 'A');
  } catch {
    return [];
  }
}

function same(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().every((v, i) => v === [...b].sort()[i]);
}

export async function demoCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseCommand(demoSpec, argv);
  if (values.help === true) {
    io.out(io.help(demoSpec));
    return 0;
  }
  const configFile = stringOption(values, 'config') ?? BUNDLED_CONFIG;
  const stateDir = await mkdtemp(join(tmpdir(), 'dnsquorum-demo-'));
  const env = { ...process.env, DNSQUORUM_STATE_DIR: stateDir, DNSQUORUM_LOG_LEVEL: 'info' };
  const config = await loadConfigFile(configFile, env);
  const plan = demoPlan(config);
  const name = plan.record.name;
  const backends = new Map([...plan.primary, ...plan.secondary].map((ip) => [ip, new DemoBackend(ip, plan.port)]));
  const timeline = new Timeline(io);
  let child: ChildProcess | undefined;
  let log: DaemonLog | undefined;
  let exitCode: number | null = null;

  io.out(`dnsquorum demo: ${name} A fails over from pool primary (${plan.primary.join(', ')}) to secondary (${plan.secondary.join(', ')})\n`);
  io.out(`providers: ${plan.servers.map((s) => `${s.name} (DNS on ${s.listen.host}:${s.listen.port})`).join(', ')}; state in ${stateDir}\n\n`);
  try {
    for (const backend of backends.values()) await backend.start();
    timeline.mark(`backends up: ${[...backends.values()].map((b) => b.address).join(', ')}`);

    child = spawn(process.execPath, [CLI_ENTRY, 'run', '--config', configFile], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.on('exit', (code) => {
      exitCode = code ?? 1;
    });
    const daemonLog = new DaemonLog(child);
    log = daemonLog;
    const exited = (): boolean => exitCode !== null;
    timeline.mark(`daemon started (pid ${child.pid ?? '?'}): dnsquorum run --config ${configFile}`);

    const answering = async (label: string, want: readonly string[], timeoutMs: number): Promise<void> => {
      const pending = new Set(plan.servers);
      await waitFor(`${label} answered by every provider`, timeoutMs, async () => {
        for (const server of [...pending]) {
          if (same(await served(server, name), want)) {
            pending.delete(server);
            timeline.mark(`${server.name} answers ${name} A ${want.join(', ')} (${label})`);
          }
        }
        return pending.size === 0 ? true : undefined;
      }, exited);
    };
    const logged = async (what: string, from: number, match: (l: Record<string, unknown>) => boolean): Promise<void> => {
      const line = await waitFor(what, 10_000, () => daemonLog.find(from, match), exited);
      const loggedAt = typeof line.time === 'string' ? Date.parse(line.time) : Number.NaN;
      timeline.mark(`${what}: ${String(line.msg)}`, Number.isNaN(loggedAt) ? undefined : loggedAt);
    };
    const health = (ip: string, state: string) => (l: Record<string, unknown>) => typeof l.endpoint === 'string' && l.endpoint.endsWith(` ${ip}`) && l.state === state;
    const serves = (want: readonly string[]) => (l: Record<string, unknown>) => l.record === name && Array.isArray(l.values) && same(l.values as string[], want);

    await answering('pool primary', plan.primary, 30_000);

    const primaryIp = plan.primary[0] ?? '';
    let mark = daemonLog.lines.length;
    const cut = timeline.mark(`primary backend ${plan.primary.join(', ')} stopped`);
    for (const ip of plan.primary) await backends.get(ip)?.stop();
    await logged('quorum verdict', mark, health(primaryIp, 'down'));
    await logged('decision', mark, serves(plan.secondary));
    await answering('pool secondary: failover', plan.secondary, 10_000);
    const failover = timeline.now() - cut;

    mark = daemonLog.lines.length;
    const restore = timeline.mark(`primary backend ${plan.primary.join(', ')} back`);
    for (const ip of plan.primary) await backends.get(ip)?.start();
    await logged('quorum verdict', mark, health(primaryIp, 'up'));
    await logged('decision', mark, serves(plan.primary));
    await answering('pool primary: failback', plan.primary, 10_000);
    const failback = timeline.now() - restore;

    const check = plan.record.failover.check;
    io.out(
      `\nfailover: ${(failover / 1000).toFixed(2)}s from the primary going down to every provider answering the secondary` +
        ` (detection takes about interval ${check.intervalMs}ms x fall ${check.fall} = ${(check.intervalMs * check.fall) / 1000}s)\n` +
        `failback: ${(failback / 1000).toFixed(2)}s from the primary coming back to every provider answering it` +
        ` (about interval x rise ${check.rise} = ${(check.intervalMs * check.rise) / 1000}s)\n`,
    );
    child.kill('SIGTERM');
    await waitFor('the daemon to exit after SIGTERM', 10_000, () => (exitCode === null ? undefined : exitCode), () => false);
    if (exitCode !== 0) throw new DnsQuorumError('DQ_INTERNAL', `the daemon exited with code ${String(exitCode)} after SIGTERM`);
    timeline.mark('daemon stopped cleanly (SIGTERM, exit 0)');
    io.out('demo: saw failover and failback on both providers\n');
    return 0;
  } catch (err) {
    io.err(`\ndemo failed: ${errorMessage(err)}\n`);
    if (log !== undefined) {
      const tail = [...log.lines.slice(-15).map((l) => `  ${String(l.msg)}`), ...log.stderr.slice(-15).map((l) => `  ${l}`)];
      if (tail.length > 0) io.err(`last daemon output:\n${tail.join('\n')}\n`);
    }
    return 1;
  } finally {
    if (child !== undefined && exitCode === null) child.kill('SIGKILL');
    for (const backend of backends.values()) await backend.stop();
    await rm(stateDir, { recursive: true, force: true });
  }
}
