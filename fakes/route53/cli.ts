#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { isIP } from 'node:net';
import { parseDuration } from '../../src/config/duration.js';
import { errorMessage } from '../../src/lib/errors.js';
import { CliUsageError, portOption, runFakeCli } from '../cli-common.js';
import { FakeRoute53 } from './server.js';

/**
 * The fake Route53 as a process: `npm run fake:route53 -- --port N [--dns-port M]
 * [--change-delay 2s] [--zone example.com ...]`. Prints one JSON line on stdout once listening
 * (endpoint, DNS address, zones with ids and name servers) and stops on SIGTERM or SIGINT.
 * Exit codes: 0 stopped by a signal, 1 could not start, 2 bad arguments.
 */

const USAGE = `usage: fake-route53 [--host 127.0.0.1] [--port N] [--dns-port M] [--change-delay DURATION] [--delegation-set NS,NS,...] [--zone NAME ...]

  --host          address for HTTP and DNS (default 127.0.0.1)
  --port          HTTP port of the Route53 API (default 0: any free port)
  --dns-port      UDP+TCP port serving every hosted zone (default 0: any free port)
  --change-delay  how long a change stays PENDING, e.g. 500ms or 2s (default 0s)
  --delegation-set  name servers every zone gets (comma-separated host names), like a reusable
                  delegation set; default: four at random per zone
  --zone          create this hosted zone at start; repeat for more
  --help          show this text

Prints {"endpoint":…,"dns":"host:port","zones":[{"name","id","nameservers"}]} once listening.
Logs go to stderr (level from DNSQUORUM_LOG_LEVEL, default info).`;

interface FakeRoute53CliOptions {
  readonly host: string;
  readonly port: number;
  readonly dnsPort: number;
  readonly changeDelayMs: number;
  readonly delegationSet?: readonly string[];
  readonly zones: readonly string[];
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
        'delegation-set': { type: 'string' },
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
  const delegationSet = values['delegation-set']?.split(',').map((h) => h.trim().toLowerCase().replace(/\.$/, ''));
  if (delegationSet !== undefined) {
    const bad = delegationSet.find((h) => !/^(?!-)[a-z0-9-]{1,63}(?<!-)(?:\.(?!-)[a-z0-9-]{1,63}(?<!-))+$/.test(h));
    if (bad !== undefined) throw new CliUsageError(`--delegation-set: ${JSON.stringify(bad)} is not a host name`);
  }
  return {
    host,
    port: portOption('--port', values.port),
    dnsPort: portOption('--dns-port', values['dns-port']),
    changeDelayMs,
    ...(delegationSet === undefined ? {} : { delegationSet }),
    zones: values.zone ?? [],
  };
}

runFakeCli(
  {
    command: 'fake-route53',
    label: 'fake Route53',
    usage: USAGE,
    parse: parseCliArgs,
    start: (options, logger) =>
      FakeRoute53.start({
        host: options.host,
        port: options.port,
        dnsPort: options.dnsPort,
        changeDelayMs: options.changeDelayMs,
        ...(options.delegationSet === undefined ? {} : { delegationSet: options.delegationSet }),
        logger,
      }),
    createZone: (fake, zone) => {
      const { name, id, nameservers } = fake.createZone(zone);
      return { name, id, nameservers };
    },
  },
  process.argv.slice(2),
);
