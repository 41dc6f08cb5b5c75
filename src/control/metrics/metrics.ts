import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ClusterStatus, EndpointStatus } from '../../cluster/status.js';
import { RELOAD_RESULTS } from '../../config/reload.js';
import type { ReloadResult } from '../../config/reload.js';
import type { ProbeResult } from '../../domain/health.js';
import type { Route } from '../../lib/api-route.js';
import { systemClock } from '../../lib/clock.js';
import type { Clock } from '../../lib/clock.js';
import type { ApiCallObserver } from '../../providers/provider.js';
import type { ProviderZoneStatus, SyncObserver, SyncStatus } from '../../sync/status.js';
import type { OverrideView } from '../overrides/wire.js';

/**
 * Prometheus metrics: counters and histograms fed by events (sync workers, health checks, provider
 * API requests, config reloads), and gauges read from the daemon status at scrape time (so they
 * are never stale). A registry of its own, so two daemons in one process (tests) never share or
 * clash. Nothing here throws back at the code that reports an event. See docs/metrics.md.
 */

/** From a fast provider (tens of ms) to Route53's slowest propagation (minutes). */
const TIME_TO_VISIBLE_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600];
const PASS_DURATION_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
/** From a loopback check (ms) to the longest check timeouts; the default timeout is 2 s. */
const PROBE_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** From an API next door to the providers' 20 s request timeout. */
const API_CALL_DURATION_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30];

/** The states a region's verdict on an endpoint can take; each gets a series so `== 1` and `== 0` both work. */
const VERDICT_STATES: readonly string[] = ['up', 'down', 'unknown'];

type ZoneProviderLabel = 'zone' | 'provider';
const ZONE_PROVIDER: readonly ZoneProviderLabel[] = ['zone', 'provider'];

/** Events carry counts from the write path; a bad one is dropped rather than thrown back at it. */
function countable(n: number): boolean {
  return Number.isFinite(n) && n >= 0;
}

/**
 * What the gauges read from the daemon's status at scrape time: the part of the status report
 * (GET /v1/status) that metrics needs. The report itself is the admin API's, a layer above.
 */
export interface ScrapedStatus extends SyncStatus {
  /** The replica's region. */
  readonly region: string;
  /** The daemon's clock when the status was read, epoch ms. */
  readonly now: number;
  readonly cluster: ClusterStatus;
  readonly endpoints: readonly EndpointStatus[];
  readonly overrides: readonly OverrideView[];
}

/** One notification sink's running counts since its hub started (as NotificationHub.stats() gives them). */
export interface NotificationSinkCounts {
  /** The sink's name in the config. */
  readonly sink: string;
  readonly sent: number;
  readonly failed: number;
  readonly dropped: number;
  readonly queued: number;
}

export type NotificationCounts = readonly NotificationSinkCounts[];

const NOTIFICATION_RESULTS = ['sent', 'failed', 'dropped'] as const;

export interface MetricsOptions {
  /**
   * This replica's region, the `region` label of the probe series. Unset: the region of the
   * first status read (it is the replica's identity and never changes while it runs).
   */
  readonly region?: string;
  /** Stamps the last successful config load (default the system clock). */
  readonly clock?: Clock;
  /** Each sink's running counts (NotificationHub.stats()), read at scrape time. */
  readonly notifications?: () => NotificationCounts;
}

/**
 * A counter that follows running counts kept elsewhere: a counter cannot be set, so each scrape
 * adds what changed since the previous one. A count that went down means its source started over
 * (a new hub after a reload, say): the new count is added as it is, so the counter never goes down.
 */
class CountFollower {
  private readonly last = new Map<string, number>();

  /** What to add for `key` now that its source says `n`. */
  delta(key: string, n: number): number {
    const before = this.last.get(key);
    this.last.set(key, n);
    return before === undefined || n < before ? n : n - before;
  }
}

