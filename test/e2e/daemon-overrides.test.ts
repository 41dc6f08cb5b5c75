import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { runCli } from '../helpers/cli.js';
import type { CliResult } from '../helpers/cli.js';
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
  zoneStatus,
} from './daemon-harness.js';
import type { Fakes, FailoverRecord, ProbeTarget, RunningDaemon } from './daemon-harness.js';

/**
 * Issue 7, on one daemon with the fakes as providers: the on-call commands move traffic at both
 * providers and wait until they serve it, refuse an unsafe override unless forced, survive a
 * restart, end by themselves on expiry, reject callers without the token, and leave one audit
 * line per action.
 */

const PRIMARY = '127.0.0.81';
const SECONDARY = '127.0.0.82';
const RECORD = 'api.example.com';
const RECORDS = staticRecords(5);

let dir = '';
let fakes: Fakes | undefined;
let daemon: RunningDaemon | undefined;
let configFile = '';
let stopProbes: (() => Promise<void>) | undefined;
let secondaryProbe: ProbeTarget | undefined;
let restartSecondary: (() => Promise<void>) | undefined;

function running(): RunningDaemon {
  if (daemon === undefined) throw new Error('setup failed');
  return daemon;
}

function bothFakes(): Fakes {
  if (fakes === undefined) throw new Error('setup failed');
  return fakes;
}

/** The A value each provider holds for api (fake state). */
function held(): { r53: string | undefined; ns1: string | undefined } {
  return { r53: heldValues(heldAtRoute53(bothFakes()), 'api', 'A'), ns1: heldValues(heldAtNs1(bothFakes()), 'api', 'A') };
}

function cli(args: readonly string[]): Promise<CliResult> {
  return runCli([...args, '--api', running().apiUrl], { env: daemonEnv(bothFakes()), timeoutMs: 60_000 });
}

const auditSchema = z.object({ events: z.array(z.object({ action: z.string(), actor: z.string(), record: z.string().nullable(), result: z.string(), overrideId: z.string().nullable(), why: z.string() })) });

async function auditEvents(): Promise<z.infer<typeof auditSchema>['events']> {
  const response = await fetch(`${running().apiUrl}/v1/audit?limit=1000`, { headers: { authorization: `Bearer ${API_TOKEN}` } });
  expect(response.status).toBe(200);
  return auditSchema.parse(await response.json()).events;
}

async function activeOverrides(): Promise<{ id: string; name: string; action: { kind: string } }[]> {
  return (await running().status()).overrides.map((o) => ({ id: o.id, name: o.name, action: o.action }));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dq-daemon-overrides-'));
  fakes = await startFakes();
  const pair = await startProbePair(PRIMARY, SECONDARY);
  stopProbes = async () => {
    await Promise.all([pair.primary.stop(), secondaryProbe?.stop()]);
  };
  secondaryProbe = pair.secondary;
  restartSecondary = async () => {
    secondaryProbe = await startProbeTarget(SECONDARY, pair.port);
  };
  const failover: FailoverRecord = { name: 'api', port: pair.port, primary: PRIMARY, secondary: SECONDARY };
  configFile = join(dir, 'dnsquorum.yaml');
  await writeFile(configFile, daemonConfig({ stateDir: join(dir, 'state'), fakes, drift: 'repair', records: RECORDS, failover: [failover] }));
  daemon = await startDaemon(configFile, daemonEnv(fakes));
  await vi.waitFor(async () => {
    expect(held()).toEqual({ r53: PRIMARY, ns1: PRIMARY });
    const report = await running().status();
    expect(report.hold).toBeNull();
  }, WAIT);
}, 60_000);

afterAll(async () => {
  await daemon?.stop();
  await stopProbes?.();
  await fakes?.close();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
}, 30_000);

