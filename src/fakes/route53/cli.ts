#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { isIP } from 'node:net';
import { parseDuration } from '../../config/duration.js';
import { createLogger } from '../../lib/logger.js';
import { errorMessage } from '../../lib/errors.js';
import pino from 'pino';
import { FakeRoute53 } from './server.js';

/**
 * The fake Route53 as a process: `npm run fake:route53 -- --port N [--dns-port M]
 * [--change-delay 2s] [--zone example.com ...]`. Prints one JSON line on stdout once listening
 * (endpoint, DNS address, zones with ids and name servers) and stops on SIGTERM or SIGINT.
 * Exit codes: 0 stopped by a signal, 1 could not start, 2 bad arguments.
 */

const USAGE = `usage: fake-route53 [--host 127.0.0.1] [--port N] [--dns-port M] [--change-delay DURATION] [--zone NAME ...]

  --host          address for HTTP and DNS (default 127.0.0.1)
  --port          HTTP port of the Route53 API (default 0: any free port)
  --dns-port      UDP+TCP port serving every hosted zone (default 0: any free port)
  --change-delay  how long a change stays PENDING, e.g. 500ms or 2s (default 0s)
  --zone          create this hosted zone at start; repeat for more
  --help          show this text

Prints {"endpoint":…,"dns":"host:port","zones":[{"name","id","nameservers"}]} once listening.
Logs go to stderr (level from DNSQUORUM_LOG_LEVEL, default info).`;

interface FakeRoute53CliOptions {
  readonly host: string;
  readonly port: number;
  readonly dnsPort: number;
  readonly changeDelayMs: number;
  readonly zones: readonly string[];
}

class CliUsageError extends Error {}

function portOption(flag: string, text: string | undefined): number {
  if (text === undefined) return 0;
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65_535) throw new CliUsageError(`${flag}: "${text}" is not a port number (0-65535)`);
  return Number(text);
}

/** Reads the command line; throws CliUsageError with a message saying which argument is wrong. */
function parseCliArgs(argv: readonly string[]): FakeRoute53CliOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        'dns-port': { type: 'string' },
        'change-delay': { type: 'string' },
        zone: { type: 'string', multiple: true },
        help: { type: 'boolean' },
      },
    }));
  } catch (err) {
    throw new CliUsageError(errorMessage(err));
  }
  if (values.help === true) return 'help';
  const host = values.host ?? '127.0.0.1';
  if (isIP(host) === 0) throw new CliUsageError(`--host: "${host}" is not an IP address`);
  let changeDelayMs = 0;
  if (values['change-delay'] !== undefined) {
    const parsed = parseDuration(values['change-delay']);
    if (!parsed.ok) throw new CliUsageError(`--change-delay: ${parsed.reason}`);
    changeDelayMs = parsed.ms;
  }
  return {
    host,
    port: portOption('--port', values.port),
    dnsPort: portOption('--dns-port', values['dns-port']),
    changeDelayMs,
    zones: values.zone ?? [],
  };
}

async function main(argv: readonly string[]): Promise<number> {
  let options: FakeRoute53CliOptions | 'help';
  try {
    options = parseCliArgs(argv);
  } catch (err) {
    if (!(err instanceof CliUsageError)) throw err;
    process.stderr.write(`fake-route53: ${err.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const logger = createLogger({ destination: pino.destination(2) }).child({ component: 'fake-route53' });
  let fake: FakeRoute53;
  try {
    fake = await FakeRoute53.start({ host: options.host, port: options.port, dnsPort: options.dnsPort, changeDelayMs: options.changeDelayMs, logger });
  } catch (err) {
    process.stderr.write(`fake-route53: cannot start: ${errorMessage(err)}\n`);
    return 1;
  }
  let zones;
  try {
    zones = options.zones.map((zone) => {
      const { name, id, nameservers } = fake.createZone(zone);
      return { name, id, nameservers };
    });
  } catch (err) {
    await fake.close();
    process.stderr.write(`fake-route53: --zone: ${errorMessage(err)}\n`);
    return 2;
  }
  const stopped = new Promise<string>((resolve) => {
    process.once('SIGTERM', () => {
      resolve('SIGTERM');
    });
    process.once('SIGINT', () => {
      resolve('SIGINT');
    });
  });
  process.stdout.write(`${JSON.stringify({ endpoint: fake.endpoint, dns: `${fake.dnsAddress.host}:${fake.dnsAddress.port}`, zones })}\n`);
  logger.info({ endpoint: fake.endpoint, dns: fake.dnsAddress }, 'fake Route53 listening');
  const signal = await stopped;
  logger.info({ signal }, 'stopping');
  await fake.close();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`fake-route53: ${errorMessage(err)}\n`);
    process.exitCode = 1;
  },
);
