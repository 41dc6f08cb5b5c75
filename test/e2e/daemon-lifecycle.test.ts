import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  API_TOKEN,
  TEST_TIMEOUT_MS,
  WAIT,
  daemonConfig,
  daemonEnv,
  heldAtNs1,
  heldAtRoute53,
  heldValues,
  startDaemon,
  startFakes,
  startProbePair,
  startProbeTarget,
  staticRecords,
} from './daemon-harness.js';
import type { Fakes, FailoverRecord, ProbeTarget, RunningDaemon, StaticRecord } from './daemon-harness.js';

/**
 * Issue 8, the daemon's life under an orchestrator: liveness and readiness, config reload by
 * SIGHUP and POST /v1/reload (an invalid config is refused and the old one keeps serving; a changed
 * record is applied), and SIGTERM during a write (the write is finished, then exit 0).
 */

const PRIMARY = '127.0.0.85';
const SECONDARY = '127.0.0.86';
const RECORDS = staticRecords(6);

let dir = '';
let fakes: Fakes | undefined;
let daemon: RunningDaemon | undefined;
let configFile = '';
let probes: ProbeTarget[] = [];
let failover: FailoverRecord | undefined;

function running(): RunningDaemon {
  if (daemon === undefined) throw new Error('setup failed');
  return daemon;
}

function bothFakes(): Fakes {
  if (fakes === undefined) throw new Error('setup failed');
  return fakes;
}

/** Every notification the daemon posted to its webhook sink. */
const received: { kind: string; record: string | null; summary: string }[] = [];
let receiver: Server | undefined;
let receiverUrl = '';

function configWith(records: readonly StaticRecord[]): string {
  if (failover === undefined) throw new Error('setup failed');
  const base = daemonConfig({ stateDir: join(dir, 'state'), fakes: bothFakes(), drift: 'repair', records, failover: [failover] });
  return `${base}notifications:\n  sinks:\n    - { name: hook, type: webhook, url: ${receiverUrl} }\n`;
}

/** RECORDS with host0's value replaced. */
function withHost0(value: string): StaticRecord[] {
  return RECORDS.map((r) => (r.name === 'host0' ? { ...r, values: [value] } : r));
}

function host0(): { r53: string | undefined; ns1: string | undefined } {
  return { r53: heldValues(heldAtRoute53(bothFakes()), 'host0', 'A'), ns1: heldValues(heldAtNs1(bothFakes()), 'host0', 'A') };
}

