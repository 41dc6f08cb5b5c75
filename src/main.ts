/**
 * The composition root: the one place (with providers/registry.ts) that builds concrete classes
 * and wires them together. Everything else receives its collaborators.
 */
import { join } from 'node:path';
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
import { FileAuditLog } from './control/audit.js';
import { auditWrites } from './control/audit-observer.js';
import { OverrideEffectChecker } from './control/override-effect.js';
import { overrideRoutes } from './control/override-routes.js';
import { FileOverrideStore } from './control/override-store.js';
import { OverrideSweeper } from './control/override-sweeper.js';
import { overrideView } from './control/override-wire.js';
import { fromPeerOverride, toPeerOverride } from './cluster/override-exchange.js';
import { describeAction, entryState } from './domain/override.js';
import { HybridLogicalClock } from './lib/hlc.js';
import type { WriteMode } from './sync/reconciler.js';
import { Daemon } from './daemon.js';
import type { Service, Task } from './daemon.js';
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

/** In the state directory: the replicated override set, and the append-only audit log. */
const OVERRIDES_FILE = 'overrides.json';
const AUDIT_FILE = 'audit.jsonl';
/** Overrides expire, and ended ones are forgotten, on this beat. */
const OVERRIDE_SWEEP_MS = 1000;

export async function buildDaemon(config: ResolvedConfig, env: DaemonEnvironment): Promise<Daemon> {
  const { clock } = env;
  const logger = env.logger.child({ region: config.region });
  const providers = createProviders(config.providers.values(), { stateDir: config.stateDir, clock, logger });
  const hlc = new HybridLogicalClock(clock, config.region);
  // A corrupt overrides file stops the start: running without the overrides it holds would undo them.
  const store = await FileOverrideStore.open({ path: join(config.stateDir, OVERRIDES_FILE), clock, hlc, logger: logger.child({ component: 'overrides' }) });
  const audit = new FileAuditLog({ path: join(config.stateDir, AUDIT_FILE), logger: logger.child({ component: 'audit' }) });

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
    overrides: store.entries().filter((e) => entryState(e, clock.now()) === 'active').map((e) => overrideView(e, clock.now())),
  });
  const metrics = new Metrics(status);
  const reconciler = new Reconciler({
    zones: config.zones,
    providers,
    clock,
    logger: logger.child({ component: 'sync' }),
    health: () => board.snapshot(),
    overrides: () => store.active(),
    writeMode: (): WriteMode => {
      // Overrides need no quorum: with no writer in view (this replica cut off from its peers, or
      // all of them down) an override is still written, and health decides nothing meanwhile.
      const breakGlass = store.active().length > 0;
      const notWriter = cluster.holdReason();
      if (notWriter !== undefined) {
        if (breakGlass && config.cluster.writer && cluster.writer() === null) return { kind: 'overrides-only', reason: `break-glass: ${notWriter}; no replica can write, so overrides are written from here` };
        return { kind: 'hold', reason: notWriter };
      }
      // Not before every failover record has quorum data; overrides meanwhile.
      const hold = startupHold({ startedAt, warmupMs: config.cluster.warmupMs, now: clock.now(), records, health: board.snapshot() });
      if (!hold.hold) return { kind: 'all' };
      return breakGlass ? { kind: 'overrides-only', reason: `startup: ${hold.reason}; overrides are written meanwhile` } : { kind: 'hold', reason: hold.reason };
    },
    sync: config.sync,
    askServers,
    expectations: (zone, desired) => desiredExpectations(zone, desired, []),
    observer: { ...metrics.sync, ...auditWrites(audit, config.region, () => clock.now()) },
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
  // After every change of the override set: decide again now, and tell the peers now.
  const overridesChanged = (): void => {
    reconciler.trigger('overrides changed');
    sender?.notify();
  };
  const effects = new OverrideEffectChecker({ zones: config.zones, providers, resolve, limit, clock, active: () => store.active() });
  const routes: Route[] = [
    statusRoute(status),
    metrics.route(),
    ...overrideRoutes({
      region: config.region,
      zones: config.zones,
      store,
      audit,
      clock,
      limits: config.overrides,
      health: () => board.snapshot(),
      served: () => reconciler.served(),
      records: () => reconciler.status().records,
      effect: (override, signal) => effects.check(override, signal),
      changed: overridesChanged,
      logger: logger.child({ component: 'api' }),
    }),
  ];
  const overridesLog = logger.child({ component: 'overrides' });
  const background: { name: string; task: Task }[] = [
    {
      name: 'override expiry',
      task: new OverrideSweeper({ store, audit, region: config.region, clock, logger: overridesLog, everyMs: OVERRIDE_SWEEP_MS, expired: overridesChanged }),
    },
  ];
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
        if (message.overrides.length > 0) {
          store.merge(message.overrides.map((o) => fromPeerOverride(o, receivedAt))).then(
            (adopted) => {
              for (const entry of adopted) overridesLog.info({ override: entry.override.id, from: message.region, state: entryState(entry, clock.now()) }, `learned override ${entry.override.id} (${describeAction(entry.override.action)} on ${entry.override.name}) from ${message.region}`);
              if (adopted.length > 0) overridesChanged();
            },
            (err: unknown) => { overridesLog.error({ err, from: message.region }, 'could not take in the overrides a peer sent'); },
          );
        }
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
          overrides: store.entries().map((e) => toPeerOverride(e, now)),
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
