import { describe, expect, it } from 'vitest';
import type { ApiResponse } from '../../src/control/api/server.js';
import { Metrics } from '../../src/control/metrics/metrics.js';
import type { ReloadResult } from '../../src/config/reload.js';
import type { NotificationSinkCounts } from '../../src/control/metrics/metrics.js';
import type { ClusterStatus, EndpointStatus, PeerStatus } from '../../src/cluster/status.js';
import type { OverrideView } from '../../src/control/overrides/wire.js';
import type { DaemonStatusReport } from '../../src/control/api/status.js';
import type { ProbeResult } from '../../src/domain/health.js';
import { ManualClock } from '../../src/lib/clock.js';
import type { ProviderZoneStatus } from '../../src/sync/status.js';
import { overrideView } from '../helpers/override-fixture.js';

/** The Prometheus text exposition format, parsed: HELP and TYPE per family, and every sample. */
interface Exposition {
  readonly help: Map<string, string>;
  readonly type: Map<string, string>;
  readonly samples: { name: string; labels: Record<string, string>; value: number }[];
}

function parseExposition(text: string): Exposition {
  const out: Exposition = { help: new Map(), type: new Map(), samples: [] };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta !== null) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      (kind === 'HELP' ? out.help : out.type).set(name, rest);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (sample === null) throw new Error(`not an exposition line: ${line}`);
    const [, name, labelText, value] = sample as unknown as [string, string, string | undefined, string];
    const labels: Record<string, string> = {};
    for (const m of (labelText ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[m[1] ?? ''] = m[2] ?? '';
    out.samples.push({ name, labels, value: value === '+Inf' ? Infinity : Number(value) });
  }
  return out;
}