export class Metrics {
  readonly registry: Registry;
  readonly sync: SyncObserver;
  /** For the providers (ProviderContext.apiCalls): every API request, its outcome and duration. */
  readonly apiCalls: ApiCallObserver;
  private readonly status: () => ScrapedStatus | undefined;
  private readonly clock: Clock;
  private region: string | undefined;
  /** The status (and the notification counts) read once per scrape, shared by every series so they agree. */
  private scrapeSnapshot: { readonly report: ScrapedStatus | undefined; readonly notifications: NotificationCounts | undefined } | undefined;
  private readonly notifications: (() => NotificationCounts) | undefined;
  private readonly probeResults: Counter<'endpoint' | 'region' | 'result'>;
  private readonly probeDuration: Histogram<'endpoint' | 'region'>;
  private readonly reloads: Counter<'result'>;
  private readonly lastReloadSuccess: Gauge;
  private readonly lastReloadSuccessful: Gauge;

  constructor(status: () => ScrapedStatus | undefined, options: MetricsOptions = {}) {
    this.status = status;
    this.clock = options.clock ?? systemClock;
    this.region = options.region;
    this.notifications = options.notifications;
    const registry = new Registry();
    this.registry = registry;
    collectDefaultMetrics({ register: registry });

    const passes = new Counter({
      name: 'dnsquorum_sync_passes_total',
      help: 'Sync passes over one zone at one provider, by how they ended (in-sync, applied, failed, refused, drift-reported).',
      labelNames: ['zone', 'provider', 'outcome'] as const,
      registers: [registry],
    });
    const writes = new Counter({
      name: 'dnsquorum_sync_writes_total',
      help: 'Change batches written to a provider.',
      labelNames: ZONE_PROVIDER,
      registers: [registry],
    });
    const changes = new Counter({
      name: 'dnsquorum_sync_changes_total',
      help: 'Record set changes (creates, updates, deletes) written to a provider.',
      labelNames: ZONE_PROVIDER,
      registers: [registry],
    });
    const drift = new Counter({
      name: 'dnsquorum_drift_record_sets_total',
      help: 'Record sets found changed at a provider behind our back, by whether they were written back (repaired) or only reported.',
      labelNames: ['zone', 'provider', 'action'] as const,
      registers: [registry],
    });
    const checks = new Counter({
      name: 'dnsquorum_sync_checks_total',
      help: "Comparisons of a provider with the desired state, by how (over DNS: no API quota; or by reading its API) and whether it differed.",
      labelNames: ['zone', 'provider', 'via', 'result'] as const,
      registers: [registry],
    });
    const timeToVisible = new Histogram({
      name: 'dnsquorum_time_to_visible_seconds',
      help: "Seconds from the start of a write until every one of the provider's name servers answered the new data.",
      labelNames: ZONE_PROVIDER,
      buckets: TIME_TO_VISIBLE_BUCKETS,
      registers: [registry],
    });
    const passDuration = new Histogram({
      name: 'dnsquorum_sync_pass_duration_seconds',
      help: 'Seconds one sync pass over one zone at one provider took (read, plan, write).',
      labelNames: ZONE_PROVIDER,
      buckets: PASS_DURATION_BUCKETS,
      registers: [registry],
    });

    this.sync = {
      pass: ({ zone, provider, outcome, durationMs }) => {
        passes.inc({ zone, provider, outcome });
        if (countable(durationMs)) passDuration.observe({ zone, provider }, durationMs / 1000);
      },
      write: ({ zone, provider, changes: n, error }) => {
        // A failed write shows in the pass outcome (failed); these count what was written.
        if (error !== null) return;
        writes.inc({ zone, provider });
        if (countable(n)) changes.inc({ zone, provider }, n);
      },
      drift: ({ zone, provider, records, repaired }) => {
        if (countable(records)) drift.inc({ zone, provider, action: repaired ? 'repaired' : 'reported' }, records);
      },
      // Drift left in place shows in the provider state gauges; its end counts nothing new.
      driftCleared: () => undefined,
      visible: ({ zone, provider, ms }) => {
        if (countable(ms)) timeToVisible.observe({ zone, provider }, ms / 1000);
      },
      check: ({ zone, provider, via, differs }) => {
        checks.inc({ zone, provider, via, result: differs ? 'differs' : 'same' });
      },
    };

    this.providerGauge('dnsquorum_provider_lag_seconds', 'Seconds the provider has been behind the desired state; 0 when in sync.', (z) => z.lagMs / 1000);
    this.providerGauge('dnsquorum_provider_in_sync', 'Whether the provider holds the desired state (1) or not (0).', (z) => (z.state === 'in-sync' ? 1 : 0));
    this.providerGauge(
      'dnsquorum_provider_last_read_timestamp_seconds',
      "When the provider's records were last read from its API, as a Unix timestamp; absent until the first read.",
      (z) => (z.lastReadAt === null ? undefined : z.lastReadAt / 1000),
    );
    this.providerGauge(
      'dnsquorum_provider_last_sync_success_timestamp_seconds',
      'When a sync pass last ended with the provider holding the desired state (in sync, or written to it), as a Unix timestamp; absent until the first.',
      (z) => (z.lastSuccessAt === undefined || z.lastSuccessAt === null ? undefined : z.lastSuccessAt / 1000),
    );
    this.providerGauge('dnsquorum_provider_consecutive_failures', 'Failed sync passes in a row at the provider; 0 after a success.', (z) => z.consecutiveFailures);
    this.providerGauge(
      'dnsquorum_drift_current_record_sets',
      'Record sets that differ at the provider now and were left as they are (drift: report).',
      (z) => z.drift.current.length,
    );
    const read = (): ScrapedStatus | undefined => this.read();
    new Gauge({
      name: 'dnsquorum_writes_held',
      help: 'Whether writes wait for the startup hold (quorum data on every failover record): 1 held, 0 not.',
      registers: [registry],
      collect() {
        this.reset();
        const report = read();
        if (report !== undefined) this.set(report.hold === null ? 0 : 1);
      },
    });
    this.clusterMetrics();
    this.overrideMetrics();

    this.probeResults = new Counter({
      name: 'dnsquorum_probe_results_total',
      help: "Health checks this replica ran against an endpoint, by result (success, failure); region is this replica's.",
      labelNames: ['endpoint', 'region', 'result'] as const,
      registers: [registry],
    });
    this.probeDuration = new Histogram({
      name: 'dnsquorum_probe_duration_seconds',
      help: "Seconds one health check of an endpoint took, failed ones included (a timed-out one at its timeout); region is this replica's.",
      labelNames: ['endpoint', 'region'] as const,
      buckets: PROBE_DURATION_BUCKETS,
      registers: [registry],
    });
    this.apiCalls = this.apiCallMetrics();

    this.reloads = new Counter({
      name: 'dnsquorum_config_reloads_total',
      help: 'Config reloads (SIGHUP, POST /v1/reload), by result: applied, unchanged, invalid (did not load), rejected (needs a restart).',
      labelNames: ['result'] as const,
      registers: [registry],
    });
    // Every result from the start at 0, so increase() sees the first invalid reload.
    for (const result of RELOAD_RESULTS) this.reloads.inc({ result }, 0);
    this.lastReloadSuccess = new Gauge({
      name: 'dnsquorum_config_last_reload_success_timestamp_seconds',
      help: 'When the config was last loaded successfully (at start, or a reload applied or unchanged), as a Unix timestamp.',
      registers: [registry],
    });
    this.lastReloadSuccessful = new Gauge({
      name: 'dnsquorum_config_last_reload_successful',
      help: 'Whether the last config load succeeded (1) or the last reload was invalid or rejected (0), leaving the previous config running.',
      registers: [registry],
    });
    // The daemon is built from a config it has just loaded: that is the first successful load.
    this.lastReloadSuccess.set(this.clock.now() / 1000);
    this.lastReloadSuccessful.set(1);

    if (options.notifications !== undefined) this.notificationMetrics();
  }

