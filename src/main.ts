/**
 * The composition root: the one place (with providers/registry.ts) that builds concrete classes
 * and wires them together. Everything else receives its collaborators.
 */
import { join } from 'node:path';
import { ClusterView } from './cluster/cluster-view.js';
import { DEFAULT_WINDOW_MS, PeerVerifier } from './cluster/auth.js';
import { ClockSkewWatch } from './cluster/clock-skew.js';
import { PeerSender } from './cluster/peer-client.js';
import { peerRoute } from './cluster/peer-route.js';
import { endpointStatus } from './cluster/status.js';
import { peerIntake, peerMessage } from './cluster/peer-intake.js';
import { writeMode } from './cluster/write-mode.js';
import { reloader } from './reload.js';
import type { ReloadOutcome } from './config/reload.js';
import { plainHttpExposures } from './config/exposure.js';
import { caFetch } from './lib/ca-fetch.js';
import { readCaBundle } from './lib/tls-files.js';
import type { StartupHold } from './quorum/startup.js';
import type { ResolvedConfig } from './config/types.js';
import type { Route } from './control/api/server.js';
import { AdminApi } from './control/api/server.js';
import { Metrics } from './control/metrics/metrics.js';
import { statusRoute } from './control/api/status.js';
import type { DaemonStatusReport } from './control/api/status.js';
import { FileAuditLog } from './control/audit/file-log.js';
import { auditWrites } from './control/audit/write-observer.js';
import { OverrideEffectChecker } from './control/overrides/effect.js';
import { overrideRoutes } from './control/api/override-routes.js';
import { FileOverrideStore } from './control/overrides/file-store.js';
import { OverrideSweeper } from './control/overrides/sweeper.js';
import { overrideView } from './control/overrides/wire.js';
import { entryState } from './domain/override.js';
import { HybridLogicalClock } from './lib/hlc.js';
import type { CheckSpec } from './domain/zone.js';
import type { EndpointId } from './domain/health.js';
import { healthzRoute, readiness, readyzRoute, reloadRoute, ReloadRecord } from './control/api/lifecycle.js';
import { NotificationHub } from './control/notify/hub.js';
import { corruptStateFileNotification, driftClearedNotification, driftNotification, notifyingAudit, recordNotification } from './control/notify/events.js';
import type { Notifier } from './control/notify/notifier.js';
import { ProviderFailureWatch } from './control/notify/provider-watch.js';
import { RefusalWatch } from './control/notify/refusal-watch.js';
import { periodic } from './lib/periodic.js';
import { TaskSlot } from './lib/task-slot.js';
import type { ProbeTarget } from './probe/prober.js';
import type { DnsProvider } from './providers/provider.js';
import type { SyncObserver } from './sync/status.js';
import type { FailoverRecordRef } from './probe/targets.js';
import type { WriteMode } from './sync/reconciler.js';
import { Daemon } from './daemon.js';
import type { Reconciling, Service, Task } from './daemon.js';
import { announceChanges } from './daemon.js';
import type { Clock } from './lib/clock.js';
import type { Logger } from './lib/logger.js';
import { createProber } from './probe/prober.js';
import { ProbeScheduler } from './probe/scheduler.js';
import { setAsideCorruptState } from './providers/local/recovery.js';
import type { StateFileRecovery } from './providers/local/state.js';
import { LocalDnsServer } from './providers/local/server.js';
import { formatHostPort } from './probe/outcome.js';
import { createProviders, localStatePath, nameServerAddresses } from './providers/registry.js';
import { HealthBoard } from './quorum/health-board.js';
import { startupHold } from './quorum/startup.js';
import { Reconciler } from './sync/reconciler.js';
import { WriteBudgetStore } from './sync/write-budget-store.js';
import type { AskServers } from './sync/provider-syncer.js';
import { concurrencyLimit } from './verify/limit.js';
import { verifyServer } from './verify/servers.js';
import { endpointTargets, failoverRecords } from './probe/targets.js';

