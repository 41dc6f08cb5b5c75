import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

/**
 * The messages between the probe bench (bench.ts) and the two processes it forks: the target
 * servers (targets.ts) and the prober under measurement (load.ts). Each side of the bench runs in
 * its own process so that process.cpuUsage() and the RSS of load.ts count the prober alone: not
 * the servers answering it, and not whatever the runner process kept from an earlier bench.
 */

export interface Listener {
  readonly host: string;
  readonly port: number;
}

/** targets.js -> bench: every server listens. */
export interface TargetsReady {
  readonly kind: 'targets-ready';
  readonly listeners: readonly Listener[];
}

/** bench -> load.js: what to probe and for how long. */
export interface LoadPlan {
  readonly kind: 'load-plan';
  readonly listeners: readonly Listener[];
  readonly endpoints: number;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly maxConcurrent: number;
  readonly warmupMs: number;
  readonly windowMs: number;
}

/** load.js -> bench: what the measured window saw. */
export interface LoadFigures {
  readonly kind: 'load-figures';
  readonly windowSeconds: number;
  /** Results delivered to onResult during the window. */
  readonly completed: number;
  readonly failed: number;
  /** The most frequent failure details with their counts, most frequent first. */
  readonly failures: readonly (readonly [string, number])[];
  readonly started: number;
  readonly skippedInFlight: number;
  /** Probes that had to wait for a free slot (maxConcurrent). */
  readonly waitedForSlot: number;
  /** User + system CPU of load.js over the window. */
  readonly cpuSeconds: number;
  /** The system (kernel) part of cpuSeconds: on loopback it includes much of the servers' side of each TCP handshake. */
  readonly cpuSystemSeconds: number;
  readonly latenessMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly probeLatencyMs: { readonly p50: number; readonly p99: number };
  /** Share of the window the event loop was busy (performance.eventLoopUtilization): 1 means saturated. */
  readonly loopUtilization: number;
  /** Event-loop delay over the window, from perf_hooks.monitorEventLoopDelay. */
  readonly loopDelayMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly rssBaselineBytes: number;
  readonly rssPeakBytes: number;
  readonly heapPeakBytes: number;
}

export type ChildMessage = TargetsReady | LoadFigures;

function isChildMessage(value: unknown): value is ChildMessage {
  if (typeof value !== 'object' || value === null || !('kind' in value)) return false;
  return value.kind === 'targets-ready' || value.kind === 'load-figures';
}

/** Forks a compiled sibling module (e.g. "./targets.js") with an IPC channel. */
export function forkSibling(file: string, execArgv: readonly string[] = []): ChildProcess {
  const path = fileURLToPath(new URL(file, import.meta.url));
  return fork(path, [], { execArgv: [...execArgv], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

/** The next message of `kind` from `child`; rejects if the child exits or `timeoutMs` passes first. */
export function nextMessage<K extends ChildMessage['kind']>(child: ChildProcess, kind: K, timeoutMs: number): Promise<Extract<ChildMessage, { kind: K }>> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onMessage = (message: unknown): void => {
      if (!isChildMessage(message) || message.kind !== kind) return;
      cleanup();
      resolve(message as Extract<ChildMessage, { kind: K }>);
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      cleanup();
      reject(new Error(`bench child exited (${signal ?? `code ${code}`}) before sending ${kind}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`bench child sent no ${kind} within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

/** Asks a child to stop and waits for it; kills it if it has not exited within `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  // A child that is already on its way out may have closed the channel: then the kill below ends it.
  child.on('error', () => undefined);
  if (child.connected) {
    child.send('stop', (err) => {
      if (err !== null) child.kill('SIGKILL');
    });
  }
  const timer = setTimeout(() => {
    child.kill('SIGKILL');
  }, graceMs);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}