describe('on-call overrides on one daemon', { timeout: TEST_TIMEOUT_MS }, () => {
  it('rejects a request without the token, or with a wrong one, with 401 and changes nothing', async () => {
    const body = JSON.stringify({ record: RECORD, action: { kind: 'force-pool', pool: 'secondary' }, reason: 'intruder' });
    for (const headers of [{}, { authorization: 'Bearer wrong-token' }] as Record<string, string>[]) {
      const response = await fetch(`${running().apiUrl}/v1/overrides`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ error: { code: 'DQ_API_UNAUTHORIZED' } });
    }
    const release = await fetch(`${running().apiUrl}/v1/records/${RECORD}/overrides`, { method: 'DELETE', headers: { authorization: 'Bearer nope' } });
    expect(release.status).toBe(401);
    expect(await activeOverrides()).toEqual([]);
    expect(held()).toEqual({ r53: PRIMARY, ns1: PRIMARY });
  });

  it('failover --to secondary moves the record at both providers, waits for it, and status shows it in sync', async () => {
    const result = await cli(['failover', RECORD, '--to', 'secondary', '--reason', 'move traffic for the db migration']);
    expect(result.stderr + result.stdout).not.toMatch(/unexpected error/);
    expect(result.code, result.stderr).toBe(0);
    expect(held()).toEqual({ r53: SECONDARY, ns1: SECONDARY });
    await vi.waitFor(async () => {
      const report = await running().status();
      expect(report.overrides).toHaveLength(1);
      expect(report.overrides[0]).toMatchObject({ name: `${RECORD}.`, action: { kind: 'force-pool', pool: 'secondary' }, reason: 'move traffic for the db migration', actor: 'api', state: 'active' });
      expect(report.records.find((r) => r.name === `${RECORD}.`)).toMatchObject({ pool: 'secondary', cause: 'override' });
      expect(zoneStatus(report, 'r53').state).toBe('in-sync');
      expect(zoneStatus(report, 'ns1').state).toBe('in-sync');
    }, WAIT);
    const shown = await cli(['status']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/move traffic for the db migration/);
  });

  it('release returns the record to health', async () => {
    const result = await cli(['release', RECORD, '--reason', 'migration done']);
    expect(result.code, result.stderr).toBe(0);
    await vi.waitFor(() => {
      expect(held()).toEqual({ r53: PRIMARY, ns1: PRIMARY });
    }, WAIT);
    expect(await activeOverrides()).toEqual([]);
  });

  it('refuses a failover to a pool health says is down, with the reason, and applies it with --force', async () => {
    await secondaryProbe?.stop();
    await vi.waitFor(async () => {
      const report = await running().status();
      expect(report.endpoints.find((e) => e.endpointId.includes(SECONDARY))?.state).toBe('down');
    }, WAIT);
    const refused = await cli(['failover', RECORD, '--to', 'secondary', '--reason', 'try the dead pool']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/DQ_OVERRIDE_REFUSED/);
    expect(refused.stderr).toMatch(/down/);
    expect(await activeOverrides()).toEqual([]);
    expect(held()).toEqual({ r53: PRIMARY, ns1: PRIMARY });

    const forced = await cli(['failover', RECORD, '--to', 'secondary', '--reason', 'forced on purpose', '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(held()).toEqual({ r53: SECONDARY, ns1: SECONDARY });
    const [only] = (await running().status()).overrides;
    expect(only).toMatchObject({ forced: true, reason: 'forced on purpose' });

    const released = await cli(['release', RECORD]);
    expect(released.code, released.stderr).toBe(0);
    await vi.waitFor(() => {
      expect(held()).toEqual({ r53: PRIMARY, ns1: PRIMARY });
    }, WAIT);
    await restartSecondary?.();
    await vi.waitFor(async () => {
      const report = await running().status();
      expect(report.endpoints.find((e) => e.endpointId.includes(SECONDARY))?.state).toBe('up');
    }, WAIT);
  });

  it('keeps an override across a daemon restart, with no write that undoes it', async () => {
    const made = await cli(['failover', RECORD, '--to', 'secondary', '--reason', 'survive a restart', '--for', '1h']);
    expect(made.code, made.stderr).toBe(0);
    const before = await activeOverrides();
    expect(before).toHaveLength(1);

    expect(await running().stop()).toBe(0);
    const stoppedAt = Date.now();
    daemon = await startDaemon(configFile, daemonEnv(bothFakes()));
    expect(await activeOverrides()).toEqual(before);
    await vi.waitFor(async () => {
      const report = await running().status();
      expect(report.hold).toBeNull();
      expect(report.records.find((r) => r.name === `${RECORD}.`)).toMatchObject({ pool: 'secondary', cause: 'override' });
      expect(zoneStatus(report, 'r53').state).toBe('in-sync');
      expect(zoneStatus(report, 'ns1').state).toBe('in-sync');
    }, WAIT);
    expect(held()).toEqual({ r53: SECONDARY, ns1: SECONDARY });
    // Nothing was written back to the primary in between.
    const r53Writes = bothFakes().route53.requests.filter((r) => r.at >= stoppedAt && r.operation === 'ChangeResourceRecordSets');
    expect(r53Writes).toEqual([]);

    const released = await cli(['release', before[0]?.id ?? '']);
    expect(released.code, released.stderr).toBe(0);
    await vi.waitFor(() => {
      expect(held()).toEqual({ r53: PRIMARY, ns1: PRIMARY });
    }, WAIT);
  });

  it('ends an expired override by itself, and health decides again', async () => {
    const made = await cli(['failover', RECORD, '--to', 'secondary', '--reason', 'short one', '--for', '4s', '--no-wait']);
    expect(made.code, made.stderr).toBe(0);
    await vi.waitFor(() => {
      expect(held()).toEqual({ r53: SECONDARY, ns1: SECONDARY });
    }, { timeout: 4_000, interval: 20 });
    await vi.waitFor(async () => {
      expect(await activeOverrides()).toEqual([]);
      expect(held()).toEqual({ r53: PRIMARY, ns1: PRIMARY });
      expect((await auditEvents()).filter((e) => e.action === 'expired').map((e) => e.why)).toEqual(['short one']);
    }, WAIT);
  });

  it('keeps one audit line per action', async () => {
    const events = await auditEvents();
    const actions = events.filter((e) => e.action !== 'write').map((e) => `${e.action} ${e.result.split(':')[0] ?? ''}`);
    // Made before the restart: the first failover, its release, the refusal, the forced one and its release.
    // After: the restart-proof one (made before the restart, in the same file), its release, the short one, its expiry.
    expect(actions).toEqual([
      'override accepted',
      'release released',
      'refused refused',
      'override accepted (forced past',
      'release released',
      'override accepted',
      'release released',
      'override accepted',
      'expired expired',
    ]);
    const writes = events.filter((e) => e.action === 'write');
    expect(writes.length).toBeGreaterThan(0);
    expect(writes.every((e) => e.actor === 'dnsquorum' && e.result === 'applied')).toBe(true);
    expect(writes.some((e) => /override o-/.test(e.why))).toBe(true);
    expect(writes.some((e) => /\(health\)/.test(e.why))).toBe(true);
    const cliAudit = await cli(['audit', '--json']);
    expect(cliAudit.code, cliAudit.stderr).toBe(0);
    expect(cliAudit.stdout).toMatch(/forced on purpose/);
  });
});
