import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import type { PrometheusFamily, PrometheusLabels, PrometheusValueSample } from 'parse-prometheus-text-format';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ClusterStatus, EndpointStatus } from '../../src/cluster/status.js';
import { AdminApi } from '../../src/control/api/server.js';
import { Metrics } from '../../src/control/metrics/metrics.js';
import type { NotificationCounts } from '../../src/control/metrics/metrics.js';
import type { DaemonStatusReport } from '../../src/control/api/status.js';
import { FakeNs1 } from '../../fakes/ns1/server.js';
import type { FakeRoute53, FakeRoute53Request } from '../../fakes/route53/server.js';
import type { ZoneSpec } from '../../src/domain/zone.js';
import { ManualClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/logger.js';
import { LocalProvider } from '../../src/providers/local/provider.js';
import { LocalDnsServer } from '../../src/providers/local/server.js';
import { Ns1Provider } from '../../src/providers/ns1/provider.js';
import { Reconciler } from '../../src/sync/reconciler.js';
import { quietObserver } from '../../src/sync/status.js';
import { concurrencyLimit } from '../../src/verify/limit.js';
import { verifyServer } from '../../src/verify/servers.js';
import type { ProviderZoneStatus } from '../../src/sync/status.js';
import { sleep as realSleep } from '../../src/providers/route53/rate-limiter.js';
import { never, rs, seeded, startHarness, useDummyAwsCredentials, writeBehindOurBack } from './route53-harness.js';
import type { Harness } from './route53-harness.js';
import { overrideView } from '../helpers/override-fixture.js';
import { SwitchableProvider } from '../helpers/switchable-provider.js';

/**
 * /metrics over real HTTP (AdminApi on loopback), parsed by a Prometheus text parser: every series
 * issue 8 names is there with its type, and provider API calls are counted by what the real
 * clients saw from the fakes (throttling included).
 */

useDummyAwsCredentials();

const NOW = 1_700_000_100_000;

/**
 * A scrape, parsed twice by the Prometheus text parser: as it is (families and their types), and
 * with histograms declared untyped so their _bucket, _sum and _count lines come out as families of
 * their own with their labels. parse-prometheus-text-format 1.1.1 folds every label set of a
 * histogram into one sample without labels (its flattenMetrics), so a labelled histogram can only
 * be read the second way.
 */
interface Scrape {
  readonly families: PrometheusFamily[];
  readonly flat: PrometheusFamily[];
}

function parseScrape(text: string): Scrape {
  return { families: parsePrometheusTextFormat(text), flat: parsePrometheusTextFormat(text.replace(/^# TYPE (\S+) histogram$/gm, '# TYPE $1 untyped')) };
}

interface Served {
  readonly metrics: Metrics;
  scrape(): Promise<Scrape>;
  close(): Promise<void>;
}

async function serve(metrics: Metrics): Promise<Served> {
  const api = new AdminApi({ listen: { host: '127.0.0.1', port: 0 }, tokens: new Map(), routes: [metrics.route()], logger: silentLogger() });
  await api.start();
  const url = `http://127.0.0.1:${api.address().port}/metrics`;
  return {
    metrics,
    scrape: async () => {
      const response = await fetch(url);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      return parseScrape(await response.text());
    },
    close: () => api.close(),
  };
}

function family(families: readonly PrometheusFamily[], name: string): PrometheusFamily {
  const found = families.find((f) => f.name === name);
  if (found === undefined) throw new Error(`no ${name} in the scrape`);
  return found;
}

function sameLabels(actual: PrometheusLabels | undefined, wanted: PrometheusLabels): boolean {
  const a = Object.entries(actual ?? {}).sort();
  const w = Object.entries(wanted).sort();
  return JSON.stringify(a) === JSON.stringify(w);
}

/**
 * Counter, gauge and untyped samples named so, over every family of that name: read untyped, one
 * histogram's _count lines come as several families (one per label set, between its _bucket lines).
 */
function samplesOf(families: readonly PrometheusFamily[], name: string): PrometheusValueSample[] {
  return families.flatMap((f) => {
    if (f.name !== name) return [];
    if (f.type === 'HISTOGRAM' || f.type === 'SUMMARY') throw new Error(`${name} is a ${f.type}`);
    return f.metrics;
  });
}

/** The value of the sample with exactly these labels; undefined when absent. */
function valueOf(families: readonly PrometheusFamily[], name: string, labels: PrometheusLabels): number | undefined {
  const found = samplesOf(families, name).filter((m) => sameLabels(m.labels, labels));
  if (found.length > 1) throw new Error(`${name}: ${found.length} samples labelled ${JSON.stringify(labels)}`);
  return found[0] === undefined ? undefined : Number(found[0].value);
}

/** The _count of a histogram with exactly these labels; undefined when absent. */
function histogramCount(scrape: Scrape, name: string, labels: PrometheusLabels): number | undefined {
  expect(family(scrape.families, name).type).toBe('HISTOGRAM');
  return valueOf(scrape.flat, `${name}_count`, labels);
}

function providerZone(zone: string, overrides: Partial<ProviderZoneStatus> = {}): ProviderZoneStatus {
  return {
    zone,
    state: 'in-sync',
    lagMs: 0,
    lastError: null,
    consecutiveFailures: 0,
    nextPassAt: NOW + 30_000,
    lastReadAt: NOW - 60_000,
    lastSuccessAt: NOW - 30_000,
    lastDnsCheckAt: NOW - 10_000,
    lastWrite: { at: NOW - 95_000, changes: 1, timeToVisibleMs: 1_200, visible: 'visible' },
    drift: { detected: 1, repaired: 0, current: ['mail.example.com. MX'] },
    ...overrides,
  };
}

const CLUSTER: ClusterStatus = {
  region: 'us-east',
  writerCapable: true,
  freshRegions: ['eu-west', 'us-east'],
  quorum: 2,
  seesQuorum: true,
  writer: 'us-east',
  peers: [{ region: 'eu-west', url: 'http://127.0.0.2:8053', lastHeardAt: NOW - 500, fresh: true, writer: true, seesQuorum: true, lastSentAt: NOW - 400, lastSendError: null, lastAnsweredAt: NOW - 400, alive: true, refusesStale: false, clockOffsetMs: null, stampsRefused: 0 }],
  rejected: { stale: 1 },
  clockSkewed: [],
};

const ENDPOINTS: readonly EndpointStatus[] = [
  {
    endpointId: 'api-primary-1',
    state: 'down',
    reason: '2 of 2 regions say down',
    insufficientVantage: false,
    since: NOW - 60_000,
    regions: [
      { region: 'us-east', state: 'down', ageMs: 400, reason: '3 failures in a row' },
      { region: 'eu-west', state: 'down', ageMs: 900, reason: '3 failures in a row' },
    ],
  },
];

function report(): DaemonStatusReport {
  return {
    region: 'us-east',
    state: 'running',
    startedAt: NOW - 600_000,
    now: NOW,
    hold: null,
    records: [],
    providers: [
      { provider: 'r53', type: 'route53', zones: [providerZone('example.com.')] },
      { provider: 'ns1', type: 'ns1', zones: [providerZone('example.com.', { state: 'lagging', lagMs: 5_000, consecutiveFailures: 2, lastSuccessAt: null })] },
    ],
    cluster: CLUSTER,
    endpoints: ENDPOINTS,
    overrides: [
      overrideView(NOW),
    ],
    config: { source: 'dnsquorum.yaml', loadedAt: NOW - 600_000, lastReload: null },
  };
}

describe('GET /metrics over HTTP', () => {
  let served: Served;
  let scrape: Scrape;
  const notifications: NotificationCounts = [{ sink: 'pager', sent: 3, failed: 1, dropped: 0, queued: 2 }];

  beforeAll(async () => {
    const metrics = new Metrics(report, { region: 'us-east', notifications: () => notifications });
    served = await serve(metrics);
    const zp = { zone: 'example.com.', provider: 'r53' };
    // What the daemon's parts feed in as they run.
    metrics.sync.pass({ ...zp, outcome: 'applied', durationMs: 250 });
    metrics.sync.write({ ...zp, changes: 2, records: ['api.example.com. A'], decisions: [], error: null });
    metrics.sync.visible({ ...zp, ms: 1_200 });
    metrics.sync.drift({ ...zp, records: 1, repaired: true });
    metrics.sync.check({ ...zp, via: 'dns', differs: false });
    metrics.probe({ endpointId: 'api-primary-1', ok: false, at: NOW, latencyMs: 2_000, detail: 'timeout after 2000ms' });
    metrics.probe({ endpointId: 'api-primary-1', ok: true, at: NOW, latencyMs: 15, detail: 'HTTP 200' });
    metrics.apiCalls.call({ provider: 'r53', operation: 'ChangeResourceRecordSets', outcome: 'throttled', durationMs: 20 });
    metrics.apiCalls.call({ provider: 'r53', operation: 'ChangeResourceRecordSets', outcome: 'ok', durationMs: 90 });
    metrics.apiCalls.call({ provider: 'ns1', operation: 'GetZone', outcome: 'error', durationMs: 30 });
    metrics.reload('invalid');
    scrape = await served.scrape();
  });

  afterAll(async () => {
    await served.close();
  });

  // Each line of issue 8's metrics item, with the series that answer it.
  it.each([
    // probe results and latency per endpoint and region
    ['dnsquorum_probe_results_total', 'COUNTER', { endpoint: 'api-primary-1', region: 'us-east', result: 'failure' }],
    ['dnsquorum_probe_duration_seconds', 'HISTOGRAM', { endpoint: 'api-primary-1', region: 'us-east' }],
    // health and quorum state
    ['dnsquorum_endpoint_up', 'GAUGE', { endpoint: 'api-primary-1' }],
    ['dnsquorum_endpoint_region_verdict', 'GAUGE', { endpoint: 'api-primary-1', region: 'eu-west', state: 'down' }],
    ['dnsquorum_endpoint_insufficient_vantage', 'GAUGE', { endpoint: 'api-primary-1' }],
    ['dnsquorum_cluster_sees_quorum', 'GAUGE', {}],
    ['dnsquorum_cluster_writer', 'GAUGE', { region: 'us-east' }],
    // provider API calls, errors, throttles and latency
    ['dnsquorum_provider_api_calls_total', 'COUNTER', { provider: 'r53', operation: 'ChangeResourceRecordSets', outcome: 'ok' }],
    ['dnsquorum_provider_api_calls_total', 'COUNTER', { provider: 'ns1', operation: 'GetZone', outcome: 'error' }],
    ['dnsquorum_provider_api_throttles_total', 'COUNTER', { provider: 'r53' }],
    ['dnsquorum_provider_api_call_duration_seconds', 'HISTOGRAM', { provider: 'r53', operation: 'ChangeResourceRecordSets' }],
    // writes; time to visible; drift
    ['dnsquorum_sync_writes_total', 'COUNTER', { zone: 'example.com.', provider: 'r53' }],
    ['dnsquorum_sync_changes_total', 'COUNTER', { zone: 'example.com.', provider: 'r53' }],
    ['dnsquorum_time_to_visible_seconds', 'HISTOGRAM', { zone: 'example.com.', provider: 'r53' }],
    ['dnsquorum_drift_record_sets_total', 'COUNTER', { zone: 'example.com.', provider: 'r53', action: 'repaired' }],
    ['dnsquorum_drift_current_record_sets', 'GAUGE', { zone: 'example.com.', provider: 'ns1' }],
    // active overrides; last successful sync per provider
    ['dnsquorum_overrides_active', 'GAUGE', { zone: 'example.com.' }],
    ['dnsquorum_provider_last_sync_success_timestamp_seconds', 'GAUGE', { zone: 'example.com.', provider: 'r53' }],
    ['dnsquorum_provider_in_sync', 'GAUGE', { zone: 'example.com.', provider: 'ns1' }],
    ['dnsquorum_provider_lag_seconds', 'GAUGE', { zone: 'example.com.', provider: 'ns1' }],
    // reloads (item 5: rejected ones are counted) and notifications (item 4)
    ['dnsquorum_config_reloads_total', 'COUNTER', { result: 'invalid' }],
    ['dnsquorum_config_last_reload_success_timestamp_seconds', 'GAUGE', {}],
    ['dnsquorum_config_last_reload_successful', 'GAUGE', {}],
    ['dnsquorum_notifications_total', 'COUNTER', { sink: 'pager', result: 'sent' }],
    ['dnsquorum_notifications_queued', 'GAUGE', { sink: 'pager' }],
    // the process's own metrics
    ['process_cpu_seconds_total', 'COUNTER', {}],
    ['process_resident_memory_bytes', 'GAUGE', {}],
    ['process_start_time_seconds', 'GAUGE', {}],
    ['nodejs_eventloop_lag_seconds', 'GAUGE', {}],
    ['nodejs_heap_size_used_bytes', 'GAUGE', {}],
  ] as const)('%s is a %s with a sample labelled %j', (name, type, labels) => {
    const f = family(scrape.families, name);
    expect(f.type).toBe(type);
    expect(f.help.length).toBeGreaterThan(10);
    // A histogram's series are its _count (and _sum, _bucket) lines.
    const samples = samplesOf(scrape.flat, type === 'HISTOGRAM' ? `${name}_count` : name);
    expect(samples.some((m) => sameLabels(m.labels, labels)), `${name}${JSON.stringify(labels)} in ${JSON.stringify(samples.map((m) => m.labels ?? {}))}`).toBe(true);
  });

  it('carries the values fed in and read from the status', () => {
    const { families } = scrape;
    expect(valueOf(families, 'dnsquorum_probe_results_total', { endpoint: 'api-primary-1', region: 'us-east', result: 'success' })).toBe(1);
    expect(histogramCount(scrape, 'dnsquorum_probe_duration_seconds', { endpoint: 'api-primary-1', region: 'us-east' })).toBe(2);
    expect(valueOf(scrape.flat, 'dnsquorum_probe_duration_seconds_bucket', { endpoint: 'api-primary-1', region: 'us-east', le: '0.025' })).toBe(1);
    expect(valueOf(scrape.flat, 'dnsquorum_probe_duration_seconds_bucket', { endpoint: 'api-primary-1', region: 'us-east', le: '+Inf' })).toBe(2);
    expect(valueOf(families, 'dnsquorum_provider_api_throttles_total', { provider: 'r53' })).toBe(1);
    expect(valueOf(families, 'dnsquorum_provider_api_throttles_total', { provider: 'ns1' })).toBe(0);
    expect(valueOf(families, 'dnsquorum_overrides_active', { zone: 'example.com.' })).toBe(1);
    expect(valueOf(families, 'dnsquorum_provider_last_sync_success_timestamp_seconds', { zone: 'example.com.', provider: 'r53' })).toBe((NOW - 30_000) / 1000);
    expect(valueOf(families, 'dnsquorum_provider_last_sync_success_timestamp_seconds', { zone: 'example.com.', provider: 'ns1' })).toBeUndefined();
    expect(valueOf(families, 'dnsquorum_config_reloads_total', { result: 'applied' })).toBe(0);
    expect(valueOf(families, 'dnsquorum_config_last_reload_successful', {})).toBe(0);
    expect(valueOf(families, 'dnsquorum_notifications_total', { sink: 'pager', result: 'failed' })).toBe(1);
    expect(valueOf(families, 'dnsquorum_notifications_queued', { sink: 'pager' })).toBe(2);
  });

  it('follows the Prometheus naming guide: counters end in _total, histograms of time in _seconds', () => {
    for (const f of scrape.families.filter((x) => x.name.startsWith('dnsquorum_'))) {
      if (f.type === 'COUNTER') expect(f.name).toMatch(/_total$/);
      else expect(f.name).not.toMatch(/_total$/);
      if (f.type === 'HISTOGRAM') expect(f.name).toMatch(/_seconds$/);
      expect(f.name).not.toMatch(/_(ms|milliseconds)$/);
    }
  });
});

/** What each API request came to, from a fake's request log: "operation outcome" -> count. */
function tally(entries: readonly (readonly [operation: string, outcome: 'ok' | 'error' | 'throttled'])[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const [operation, outcome] of entries) counts.set(`${operation} ${outcome}`, (counts.get(`${operation} ${outcome}`) ?? 0) + 1);
  return counts;
}

/** The same, from the scrape. */
function scrapedTally(families: readonly PrometheusFamily[], provider: string): Map<string, number> {
  const counts = new Map<string, number>();
  const f = families.find((x) => x.name === 'dnsquorum_provider_api_calls_total');
  if (f === undefined || f.type === 'HISTOGRAM' || f.type === 'SUMMARY') return counts;
  for (const m of f.metrics) {
    if (m.labels?.provider !== provider) continue;
    counts.set(`${m.labels.operation ?? ''} ${m.labels.outcome ?? ''}`, Number(m.value));
  }
  return counts;
}

function route53Outcome(r: FakeRoute53Request): 'ok' | 'error' | 'throttled' {
  if (r.errorCode === 'Throttling' || r.errorCode === 'PriorRequestNotComplete') return 'throttled';
  return r.status >= 200 && r.status < 300 ? 'ok' : 'error';
}

describe('provider API instrumentation against the fakes', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  it('times every Route53 request the SDK sends, each retry on its own, and counts Throttling as throttled', async () => {
    const metrics = new Metrics(() => undefined, { region: 'us-east' });
    const served = await serve(metrics);
    closers.push(() => served.close());
    const h: Harness = await startHarness({
      zone: false,
      fake: { faults: { throttleRate: 0.4, serverErrorsNext: 2 }, random: seeded(3) },
      provider: { apiCalls: metrics.apiCalls, random: seeded(5), retry: { maxAttempts: 12, throttleBaseMs: 2, transientBaseMs: 1, capMs: 10 } },
    });
    closers.push(() => h.close());

    const zone = 'metrics.example.com.';
    await h.provider.ensureZone(zone, never);
    await h.provider.applyChanges({ zone, creates: [rs(`www.${zone}`, 'A', 60, ['192.0.2.1']), rs(`api.${zone}`, 'A', 60, ['192.0.2.2'])], updates: [], deletes: [] }, never);
    await h.provider.listRecords(zone, never);
    await h.provider.nameservers(zone, never);

    const seen = h.fake.requests;
    const expected = tally(seen.map((r) => [r.operation, route53Outcome(r)] as const));
    const throttled = seen.filter((r) => route53Outcome(r) === 'throttled').length;
    // The knobs did what they are for: some answers were Throttling, two were 500s.
    expect(throttled).toBeGreaterThan(0);
    expect(seen.filter((r) => route53Outcome(r) === 'error')).toHaveLength(2);

    const scrape = await served.scrape();
    expect(scrapedTally(scrape.families, 'r53')).toEqual(expected);
    expect(valueOf(scrape.families, 'dnsquorum_provider_api_throttles_total', { provider: 'r53' })).toBe(throttled);
    for (const operation of new Set(seen.map((r) => r.operation))) {
      expect(histogramCount(scrape, 'dnsquorum_provider_api_call_duration_seconds', { provider: 'r53', operation }), operation).toBe(seen.filter((r) => r.operation === operation).length);
    }
  });

  it("counts PriorRequestNotComplete (another writer's change still pending) as throttled", async () => {
    const metrics = new Metrics(() => undefined, { region: 'us-east' });
    // The fake, for the provider's sleep below, once it is started.
    const started: { fake?: FakeRoute53 } = {};
    const h = await startHarness({
      zone: 'prior.example.com.',
      fake: { faults: { priorRequestNotComplete: true } },
      provider: {
        apiCalls: metrics.apiCalls,
        retry: { maxAttempts: 5, throttleBaseMs: 1, transientBaseMs: 1, capMs: 2 },
        // The other writer's change goes in sync once ours has been turned away: no race with a timer.
        sleep: async (ms, signal) => {
          const { fake } = started;
          if (fake?.requests.some((r) => r.errorCode === 'PriorRequestNotComplete') === true) fake.setChangeDelay(0);
          await realSleep(ms, signal);
        },
      },
    });
    started.fake = h.fake;
    closers.push(() => h.close());
    h.fake.setChangeDelay(3_600_000);
    await writeBehindOurBack(h.fake, h.zoneId, [{ Action: 'CREATE', ResourceRecordSet: { Name: `other.${h.zone}`, Type: 'A', TTL: 60, ResourceRecords: [{ Value: '192.0.2.200' }] } }]);
    h.fake.clearRequests();

    await h.provider.applyChanges({ zone: h.zone, creates: [rs(`a.${h.zone}`, 'A', 60, ['192.0.2.1'])], updates: [], deletes: [] }, never);

    const prior = h.fake.requests.filter((r) => r.errorCode === 'PriorRequestNotComplete').length;
    expect(prior).toBeGreaterThan(0);
    const families = parsePrometheusTextFormat(await metrics.registry.metrics());
    expect(valueOf(families, 'dnsquorum_provider_api_calls_total', { provider: 'r53', operation: 'ChangeResourceRecordSets', outcome: 'throttled' })).toBe(prior);
    expect(valueOf(families, 'dnsquorum_provider_api_calls_total', { provider: 'r53', operation: 'ChangeResourceRecordSets', outcome: 'ok' })).toBe(1);
    expect(valueOf(families, 'dnsquorum_provider_api_throttles_total', { provider: 'r53' })).toBe(prior);
  });

  it('times every NS1 request (each retry on its own) and counts HTTP 429 as throttled', async () => {
    const metrics = new Metrics(() => undefined, { region: 'us-east' });
    const served = await serve(metrics);
    closers.push(() => served.close());
    // The bucket holds 2 GETs and, on a clock that stands still, never refills.
    const fake = await FakeNs1.start({ rateLimits: { GET: { limit: 2, periodSeconds: 300 } }, faults: { serverErrorsNext: 1 } });
    closers.push(() => fake.close());
    fake.createZone('example.com.');
    const provider = new Ns1Provider({
      config: { type: 'ns1', name: 'ns1', apiKey: fake.apiKey, endpoint: fake.endpoint, maxRetries: 2 },
      clock: new ManualClock(0),
      logger: silentLogger(),
      // No waiting: the backoffs and pacing waits end at once (the clock stands still).
      sleep: (_ms, signal) => {
        signal.throwIfAborted();
        return Promise.resolve();
      },
      apiCalls: metrics.apiCalls,
    });
    closers.push(() => provider.close());

    await provider.listRecords('example.com.', never);
    await expect(provider.listRecords('example.com.', never)).rejects.toMatchObject({ code: 'DQ_PROVIDER_THROTTLED' });

    const statuses = fake.requests.map((r) => r.status);
    expect(statuses).toContain(429);
    expect(statuses).toContain(500);
    const outcome = (status: number): 'ok' | 'error' | 'throttled' => (status === 429 ? 'throttled' : status >= 200 && status < 300 ? 'ok' : 'error');
    const scrape = await served.scrape();
    expect(scrapedTally(scrape.families, 'ns1')).toEqual(tally(statuses.map((s) => ['GetZone', outcome(s)] as const)));
    expect(valueOf(scrape.families, 'dnsquorum_provider_api_throttles_total', { provider: 'ns1' })).toBe(statuses.filter((s) => s === 429).length);
    expect(histogramCount(scrape, 'dnsquorum_provider_api_call_duration_seconds', { provider: 'ns1', operation: 'GetZone' })).toBe(statuses.length);
  });
});

describe('dnsquorum_provider_last_sync_success_timestamp_seconds from a real sync worker', () => {
  /** Passes run on real sockets; a loaded machine may take a while. */
  const WAIT = { timeout: 15_000, interval: 20 };

  it('is absent before the first pass, stamps a pass that brings the provider in sync, and stays put while it fails', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dq-metrics-'));
    const clock = new ManualClock(1_000_000);
    const config = { type: 'local', name: 'lab', listen: { host: '127.0.0.1', port: 0 }, nameserver: 'ns.lab.example.net.' } as const;
    const statePath = join(dir, 'lab.json');
    const server = new LocalDnsServer({ config, statePath, logger: silentLogger() });
    await server.start();
    const provider = new SwitchableProvider(new LocalProvider({ config, statePath, clock, logger: silentLogger() }));
    const zone: ZoneSpec = {
      name: 'example.com.',
      providers: ['lab'],
      nameservers: 'sync',
      nameserverTtl: 3600,
      unmanaged: 'keep',
      drift: 'repair',
      maxChangeShare: 1,
      records: [{ kind: 'static', name: 'www.example.com.', type: 'A', ttl: 300, values: ['192.0.2.80'] }],
    };
    const resolve = new Map([['ns.lab.example.net', server.address()]]);
    const limit = concurrencyLimit(4);
    const reconciler = new Reconciler({
      zones: [zone],
      providers: new Map([['lab', provider]]),
      clock,
      logger: silentLogger(),
      health: () => new Map(),
      overrides: () => [],
      writeMode: () => ({ kind: 'all' }),
      sync: { intervalMs: 3_600_000, readIntervalMs: 36_000_000, visibleTimeoutMs: 30_000 },
      askServers: (hosts, expectations, signal) => Promise.all(hosts.map((h) => verifyServer(h, expectations, { resolve, limit, signal, queryTimeoutMs: 1000 }))),
      observer: quietObserver,
      passTimeoutMs: 10_000,
    });
    const metrics = new Metrics(() => ({ ...report(), ...reconciler.status() }));
    const stamp = async (): Promise<number | undefined> => valueOf(parseScrape(await metrics.registry.metrics()).families, 'dnsquorum_provider_last_sync_success_timestamp_seconds', { zone: 'example.com.', provider: 'lab' });
    const labZone = (): ProviderZoneStatus => {
      const z = reconciler.status().providers[0]?.zones[0];
      if (z === undefined) throw new Error('no status for lab');
      return z;
    };
    const stop = new AbortController();
    try {
      expect(labZone().lastSuccessAt).toBeNull();
      expect(await stamp()).toBeUndefined();

      const running = reconciler.run(stop.signal);
      try {
        await vi.waitFor(() => {
          expect(labZone()).toMatchObject({ state: 'in-sync', lastSuccessAt: 1_000_000 });
        }, WAIT);
        expect(await stamp()).toBe(1000);

        clock.advance(60_000);
        provider.down = true;
        reconciler.checkNow(true);
        await vi.waitFor(() => {
          expect(labZone().consecutiveFailures).toBeGreaterThan(0);
        }, WAIT);
        expect(labZone().lastSuccessAt).toBe(1_000_000);
        expect(await stamp()).toBe(1000);

        clock.advance(60_000);
        provider.down = false;
        reconciler.checkNow(true);
        await vi.waitFor(() => {
          expect(labZone()).toMatchObject({ consecutiveFailures: 0, lastSuccessAt: 1_120_000 });
        }, WAIT);
        expect(await stamp()).toBe(1120);
      } finally {
        stop.abort();
        await running;
      }
    } finally {
      await provider.close();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
