import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ProviderZoneStatus, SyncObserver } from '../sync/status.js';
import type { Route } from './api.js';
import type { DaemonStatusReport } from './status.js';

/**
 * Prometheus metrics: counters and histograms fed by the sync workers' events, and gauges read
 * from the daemon status at scrape time (so they are never stale). A registry of its own, so
 * two daemons in one process (tests) never share or clash.
 */

/** From a fast provider (tens of ms) to Route53's slowest propagation (minutes). */
const TIME_TO_VISIBLE_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600];
const PASS_DURATION_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** The states a region's verdict on an endpoint can take; each gets a series so `== 1` and `== 0` both work. */
const VERDICT_STATES: readonly string[] = ['up', 'down', 'unknown'];

type ZoneProviderLabel = 'zone' | 'provider';
const ZONE_PROVIDER: readonly ZoneProviderLabel[] = ['zone', 'provider'];

/** Events carry counts from the write path; a bad one is dropped rather than thrown back at it. */
function countable(n: number): boolean {
  return Number.isFinite(n) && n >= 0;
}

export class Metrics {
  readonly registry: Registry;
  readonly sync: SyncObserver;
  private readonly status: () => DaemonStatusReport | undefined;
  /** The status read once per scrape, shared by every gauge so they agree with each other. */
  private scrapeSnapshot: { readonly report: DaemonStatusReport | undefined } | undefined;

  constructor(status: () => DaemonStatusReport | undefined) {
    this.status = status;
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
    this.providerGauge('dnsquorum_provider_consecutive_failures', 'Failed sync passes in a row at the provider; 0 after a success.', (z) => z.consecutiveFailures);
    this.providerGauge(
      'dnsquorum_drift_current_record_sets',
      'Record sets that differ at the provider now and were left as they are (drift: report).',
      (z) => z.drift.current.length,
    );
    const read = (): DaemonStatusReport | undefined => this.read();
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
  }

  /** Series about the cluster (peers, writer) and every endpoint's health across regions, read from the status. */
  private clusterMetrics(): void {
    const read = (): DaemonStatusReport | undefined => this.read();
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
    // The cluster keeps its own running counts; a counter cannot be set, so each scrape adds what
    // changed since the last one. A count that went down means its source started over.
    const lastRejected = new Map<string, number>();
    new Counter({
      name: 'dnsquorum_peer_messages_rejected_total',
      help: 'Peer messages refused, by reason: bad-signature, stale, replayed, malformed, unknown-peer.',
      labelNames: ['reason'] as const,
      registers,
      collect() {
        for (const [reason, n] of Object.entries(read()?.cluster.rejected ?? {})) {
          if (!countable(n)) continue;
          const before = lastRejected.get(reason);
          const delta = before === undefined || n < before ? n : n - before;
          lastRejected.set(reason, n);
          this.inc({ reason }, delta);
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
        this.scrapeSnapshot = { report: this.status() };
        try {
          return { status: 200, text: await this.registry.metrics(), contentType: this.registry.contentType };
        } finally {
          this.scrapeSnapshot = undefined;
        }
      },
    };
  }

  private read(): DaemonStatusReport | undefined {
    return this.scrapeSnapshot === undefined ? this.status() : this.scrapeSnapshot.report;
  }

  /** A gauge per (zone, provider), rebuilt from the status at every scrape so removed providers disappear. */
  private providerGauge(name: string, help: string, value: (zone: ProviderZoneStatus) => number | undefined): void {
    const read = (): DaemonStatusReport | undefined => this.read();
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
