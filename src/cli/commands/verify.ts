import { loadConfigFile } from '../../config/load.js';
import type { ResolvedConfig } from '../../config/types.js';
import { fqdn } from '../../domain/record.js';
import type { ZoneSpec } from '../../domain/zone.js';
import { systemClock } from '../../lib/clock.js';
import { DnsQuorumError, UsageError } from '../../lib/errors.js';
import { silentLogger } from '../../lib/logger.js';
import { createProviders, nameServerAddresses } from '../../providers/registry.js';
import { checkHostPort } from '../../config/values.js';
import { systemParentNameservers } from '../../verify/delegation-check.js';
import type { ParentNameserverLookup } from '../../verify/delegation-check.js';
import { formatVerifyReport } from '../../verify/format.js';
import { verifyZones } from '../../verify/verify.js';
import type { VerifyReport } from '../../verify/verify.js';
import { configPath, parseCommand, stringOption } from '../args.js';
import type { CommandSpec } from '../args.js';
import type { CommandIo } from './io.js';

/** The whole run's deadline, so a stuck provider API cannot hang the command. */
const VERIFY_DEADLINE_MS = 5 * 60_000;

export const verifySpec: CommandSpec = {
  name: 'verify',
  summary:
    "Asks every authoritative name server of every provider (over DNS) for every record set the zone should serve,\n" +
    "and reports each difference per server. Servers are reached at the config's resolve: address (a local provider's\n" +
    "own name server at its listen: address), else by the system resolver on port 53.\n" +
    "Then asks the parent zone's servers whether the delegation lists every provider's name servers (the parent's\n" +
    "providers when the parent zone is in the config, else the servers the system resolver names).\n" +
    'Exit 0: consistent; 2: a server differs or does not answer, or the delegation is incomplete; 1: error\n' +
    '(or no provider could be read).',
  options: {
    zone: { type: 'string', short: 'z', valueName: 'ZONE', description: 'only this zone' },
    json: { type: 'boolean', description: 'print the report as JSON' },
    'parent-resolver': {
      type: 'string',
      valueName: 'IP:PORT|none',
      description:
        'where to ask for the name servers of a parent zone outside the config (default: $DNSQUORUM_PARENT_RESOLVER, else the system resolver); none: skip those delegations',
    },
  },
};

/** The default of --parent-resolver. The test suite sets it to none, so that no test asks a resolver off the machine. */
export const PARENT_RESOLVER_ENV = 'DNSQUORUM_PARENT_RESOLVER';

function nonEmpty(text: string | undefined): string | undefined {
  return text === undefined || text === '' ? undefined : text;
}

/** --parent-resolver: undefined for the system resolver, null for none, else a resolver at that address. */
function parentResolver(text: string | undefined): ParentNameserverLookup | null | undefined {
  if (text === undefined) return undefined;
  if (text === 'none') return null;
  const address = checkHostPort(text, { ipOnly: true });
  if (!address.ok) throw new UsageError(`verify: --parent-resolver (or $${PARENT_RESOLVER_ENV}): ${address.reason}, or none`);
  const server = address.value.host.includes(':') ? `[${address.value.host}]:${address.value.port}` : `${address.value.host}:${address.value.port}`;
  return systemParentNameservers({ servers: [server] });
}

function selectZones(config: ResolvedConfig, zone: string | undefined): ZoneSpec[] {
  if (zone === undefined) return [...config.zones];
  const found = config.zones.filter((z) => z.name === fqdn(zone));
  if (found.length === 0) throw new UsageError(`--zone ${zone}: no such zone in ${config.source} (zones: ${config.zones.map((z) => z.name).join(', ')})`);
  return found;
}

/** 1 when no provider of any zone could be read (nothing was verified), else 0 or 2. */
export function verifyExitCode(report: VerifyReport): number {
  const providers = report.zones.flatMap((z) => z.providers);
  if (providers.length > 0 && providers.every((p) => p.error !== null)) return 1;
  return report.consistent ? 0 : 2;
}

export async function verifyCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseCommand(verifySpec, argv);
  if (values.help === true) {
    io.out(io.help(verifySpec));
    return 0;
  }
  const config = await loadConfigFile(configPath(values));
  const zones = selectZones(config, stringOption(values, 'zone'));
  const parentNameservers = parentResolver(stringOption(values, 'parent-resolver') ?? nonEmpty(process.env[PARENT_RESOLVER_ENV]));
  const logger = io.logger ?? silentLogger();
  const providers = createProviders(config.providers.values(), { stateDir: config.stateDir, clock: systemClock, logger });
  let report: VerifyReport;
  try {
    report = await verifyZones({
      zones,
      allZones: config.zones,
      providers,
      resolve: nameServerAddresses(config),
      ...(parentNameservers === undefined ? {} : { parentNameservers }),
      clock: systemClock,
      logger,
      signal: AbortSignal.timeout(VERIFY_DEADLINE_MS),
    });
  } catch (err) {
    if (err instanceof Error && err.name === 'TimeoutError') throw new DnsQuorumError('DQ_PROVIDER_UNAVAILABLE', `verify did not finish within ${VERIFY_DEADLINE_MS / 60_000} minutes`, { cause: err });
    throw err;
  } finally {
    await Promise.all([...providers.values()].map((p) => p.close()));
  }
  io.out(values.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatVerifyReport(report));
  return verifyExitCode(report);
}
