import { loadConfigFile } from '../../config/load.js';
import type { ResolvedConfig } from '../../config/types.js';
import type { ZoneSpec } from '../../domain/zone.js';
import { systemClock } from '../../lib/clock.js';
import { UsageError } from '../../lib/errors.js';
import { silentLogger } from '../../lib/logger.js';
import { fqdn } from '../../domain/record.js';
import { shortList } from '../../plan/drift.js';
import { createProviders } from '../../providers/registry.js';
import { syncOnce } from '../../sync/sync-once.js';
import type { SyncReport } from '../../sync/sync-once.js';
import { configPath, parseCommand, stringOption } from '../args.js';
import type { CommandSpec } from '../args.js';
import { formatReport } from '../report.js';
import type { CommandIo } from './io.js';

export const planSpec: CommandSpec = {
  name: 'plan',
  summary:
    'Shows what each provider would have to change to serve the desired records (static records, and failover\n' +
    'records as they are served now: no probing), and what a guardrail would hold back.\n' +
    'Exit 0: nothing to do; 2: changes pending or held back; 1: error.',
  options: {
    zone: { type: 'string', short: 'z', valueName: 'ZONE', description: 'only this zone' },
    json: { type: 'boolean', description: 'print the report as JSON' },
  },
};

export const syncSpec: CommandSpec = {
  name: 'sync',
  summary:
    'One reconcile pass, no probing: reads every provider, plans, and with --apply writes the changes. What a\n' +
    'guardrail refuses is held back and reported; every other change is still written.\n' +
    'Without --apply it is a dry run, like plan. Exit 0: done (or, dry, nothing to do); 2: dry run with changes;\n' +
    '1: error, or some changes refused (the rest was applied).',
  options: {
    apply: { type: 'boolean', description: 'write the changes (otherwise a dry run)' },
    force: { type: 'boolean', description: "waive the guardrails that --force may waive (large changes, removing a provider's own name servers)" },
    zone: { type: 'string', short: 'z', valueName: 'ZONE', description: 'only this zone' },
    json: { type: 'boolean', description: 'print the report as JSON' },
  },
};

function selectZones(config: ResolvedConfig, zone: string | undefined): ZoneSpec[] {
  if (zone === undefined) return [...config.zones];
  const wanted = fqdn(zone);
  const found = config.zones.filter((z) => z.name === wanted);
  if (found.length === 0) throw new UsageError(`--zone ${zone}: no such zone in ${config.source} (zones: ${config.zones.map((z) => z.name).join(', ')})`);
  return found;
}

async function runPass(argv: readonly string[], io: CommandIo, spec: CommandSpec, apply: (values: Record<string, unknown>) => boolean): Promise<number> {
  const { values } = parseCommand(spec, argv);
  if (values.help === true) {
    io.out(io.help(spec));
    return 0;
  }
  const config = await loadConfigFile(configPath(values));
  const zones = selectZones(config, stringOption(values, 'zone'));
  const dryRun = !apply(values);
  const logger = io.logger ?? silentLogger();
  const providers = createProviders(config.providers.values(), { stateDir: config.stateDir, clock: systemClock, logger });
  let report: SyncReport;
  try {
    report = await syncOnce({
      zones,
      providers,
      health: new Map(),
      overrides: [],
      recentWrites: new Map(),
      dryRun,
      force: values.force === true,
      clock: systemClock,
      logger,
      signal: AbortSignal.timeout(5 * 60_000),
    });
  } finally {
    await Promise.all([...providers.values()].map((p) => p.close()));
  }
  io.out(values.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  // The report goes to stdout (scripts parse it); what stopped a provider, or a part of its
  // changes, also goes to stderr, where an operator running this by hand or from CI looks for the
  // reason of a non-zero exit.
  for (const zone of report.zones) {
    for (const p of zone.providers) {
      if (p.error !== undefined && p.outcome === 'failed') io.err(`dnsquorum ${spec.name}: ${zone.zone} at ${p.provider}: ${p.error.code}: ${p.error.message}\n`);
      for (const r of p.refused) io.err(`dnsquorum ${spec.name}: ${zone.zone} at ${p.provider}: DQ_PLAN_UNSAFE: ${r.message} (held back: ${shortList(r.records).join(', ')})\n`);
    }
  }
  const outcomes = report.zones.flatMap((z) => z.providers.map((p) => p.outcome));
  const refused = report.zones.some((z) => z.providers.some((p) => p.refused.length > 0));
  if (outcomes.includes('failed')) return 1;
  // Applied: whatever was refused is not where the config wants it, which a script must see.
  if (!dryRun) return refused ? 1 : 0;
  return refused || outcomes.includes('pending') ? 2 : 0;
}

export function planCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  return runPass(argv, io, planSpec, () => false);
}

export function syncCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  return runPass(argv, io, syncSpec, (values) => values.apply === true);
}
