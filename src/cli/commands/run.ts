import { loadConfigFile } from '../../config/load.js';
import { createLogger } from '../../lib/logger.js';
import { systemClock } from '../../lib/clock.js';
import type { Clock } from '../../lib/clock.js';
import { UsageError } from '../../lib/errors.js';
import { buildDaemon } from '../../main.js';
import { configPath, parseCommand, stringOption } from '../args.js';
import type { CommandSpec } from '../args.js';
import type { CommandIo } from './io.js';

export const runSpec: CommandSpec = {
  name: 'run',
  summary:
    'Runs the daemon: probes every failover endpoint, decides health by quorum, and keeps every provider at\n' +
    'the desired state. Logs are JSON lines on stdout. SIGTERM or SIGINT stops it cleanly: probes stop, a write in\n' +
    'flight is finished, exit 0 (exit 1 if that takes over 25 s). SIGHUP reads the config again and applies it; an\n' +
    'invalid one is logged and the running one goes on.',
  options: {
    region: { type: 'string', short: 'r', valueName: 'REGION', description: "this replica's region (overrides the config and $DNSQUORUM_REGION)" },
  },
};

export async function runCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseCommand(runSpec, argv);
  if (values.help === true) {
    io.out(io.help(runSpec));
    return 0;
  }
  const region = stringOption(values, 'region');
  const path = configPath(values);
  // The same environment every time the file is read again, so a reload sees what the start saw.
  const env = region === undefined ? process.env : { ...process.env, DNSQUORUM_REGION: region };
  const config = await loadConfigFile(path, env);
  const logger = io.logger ?? createLogger();
  const daemon = await buildDaemon(config, { logger, clock: skewedClock(process.env.DNSQUORUM_CLOCK_SKEW_MS), loadConfig: () => loadConfigFile(path, env) });

  const stop = new AbortController();
  let graceTimer: NodeJS.Timeout | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stop.signal.aborted) return;
    logger.info({ signal, graceMs: SHUTDOWN_GRACE_MS }, `received ${signal}; stopping: probes stop now, a write in flight is finished`);
    stop.abort();
    // A write that hangs past the grace period must not keep the process (and its orchestrator) waiting.
    graceTimer = setTimeout(() => {
      logger.error({ graceMs: SHUTDOWN_GRACE_MS }, `did not stop within ${SHUTDOWN_GRACE_MS} ms; exiting with a write possibly unfinished (the next start re-reads and converges)`);
      logger.flush();
      process.exit(1);
    }, SHUTDOWN_GRACE_MS);
    graceTimer.unref();
  };
  const onHangup = (): void => {
    logger.info('received SIGHUP; reloading the config');
    // reload() never rejects: its outcome is logged, counted and shown in status.
    void daemon.reload('SIGHUP');
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('SIGHUP', onHangup);
  try {
    await daemon.run(stop.signal);
    return 0;
  } finally {
    clearTimeout(graceTimer);
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    process.off('SIGHUP', onHangup);
    logger.flush();
  }
}

/** SIGTERM to exit: under Kubernetes' default terminationGracePeriodSeconds (30 s), with room to spare. */
export const SHUTDOWN_GRACE_MS = 25_000;

/**
 * DNSQUORUM_CLOCK_SKEW_MS shifts the daemon's clock by that many milliseconds (positive: ahead),
 * to rehearse a replica whose clock is off: decisions must not change (docs/cluster.md). Unset in
 * production.
 */
function skewedClock(setting: string | undefined): Clock {
  if (setting === undefined || setting === '') return systemClock;
  const skew = Number(setting);
  if (!Number.isInteger(skew) || Math.abs(skew) > 86_400_000) {
    throw new UsageError(`run: DNSQUORUM_CLOCK_SKEW_MS=${JSON.stringify(setting)} must be a whole number of milliseconds within one day`);
  }
  return skew === 0 ? systemClock : { now: () => Date.now() + skew, sleep: (ms, signal) => systemClock.sleep(ms, signal) };
}