  /** One health check's result, from the probe scheduler's onResult. */
  probe(result: ProbeResult): void {
    const region = this.ownRegion();
    const labels = { endpoint: result.endpointId, region };
    this.probeResults.inc({ ...labels, result: result.ok ? 'success' : 'failure' });
    // Both results exist from the first check on, so a rate of failures is 0 rather than absent.
    this.probeResults.inc({ ...labels, result: result.ok ? 'failure' : 'success' }, 0);
    if (countable(result.latencyMs)) this.probeDuration.observe(labels, result.latencyMs / 1000);
  }

  /** One config reload ended so (SIGHUP or POST /v1/reload). */
  reload(result: ReloadResult): void {
    this.reloads.inc({ result });
    const succeeded = result === 'applied' || result === 'unchanged';
    if (succeeded) this.lastReloadSuccess.set(this.clock.now() / 1000);
    this.lastReloadSuccessful.set(succeeded ? 1 : 0);
  }

  /** The replica's region, for the probe series: as configured, else from the status. */
  private ownRegion(): string {
    if (this.region === undefined) {
      try {
        this.region = this.status()?.region;
      } catch {
        // The status is not ready yet (the daemon is still being put together): ask again next time.
      }
    }
    return this.region ?? 'unknown';
  }

  /** Provider API requests: counted by outcome, timed, and throttling answers on their own. */
  private apiCallMetrics(): ApiCallObserver {
    const registers = [this.registry];
    const calls = new Counter({
      name: 'dnsquorum_provider_api_calls_total',
      help: "Requests to a provider's API (each retry counts), by operation and outcome: ok, error, throttled (HTTP 429, Throttling, PriorRequestNotComplete).",
      labelNames: ['provider', 'operation', 'outcome'] as const,
      registers,
    });
    const duration = new Histogram({
      name: 'dnsquorum_provider_api_call_duration_seconds',
      help: "Seconds one request to a provider's API took, from sending it to its parsed answer or failure.",
      labelNames: ['provider', 'operation'] as const,
      buckets: API_CALL_DURATION_BUCKETS,
      registers,
    });
    const throttles = new Counter({
      name: 'dnsquorum_provider_api_throttles_total',
      help: "Requests a provider's API answered with \"slow down\" (HTTP 429, Throttling, PriorRequestNotComplete); 0 from the provider's first request on.",
      labelNames: ['provider'] as const,
      registers,
    });
    return {
      call: ({ provider, operation, outcome, durationMs }) => {
        calls.inc({ provider, operation, outcome });
        // The same count as outcome="throttled", per provider and present at 0 from the first
        // request, so `increase(...) > 0` alerts need no `or vector(0)`.
        throttles.inc({ provider }, outcome === 'throttled' ? 1 : 0);
        if (countable(durationMs)) duration.observe({ provider, operation }, durationMs / 1000);
      },
    };
  }

