/**
 * The composition root: the one place (with providers/registry.ts) that builds concrete classes
 * and wires them together. Everything else receives its collaborators.
 */
import type { ResolvedConfig } from './config/types.js';
import { Daemon } from './daemon.js';
import type { Service } from './daemon.js';
import { announceChanges } from './daemon.js';
import type { Clock } from './lib/clock.js';
import type { Logger } from './lib/logger.js';
import { createProber } from './probe/prober.js';
import { ProbeScheduler } from './probe/scheduler.js';
import { LocalDnsServer } from './providers/local/server.js';
import { createProviders, localStatePath } from './providers/registry.js';
import { HealthBoard } from './quorum/health-board.js';
import { startupHold } from './quorum/startup.js';
import { ReconcileLoop } from './sync/loop.js';
import { endpointTargets, failoverRecords } from './sync/targets.js';

export interface DaemonEnvironment {
  readonly logger: Logger;
  readonly clock: Clock;
}

/** Probes in flight at once, across all endpoints. Each probe is mostly waiting on a socket. */
const MAX_CONCURRENT_PROBES = 512;
/** A pass never takes longer than this; shutdown waits for the pass in flight up to here. */
const PASS_TIMEOUT_MS = 120_000;

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
  const loop = new ReconcileLoop({
    zones: config.zones,
    providers,
    clock,
    logger: logger.child({ component: 'sync' }),
    health: () => board.snapshot(),
    overrides: () => [],
    holdReason: () => {
      const hold = startupHold({ startedAt, warmupMs: config.cluster.warmupMs, now: clock.now(), records, health: board.snapshot() });
      return hold.hold ? hold.reason : undefined;
    },
    intervalMs: config.sync.intervalMs,
    passTimeoutMs: PASS_TIMEOUT_MS,
  });
  const healthLog = logger.child({ component: 'quorum' });
  const scheduler = new ProbeScheduler({
    prober: createProber({ clock, resolve: config.resolve }),
    clock,
    maxConcurrent: MAX_CONCURRENT_PROBES,
    onResult: (result) => {
      board.recordProbe(result);
      announceChanges(healthLog, board.evaluate([result.endpointId]).changed, loop);
    },
  });
  scheduler.setTargets(targets);

  return new Daemon({
    logger,
    clock,
    services,
    providers,
    board,
    endpointIds: targets.map((t) => t.endpointId),
    probes: scheduler,
    loop,
    evaluateEveryMs: 1000,
  });
}
