import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The compiled CLI, built by test/global-setup.ts. */
export const CLI = fileURLToPath(new URL('../../dist/cli/index.js', import.meta.url));
export const REPO = fileURLToPath(new URL('../../', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `dnsquorum ARGS` to completion as a real process. */
export function runCli(args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd ?? REPO,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => { resolve({ code, stdout, stderr }); });
  });
}

/** Starts `dnsquorum ARGS` in the background; the caller stops it. Log lines are collected as they come. */
export function startCli(args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): { child: ChildProcess; lines: string[]; stderr: string[] } {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? REPO,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const stderr: string[] = [];
  let partial = '';
  child.stdout?.on('data', (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  child.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
  return { child, lines, stderr };
}

/** Resolves with the exit code once the process has exited. */
export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => { resolve(code); }));
}

/**
 * Runs `dnsquorum ARGS` inside this test process, with its output captured: for what is decided
 * before any I/O of a long-lived kind (argument parsing, config validation, help), where a process
 * per case would only add start-up time. What crosses processes (exit on signals, the daemon)
 * keeps runCli.
 */
export async function runCliInProcess(args: readonly string[]): Promise<CliResult> {
  const { runCli: run } = await import('../../src/cli/dispatch.js');
  const { commandHelp } = await import('../../src/cli/args.js');
  let stdout = '';
  let stderr = '';
  const code = await run(args, { out: (text) => (stdout += text), err: (text) => (stderr += text), help: commandHelp });
  return { code, stdout, stderr };
}
