import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { vi } from 'vitest';

/** A standalone fake (dist-fakes/fakes/NAME/cli.js, built by test/global-setup.ts) running as its own process. */
export interface FakeProcess {
  readonly child: ChildProcess;
  readonly stdout: string[];
  readonly stderr: string[];
}

const running: ChildProcess[] = [];

/** Starts `node dist-fakes/fakes/<fake>/cli.js ARGS`, collecting its output. */
export function startFakeProcess(fake: 'route53' | 'ns1', args: readonly string[]): FakeProcess {
  const cli = fileURLToPath(new URL(`../../dist-fakes/fakes/${fake}/cli.js`, import.meta.url));
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(child);
  const stdout: string[] = [];
  const stderr: string[] = [];
  child.stdout?.on('data', (d: Buffer) => stdout.push(d.toString()));
  child.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
  return { child, stdout, stderr };
}

/** The JSON line a fake prints on stdout once it listens. */
export async function announcement<T>(started: FakeProcess): Promise<T> {
  const line = await vi.waitFor(
    () => {
      const text = started.stdout.join('');
      if (!text.includes('\n')) throw new Error(`no line on stdout yet; stderr: ${started.stderr.join('')}`);
      return text.split('\n')[0] ?? '';
    },
    { timeout: 15_000, interval: 20 },
  );
  return JSON.parse(line) as T;
}

/** The exit code once the process has exited and its output streams are drained. */
export function closed(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null && child.stdout?.readableEnded !== false && child.stderr?.readableEnded !== false) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('close', (code) => { resolve(code); }));
}

/** Kills every fake this helper started that is still running (for afterEach). */
export function killFakeProcesses(): void {
  for (const child of running.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}