async function get(path: string, token?: string): Promise<{ status: number; body: unknown; text: string }> {
  const response = await fetch(`${running().apiUrl}${path}`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  let body: unknown = null;
  try {
    body = JSON.parse(text) as unknown;
  } catch {
    body = null;
  }
  return { status: response.status, body, text };
}

async function postReload(): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${running().apiUrl}/v1/reload`, { method: 'POST', headers: { authorization: `Bearer ${API_TOKEN}` }, signal: AbortSignal.timeout(30_000) });
  return { status: response.status, body: await response.json() };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dq-daemon-lifecycle-'));
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      received.push(JSON.parse(body) as { kind: string; record: string | null; summary: string });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver?.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  fakes = await startFakes();
  const pair = await startProbePair(PRIMARY, SECONDARY);
  probes = [pair.primary, pair.secondary];
  failover = { name: 'api', port: pair.port, primary: PRIMARY, secondary: SECONDARY };
  configFile = join(dir, 'dnsquorum.yaml');
  await writeFile(configFile, configWith(RECORDS));
  daemon = await startDaemon(configFile, daemonEnv(fakes));
  await vi.waitFor(() => {
    expect(host0()).toEqual({ r53: '10.0.0.1', ns1: '10.0.0.1' });
  }, WAIT);
}, 60_000);

afterAll(async () => {
  await daemon?.stop();
  await Promise.all(probes.map((p) => p.stop()));
  await fakes?.close();
  receiver?.closeAllConnections();
  receiver?.close();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
}, 30_000);

describe('the daemon under an orchestrator', { timeout: TEST_TIMEOUT_MS }, () => {
  it('answers /healthz and /readyz without a token, and is ready once every record has quorum data', async () => {
    const health = await get('/healthz');
    expect(health).toMatchObject({ status: 200, body: { alive: true, state: 'running' } });
    await vi.waitFor(async () => {
      const ready = await get('/readyz');
      expect(ready.status, ready.text).toBe(200);
      expect(ready.body).toMatchObject({ ready: true });
    }, WAIT);
  });

  it('refuses an invalid config on SIGHUP, logs and counts it, and keeps serving the old one', async () => {
    await writeFile(configFile, `${configWith(withHost0('10.7.7.7'))}\n  broken: [\n`);
    running().signal('SIGHUP');
    await vi.waitFor(async () => {
      const report = await running().status();
      expect(report.config.lastReload?.result).toBe('invalid');
    }, WAIT);
    const report = await running().status();
    expect(report.state).toBe('running');
    expect(report.config.lastReload?.message).toMatch(/dnsquorum\.yaml:\d+:\d+/);
    expect(running().logs().some((l) => l.level === 50 && l.msg.startsWith('config reload invalid'))).toBe(true);
    const metrics = await get('/metrics');
    expect(metrics.text).toMatch(/^dnsquorum_config_reloads_total\{result="invalid"\} 1$/m);
    // Still serving, and still answering: the old config goes on.
    expect(host0()).toEqual({ r53: '10.0.0.1', ns1: '10.0.0.1' });
    expect((await get('/healthz')).status).toBe(200);
  });

  it('refuses over the API too, naming the error, with a 400', async () => {
    const answer = await postReload();
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: { code: 'DQ_CONFIG_INVALID' } });
  });

  it('applies a changed record on POST /v1/reload at both providers', async () => {
    await writeFile(configFile, configWith(withHost0('10.7.7.7')));
    const answer = await postReload();
    expect(answer).toMatchObject({ status: 200, body: { result: 'applied' } });
    await vi.waitFor(() => {
      expect(host0()).toEqual({ r53: '10.7.7.7', ns1: '10.7.7.7' });
    }, WAIT);
    expect((await running().status()).config.lastReload?.result).toBe('applied');
  });

  it('posts a failover and a failback to the webhook sink when the primary goes down and comes back', async () => {
    const [primary] = probes;
    await primary?.stop();
    await vi.waitFor(() => {
      expect(received.map((e) => `${e.kind} ${e.record ?? ''}`)).toContain('failover api.example.com.');
    }, WAIT);
    if (failover === undefined) throw new Error('setup failed');
    probes[0] = await startProbeTarget(PRIMARY, failover.port);
    await vi.waitFor(() => {
      expect(received.map((e) => `${e.kind} ${e.record ?? ''}`)).toContain('failback api.example.com.');
    }, WAIT);
    expect(received.find((e) => e.kind === 'failover')?.summary).toMatch(/failed over to pool secondary/);
  });

  it('refuses a reload that needs a restart (a new region) with a 409 naming it', async () => {
    const changed = configWith(withHost0('10.7.7.7')).replace(/^region: test$/m, 'region: elsewhere');
    await writeFile(configFile, changed);
    const answer = await postReload();
    expect(answer.status).toBe(409);
    expect(answer.body).toMatchObject({ error: { code: 'DQ_RELOAD_REJECTED' } });
    expect(JSON.stringify(answer.body)).toMatch(/region changed/);
    expect((await running().status()).region).toBe('test');
    await writeFile(configFile, configWith(withHost0('10.7.7.7')));
  });

  it('never lets a secret value reach a log line, the status, the metrics or the audit log', async () => {
    // A refused request gives the API's error path something to log.
    await fetch(`${running().apiUrl}/v1/status`, { headers: { authorization: 'Bearer not-the-token' } });
    const secrets = [API_TOKEN, bothFakes().env.NS1_API_KEY ?? '', bothFakes().env.AWS_SECRET_ACCESS_KEY ?? ''];
    expect(secrets.every((s) => s.length >= 8)).toBe(true);
    const seen = [
      ...running().logs().map((l) => JSON.stringify(l)),
      (await get('/v1/status', API_TOKEN)).text,
      (await get('/metrics')).text,
      (await get('/v1/audit?limit=1000', API_TOKEN)).text,
      (await get('/readyz')).text,
    ].join('\n');
    expect(running().logs().length).toBeGreaterThan(20);
    for (const secret of secrets) expect(seen.includes(secret), `a secret of ${secret.length} characters was found`).toBe(false);
  });

  it('on SIGTERM during a write, finishes the write and exits 0', async () => {
    // Route53 keeps the change PENDING for 3 s: the provider waits for INSYNC, so the write is in flight that long.
    bothFakes().route53.setChangeDelay(3000);
    await writeFile(configFile, configWith(withHost0('10.8.8.8')));
    const since = Date.now();
    expect((await postReload()).status).toBe(200);
    await vi.waitFor(() => {
      expect(bothFakes().route53.requests.some((r) => r.at >= since && r.operation === 'ChangeResourceRecordSets' && r.status === 200)).toBe(true);
    }, WAIT);
    running().signal('SIGTERM');
    expect(await running().exited()).toBe(0);
    const logs = running().logs();
    const stopAt = logs.findIndex((l) => l.msg.startsWith('received SIGTERM'));
    const appliedAt = logs.findIndex((l, i) => i > stopAt && l.provider === 'r53' && /^applied \d+ changes to example\.com\. at r53/.test(l.msg));
    expect(stopAt).toBeGreaterThanOrEqual(0);
    expect(appliedAt, 'the write in flight was finished after SIGTERM').toBeGreaterThan(stopAt);
    expect(bothFakes().route53.requests.some((r) => r.at >= since && r.operation === 'GetChange')).toBe(true);
    expect(host0().r53).toBe('10.8.8.8');
    bothFakes().route53.setChangeDelay(0);
  });
});
