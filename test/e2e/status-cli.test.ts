import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminApi } from '../../src/control/api/server.js';
import { Metrics } from '../../src/control/metrics/metrics.js';
import { statusRoute } from '../../src/control/api/status.js';
import type { DaemonStatusReport } from '../../src/control/api/status.js';
import { silentLogger } from '../../src/lib/logger.js';
import { runCli } from '../helpers/cli.js';

const TOKEN = 'status-cli-token-8c2e';
const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);

const REPORT: DaemonStatusReport = {
  region: 'us-east',
  state: 'running',
  startedAt: NOW - 2 * 3600_000 - 3 * 60_000,
  now: NOW,
  overrides: [],
  config: { source: '/etc/dnsquorum/dnsquorum.yaml', loadedAt: NOW - 3_600_000, lastReload: null },
  hold: 'waiting for quorum data on api.example.com. A (1 of 2 regions reported)',
  cluster: {
    region: 'us-east',
    writerCapable: true,
    freshRegions: ['eu-west', 'us-east'],
    quorum: 2,
    seesQuorum: true,
    writer: 'eu-west',
    peers: [
      { region: 'eu-west', url: 'http://127.0.0.2:8053', lastHeardAt: NOW - 400, fresh: true, writer: true, seesQuorum: true, lastSentAt: NOW - 1_000, lastSendError: null, lastAnsweredAt: NOW - 1_000, alive: true, refusesStale: false, clockOffsetMs: 1_200, stampsRefused: 0 },
      { region: 'ap-south', url: 'http://127.0.0.3:8053', lastHeardAt: NOW - 75_000, fresh: false, writer: false, seesQuorum: false, lastSentAt: null, lastSendError: 'connection refused', lastAnsweredAt: null, alive: false, refusesStale: false, clockOffsetMs: null, stampsRefused: 0 },
    ],
    rejected: { stale: 2, 'bad-signature': 5, replayed: 0 },
    clockSkewed: [],
  },
  endpoints: [
    {
      endpointId: 'api-primary-1',
      state: 'down',
      reason: '2 of 3 regions say down',
      insufficientVantage: false,
      since: NOW - 95_000,
      regions: [
        { region: 'us-east', state: 'down', ageMs: 400, reason: '3 failures in a row' },
        { region: 'eu-west', state: 'down', ageMs: 200, reason: '3 failures in a row' },
        { region: 'ap-south', state: 'up', ageMs: 1_100, reason: '2 successes in a row' },
      ],
    },
    {
      endpointId: 'web-1',
      state: 'unknown',
      reason: 'only 1 region reports, quorum needs 2',
      insufficientVantage: true,
      since: NOW - 5_000,
      regions: [{ region: 'us-east', state: 'up', ageMs: 2_000, reason: '2 successes in a row' }],
    },
  ],
  records: [
    { zone: 'example.com.', name: 'api.example.com.', type: 'A', pool: 'secondary', values: ['198.51.100.20'], cause: 'health', reason: 'primary: 2 of 2 values down in 2 of 3 regions', since: NOW - 95_000 },
    { zone: 'example.com.', name: 'www.example.com.', type: 'CNAME', pool: 'primary', values: ['edge.example.net.'], cause: 'override', reason: 'alice: maintenance', since: NOW - 3_600_000 },
  ],
  providers: [
    {
      provider: 'r53',
      type: 'route53',
      zones: [
        {
          zone: 'example.com.',
          state: 'in-sync',
          lagMs: 0,
          lastError: null,
          consecutiveFailures: 0,
          nextPassAt: NOW + 30_000,
          lastReadAt: NOW - 60_000,
          lastDnsCheckAt: NOW - 10_000,
          lastWrite: { at: NOW - 95_000, changes: 1, timeToVisibleMs: 12_300, visible: 'visible' },
          drift: { detected: 0, repaired: 0, current: [] },
        },
      ],
    },
    {
      provider: 'ns1',
      type: 'ns1',
      zones: [
        {
          zone: 'example.com.',
          state: 'lagging',
          lagMs: 95_000,
          lastError: { code: 'DQ_PROVIDER_THROTTLED', message: 'ns1: 429 rate limit exceeded', at: NOW - 20_000 },
          consecutiveFailures: 2,
          nextPassAt: NOW + 20_000,
          lastReadAt: NOW - 20_000,
          lastDnsCheckAt: NOW - 20_000,
          lastWrite: null,
          drift: { detected: 1, repaired: 0, current: ['mail.example.com. MX'] },
        },
      ],
    },
  ],
};