/** The value of the one sample with this name and exactly these labels; undefined when absent. */
function valueOf(exp: Exposition, name: string, labels: Record<string, string> = {}): number | undefined {
  const found = exp.samples.filter((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === JSON.stringify(Object.entries(labels).sort()));
  if (found.length > 1) throw new Error(`${name}: ${found.length} samples with the same labels`);
  return found[0]?.value;
}

function providerZone(zone: string, overrides: Partial<ProviderZoneStatus> = {}): ProviderZoneStatus {
  return {
    zone,
    state: 'in-sync',
    lagMs: 0,
    lastError: null,
    consecutiveFailures: 0,
    nextPassAt: null,
    lastReadAt: 1_700_000_000_000,
    lastSuccessAt: 1_700_000_050_000,
    lastDnsCheckAt: null,
    lastWrite: null,
    drift: { detected: 0, repaired: 0, current: [] },
    ...overrides,
  };
}

const NOW = 1_700_000_100_000;

function peer(region: string, overrides: Partial<PeerStatus> = {}): PeerStatus {
  return {
    region,
    url: `http://127.0.0.2:8053/${region}`,
    lastHeardAt: NOW - 400,
    fresh: true,
    writer: true,
    seesQuorum: true,
    lastSentAt: NOW - 300,
    lastSendError: null,
    lastAnsweredAt: NOW - 300,
    alive: true,
    refusesStale: false,
    clockOffsetMs: null,
    stampsRefused: 0,
    ...overrides,
  };
}

function cluster(overrides: Partial<ClusterStatus> = {}): ClusterStatus {
  return {
    region: 'us-east',
    writerCapable: true,
    freshRegions: ['eu-west', 'us-east'],
    quorum: 2,
    seesQuorum: true,
    writer: 'eu-west',
    peers: [peer('eu-west'), peer('ap-south', { lastHeardAt: null, fresh: false, writer: false, seesQuorum: false })],
    rejected: { 'bad-signature': 3, stale: 1 },
    clockSkewed: [],
    ...overrides,
  };
}

const ENDPOINTS: readonly EndpointStatus[] = [
  {
    endpointId: 'api-primary-1',
    state: 'down',
    reason: '2 of 3 regions say down',
    insufficientVantage: false,
    since: NOW - 60_000,
    regions: [
      { region: 'us-east', state: 'down', ageMs: 400, reason: '3 failures in a row' },
      { region: 'eu-west', state: 'down', ageMs: 1_500, reason: '3 failures in a row' },
      { region: 'ap-south', state: 'up', ageMs: 90_000, reason: '2 successes in a row' },
    ],
  },
  {
    endpointId: 'api-secondary-1',
    state: 'up',
    reason: '3 of 3 regions say up',
    insufficientVantage: false,
    since: NOW - 600_000,
    regions: [{ region: 'us-east', state: 'up', ageMs: 250, reason: '2 successes in a row' }],
  },
  {
    endpointId: 'web-1',
    state: 'unknown',
    reason: 'no region has a verdict yet',
    insufficientVantage: true,
    since: NOW - 5_000,
    regions: [{ region: 'us-east', state: 'unknown', ageMs: 0, reason: 'not probed yet' }],
  },
];

function report(overrides: Partial<DaemonStatusReport> = {}): DaemonStatusReport {
  return {
    region: 'us-east',
    state: 'running',
    startedAt: 1_700_000_000_000,
    now: NOW,
    cluster: cluster(),
    endpoints: ENDPOINTS,
    overrides: [],
    config: { source: 'dnsquorum.yaml', loadedAt: 1_700_000_000_000, lastReload: null },
    hold: null,
    records: [],
    providers: [
      { provider: 'r53', type: 'route53', zones: [providerZone('example.com.')] },
      {
        provider: 'ns1',
        type: 'ns1',
        zones: [
          providerZone('example.com.', {
            state: 'lagging',
            lagMs: 42_500,
            consecutiveFailures: 3,
            lastReadAt: null,
            lastSuccessAt: null,
            drift: { detected: 4, repaired: 1, current: ['www.example.com. CNAME', 'mail.example.com. MX'] },
          }),
        ],
      },
    ],
    ...overrides,
  };
}

async function scrape(metrics: Metrics): Promise<{ answer: ApiResponse; exp: Exposition }> {
  const answer = await metrics.route().handle({ method: 'GET', path: '/metrics', params: {}, query: new URLSearchParams(), body: null, actor: null, tokenName: null });
  if (!('text' in answer)) throw new Error('the metrics route answered JSON');
  return { answer, exp: parseExposition(answer.text) };
}

const zp = { zone: 'example.com.', provider: 'r53' };

function probe(endpointId: string, ok: boolean, latencyMs: number): ProbeResult {
  return { endpointId, ok, at: NOW, latencyMs, detail: ok ? 'HTTP 200' : 'timeout after 2000ms' };
}

function override(id: string, zone: string): OverrideView {
  return overrideView(NOW, { id, zone });
}

describe('Metrics', () => {
  it('is a GET /metrics route without auth, in the Prometheus text format', async () => {
    const metrics = new Metrics(() => report());
    const route = metrics.route();
    expect([route.method, route.path, route.auth]).toEqual(['GET', '/metrics', false]);
    const { answer } = await scrape(metrics);
    expect(answer.status).toBe(200);
    expect('contentType' in answer && answer.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('includes the process metrics in its own registry', async () => {
    const { exp } = await scrape(new Metrics(() => undefined));
    expect(exp.type.get('process_cpu_user_seconds_total')).toBe('counter');
    expect(exp.type.get('nodejs_eventloop_lag_seconds')).toBe('gauge');
  });

  it('keeps two instances apart (no global registry)', async () => {
    const a = new Metrics(() => undefined);
    const b = new Metrics(() => undefined);
    a.sync.write({ ...zp, changes: 2, records: [], decisions: [], error: null });
    expect(valueOf((await scrape(a)).exp, 'dnsquorum_sync_writes_total', zp)).toBe(1);
    expect(valueOf((await scrape(b)).exp, 'dnsquorum_sync_writes_total', zp)).toBeUndefined();
  });

  it('counts sync events by zone, provider and outcome', async () => {
    const metrics = new Metrics(() => report());
    const { sync } = metrics;
    sync.pass({ ...zp, outcome: 'applied', durationMs: 300 });
    sync.pass({ ...zp, outcome: 'in-sync', durationMs: 20 });
    sync.pass({ ...zp, outcome: 'in-sync', durationMs: 30 });
    sync.pass({ zone: 'example.com.', provider: 'ns1', outcome: 'failed', durationMs: 5000 });
    sync.write({ ...zp, changes: 3, records: [], decisions: [], error: null });
    sync.write({ ...zp, changes: 2, records: [], decisions: [], error: null });
    sync.drift({ ...zp, records: 2, repaired: true });
    sync.drift({ ...zp, records: 1, repaired: false });
    sync.check({ ...zp, via: 'dns', differs: false });
    sync.check({ ...zp, via: 'dns', differs: false });
    sync.check({ ...zp, via: 'dns', differs: true });
    sync.check({ ...zp, via: 'api', differs: true });
    const { exp } = await scrape(metrics);

    expect(valueOf(exp, 'dnsquorum_sync_passes_total', { ...zp, outcome: 'in-sync' })).toBe(2);
    expect(valueOf(exp, 'dnsquorum_sync_passes_total', { ...zp, outcome: 'applied' })).toBe(1);
    expect(valueOf(exp, 'dnsquorum_sync_passes_total', { zone: 'example.com.', provider: 'ns1', outcome: 'failed' })).toBe(1);
    expect(valueOf(exp, 'dnsquorum_sync_writes_total', zp)).toBe(2);
    expect(valueOf(exp, 'dnsquorum_sync_changes_total', zp)).toBe(5);
    expect(valueOf(exp, 'dnsquorum_drift_record_sets_total', { ...zp, action: 'repaired' })).toBe(2);
    expect(valueOf(exp, 'dnsquorum_drift_record_sets_total', { ...zp, action: 'reported' })).toBe(1);
    expect(valueOf(exp, 'dnsquorum_sync_checks_total', { ...zp, via: 'dns', result: 'same' })).toBe(2);
    expect(valueOf(exp, 'dnsquorum_sync_checks_total', { ...zp, via: 'dns', result: 'differs' })).toBe(1);
    expect(valueOf(exp, 'dnsquorum_sync_checks_total', { ...zp, via: 'api', result: 'differs' })).toBe(1);
    expect(valueOf(exp, 'dnsquorum_sync_checks_total', { ...zp, via: 'api', result: 'same' })).toBeUndefined();

    // Pass durations in seconds: 0.02 and 0.03 fall in le=0.05, 0.3 in le=0.5.
    expect(valueOf(exp, 'dnsquorum_sync_pass_duration_seconds_bucket', { ...zp, le: '0.05' })).toBe(2);
    expect(valueOf(exp, 'dnsquorum_sync_pass_duration_seconds_bucket', { ...zp, le: '0.5' })).toBe(3);
    expect(valueOf(exp, 'dnsquorum_sync_pass_duration_seconds_count', zp)).toBe(3);
    expect(valueOf(exp, 'dnsquorum_sync_pass_duration_seconds_sum', zp)).toBeCloseTo(0.35, 10);
  });

  it('observes time to visible in seconds, with buckets from 0.05 s to 600 s', async () => {
    const metrics = new Metrics(() => undefined);
    metrics.sync.visible({ ...zp, ms: 40 });
    metrics.sync.visible({ ...zp, ms: 12_000 });
    metrics.sync.visible({ ...zp, ms: 900_000 });
    const { exp } = await scrape(metrics);
    const buckets = exp.samples.filter((s) => s.name === 'dnsquorum_time_to_visible_seconds_bucket').map((s) => s.labels.le);
    expect(buckets[0]).toBe('0.05');
    expect(buckets.at(-2)).toBe('600');
    expect(buckets.at(-1)).toBe('+Inf');
    expect(valueOf(exp, 'dnsquorum_time_to_visible_seconds_bucket', { ...zp, le: '0.05' })).toBe(1);
    expect(valueOf(exp, 'dnsquorum_time_to_visible_seconds_bucket', { ...zp, le: '10' })).toBe(1);
    expect(valueOf(exp, 'dnsquorum_time_to_visible_seconds_bucket', { ...zp, le: '20' })).toBe(2);
    expect(valueOf(exp, 'dnsquorum_time_to_visible_seconds_bucket', { ...zp, le: '600' })).toBe(2);
    expect(valueOf(exp, 'dnsquorum_time_to_visible_seconds_bucket', { ...zp, le: '+Inf' })).toBe(3);
    expect(valueOf(exp, 'dnsquorum_time_to_visible_seconds_sum', zp)).toBeCloseTo(912.04, 6);
  });

  it('drops events with impossible numbers instead of throwing on the write path', async () => {
    const metrics = new Metrics(() => undefined);
    expect(() => {
      metrics.sync.write({ ...zp, changes: -1, records: [], decisions: [], error: null });
      metrics.sync.drift({ ...zp, records: Number.NaN, repaired: true });
      metrics.sync.visible({ ...zp, ms: -5 });
    }).not.toThrow();
    const { exp } = await scrape(metrics);
    expect(valueOf(exp, 'dnsquorum_sync_writes_total', zp)).toBe(1);
    expect(valueOf(exp, 'dnsquorum_sync_changes_total', zp)).toBeUndefined();
    expect(valueOf(exp, 'dnsquorum_time_to_visible_seconds_count', zp)).toBeUndefined();
  });

  it('reads provider gauges from the status at scrape time', async () => {
    let current = report();
    const metrics = new Metrics(() => current);
    const ns1 = { zone: 'example.com.', provider: 'ns1' };
    let { exp } = await scrape(metrics);
    expect(valueOf(exp, 'dnsquorum_provider_lag_seconds', zp)).toBe(0);
    expect(valueOf(exp, 'dnsquorum_provider_lag_seconds', ns1)).toBe(42.5);
    expect(valueOf(exp, 'dnsquorum_provider_in_sync', zp)).toBe(1);
    expect(valueOf(exp, 'dnsquorum_provider_in_sync', ns1)).toBe(0);
    expect(valueOf(exp, 'dnsquorum_provider_last_read_timestamp_seconds', zp)).toBe(1_700_000_000);
    expect(valueOf(exp, 'dnsquorum_provider_last_read_timestamp_seconds', ns1)).toBeUndefined();
    expect(valueOf(exp, 'dnsquorum_provider_consecutive_failures', zp)).toBe(0);
    expect(valueOf(exp, 'dnsquorum_provider_consecutive_failures', ns1)).toBe(3);
    expect(valueOf(exp, 'dnsquorum_drift_current_record_sets', ns1)).toBe(2);
    expect(valueOf(exp, 'dnsquorum_writes_held')).toBe(0);

    // A later scrape sees the new status: the hold is on, ns1 caught up, r53 is gone.
    current = report({
      hold: 'waiting for quorum data on api.example.com. A',
      providers: [{ provider: 'ns1', type: 'ns1', zones: [providerZone('example.com.')] }],
    });
    ({ exp } = await scrape(metrics));
    expect(valueOf(exp, 'dnsquorum_writes_held')).toBe(1);
    expect(valueOf(exp, 'dnsquorum_provider_in_sync', ns1)).toBe(1);
    expect(valueOf(exp, 'dnsquorum_provider_consecutive_failures', ns1)).toBe(0);
    expect(valueOf(exp, 'dnsquorum_provider_in_sync', zp)).toBeUndefined();
  });

  it('has no provider series before the daemon has a status, and writes_held reads 0', async () => {
    const { exp } = await scrape(new Metrics(() => undefined));
    expect(exp.samples.filter((s) => s.name.startsWith('dnsquorum_provider_') || s.name === 'dnsquorum_drift_current_record_sets')).toEqual([]);
    expect(valueOf(exp, 'dnsquorum_writes_held')).toBe(0);
  });

  it("reads each endpoint's quorum state and every region's verdict and age", async () => {
    const { exp } = await scrape(new Metrics(() => report()));
    expect(valueOf(exp, 'dnsquorum_endpoint_up', { endpoint: 'api-primary-1' })).toBe(0);
    expect(valueOf(exp, 'dnsquorum_endpoint_up', { endpoint: 'api-secondary-1' })).toBe(1);
    expect(valueOf(exp, 'dnsquorum_endpoint_up', { endpoint: 'web-1' })).toBeUndefined();

    const verdict = (region: string, state: string): number | undefined => valueOf(exp, 'dnsquorum_endpoint_region_verdict', { endpoint: 'api-primary-1', region, state });
    expect([verdict('us-east', 'down'), verdict('us-east', 'up'), verdict('us-east', 'unknown')]).toEqual([1, 0, 0]);
    expect([verdict('ap-south', 'down'), verdict('ap-south', 'up'), verdict('ap-south', 'unknown')]).toEqual([0, 1, 0]);
    expect(valueOf(exp, 'dnsquorum_endpoint_region_verdict', { endpoint: 'web-1', region: 'us-east', state: 'unknown' })).toBe(1);
    // A region reports only about endpoints it holds a verdict on.
    expect(valueOf(exp, 'dnsquorum_endpoint_region_verdict', { endpoint: 'api-secondary-1', region: 'eu-west', state: 'up' })).toBeUndefined();

    expect(valueOf(exp, 'dnsquorum_endpoint_region_verdict_age_seconds', { endpoint: 'api-primary-1', region: 'us-east' })).toBe(0.4);
    expect(valueOf(exp, 'dnsquorum_endpoint_region_verdict_age_seconds', { endpoint: 'api-primary-1', region: 'ap-south' })).toBe(90);
  });

  it('reads the writer, the quorum in view and the peers from the status', async () => {
    let current = report();
    const metrics = new Metrics(() => current);
    let { exp } = await scrape(metrics);
    expect(valueOf(exp, 'dnsquorum_cluster_writer', { region: 'eu-west' })).toBe(1);
    expect(valueOf(exp, 'dnsquorum_cluster_writer', { region: 'us-east' })).toBe(0);
    expect(valueOf(exp, 'dnsquorum_cluster_writer', { region: 'ap-south' })).toBe(0);
    expect(valueOf(exp, 'dnsquorum_cluster_sees_quorum')).toBe(1);
    expect(valueOf(exp, 'dnsquorum_cluster_fresh_regions')).toBe(2);
    expect(valueOf(exp, 'dnsquorum_peer_last_heard_age_seconds', { peer: 'eu-west' })).toBe(0.4);
    expect(valueOf(exp, 'dnsquorum_peer_last_heard_age_seconds', { peer: 'ap-south' })).toBeUndefined();

    // eu-west falls silent: no quorum in view, nobody writes.
    current = report({
      cluster: cluster({ freshRegions: ['us-east'], seesQuorum: false, writer: null, peers: [peer('eu-west', { fresh: false, lastHeardAt: NOW - 45_000 }), peer('ap-south')] }),
    });
    ({ exp } = await scrape(metrics));
    expect(exp.samples.filter((s) => s.name === 'dnsquorum_cluster_writer').map((s) => s.value)).toEqual([0, 0, 0]);
    expect(valueOf(exp, 'dnsquorum_cluster_sees_quorum')).toBe(0);
    expect(valueOf(exp, 'dnsquorum_cluster_fresh_regions')).toBe(1);
    expect(valueOf(exp, 'dnsquorum_peer_last_heard_age_seconds', { peer: 'eu-west' })).toBe(45);
  });

  it('counts refused peer messages by reason, adding what changed between scrapes', async () => {
    let rejected: Record<string, number> = { 'bad-signature': 3, stale: 1 };
    const metrics = new Metrics(() => report({ cluster: cluster({ rejected }) }));
    let { exp } = await scrape(metrics);
    expect(valueOf(exp, 'dnsquorum_peer_messages_rejected_total', { reason: 'bad-signature' })).toBe(3);
    expect(valueOf(exp, 'dnsquorum_peer_messages_rejected_total', { reason: 'stale' })).toBe(1);
    expect(valueOf(exp, 'dnsquorum_peer_messages_rejected_total', { reason: 'replayed' })).toBeUndefined();

    ({ exp } = await scrape(metrics));
    expect(valueOf(exp, 'dnsquorum_peer_messages_rejected_total', { reason: 'bad-signature' })).toBe(3);

    rejected = { 'bad-signature': 5, stale: 1, replayed: 2 };
    ({ exp } = await scrape(metrics));
    expect(valueOf(exp, 'dnsquorum_peer_messages_rejected_total', { reason: 'bad-signature' })).toBe(5);
    expect(valueOf(exp, 'dnsquorum_peer_messages_rejected_total', { reason: 'stale' })).toBe(1);
    expect(valueOf(exp, 'dnsquorum_peer_messages_rejected_total', { reason: 'replayed' })).toBe(2);

    // The source started over at 1: the counter never goes down, it adds the new count.
    rejected = { 'bad-signature': 1, stale: 1, replayed: 2 };
    ({ exp } = await scrape(metrics));
    expect(valueOf(exp, 'dnsquorum_peer_messages_rejected_total', { reason: 'bad-signature' })).toBe(6);
  });

  it('counts each probe by endpoint, region and result, and observes its duration in seconds', async () => {
    const metrics = new Metrics(() => report(), { region: 'eu-west' });
    metrics.probe(probe('api-primary-1', true, 12));
    metrics.probe(probe('api-primary-1', true, 30));
    metrics.probe(probe('api-primary-1', false, 2000));
    metrics.probe(probe('web-1', true, 4));
    const { exp } = await scrape(metrics);
    const api = { endpoint: 'api-primary-1', region: 'eu-west' };
    const web = { endpoint: 'web-1', region: 'eu-west' };
    expect(valueOf(exp, 'dnsquorum_probe_results_total', { ...api, result: 'success' })).toBe(2);
    expect(valueOf(exp, 'dnsquorum_probe_results_total', { ...api, result: 'failure' })).toBe(1);
    // Both results exist from the first probe on, so a failure rate reads 0 instead of nothing.
    expect(valueOf(exp, 'dnsquorum_probe_results_total', { ...web, result: 'failure' })).toBe(0);
    expect(valueOf(exp, 'dnsquorum_probe_duration_seconds_bucket', { ...api, le: '0.025' })).toBe(1);
    expect(valueOf(exp, 'dnsquorum_probe_duration_seconds_bucket', { ...api, le: '0.05' })).toBe(2);
    expect(valueOf(exp, 'dnsquorum_probe_duration_seconds_bucket', { ...api, le: '1' })).toBe(2);
    expect(valueOf(exp, 'dnsquorum_probe_duration_seconds_bucket', { ...api, le: '2.5' })).toBe(3);
    expect(valueOf(exp, 'dnsquorum_probe_duration_seconds_sum', api)).toBeCloseTo(2.042, 10);
    expect(valueOf(exp, 'dnsquorum_probe_duration_seconds_count', web)).toBe(1);
  });

  it("labels probes with the status's region when none is configured, and drops an impossible latency", async () => {
    let statusReads = 0;
    const metrics = new Metrics(() => {
      statusReads += 1;
      return report({ region: 'ap-south' });
    });
    metrics.probe(probe('web-1', false, Number.NaN));
    metrics.probe(probe('web-1', false, 5));
    const { exp } = await scrape(metrics);
    expect(valueOf(exp, 'dnsquorum_probe_results_total', { endpoint: 'web-1', region: 'ap-south', result: 'failure' })).toBe(2);
    expect(valueOf(exp, 'dnsquorum_probe_duration_seconds_count', { endpoint: 'web-1', region: 'ap-south' })).toBe(1);
    // Read once for the region (then kept), once for the scrape.
    expect(statusReads).toBe(2);
  });

  it('never throws a probe back at the scheduler when the status is not ready yet', async () => {
    let ready = false;
    const metrics = new Metrics(() => {
      if (!ready) throw new ReferenceError('the daemon is still being built');
      return report({ region: 'eu-west' });
    });
    expect(() => {
      metrics.probe(probe('web-1', true, 5));
    }).not.toThrow();
    ready = true;
    metrics.probe(probe('web-1', true, 5));
    const { exp } = await scrape(metrics);
    expect(valueOf(exp, 'dnsquorum_probe_results_total', { endpoint: 'web-1', region: 'unknown', result: 'success' })).toBe(1);
    expect(valueOf(exp, 'dnsquorum_probe_results_total', { endpoint: 'web-1', region: 'eu-west', result: 'success' })).toBe(1);
  });

  it('counts provider API calls by operation and outcome, times them, and counts throttles per provider from 0', async () => {
    const metrics = new Metrics(() => report());
    const call = (provider: string, operation: string, outcome: 'ok' | 'error' | 'throttled', durationMs: number): void => {
      metrics.apiCalls.call({ provider, operation, outcome, durationMs });
    };
    call('r53', 'ListResourceRecordSets', 'ok', 40);
    call('r53', 'ChangeResourceRecordSets', 'throttled', 8);
    call('r53', 'ChangeResourceRecordSets', 'throttled', 9);
    call('r53', 'ChangeResourceRecordSets', 'ok', 120);
    call('ns1', 'GetZone', 'error', 20_000);
    call('ns1', 'GetZone', 'ok', Number.POSITIVE_INFINITY);
    const { exp } = await scrape(metrics);
    const calls = (provider: string, operation: string, outcome: string): number | undefined => valueOf(exp, 'dnsquorum_provider_api_calls_total', { provider, operation, outcome });
    expect(calls('r53', 'ListResourceRecordSets', 'ok')).toBe(1);
    expect(calls('r53', 'ChangeResourceRecordSets', 'throttled')).toBe(2);
    expect(calls('r53', 'ChangeResourceRecordSets', 'ok')).toBe(1);
    expect(calls('r53', 'ChangeResourceRecordSets', 'error')).toBeUndefined();
    expect(calls('ns1', 'GetZone', 'error')).toBe(1);
    expect(calls('ns1', 'GetZone', 'ok')).toBe(1);
    expect(valueOf(exp, 'dnsquorum_provider_api_throttles_total', { provider: 'r53' })).toBe(2);
    expect(valueOf(exp, 'dnsquorum_provider_api_throttles_total', { provider: 'ns1' })).toBe(0);

    const r53Change = { provider: 'r53', operation: 'ChangeResourceRecordSets' };
    expect(valueOf(exp, 'dnsquorum_provider_api_call_duration_seconds_count', r53Change)).toBe(3);
    expect(valueOf(exp, 'dnsquorum_provider_api_call_duration_seconds_bucket', { ...r53Change, le: '0.01' })).toBe(2);
    expect(valueOf(exp, 'dnsquorum_provider_api_call_duration_seconds_sum', r53Change)).toBeCloseTo(0.137, 10);
    // The call with an infinite duration is counted, not timed.
    expect(valueOf(exp, 'dnsquorum_provider_api_call_duration_seconds_count', { provider: 'ns1', operation: 'GetZone' })).toBe(1);
    expect(valueOf(exp, 'dnsquorum_provider_api_call_duration_seconds_bucket', { provider: 'ns1', operation: 'GetZone', le: '20' })).toBe(1);
  });

  it('reads insufficient vantage per endpoint from the status', async () => {
    const { exp } = await scrape(new Metrics(() => report()));
    expect(valueOf(exp, 'dnsquorum_endpoint_insufficient_vantage', { endpoint: 'web-1' })).toBe(1);
    expect(valueOf(exp, 'dnsquorum_endpoint_insufficient_vantage', { endpoint: 'api-primary-1' })).toBe(0);
    expect(valueOf(exp, 'dnsquorum_endpoint_insufficient_vantage', { endpoint: 'api-secondary-1' })).toBe(0);
  });

  it('counts active overrides per zone, 0 for every zone a provider serves', async () => {
    let current = report();
    const metrics = new Metrics(() => current);
    let { exp } = await scrape(metrics);
    expect(valueOf(exp, 'dnsquorum_overrides_active', { zone: 'example.com.' })).toBe(0);

    current = report({ overrides: [override('o-1', 'example.com.'), override('o-2', 'example.com.'), override('o-3', 'other.example.')] });
    ({ exp } = await scrape(metrics));
    expect(valueOf(exp, 'dnsquorum_overrides_active', { zone: 'example.com.' })).toBe(2);
    expect(valueOf(exp, 'dnsquorum_overrides_active', { zone: 'other.example.' })).toBe(1);

    current = report();
    ({ exp } = await scrape(metrics));
    expect(valueOf(exp, 'dnsquorum_overrides_active', { zone: 'example.com.' })).toBe(0);
    expect(valueOf(exp, 'dnsquorum_overrides_active', { zone: 'other.example.' })).toBeUndefined();
  });

  it('reads when each provider last ended a pass in the desired state; absent until then', async () => {
    const { lastSuccessAt, ...withoutIt } = providerZone('example.com.');
    expect(lastSuccessAt).toBe(1_700_000_050_000);
    const older = report({ providers: [{ provider: 'r53', type: 'route53', zones: [withoutIt] }] });
    let current = report();
    const metrics = new Metrics(() => current);
    let { exp } = await scrape(metrics);
    expect(valueOf(exp, 'dnsquorum_provider_last_sync_success_timestamp_seconds', zp)).toBe(1_700_000_050);
    expect(valueOf(exp, 'dnsquorum_provider_last_sync_success_timestamp_seconds', { zone: 'example.com.', provider: 'ns1' })).toBeUndefined();
    // A status from a daemon that does not report it yet.
    current = older;
    ({ exp } = await scrape(metrics));
    expect(valueOf(exp, 'dnsquorum_provider_last_sync_success_timestamp_seconds', zp)).toBeUndefined();
  });

  it('counts reloads by result from 0, and stamps the last successful load (the start is the first)', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const metrics = new Metrics(() => undefined, { clock });
    let { exp } = await scrape(metrics);
    for (const result of ['applied', 'unchanged', 'invalid', 'rejected']) expect(valueOf(exp, 'dnsquorum_config_reloads_total', { result })).toBe(0);
    expect(valueOf(exp, 'dnsquorum_config_last_reload_success_timestamp_seconds')).toBe(1_700_000_000);
    expect(valueOf(exp, 'dnsquorum_config_last_reload_successful')).toBe(1);

    clock.advance(60_000);
    metrics.reload('invalid');
    metrics.reload('invalid');
    ({ exp } = await scrape(metrics));
    expect(valueOf(exp, 'dnsquorum_config_reloads_total', { result: 'invalid' })).toBe(2);
    expect(valueOf(exp, 'dnsquorum_config_last_reload_success_timestamp_seconds')).toBe(1_700_000_000);
    expect(valueOf(exp, 'dnsquorum_config_last_reload_successful')).toBe(0);

    clock.advance(60_000);
    metrics.reload('applied');
    ({ exp } = await scrape(metrics));
    expect(valueOf(exp, 'dnsquorum_config_reloads_total', { result: 'applied' })).toBe(1);
    expect(valueOf(exp, 'dnsquorum_config_last_reload_success_timestamp_seconds')).toBe(1_700_000_120);
    expect(valueOf(exp, 'dnsquorum_config_last_reload_successful')).toBe(1);
  });

  it.each<[ReloadResult, number, number]>([
    ['applied', 1, 1_700_000_001],
    ['unchanged', 1, 1_700_000_001],
    ['invalid', 0, 1_700_000_000],
    ['rejected', 0, 1_700_000_000],
  ])('a reload that ends %s leaves last_reload_successful %d and the success stamp at %d', async (result, successful, stamp) => {
    const clock = new ManualClock(1_700_000_000_000);
    const metrics = new Metrics(() => undefined, { clock });
    clock.advance(1000);
    metrics.reload(result);
    const { exp } = await scrape(metrics);
    expect(valueOf(exp, 'dnsquorum_config_reloads_total', { result })).toBe(1);
    expect(valueOf(exp, 'dnsquorum_config_last_reload_successful')).toBe(successful);
    expect(valueOf(exp, 'dnsquorum_config_last_reload_success_timestamp_seconds')).toBe(stamp);
  });

  it("follows the notification hub's counts per sink and result, and its queues", async () => {
    let counts: NotificationSinkCounts[] = [
      { sink: 'pager', sent: 2, failed: 0, dropped: 0, queued: 1 },
      { sink: 'chat', sent: 5, failed: 1, dropped: 3, queued: 0 },
    ];
    let reads = 0;
    const metrics = new Metrics(() => report(), {
      notifications: () => {
        reads += 1;
        return counts;
      },
    });
    let { exp } = await scrape(metrics);
    expect(reads).toBe(1);
    expect(valueOf(exp, 'dnsquorum_notifications_total', { sink: 'pager', result: 'sent' })).toBe(2);
    expect(valueOf(exp, 'dnsquorum_notifications_total', { sink: 'pager', result: 'failed' })).toBe(0);
    expect(valueOf(exp, 'dnsquorum_notifications_total', { sink: 'chat', result: 'dropped' })).toBe(3);
    expect(valueOf(exp, 'dnsquorum_notifications_queued', { sink: 'pager' })).toBe(1);

    counts = [
      { sink: 'pager', sent: 4, failed: 1, dropped: 0, queued: 0 },
      { sink: 'chat', sent: 5, failed: 1, dropped: 3, queued: 0 },
    ];
    ({ exp } = await scrape(metrics));
    expect(valueOf(exp, 'dnsquorum_notifications_total', { sink: 'pager', result: 'sent' })).toBe(4);
    expect(valueOf(exp, 'dnsquorum_notifications_total', { sink: 'pager', result: 'failed' })).toBe(1);
    expect(valueOf(exp, 'dnsquorum_notifications_total', { sink: 'chat', result: 'sent' })).toBe(5);
    expect(valueOf(exp, 'dnsquorum_notifications_queued', { sink: 'pager' })).toBe(0);

    // A new hub (a reload) starts its counts over: the counters go on from where they were.
    counts = [{ sink: 'pager', sent: 1, failed: 0, dropped: 0, queued: 0 }];
    ({ exp } = await scrape(metrics));
    expect(valueOf(exp, 'dnsquorum_notifications_total', { sink: 'pager', result: 'sent' })).toBe(5);
    expect(valueOf(exp, 'dnsquorum_notifications_queued', { sink: 'chat' })).toBeUndefined();
    expect(reads).toBe(3);
  });

  it('has no notification series without a hub', async () => {
    const { exp } = await scrape(new Metrics(() => report()));
    expect(exp.type.has('dnsquorum_notifications_total')).toBe(false);
  });

  it('has no endpoint, peer or writer series before the daemon has a status', async () => {
    const { exp } = await scrape(new Metrics(() => undefined));
    expect(exp.samples.filter((s) => /^dnsquorum_(endpoint_|peer_|cluster_writer)/.test(s.name))).toEqual([]);
  });

  it('reads the status once per scrape', async () => {
    let calls = 0;
    const metrics = new Metrics(() => {
      calls += 1;
      return report();
    });
    await scrape(metrics);
    expect(calls).toBe(1);
  });

  it.each([
    ['dnsquorum_sync_passes_total', 'counter'],
    ['dnsquorum_sync_writes_total', 'counter'],
    ['dnsquorum_sync_changes_total', 'counter'],
    ['dnsquorum_drift_record_sets_total', 'counter'],
    ['dnsquorum_sync_checks_total', 'counter'],
    ['dnsquorum_time_to_visible_seconds', 'histogram'],
    ['dnsquorum_sync_pass_duration_seconds', 'histogram'],
    ['dnsquorum_provider_lag_seconds', 'gauge'],
    ['dnsquorum_provider_in_sync', 'gauge'],
    ['dnsquorum_provider_last_read_timestamp_seconds', 'gauge'],
    ['dnsquorum_provider_consecutive_failures', 'gauge'],
    ['dnsquorum_drift_current_record_sets', 'gauge'],
    ['dnsquorum_writes_held', 'gauge'],
    ['dnsquorum_endpoint_up', 'gauge'],
    ['dnsquorum_endpoint_region_verdict', 'gauge'],
    ['dnsquorum_endpoint_region_verdict_age_seconds', 'gauge'],
    ['dnsquorum_cluster_writer', 'gauge'],
    ['dnsquorum_cluster_sees_quorum', 'gauge'],
    ['dnsquorum_cluster_fresh_regions', 'gauge'],
    ['dnsquorum_peer_last_heard_age_seconds', 'gauge'],
    ['dnsquorum_peer_messages_rejected_total', 'counter'],
    ['dnsquorum_endpoint_insufficient_vantage', 'gauge'],
    ['dnsquorum_overrides_active', 'gauge'],
    ['dnsquorum_provider_last_sync_success_timestamp_seconds', 'gauge'],
    ['dnsquorum_config_reloads_total', 'counter'],
    ['dnsquorum_config_last_reload_success_timestamp_seconds', 'gauge'],
    ['dnsquorum_config_last_reload_successful', 'gauge'],
  ])('%s has TYPE %s and a HELP text', async (name, type) => {
    const { exp } = await scrape(new Metrics(() => report()));
    expect(exp.type.get(name)).toBe(type);
    expect(exp.help.get(name)?.length).toBeGreaterThan(20);
  });
});
