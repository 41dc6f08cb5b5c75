import { loadConfigFile } from '../../config/load.js';
import { ConfigError, formatConfigIssue } from '../../lib/errors.js';
import { configPath, parseCommand } from '../args.js';
import type { CommandSpec } from '../args.js';
import type { CommandIo } from './io.js';

export const validateSpec: CommandSpec = {
  name: 'validate',
  summary: 'Checks the config file. Prints every error as file:line:col: reason. Exit 0: valid; 1: invalid.',
  options: { json: { type: 'boolean', description: 'print the result as JSON' } },
};

export async function validateCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseCommand(validateSpec, argv);
  if (values.help === true) {
    io.out(io.help(validateSpec));
    return 0;
  }
  const path = configPath(values);
  try {
    const config = await loadConfigFile(path);
    const records = config.zones.reduce((n, z) => n + z.records.length, 0);
    const failover = config.zones.reduce((n, z) => n + z.records.filter((r) => r.kind === 'failover').length, 0);
    if (values.json === true) {
      io.out(`${JSON.stringify({ valid: true, file: config.source, zones: config.zones.length, records, failoverRecords: failover, providers: config.providers.size })}\n`);
    } else {
      io.out(`${path}: valid (${config.zones.length} zones, ${records} records of which ${failover} failover, ${config.providers.size} providers)\n`);
    }
    return 0;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    if (values.json === true) io.out(`${JSON.stringify({ valid: false, file: path, errors: err.issues })}\n`);
    else io.err(`${err.issues.map(formatConfigIssue).join('\n')}\n${path}: ${err.issues.length} error${err.issues.length === 1 ? '' : 's'}\n`);
    return 1;
  }
}
