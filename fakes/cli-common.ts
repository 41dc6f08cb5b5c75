import pino from 'pino';
import type { HostPort } from '../src/config/types.js';
import { errorMessage } from '../src/lib/errors.js';
import { createLogger } from '../src/lib/logger.js';
import type { Logger } from '../src/lib/logger.js';

/** A wrong command-line argument; the message says which. Exit code 2. */
export class CliUsageError extends Error {}

export function portOption(flag: string, text: string | undefined): number {
  if (text === undefined) return 0;
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65_535) throw new CliUsageError(`${flag}: "${text}" is not a port number (0-65535)`);
  return Number(text);
}

interface RunningFake {
  readonly endpoint: string;
  readonly dnsAddress: HostPort;
  close(): Promise<void>;
}

/** What differs between the fakes' command lines; runFakeCli does the rest. */
export interface FakeCli<Options extends { readonly zones: readonly string[] }, Fake extends RunningFake> {
  /** e.g. "fake-ns1": prefixes every message. */
  readonly command: string;
  /** e.g. "fake NS1", for the log. */
  readonly label: string;
  readonly usage: string;
  /** Throws CliUsageError for a wrong argument. */
  parse(argv: readonly string[]): Options | 'help';
  start(options: Options, logger: Logger): Promise<Fake>;
  /** Creates one `--zone`, returning what the announcement shows of it; throws for a bad name. */
  createZone(fake: Fake, zone: string): unknown;
  /** Fields the announcement carries beyond endpoint, dns and zones. */
  announce?(fake: Fake): Record<string, unknown>;
}

/**
 * Runs a fake as a process: prints one JSON line on stdout once it listens (logs go to stderr) and
 * stops on SIGTERM or SIGINT. Exit codes: 0 stopped by a signal, 1 could not start, 2 bad arguments.
 */
export function runFakeCli<Options extends { readonly zones: readonly string[] }, Fake extends RunningFake>(cli: FakeCli<Options, Fake>, argv: readonly string[]): void {
  main(cli, argv).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`${cli.command}: ${errorMessage(err)}\n`);
      process.exitCode = 1;
    },
  );
}

async function main<Options extends { readonly zones: readonly string[] }, Fake extends RunningFake>(cli: FakeCli<Options, Fake>, argv: readonly string[]): Promise<number> {
  let options: Options | 'help';
  try {
    options = cli.parse(argv);
  } catch (err) {
    if (!(err instanceof CliUsageError)) throw err;
    process.stderr.write(`${cli.command}: ${err.message}\n\n${cli.usage}\n`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(`${cli.usage}\n`);
    return 0;
  }
  const logger = createLogger({ destination: pino.destination(2) }).child({ component: cli.command });
  let fake: Fake;
  try {
    fake = await cli.start(options, logger);
  } catch (err) {
    process.stderr.write(`${cli.command}: cannot start: ${errorMessage(err)}\n`);
    return 1;
  }
  let zones;
  try {
    zones = options.zones.map((zone) => cli.createZone(fake, zone));
  } catch (err) {
    await fake.close();
    process.stderr.write(`${cli.command}: --zone: ${errorMessage(err)}\n`);
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
  const dns = `${fake.dnsAddress.host}:${fake.dnsAddress.port}`;
  process.stdout.write(`${JSON.stringify({ endpoint: fake.endpoint, dns, ...cli.announce?.(fake), zones })}\n`);
  logger.info({ endpoint: fake.endpoint, dns: fake.dnsAddress }, `${cli.label} listening`);
  const signal = await stopped;
  logger.info({ signal }, 'stopping');
  await fake.close();
  return 0;
}
