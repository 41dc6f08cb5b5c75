#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { isIP } from 'node:net';
import { errorMessage } from '../../src/lib/errors.js';
import { CliUsageError, portOption, runFakeCli } from '../cli-common.js';
import { FakeNs1 } from './server.js';
import type { Ns1RateLimit } from './server.js';

/**
 * The fake NS1 as a process: `npm run fake:ns1 -- --port N [--dns-port M] [--api-key K]
 * [--zone example.com ...]`. Prints one JSON line on stdout once listening (endpoint, DNS
 * address, API key, zones with their dns_servers) and stops on SIGTERM or SIGINT.
 * Exit codes: 0 stopped by a signal, 1 could not start, 2 bad arguments.
 */

const USAGE = `usage: fake-ns1 [--host 127.0.0.1] [--port N] [--dns-port M] [--api-key KEY] [--zone NAME ...]
                [--page-size N] [--rate-limit METHOD=LIMIT/SECONDS ...]

  --host        address for HTTP and DNS (default 127.0.0.1)
  --port        HTTP port of the NS1 API (default 0: any free port)
  --dns-port    UDP+TCP port serving every zone (default 0: any free port)
  --api-key     the X-NSONE-Key value the API requires (default test-key)
  --zone        create this zone at start (apex NS included); repeat for more
  --page-size   record summaries per page of GET /v1/zones/{zone}, with Link: rel="next" (default: no paging)
  --rate-limit  token bucket of one method, e.g. PUT=100/200 (default GET=900/300 PUT=100/200
                DELETE=100/200 POST=300/300); repeat for more methods
  --help        show this text

Prints {"endpoint":…,"dns":"host:port","apiKey":…,"zones":[{"name","dnsServers"}]} once listening.
Logs go to stderr (level from DNSQUORUM_LOG_LEVEL, default info).`;

type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';

interface FakeNs1CliOptions {
  readonly host: string;
  readonly port: number;
  readonly dnsPort: number;
  readonly apiKey: string;
  readonly zones: readonly string[];
  readonly pageSize: number | undefined;
  readonly rateLimits: Partial<Record<Method, Ns1RateLimit>>;
}


function rateLimitOption(text: string): [Method, Ns1RateLimit] {
  const m = /^(GET|PUT|POST|DELETE)=(\d{1,9})\/(\d{1,9})$/i.exec(text);
  if (m === null) throw new CliUsageError(`--rate-limit: "${text}" is not METHOD=LIMIT/SECONDS (e.g. PUT=100/200)`);
  const period = Number(m[3]);
  if (period === 0) throw new CliUsageError(`--rate-limit: "${text}": the period must be at least 1 second`);
  return [(m[1] ?? '').toUpperCase() as Method, { limit: Number(m[2]), periodSeconds: period }];
}

/** Reads the command line; throws CliUsageError with a message saying which argument is wrong. */
function parseCliArgs(argv: readonly string[]): FakeNs1CliOptions | 'help' {
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
        'api-key': { type: 'string' },
        zone: { type: 'string', multiple: true },
        'page-size': { type: 'string' },
        'rate-limit': { type: 'string', multiple: true },
        help: { type: 'boolean' },
      },
    }));
  } catch (err) {
    throw new CliUsageError(errorMessage(err));
  }
  if (values.help === true) return 'help';
  const host = values.host ?? '127.0.0.1';
  if (isIP(host) === 0) throw new CliUsageError(`--host: "${host}" is not an IP address`);
  const apiKey = values['api-key'] ?? 'test-key';
  if (apiKey === '') throw new CliUsageError('--api-key: the key must not be empty');
  let pageSize: number | undefined;
  const pageSizeText = values['page-size'];
  if (pageSizeText !== undefined) {
    if (!/^[1-9]\d{0,6}$/.test(pageSizeText)) throw new CliUsageError(`--page-size: "${pageSizeText}" is not a whole number from 1 to 9999999`);
    pageSize = Number(pageSizeText);
  }
  return {
    host,
    port: portOption('--port', values.port),
    dnsPort: portOption('--dns-port', values['dns-port']),
    apiKey,
    zones: values.zone ?? [],
    pageSize,
    rateLimits: Object.fromEntries((values['rate-limit'] ?? []).map(rateLimitOption)),
  };
}

runFakeCli(
  {
    command: 'fake-ns1',
    label: 'fake NS1',
    usage: USAGE,
    parse: parseCliArgs,
    start: (options, logger) =>
      FakeNs1.start({
        host: options.host,
        port: options.port,
        dnsPort: options.dnsPort,
        apiKey: options.apiKey,
        rateLimits: options.rateLimits,
        ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }),
        logger,
      }),
    createZone: (fake, zone) => fake.createZone(zone),
    announce: (fake) => ({ apiKey: fake.apiKey }),
  },
  process.argv.slice(2),
);
