import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { runCli } from '../helpers/cli.js';
import { startLateProxy } from '../helpers/late-proxy.js';
import type { Hold, LateProxy } from '../helpers/late-proxy.js';
import { API_TOKEN, WAIT, startDaemon, startProbePair } from '../e2e/daemon-harness.js';
import type { ProbeTarget, RunningDaemon } from '../e2e/daemon-harness.js';
import { faultCases, recordFault } from './fault-table.js';

/**
 * Issue 16, defect 3: a daemon too busy to answer in time. A real `dnsquorum run` process, reached
 * through a TCP proxy on loopback that holds one connection's request (the daemon takes it after
 * the CLI gave up, as a loaded daemon did 7-10 s after a 5 s timeout) or its answer (the daemon
 * acts at once, its answer comes too late). The CLI, a real process, must send the failover
 * again with the same Idempotency-Key, exit 0 with the override's id, and the daemon must hold
 * exactly one override made by it: one `override` audit line, with that id, and no second one
 * when the held request reaches the daemon after the answer. Case 0 is the incident as seen: the
 * CLI's default 5 s timeout and a request held 7 s; the other cases use short timeouts, hold the
 * request or the answer for various times, some the first two tries.
 */

const FAULT = 'CLI timeout with idempotent retry (exactly one override)';
const CASES = faultCases(3, 12);
/** Loopback addresses of this file's probe targets (no other test uses 127.0.58.x). */
const PRIMARY = '127.0.58.1';
const SECONDARY = '127.0.58.2';
const ZONE = 'late.example.com.';
const RECORD = `api.${ZONE}`;

interface Case {
  readonly holds: readonly Hold[];
  /** --timeout; the CLI's default (5 s) when undefined. */
  readonly timeout: string | undefined;
}

function caseOf(i: number): Case {
  if (i === 0) return { holds: [{ side: 'request', ms: 7_000 }], timeout: undefined };
  const side = i % 2 === 0 ? 'answer' : 'request';
  const ms = 500 + ((i * 331) % 900);
  // Every third case holds the second try too: the third one gets through.
  return { holds: i % 3 === 2 ? [{ side, ms }, { side: 'request', ms: 900 }] : [{ side, ms }], timeout: '400ms' };
}

function overrideIdForKey(key: string): string {
  return `o-${createHash('sha256').update(`dnsquorum override\n${key}`, 'utf8').digest('hex').slice(0, 12)}`;
}

function config(stateDir: string, port: number): string {
  return `region: test
stateDir: ${stateDir}
api: { listen: 127.0.0.1:0, token: "\${DNSQUORUM_API_TOKEN}" }
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
          check: { protocol: http, port: ${port}, path: /healthz, expect: 200, interval: 200ms, timeout: 150ms, fall: 2, rise: 2 }
          pools:
            - { name: primary, values: [${PRIMARY}] }
            - { name: secondary, values: [${SECONDARY}] }
`;
}

const auditSchema = z.object({ events: z.array(z.object({ action: z.string(), overrideId: z.string().nullable(), result: z.string() })) });
const overridesSchema = z.object({ overrides: z.array(z.object({ id: z.string(), state: z.string() })) });

describe(FAULT, () => {
  let dir = '';
  let daemon: RunningDaemon | undefined;
  let proxy: LateProxy | undefined;
  let probes: { primary: ProbeTarget; secondary: ProbeTarget } | undefined;
  const env = { DNSQUORUM_API_TOKEN: API_TOKEN, DNSQUORUM_API_URL: '', DNSQUORUM_REGION: '' };

  const api = async (path: string): Promise<unknown> => {
    const response = await fetch(`${daemon?.apiUrl ?? ''}${path}`, { headers: { authorization: `Bearer ${API_TOKEN}` }, signal: AbortSignal.timeout(5_000) });
    expect(response.status).toBe(200);
    return response.json();
  };
  const overrideLines = async (): Promise<{ overrideId: string | null; result: string }[]> =>
    auditSchema.parse(await api('/v1/audit?limit=1000')).events.filter((e) => e.action === 'override');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dq-cli-timeout-'));
    const pair = await startProbePair(PRIMARY, SECONDARY);
    probes = pair;
    const configPath = join(dir, 'dnsquorum.yaml');
    await writeFile(configPath, config(join(dir, 'state'), pair.port));
    daemon = await startDaemon(configPath, env);
    const [host, port] = new URL(daemon.apiUrl).host.split(':');
    proxy = await startLateProxy({ host: host ?? '127.0.0.1', port: Number(port) });
    // Health known, so the failovers below are accepted without warnings about unknown health.
    await vi.waitFor(async () => {
      const report = await daemon?.status();
      expect(report?.endpoints.map((e) => e.state)).toEqual(['up', 'up']);
    }, WAIT);
  }, 60_000);

  afterAll(async () => {
    await proxy?.close();
    await daemon?.stop();
    await Promise.all([probes?.primary.stop(), probes?.secondary.stop()]);
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  }, 30_000);

  it('makes exactly one override per failover, whose answer did not come in time', { timeout: 60_000 + CASES * 20_000 }, async ({ task }) => {
    let passed = 0;
    let lost = 0;
    const failures: string[] = [];
    for (let i = 0; i < CASES; i++) {
      const late = proxy;
      if (late === undefined) throw new Error('setup failed');
      const c = caseOf(i);
      const label = `case ${i} (${c.holds.map((h) => `${h.side} held ${h.ms} ms`).join(', then ')}, timeout ${c.timeout ?? 'default'})`;
      const linesBefore = (await overrideLines()).length;
      const keysBefore = late.keys.length;
      for (const hold of c.holds) late.holdNext(hold);
      const pool = i % 2 === 0 ? 'secondary' : 'primary';
      const result = await runCli(
        ['failover', RECORD, '--to', pool, '--reason', `late answer ${i}`, '--no-wait', '--api', late.url, ...(c.timeout === undefined ? [] : ['--timeout', c.timeout])],
        { env, timeoutMs: 60_000 },
      );
      // Every held request has reached the daemon (and been answered) before the count.
      await late.settled();
      const keys = late.keys.slice(keysBefore);
      const key = keys[0] ?? null;
      const id = key === null ? null : overrideIdForKey(key);
      const lines = (await overrideLines()).slice(linesBefore);
      const active = overridesSchema.parse(await api('/v1/overrides')).overrides;
      const problems: string[] = [];
      if (result.code !== 0) problems.push(`the CLI exited ${String(result.code)}: ${result.stderr.trim()}`);
      if (keys.length < 2) problems.push(`${keys.length} tries reached the proxy; expected a retry`);
      if (keys.some((k) => k !== key)) problems.push(`the tries carried different keys: ${keys.join(', ')}`);
      if (id !== null && !result.stdout.includes(`override ${id}:`)) problems.push(`the CLI did not print override ${id}: ${result.stdout.trim()}`);
      if (lines.length !== 1 || lines[0]?.overrideId !== id) problems.push(`the daemon made ${lines.length} overrides: ${JSON.stringify(lines)}`);
      const inForce = active.some((o) => o.id === id);
      if (!inForce) problems.push(`override ${String(id)} is not in force: ${JSON.stringify(active)}`);
      if (result.code === 0 && !inForce) lost++;
      if (problems.length === 0) passed++;
      else failures.push(`${label}: ${problems.join('; ')}`);
    }
    recordFault({ task }, { fault: FAULT, cases: CASES, passed, lost });
    expect(failures).toEqual([]);
    expect(lost).toBe(0);
    expect(passed).toBe(CASES);
  });
});