  /** Overrides in force per zone, from the status: 0 for every zone a provider serves. */
  private overrideMetrics(): void {
    const read = (): ScrapedStatus | undefined => this.read();
    new Gauge({
      name: 'dnsquorum_overrides_active',
      help: 'Manual overrides in force on records of the zone (made here or learned from a peer).',
      labelNames: ['zone'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        const report = read();
        if (report === undefined) return;
        const perZone = new Map<string, number>();
        for (const provider of report.providers) for (const zone of provider.zones) perZone.set(zone.zone, 0);
        for (const override of report.overrides) perZone.set(override.zone, (perZone.get(override.zone) ?? 0) + 1);
        for (const [zone, n] of perZone) this.set({ zone }, n);
      },
    });
  }

  /** Notifications per sink, from the hub's running counts at scrape time. */
  private notificationMetrics(): void {
    const registers = [this.registry];
    const counts = (): NotificationCounts => this.readNotifications();
    const followed = new CountFollower();
    new Counter({
      name: 'dnsquorum_notifications_total',
      help: 'Notifications by sink and result: sent, failed (gave up after the retries), dropped (the queue was full).',
      labelNames: ['sink', 'result'] as const,
      registers,
      collect() {
        for (const c of counts()) {
          for (const result of NOTIFICATION_RESULTS) {
            const n = c[result];
            if (countable(n)) this.inc({ sink: c.sink, result }, followed.delta(`${c.sink}\u0000${result}`, n));
          }
        }
      },
    });
    new Gauge({
      name: 'dnsquorum_notifications_queued',
      help: 'Notifications waiting to be delivered, per sink.',
      labelNames: ['sink'] as const,
      registers,
      collect() {
        this.reset();
        for (const c of counts()) if (countable(c.queued)) this.set({ sink: c.sink }, c.queued);
      },
    });
  }

