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
    'the desired state. Logs are JSON lines on stdout. SIGTERM or SIGINT stops it cleanly (exit 0).',
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
  const config = await loadConfigFile(configPath(values), region === undefined ? process.env : { ...process.env, DNSQUORUM_REGION: region });
  const logger = io.logger ?? createLogger();
  const daemon = await buildDaemon(config, { logger, clock: skewedClock(process.env.DNSQUORUM_CLOCK_SKEW_MS) });

  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    logger.info({ signal }, `received ${signal}; stopping`);
    stop.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await daemon.run(stop.signal);
    return 0;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    logger.flush();
  }
}

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
  return skew === 0 ? systemClock : { now: () => Date.now() + skew };
}
