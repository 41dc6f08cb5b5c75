import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * Real DNS servers (PowerDNS, BIND, Knot) that tests start on loopback ports with temporary
 * directories. In CI a missing or unstartable server is a failure with the reason; elsewhere a
 * test may skip with that reason, so a laptop without the Debian packages still runs the rest.
 */

/** Why `binary` cannot be used here, or undefined when it is on the PATH or at that path. */
export function missingBinary(binary: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' });
  return found.status === 0 ? undefined : `${binary} is not installed (Debian: see .ci/run for the packages)`;
}

/**
 * Undefined when the tests that need these binaries can run; else the reason to skip them. In CI
 * it throws instead: CI installs them, so their absence is a broken CI, not a reason to skip.
 */
export function skipReason(...binaries: string[]): string | undefined {
  const reasons = binaries.map(missingBinary).filter((r): r is string => r !== undefined);
  if (reasons.length === 0) return undefined;
  if (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false') throw new Error(`CI must have these servers: ${reasons.join('; ')}`);
  return reasons.join('; ');
}

/** A TCP port free on 127.0.0.1 now (the kernel picks it); servers that take a port number need one. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => { resolve(); }));
  return port;
}

export interface RunningServer {
  readonly child: ChildProcess;
  /** Everything it printed, for the failure message when it does not come up. */
  output(): string;
  stop(): Promise<void>;
}

/** Starts a server process in the foreground; stop() sends SIGTERM, then SIGKILL after 5 s. */
export function startProcess(command: string, args: readonly string[], options: { cwd?: string } = {}): RunningServer {
  const child = spawn(command, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: string[] = [];
  child.stdout?.on('data', (b: Buffer) => chunks.push(b.toString('utf8')));
  child.stderr?.on('data', (b: Buffer) => chunks.push(b.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => { resolve(); }));
  return {
    child,
    output: () => chunks.join('').slice(-4000),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/**
 * Resolves once `ready()` holds, polling every 50 ms; rejects with the server's output when it
 * exits first or `limitMs` passes (a server that cannot start fails the test with its reason).
 */
export async function waitUntilReady(server: RunningServer, what: string, ready: () => Promise<boolean>, limitMs = 15_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    if (server.child.exitCode !== null || server.child.signalCode !== null) throw new Error(`${what} exited during start-up (${server.child.exitCode ?? server.child.signalCode}):\n${server.output()}`);
    if (await ready().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not come up within ${limitMs} ms:\n${server.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
