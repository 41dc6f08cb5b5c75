/**
 * The composition root: the one place (with providers/registry.ts) that builds concrete classes
 * and wires them together. Everything else receives its collaborators.
 */
import { ClusterView } from './cluster/cluster-view.js';
import { PeerVerifier } from './cluster/auth.js';
import type { PeerMessage } from './cluster/messages.js';
import { PeerSender } from './cluster/peer-client.js';
import { peerRoute } from './cluster/peer-route.js';
import type { EndpointStatus } from './cluster/status.js';
import type { ResolvedConfig } from './config/types.js';
import type { Route } from './control/api.js';
import { AdminApi } from './control/api.js';
import { Metrics } from './control/metrics.js';
import { statusRoute } from './control/status.js';
import type { DaemonStatusReport } from './control/status.js';
import { Daemon } from './daemon.js';
import type { Service } from './daemon.js';
import { announceChanges } from './daemon.js';
import type { HealthView } from './domain/health.js';
import type { Clock } from './lib/clock.js';
import type { Logger } from './lib/logger.js';
import { createProber } from './probe/prober.js';
import { ProbeScheduler } from './probe/scheduler.js';
import { LocalDnsServer } from './providers/local/server.js';
import { createProviders, localStatePath, nameServerAddresses } from './providers/registry.js';
import { HealthBoard } from './quorum/health-board.js';
import { startupHold } from './quorum/startup.js';
import { Reconciler } from './sync/reconciler.js';
import type { AskServers } from './sync/provider-syncer.js';
import { concurrencyLimit } from './verify/limit.js';
import { verifyServer } from './verify/servers.js';
import { desiredExpectations } from './verify/verify.js';
import { endpointTargets, failoverRecords } from './sync/targets.js';

export interface DaemonEnvironment {
  readonly logger: Logger;
  readonly clock: Clock;
}

/** Probes in flight at once, across all endpoints. Each probe is mostly waiting on a socket. */
const MAX_CONCURRENT_PROBES = 512;
/** A pass never takes longer than this; shutdown waits for the pass in flight up to here. */
const PASS_TIMEOUT_MS = 120_000;
/** Deadline of one message to a peer; a dead peer costs this much once per round, on its own. */
const PEER_REQUEST_TIMEOUT_MS = 2_000;
/** DNS questions in flight at once, over every provider's name servers (drift checks, visibility). */
const MAX_DNS_QUESTIONS_IN_FLIGHT = 64;