export interface DaemonEnvironment {
  readonly logger: Logger;
  readonly clock: Clock;
  /** Reads the config file again, for a reload (SIGHUP, POST /v1/reload); without it, reloads are refused. */
  readonly loadConfig?: () => Promise<ResolvedConfig>;
}

/** Probes in flight at once, across all endpoints. Each probe is mostly waiting on a socket. */
const MAX_CONCURRENT_PROBES = 512;
/** A pass never takes longer than this; shutdown waits for the pass in flight up to here. */
const PASS_TIMEOUT_MS = 120_000;
/** Deadline of one message to a peer; a dead peer costs this much once per round, on its own. */
const PEER_REQUEST_TIMEOUT_MS = 2_000;
/** DNS questions in flight at once, over every provider's name servers (drift checks, visibility). */
const MAX_DNS_QUESTIONS_IN_FLIGHT = 64;
/** In the state directory: the replicated override set, the append-only audit log, the hourly write budget. */
const OVERRIDES_FILE = 'overrides.json';
const AUDIT_FILE = 'audit.jsonl';
const WRITE_BUDGET_FILE = 'write-budget.json';
/** Overrides expire, and ended ones are forgotten, on this beat. */
const OVERRIDE_SWEEP_MS = 1000;
/** How often the cluster status is looked at for peers refusing this replica's messages as stale (clock skew). */
const CLOCK_SKEW_WATCH_MS = 1000;
/** How often the providers' state is looked at for "failing for longer than the threshold", and for changes a guardrail holds back. */
const PROVIDER_WATCH_MS = 5000;

/**
 * What depends on the zones, providers, sync and notification settings: built from a config at
 * start and built again on each reload, while the rest (API, health, overrides, peers) goes on.
 */
interface ConfigBound {
  readonly config: ResolvedConfig;
  readonly providers: ReadonlyMap<string, DnsProvider>;
  readonly reconciler: Reconciler;
  readonly targets: readonly ProbeTarget[];
  readonly checks: ReadonlyMap<EndpointId, CheckSpec>;
  readonly records: readonly FailoverRecordRef[];
  readonly endpointIds: readonly EndpointId[];
  readonly effects: OverrideEffectChecker;
  readonly notifications: NotificationHub;
}