/** A loopback port nobody listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => { resolve(); }));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('dnsquorum status against a live admin API', () => {
  const metrics = new Metrics(() => REPORT);
  const api = new AdminApi({ listen: { host: '127.0.0.1', port: 0 }, tokens: new Map([['api', TOKEN]]), routes: [statusRoute(() => REPORT), metrics.route()], logger: silentLogger() });
  let url: string;
  let dir: string;

  beforeAll(async () => {
    await api.start();
    url = `http://127.0.0.1:${api.address().port}`;
    dir = await mkdtemp(join(tmpdir(), 'dq-status-'));
  });
  afterAll(async () => {
    await api.close();
    await rm(dir, { recursive: true, force: true });
  });

  // The environment of the test run must not leak an API address or token into the CLI.
  const clean = { DNSQUORUM_API_URL: '', DNSQUORUM_API_TOKEN: '', DNSQUORUM_CONFIG: '/nonexistent/dnsquorum.yaml' };

  it('prints the hold, the failover records and every provider per zone', async () => {
    const result = await runCli(['status', '--api', url], { env: { ...clean, DNSQUORUM_API_TOKEN: TOKEN } });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const out = result.stdout;
    expect(out).toContain('dnsquorum us-east: running, up 2h 3m');
    expect(out).toContain('writes held: waiting for quorum data on api.example.com. A');
    expect(out).toMatch(/example\.com\. +api\.example\.com\. +A +secondary +198\.51\.100\.20 +health +1m 35s ago +primary: 2 of 2 values down/);
    expect(out).toMatch(/www\.example\.com\. +CNAME +primary +edge\.example\.net\. +override +1h 0m ago/);
    expect(out).toContain('zone example.com.');
    expect(out).toMatch(/r53 +route53 +in-sync +0s +1 change 1m 35s ago, visible in 12\.3s +0 found, 0 repaired, 0 now +-/);
    expect(out).toMatch(/ns1 +ns1 +lagging \(2 failed in a row, next pass in 20s\) +1m 35s +- +1 found, 0 repaired, 1 now +DQ_PROVIDER_THROTTLED: ns1: 429 rate limit exceeded \(20s ago\)/);
    expect(out).toContain('ns1 differs now (drift: report): mail.example.com. MX');
    expect(out.split('\n').filter((l) => / $/.test(l))).toEqual([]);
  });

  it('prints the cluster: this region, the writer, the quorum in view, each peer and refused messages', async () => {
    const result = await runCli(['status', '--api', url], { env: { ...clean, DNSQUORUM_API_TOKEN: TOKEN } });
    expect(result.code).toBe(0);
    const out = result.stdout;
    expect(out).toContain('\nCluster\n');
    expect(out).toContain('  this region: us-east (may write)');
    expect(out).toContain('  writer: eu-west');
    expect(out).toContain('  fresh regions: 2 of 3 (eu-west, us-east), quorum 2: sees quorum');
    expect(out).toMatch(/PEER +HEARD +MAY WRITE +SEES QUORUM +LAST SENT +LAST SEND ERROR/);
    expect(out).toMatch(/eu-west +fresh \(0\.4s ago\) +yes +yes +1s ago +-/);
    expect(out).toMatch(/ap-south +silent for 1m 15s +no +no +- +connection refused/);
    // Sorted by reason; reasons with no refusals are left out.
    expect(out).toContain('  refused peer messages: bad-signature 5, stale 2\n');
  });

  it("prints each endpoint's state and reason, then every region's verdict and age", async () => {
    const result = await runCli(['status', '--api', url], { env: { ...clean, DNSQUORUM_API_TOKEN: TOKEN } });
    expect(result.code).toBe(0);
    const out = result.stdout;
    expect(out).toContain('\nEndpoints\n');
    expect(out).toMatch(/api-primary-1 +down +1m 35s ago +2 of 3 regions say down +us-east down 0\.4s {2}eu-west down 0\.2s {2}ap-south up 1\.1s\n/);
    expect(out).toMatch(/web-1 +unknown \(too few regions\) +5s ago +only 1 region reports, quorum needs 2 +us-east up 2\.0s\n/);
  });

  it('--json prints the report as the API gave it', async () => {
    const result = await runCli(['status', '--api', url, '--json'], { env: { ...clean, DNSQUORUM_API_TOKEN: TOKEN } });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(REPORT);
  });

  it('reads the token from --token-file, trimmed', async () => {
    const file = join(dir, 'token');
    await writeFile(file, `  ${TOKEN}\n`);
    const result = await runCli(['status', '--api', `${url}/`, '--token-file', file, '--json'], { env: clean });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it("finds the address and the token in the config's api section", async () => {
    const config = join(dir, 'dnsquorum.yaml');
    const secret = join(dir, 'api-token');
    await writeFile(secret, `${TOKEN}\n`);
    await writeFile(
      config,
      [
        'region: us-east',
        `stateDir: ${join(dir, 'state')}`,
        `api: { listen: "127.0.0.1:${api.address().port}", token: { file: "${secret}" } }`,
        'providers:',
        '  lab: { type: local, listen: 127.0.0.1:1, nameserver: ns1.lab.example.net. }',
        'zones:',
        '  example.com:',
        '    providers: [lab]',
        '    records:',
        '      www: { type: CNAME, ttl: 300, value: edge.example.net. }',
        '',
      ].join('\n'),
    );
    const result = await runCli(['status', '--config', config, '--json'], { env: clean });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as DaemonStatusReport).region).toBe('us-east');
  });

  it('takes the address from DNSQUORUM_API_URL', async () => {
    const result = await runCli(['status', '--json'], { env: { ...clean, DNSQUORUM_API_URL: url, DNSQUORUM_API_TOKEN: TOKEN } });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it.each([
    ['a wrong token', { DNSQUORUM_API_TOKEN: `${TOKEN}-wrong` }, 'DQ_API_UNAUTHORIZED: the bearer token is wrong (token from DNSQUORUM_API_TOKEN)'],
    ['no token', {}, 'DQ_API_UNAUTHORIZED: this route needs an Authorization: Bearer <token> header'],
  ])('exits 1 with the API message on %s', async (_name, env, message) => {
    const result = await runCli(['status', '--api', url], { env: { ...clean, ...env } });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(message);
  });

  it('exits 1 with "cannot reach" when nothing listens', async () => {
    const port = await closedPort();
    const result = await runCli(['status', '--api', `http://127.0.0.1:${port}`], { env: { ...clean, DNSQUORUM_API_TOKEN: TOKEN } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`cannot reach the admin API at http://127.0.0.1:${port}/v1/status: connection refused`);
  });

  it("passes the API's error through when the base URL is wrong", async () => {
    const result = await runCli(['status', '--api', `${url}/metrics`], { env: { ...clean, DNSQUORUM_API_TOKEN: TOKEN } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('DQ_API_NOT_FOUND: no route /metrics/v1/status');
  });

  it('exits 1 naming the bad field when the answer is not a status report', async () => {
    const zone = REPORT.providers[0]?.zones[0];
    const bad = { ...REPORT, providers: [{ provider: 'r53', type: 'route53', zones: [{ ...zone, lagMs: 'soon' }] }] };
    const odd = new AdminApi({
      listen: { host: '127.0.0.1', port: 0 },
      tokens: new Map([['api', TOKEN]]),
      routes: [{ method: 'GET', path: '/v1/status', auth: true, handle: () => Promise.resolve({ status: 200, body: bad }) }],
      logger: silentLogger(),
    });
    await odd.start();
    try {
      const result = await runCli(['status', '--api', `http://127.0.0.1:${odd.address().port}`], { env: { ...clean, DNSQUORUM_API_TOKEN: TOKEN } });
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain('DQ_API_BAD_ANSWER');
      expect(result.stderr).toContain('providers[0].zones[0].lagMs');
    } finally {
      await odd.close();
    }
  });

  it.each([
    ['cluster.writer', { ...REPORT, cluster: { ...REPORT.cluster, writer: 7 } }],
    ['cluster.rejected.stale', { ...REPORT, cluster: { ...REPORT.cluster, rejected: { stale: -1 } } }],
    ['endpoints[0].regions[1].ageMs', { ...REPORT, endpoints: [{ ...REPORT.endpoints[0], regions: [REPORT.endpoints[0]?.regions[0], { region: 'eu-west', state: 'up', ageMs: -5, reason: '' }] }] }],
    ['endpoints', Object.fromEntries(Object.entries(REPORT).filter(([key]) => key !== 'endpoints'))],
  ])('exits 1 naming %s when the cluster or endpoints part is wrong', async (field, bad) => {
    const odd = new AdminApi({
      listen: { host: '127.0.0.1', port: 0 },
      tokens: new Map([['api', TOKEN]]),
      routes: [{ method: 'GET', path: '/v1/status', auth: true, handle: () => Promise.resolve({ status: 200, body: bad }) }],
      logger: silentLogger(),
    });
    await odd.start();
    try {
      const result = await runCli(['status', '--api', `http://127.0.0.1:${odd.address().port}`], { env: { ...clean, DNSQUORUM_API_TOKEN: TOKEN } });
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain('DQ_API_BAD_ANSWER');
      expect(result.stderr).toContain(`${field}:`);
    } finally {
      await odd.close();
    }
  });

  it('exits 1 with a clear error when there is neither --api nor a config', async () => {
    const result = await runCli(['status', '--config', join(dir, 'missing.yaml')], { env: { ...clean, DNSQUORUM_API_TOKEN: TOKEN } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no admin API address: pass --api URL, set DNSQUORUM_API_URL, or point --config');
    expect(result.stderr).toContain('missing.yaml: no such file');
  });

  it('answers --help', async () => {
    const result = await runCli(['status', '--help'], { env: clean });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('--token-file FILE');
    expect(result.stdout).toContain('--api URL');
  });
});