export function buildDaemon(config: ResolvedConfig, env: DaemonEnvironment): Daemon {
  const { clock } = env;
  const logger = env.logger.child({ region: config.region });
  const providers = createProviders(config.providers.values(), { stateDir: config.stateDir, clock, logger });

  const services: Service[] = [];
  for (const provider of config.providers.values()) {
    if (provider.type !== 'local') continue;
    const server = new LocalDnsServer({ config: provider, statePath: localStatePath(config.stateDir, provider.name), logger });
    services.push({ name: `dns ${provider.name}`, start: () => server.start(), close: () => server.close() });
  }

  const records = failoverRecords(config.zones);
  const targets = endpointTargets(config.zones);
  const checks = new Map(targets.map((t) => [t.endpointId, t.check]));
  const board = new HealthBoard({
    region: config.region,
    policy: { regions: [config.region, ...config.cluster.peers.map((p) => p.region)], quorum: config.cluster.quorum, staleAfterMs: config.cluster.staleAfterMs },
    clock,
    rules: (id) => checks.get(id),
  });
  const startedAt = clock.now();
  const cluster = new ClusterView({
    region: config.region,
    peers: config.cluster.peers,
    quorum: config.cluster.quorum,
    staleAfterMs: config.cluster.staleAfterMs,
    writerCapable: config.cluster.writer,
    clock,
  });
  const resolve = nameServerAddresses(config);
  const limit = concurrencyLimit(MAX_DNS_QUESTIONS_IN_FLIGHT);
  const askServers: AskServers = (hosts, expectations, signal) => Promise.all(hosts.map((host) => verifyServer(host, expectations, { resolve, limit, signal })));
  // The status closes over the daemon, which is built last; it is only read once the API is up.
  const built: { daemon?: Daemon } = {};
  const status = (): DaemonStatusReport => ({
    region: config.region,
    state: built.daemon?.state ?? 'starting',
    startedAt,
    now: clock.now(),
    ...reconciler.status(),
    cluster: cluster.status(sender?.status() ?? [], exchange?.rejected() ?? {}),
    endpoints: endpointStatus(board.snapshot(), clock.now()),
  });
  const metrics = new Metrics(status);
  const reconciler = new Reconciler({
    zones: config.zones,
    providers,
    clock,
    logger: logger.child({ component: 'sync' }),
    health: () => board.snapshot(),
    overrides: () => [],
    // Only the writer writes (one replica in normal operation; see src/cluster/writer.ts), and
    // not before every failover record has quorum data.
    holdReason: () => {
      const notWriter = cluster.holdReason();
      if (notWriter !== undefined) return notWriter;
      const hold = startupHold({ startedAt, warmupMs: config.cluster.warmupMs, now: clock.now(), records, health: board.snapshot() });
      return hold.hold ? hold.reason : undefined;
    },
    sync: config.sync,
    askServers,
    expectations: (zone, desired) => desiredExpectations(zone, desired, []),
    observer: metrics.sync,
    passTimeoutMs: PASS_TIMEOUT_MS,
  });
  const healthLog = logger.child({ component: 'quorum' });
  const scheduler = new ProbeScheduler({
    prober: createProber({ clock, resolve: config.resolve }),
    clock,
    maxConcurrent: MAX_CONCURRENT_PROBES,
    onResult: (result) => {
      // A changed verdict of this region goes to the peers at once, not at the next round.
      if (board.recordProbe(result)) sender?.notify();
      announceChanges(healthLog, board.evaluate([result.endpointId]).changed, reconciler);
    },
  });
  scheduler.setTargets(targets);

  const endpointIds = targets.map((t) => t.endpointId);
  const routes: Route[] = [statusRoute(status), metrics.route()];
  const background: { name: string; task: PeerSender }[] = [];
  const { secret } = config.cluster;
  let sender: PeerSender | undefined;
  let exchange: ReturnType<typeof peerRoute> | undefined;
  if (config.cluster.peers.length > 0 && secret !== undefined) {
    const clusterLog = logger.child({ component: 'cluster' });
    exchange = peerRoute({
      verifier: new PeerVerifier({ secret, clock }),
      peers: config.cluster.peers.map((p) => p.region),
      clock,
      logger: clusterLog,
      onMessage: (message, receivedAt) => {
        cluster.received(message, receivedAt);
        // Ages become this replica's own times: a peer's clock never enters a decision.
        board.ingestPeerVerdicts(
          message.verdicts.map((v) => ({ region: message.region, endpointId: v.endpointId, state: v.state, observedAt: receivedAt - v.ageMs, reason: v.reason })),
        );
        announceChanges(healthLog, board.evaluate(endpointIds).changed, reconciler);
      },
    });
    routes.push(exchange.route);
    sender = new PeerSender({
      self: config.region,
      peers: config.cluster.peers,
      secret,
      clock,
      logger: clusterLog,
      intervalMs: config.cluster.exchangeIntervalMs,
      requestTimeoutMs: Math.min(PEER_REQUEST_TIMEOUT_MS, config.cluster.staleAfterMs),
      message: (): PeerMessage => {
        const now = clock.now();
        return {
          v: 1,
          region: config.region,
          writer: config.cluster.writer,
          seesQuorum: cluster.seesQuorum(),
          verdicts: board.localVerdicts().map((v) => ({ endpointId: v.endpointId, state: v.state, ageMs: Math.max(0, now - v.observedAt), reason: v.reason })),
        };
      },
    });
    background.push({ name: 'peer exchange', task: sender });
  }

  const api = new AdminApi({ listen: config.api.listen, tokens: config.api.tokens, routes, logger: logger.child({ component: 'api' }) });
  services.push(api);

  const daemon = new Daemon({
    logger,
    clock,
    services,
    providers,
    board,
    endpointIds,
    probes: scheduler,
    reconciler,
    background,
    evaluateEveryMs: 1000,
  });
  built.daemon = daemon;
  return daemon;
}

function endpointStatus(health: HealthView, now: number): EndpointStatus[] {
  return [...health.values()].map((h) => ({
    endpointId: h.endpointId,
    state: h.state,
    reason: h.reason,
    insufficientVantage: h.insufficientVantage,
    since: h.since,
    regions: h.regions.map((r) => ({ region: r.region, state: r.state, ageMs: Math.max(0, now - r.observedAt), reason: r.reason })),
  }));
}
