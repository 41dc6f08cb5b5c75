import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/**
 * Real `dnsquorum run` processes for the failover bench: spawned from the built CLI (dist/), their
 * JSON log lines read as they come, their admin API asked for status.
 */

/** dist/ holds the app (`npm run build`); this file runs from dist-bench/bench/failover/. */
export const CLI = fileURLToPath(new URL('../../../dist/cli/index.js', import.meta.url));
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/** One JSON log line: its time (epoch ms, from the ISO stamp) and the whole object. */
export interface LogLine {
  readonly at: number;
  readonly msg: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

const STOP_GRACE_MS = 10_000;
/** Lines kept from a replica whose lines are not read, to say why it failed. */
const TAIL_LINES = 200;

/** The parts of GET /v1/status the bench reads. */
const statusSchema = z.looseObject({
  region: z.string(),
  hold: z.string().nullable(),
  records: z.array(z.looseObject({ name: z.string(), type: z.string(), pool: z.string().nullable() })),
  cluster: z.looseObject({ writer: z.string().nullable(), seesQuorum: z.boolean() }),
  providers: z.array(z.looseObject({ provider: z.string(), zones: z.array(z.looseObject({ zone: z.string(), state: z.string() })) })),
  endpoints: z.array(
    z.looseObject({
      endpointId: z.string(),
      state: z.string(),
      regions: z.array(z.looseObject({ region: z.string(), state: z.string() })),
    }),
  ),
});
export type ReplicaStatus = z.infer<typeof statusSchema>;

export class Replica {
  private readonly child: ChildProcess;
  private readonly kept: LogLine[] = [];
  private readonly tail: string[] = [];
  private readonly stderr: string[] = [];
  private partial = '';

  private constructor(
    readonly region: string,
    readonly apiUrl: string,
    private readonly token: string,
    configFile: string,
    env: NodeJS.ProcessEnv,
    /** Lines for which this is true are kept (parsed) for the bench to read; the others only in a short tail. */
    private readonly keep: (msg: string) => boolean,
  ) {
    this.child = spawn(process.execPath, [CLI, 'run', '--config', configFile], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.on('data', (d: Buffer) => { this.take(d.toString()); });
    this.child.stderr?.on('data', (d: Buffer) => { this.stderr.push(d.toString()); });
  }

  static spawn(o: { region: string; apiUrl: string; token: string; configFile: string; env: NodeJS.ProcessEnv; keep: (msg: string) => boolean }): Replica {
    return new Replica(o.region, o.apiUrl, o.token, o.configFile, o.env, o.keep);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The kept lines logged at or after `since` (epoch ms). */
  lines(since = 0): LogLine[] {
    return this.kept.filter((l) => l.at >= since);
  }

  /** What it said last, for an error message. */
  lastWords(): string {
    return [...this.tail.slice(-20), ...this.stderr.slice(-5)].join('\n');
  }

  async status(): Promise<ReplicaStatus> {
    if (!this.running) throw new Error(`replica ${this.region} exited (${this.child.exitCode ?? this.child.signalCode}):\n${this.lastWords()}`);
    const response = await fetch(`${this.apiUrl}/v1/status`, { headers: { authorization: `Bearer ${this.token}` }, signal: AbortSignal.timeout(5000) });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`GET ${this.apiUrl}/v1/status answered ${response.status}: ${text.slice(0, 300)}`);
    const parsed = statusSchema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new Error(`status of replica ${this.region} lacks what the bench reads: ${parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    return parsed.data;
  }

  /** SIGTERM, SIGKILL after a grace period; resolves once it has exited. */
  async stop(): Promise<void> {
    if (!this.running) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => { resolve(); }));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_GRACE_MS);
    try {
      await exited;
    } finally {
      clearTimeout(timer);
    }
  }

  private take(chunk: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) {
      this.tail.push(line);
      if (this.tail.length > TAIL_LINES * 2) this.tail.splice(0, this.tail.length - TAIL_LINES);
      const parsed = parseLine(line);
      if (parsed !== undefined && this.keep(parsed.msg)) this.kept.push(parsed);
    }
  }
}

function parseLine(line: string): LogLine | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value = JSON.parse(line) as unknown;
    if (typeof value !== 'object' || value === null) return undefined;
    const fields = value as Record<string, unknown>;
    const { msg, time } = fields;
    if (typeof msg !== 'string' || typeof time !== 'string') return undefined;
    const at = Date.parse(time);
    return Number.isNaN(at) ? undefined : { at, msg, fields };
  } catch {
    return undefined;
  }
}

/**
 * `count` distinct free TCP ports on 127.0.0.1, for the replicas' admin APIs: every replica's peer
 * list names the others' URLs, so the ports must be known before any of them starts.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () =>
      new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
        const server = createServer();
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => { resolve(server); });
      }),
    ),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => { resolve(); }))));
  return ports;
}