  /** Series about the cluster (peers, writer) and every endpoint's health across regions, read from the status. */
  private clusterMetrics(): void {
    const read = (): ScrapedStatus | undefined => this.read();
    const registers = [this.registry];
    new Gauge({
      name: 'dnsquorum_endpoint_up',
      help: 'Whether the quorum of regions judges the endpoint up (1) or down (0); absent while unknown.',
      labelNames: ['endpoint'] as const,
      registers,
      collect() {
        this.reset();
        for (const e of read()?.endpoints ?? []) {
          if (e.state === 'up' || e.state === 'down') this.set({ endpoint: e.endpointId }, e.state === 'up' ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: 'dnsquorum_endpoint_insufficient_vantage',
      help: 'Whether too few regions report on the endpoint for a quorum (1), so its state is left as it was, or enough do (0).',
      labelNames: ['endpoint'] as const,
      registers,
      collect() {
        this.reset();
        for (const e of read()?.endpoints ?? []) this.set({ endpoint: e.endpointId }, e.insufficientVantage ? 1 : 0);
      },
    });
    new Gauge({
      name: 'dnsquorum_endpoint_region_verdict',
      help: "Each region's latest verdict on the endpoint: 1 for the state it reports (up, down, unknown), 0 for the others.",
      labelNames: ['endpoint', 'region', 'state'] as const,
      registers,
      collect() {
        this.reset();
        for (const e of read()?.endpoints ?? []) {
          for (const r of e.regions) {
            const states = VERDICT_STATES.includes(r.state) ? VERDICT_STATES : [...VERDICT_STATES, r.state];
            for (const state of states) this.set({ endpoint: e.endpointId, region: r.region, state }, state === r.state ? 1 : 0);
          }
        }
      },
    });
    new Gauge({
      name: 'dnsquorum_endpoint_region_verdict_age_seconds',
      help: "Seconds since each region's verdict on the endpoint was made, as this replica holds it.",
      labelNames: ['endpoint', 'region'] as const,
      registers,
      collect() {
        this.reset();
        for (const e of read()?.endpoints ?? []) {
          for (const r of e.regions) this.set({ endpoint: e.endpointId, region: r.region }, Math.max(0, r.ageMs) / 1000);
        }
      },
    });
    new Gauge({
      name: 'dnsquorum_cluster_writer',
      help: 'Which region writes to the providers now, by the deterministic rule: 1 for it, 0 for every other known region; all 0 when none may.',
      labelNames: ['region'] as const,
      registers,
      collect() {
        this.reset();
        const cluster = read()?.cluster;
        if (cluster === undefined) return;
        const regions = new Set([cluster.region, ...cluster.peers.map((p) => p.region)]);
        if (cluster.writer !== null) regions.add(cluster.writer);
        for (const region of regions) this.set({ region }, region === cluster.writer ? 1 : 0);
      },
    });
    new Gauge({
      name: 'dnsquorum_cluster_sees_quorum',
      help: 'Whether this replica hears from a quorum of regions (itself included): 1 yes, 0 no.',
      registers,
      collect() {
        this.reset();
        const cluster = read()?.cluster;
        if (cluster !== undefined) this.set(cluster.seesQuorum ? 1 : 0);
      },
    });
    new Gauge({
      name: 'dnsquorum_cluster_fresh_regions',
      help: 'Regions this replica has heard from recently enough (cluster.staleAfter), itself included.',
      registers,
      collect() {
        this.reset();
        const cluster = read()?.cluster;
        if (cluster !== undefined) this.set(cluster.freshRegions.length);
      },
    });
    new Gauge({
      name: 'dnsquorum_peer_last_heard_age_seconds',
      help: 'Seconds since a valid message from the peer region last arrived; absent until the first one.',
      labelNames: ['peer'] as const,
      registers,
      collect() {
        this.reset();
        const report = read();
        for (const peer of report?.cluster.peers ?? []) {
          if (report !== undefined && peer.lastHeardAt !== null) this.set({ peer: peer.region }, Math.max(0, report.now - peer.lastHeardAt) / 1000);
        }
      },
    });
    new Gauge({
      name: 'dnsquorum_cluster_peer_clock_offset_seconds',
      help: "The peer's clock minus this replica's, as last measured from its signed messages or its signed stale answers; absent until measured.",
      labelNames: ['peer'] as const,
      registers,
      collect() {
        this.reset();
        for (const peer of read()?.cluster.peers ?? []) {
          if (peer.clockOffsetMs !== null && Number.isFinite(peer.clockOffsetMs)) this.set({ peer: peer.region }, peer.clockOffsetMs / 1000);
        }
      },
    });
    new Gauge({
      name: 'dnsquorum_cluster_peers_refusing_stale',
      help: "Peers whose last answer refused this replica's message as stale: their clocks and this one's differ by more than the replay window.",
      registers,
      collect() {
        this.reset();
        const cluster = read()?.cluster;
        if (cluster !== undefined) this.set(cluster.clockSkewed.length);
      },
    });
    // The cluster keeps its own running counts.
    const stampsRefused = new CountFollower();
    new Counter({
      name: 'dnsquorum_peer_override_stamps_refused_total',
      help: "Override entries from the peer refused because their stamp was more than 5 min ahead of this replica's clock.",
      labelNames: ['peer'] as const,
      registers,
      collect() {
        for (const peer of read()?.cluster.peers ?? []) {
          if (countable(peer.stampsRefused)) this.inc({ peer: peer.region }, stampsRefused.delta(peer.region, peer.stampsRefused));
        }
      },
    });
    const rejected = new CountFollower();
    new Counter({
      name: 'dnsquorum_peer_messages_rejected_total',
      help: 'Peer messages refused, by reason: bad-signature, stale, replayed, malformed, unknown-peer.',
      labelNames: ['reason'] as const,
      registers,
      collect() {
        for (const [reason, n] of Object.entries(read()?.cluster.rejected ?? {})) {
          if (countable(n)) this.inc({ reason }, rejected.delta(reason, n));
        }
      },
    });
  }

  /** GET /metrics, in the Prometheus text format; no token, like every scrape target. */
  route(): Route {
    return {
      method: 'GET',
      path: '/metrics',
      auth: false,
      handle: async () => {
        this.scrapeSnapshot = { report: this.status(), notifications: this.notifications?.() };
        try {
          return { status: 200, text: await this.registry.metrics(), contentType: this.registry.contentType };
        } finally {
          this.scrapeSnapshot = undefined;
        }
      },
    };
  }

  private read(): ScrapedStatus | undefined {
    return this.scrapeSnapshot === undefined ? this.status() : this.scrapeSnapshot.report;
  }

  private readNotifications(): NotificationCounts {
    return (this.scrapeSnapshot === undefined ? this.notifications?.() : this.scrapeSnapshot.notifications) ?? [];
  }

  /** A gauge per (zone, provider), rebuilt from the status at every scrape so removed providers disappear. */
  private providerGauge(name: string, help: string, value: (zone: ProviderZoneStatus) => number | undefined): void {
    const read = (): ScrapedStatus | undefined => this.read();
    new Gauge({
      name,
      help,
      labelNames: ZONE_PROVIDER,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const provider of read()?.providers ?? []) {
          for (const zone of provider.zones) {
            const v = value(zone);
            if (v !== undefined) this.set({ zone: zone.zone, provider: provider.provider }, v);
          }
        }
      },
    });
  }
}