export async function buildDaemon(initial: ResolvedConfig, env: DaemonEnvironment): Promise<Daemon> {
  const { clock } = env;
  // Fixed for the process (a reload that changes them is refused, see config/reload.ts).
  const { region, stateDir } = initial;
  const logger = env.logger.child({ region });
  const hlc = new HybridLogicalClock(clock, region);
  const localProviders = [...initial.providers.values()].flatMap((p) => (p.type === 'local' ? [p] : []));
  // A corrupt overrides file stops the start: running without the overrides it holds would undo
  // them. Its error names the built-in DNS servers that are down with the daemon.
  const store = await FileOverrideStore.open({
    path: join(stateDir, OVERRIDES_FILE),
    clock,
    hlc,
    logger: logger.child({ component: 'overrides' }),
    dnsServers: localProviders.map((p) => `${p.name} (${formatHostPort(p.listen.host, p.listen.port)})`),
  });
  const notifier: Notifier = { notify: (event) => { bound.notifications.notify(event); } };
  const audit = notifyingAudit(new FileAuditLog({ path: join(stateDir, AUDIT_FILE), logger: logger.child({ component: 'audit' }) }), notifier);
  // One for the process, handed to each reconciler a reload builds: the budget outlives both.
  const writeBudget = await WriteBudgetStore.open({ path: join(stateDir, WRITE_BUDGET_FILE), clock, logger: logger.child({ component: 'write-budget' }) });

  const services: Service[] = [];
  // A local provider's state file holds nothing the config does not: one that does not load is
  // moved aside and its zones are written again by the first pass (docs/local-provider.md).
  const corruptStateFiles: StateFileRecovery[] = [];
  for (const provider of localProviders) {
    const statePath = localStatePath(stateDir, provider.name);
    const recovery = await setAsideCorruptState({ providerName: provider.name, statePath, now: clock.now(), logger: logger.child({ provider: provider.name, component: 'local-state' }) });
    if (recovery !== undefined) corruptStateFiles.push(recovery);
    const zones = (): string[] => bound.config.zones.filter((z) => z.providers.includes(provider.name)).map((z) => z.name);
    const server = new LocalDnsServer({ config: provider, statePath, logger, zones });
    services.push({ name: `dns ${provider.name}`, start: () => server.start(), close: () => server.close() });
  }

  const board = new HealthBoard({
    region,
    policy: { regions: [region, ...initial.cluster.peers.map((p) => p.region)], quorum: initial.cluster.quorum, staleAfterMs: initial.cluster.staleAfterMs },
    clock,
    rules: (id) => bound.checks.get(id),
  });
  const startedAt = clock.now();
  const cluster = new ClusterView({
    region,
    peers: initial.cluster.peers,
    quorum: initial.cluster.quorum,
    staleAfterMs: initial.cluster.staleAfterMs,
    writerCapable: initial.cluster.writer,
    clock,
  });
  const resolve = nameServerAddresses(initial);
  const limit = concurrencyLimit(MAX_DNS_QUESTIONS_IN_FLIGHT);
  const askServers: AskServers = (hosts, expectations, signal) => Promise.all(hosts.map((host) => verifyServer(host, expectations, { resolve, limit, signal })));
  const startup = (): StartupHold => startupHold({ startedAt, warmupMs: bound.config.cluster.warmupMs, now: clock.now(), records: bound.records, health: board.view() });
  const currentWriteMode = (): WriteMode =>
    writeMode({
      notWriter: cluster.holdReason(),
      writerCapable: initial.cluster.writer,
      writerInView: cluster.writer() !== null,
      alivePeers: cluster.alivePeers(),
      overridesActive: store.active().length > 0,
      startup: startup(),
    });

  // The status closes over the daemon, which is built last; it is only read once the API is up.
  const built: { daemon?: Daemon } = {};
  const reloads = new ReloadRecord(initial.source, clock.now(), () => clock.now());
  const status = (): DaemonStatusReport => ({
    region,
    state: built.daemon?.state ?? 'starting',
    startedAt,
    now: clock.now(),
    ...reconcilers.current.status(),
    cluster: cluster.status(sender?.status() ?? [], exchange?.rejected() ?? {}),
    endpoints: endpointStatus(board.view(), clock.now()),
    overrides: store.entries().filter((e) => entryState(e, clock.now()) === 'active').map((e) => overrideView(e, clock.now())),
    config: reloads.status(),
    corruptStateFiles: corruptStateFiles.map(({ provider, path, problem, movedTo, moveError, at }) => ({ provider, path, problem, movedTo, moveError, at })),
  });
  const metrics = new Metrics(status, { region, notifications: () => hubs.current.stats() });
  const syncLog = logger.child({ component: 'sync' });
  const observer: SyncObserver = {
    ...metrics.sync,
    ...auditWrites(audit, region, () => clock.now()),
    drift: (event) => {
      metrics.sync.drift(event);
      notifier.notify(driftNotification(event, region, clock.now()));
    },
    driftCleared: (event) => {
      notifier.notify(driftClearedNotification(event, region, clock.now()));
    },
  };

  const bind = (config: ResolvedConfig): ConfigBound => {
    const providers = createProviders(config.providers.values(), { stateDir, clock, logger, apiCalls: metrics.apiCalls });
    const targets = endpointTargets(config.zones);
    const records = failoverRecords(config.zones);
    const reconciler = new Reconciler({
      zones: config.zones,
      providers,
      clock,
      logger: syncLog,
      health: () => board.view(),
      overrides: () => store.active(),
      writeMode: currentWriteMode,
      sync: config.sync,
      askServers,
      observer,
      passTimeoutMs: PASS_TIMEOUT_MS,
      writeBudget,
      onRecordChange: (change) => {
        const event = recordNotification(change, region, clock.now());
        if (event !== undefined) notifier.notify(event);
      },
    });
    return {
      config,
      providers,
      reconciler,
      targets,
      checks: new Map(targets.map((t) => [t.endpointId, t.check])),
      records,
      endpointIds: targets.map((t) => t.endpointId),
      effects: new OverrideEffectChecker({ zones: config.zones, providers, resolve, limit, clock, active: () => store.active() }),
      notifications: new NotificationHub({ sinks: config.notifications.sinks, logger: logger.child({ component: 'notify' }), clock }),
    };
  };
  let bound = bind(initial);
  const reconcilers = new TaskSlot<Reconciler>(bound.reconciler);
  const hubs = new TaskSlot<NotificationHub>(bound.notifications);
  for (const file of corruptStateFiles) notifier.notify(corruptStateFileNotification(file, region, file.at));
  const reconciling: Reconciling = {
    run: (signal) => reconcilers.run(signal),
    trigger: (reason) => { reconcilers.current.trigger(reason); },
    healthChanged: (endpoints) => { reconcilers.current.healthChanged(endpoints); },
  };

  const healthLog = logger.child({ component: 'quorum' });
  const scheduler = new ProbeScheduler({
    prober: createProber({ clock, resolve: initial.resolve }),
    clock,
    maxConcurrent: MAX_CONCURRENT_PROBES,
    onResult: (result) => {
      metrics.probe(result);
      // A changed verdict of this region goes to the peers at once, not at the next round.
      if (board.recordProbe(result)) sender?.notify();
      announceChanges(healthLog, board.evaluate([result.endpointId]).changed, reconciling);
    },
  });
  scheduler.setTargets(bound.targets);

  // After every change of the override set: decide again now, and tell the peers now.
  const overridesChanged = (): void => {
    reconciling.trigger('overrides changed');
    sender?.notify();
  };
  const overridesLog = logger.child({ component: 'overrides' });
  const apiLog = logger.child({ component: 'api' });

  const reloadConfig = reloader({
    load: env.loadConfig,
    running: () => bound.config,
    apply: async (next, trigger) => {
      const previous = bound;
      bound = bind(next);
      api.setTokens(next.api.tokens, next.api.scopes);
      scheduler.setTargets(bound.targets);
      // The old reconciler finishes the write it has in flight before the new one starts; its
      // providers stop waiting for accepted changes to propagate (Route53's INSYNC), so that wait
      // never holds up the switch, nor a failover that the new reconciler writes.
      for (const provider of previous.providers.values()) provider.handOver?.();
      await Promise.all([reconcilers.replace(bound.reconciler), hubs.replace(bound.notifications)]);
      await Promise.all([...previous.providers.values()].map((p) => p.close()));
      reconciling.trigger(`config reloaded (${trigger})`);
      return `${next.zones.length} zones, ${bound.endpointIds.length} endpoints`;
    },
    record: (outcome) => reloads.record(outcome, metrics, apiLog),
  });
  // Every reload also reads the admin API's certificate and key again, whatever became of the
  // config: a renewed certificate usually keeps its paths, so the config itself is unchanged.
  const reload = async (trigger: string): Promise<ReloadOutcome> => {
    const outcome = await reloadConfig(trigger);
    await api.reloadTls(bound.config.api.tls);
    return outcome;
  };

  const routes: Route[] = [
    statusRoute(status),
    metrics.route(),
    healthzRoute(() => built.daemon?.state ?? 'starting'),
    readyzRoute(() => readiness({
      state: built.daemon?.state ?? 'starting',
      hold: startup(),
      sync: reconcilers.current.status(),
    })),
    reloadRoute(() => reload('POST /v1/reload')),
    ...overrideRoutes({
      region,
      zones: () => bound.config.zones,
      store,
      audit,
      clock,
      limits: () => bound.config.overrides,
      health: () => board.snapshot(),
      served: () => reconcilers.current.served(),
      records: () => reconcilers.current.status().records,
      effect: (override, signal) => bound.effects.check(override, signal),
      changed: overridesChanged,
      logger: apiLog,
    }),
  ];
  const providerWatch = new ProviderFailureWatch({ thresholdMs: initial.notifications.providerFailingAfterMs, region });
  const refusalWatch = new RefusalWatch(region);
  const background: { name: string; task: Task }[] = [
    {
      name: 'override expiry',
      task: new OverrideSweeper({ store, audit, region, clock, logger: overridesLog, everyMs: OVERRIDE_SWEEP_MS, expired: overridesChanged }),
    },
    { name: 'notifications', task: hubs },
    {
      name: 'provider watch',
      task: periodic(clock, PROVIDER_WATCH_MS, () => {
        providerWatch.setThreshold(bound.config.notifications.providerFailingAfterMs);
        const syncStatus = reconcilers.current.status();
        for (const event of providerWatch.observe(syncStatus, clock.now())) notifier.notify(event);
        for (const event of refusalWatch.observe(syncStatus, clock.now())) notifier.notify(event);
      }),
    },
  ];
  const { secret } = initial.cluster;
  // cluster.ca replaces Node's default CAs for https peers; it is read once, here (a new bundle needs a restart).
  const peerCa = initial.cluster.ca === undefined ? undefined : caFetch(await readCaBundle(initial.cluster.ca, 'cluster.ca'));
  let sender: PeerSender | undefined;
  let exchange: ReturnType<typeof peerRoute> | undefined;
  if (initial.cluster.peers.length > 0 && secret !== undefined) {
    const clusterLog = logger.child({ component: 'cluster' });
    exchange = peerRoute({
      verifier: new PeerVerifier({ secret, clock }),
      peers: initial.cluster.peers.map((p) => p.region),
      clock,
      logger: clusterLog,
      onMessage: peerIntake({
        cluster,
        board,
        store,
        clock,
        hlc,
        logger: overridesLog,
        healthChanged: (changed) => { announceChanges(healthLog, changed, reconciling); },
        overridesAdopted: overridesChanged,
      }),
    });
    routes.push(exchange.route);
    sender = new PeerSender({
      self: region,
      peers: initial.cluster.peers,
      secret,
      clock,
      logger: clusterLog,
      intervalMs: initial.cluster.exchangeIntervalMs,
      requestTimeoutMs: Math.min(PEER_REQUEST_TIMEOUT_MS, initial.cluster.staleAfterMs),
      message: peerMessage({ region, writer: initial.cluster.writer, cluster, board, store, clock }),
      answered: (peer, outcome) => { cluster.answered(peer, outcome); },
      ...(peerCa === undefined ? {} : { fetch: peerCa.fetch }),
    });
    background.push({ name: 'peer exchange', task: sender });
    const skewWatch = new ClockSkewWatch(region, DEFAULT_WINDOW_MS);
    const sending = sender;
    background.push({
      name: 'clock skew watch',
      task: periodic(clock, CLOCK_SKEW_WATCH_MS, () => {
        for (const event of skewWatch.observe(cluster.status(sending.status(), {}), clock.now())) notifier.notify(event);
      }),
    });
  }

  const api = new AdminApi({
    listen: initial.api.listen,
    tokens: initial.api.tokens,
    scopes: initial.api.scopes,
    ...(initial.api.tls === undefined ? {} : { tls: initial.api.tls }),
    routes,
    logger: apiLog,
  });
  services.push(api);
  for (const exposure of plainHttpExposures(initial)) {
    logger.warn({ component: exposure.what === 'api' ? 'api' : 'cluster', plainHttp: exposure.address, ...(exposure.region === undefined ? {} : { peer: exposure.region }) }, exposure.message);
  }

  const daemon = new Daemon({
    logger,
    clock,
    services,
    providers: () => bound.providers,
    board,
    endpointIds: () => bound.endpointIds,
    probes: scheduler,
    reconciler: reconciling,
    background,
    evaluateEveryMs: 1000,
    reload,
  });
  built.daemon = daemon;
  return daemon;
}
