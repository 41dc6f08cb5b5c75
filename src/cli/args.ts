import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { UsageError } from '../lib/errors.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>[string] & { readonly description: string; readonly valueName?: string };

export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  /** e.g. "RECORD --to POOL" */
  readonly usage?: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  readonly positionals?: number;
}

/** Options every command takes. */
export const COMMON_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  config: { type: 'string', short: 'c', valueName: 'FILE', description: 'config file (default: $DNSQUORUM_CONFIG or ./dnsquorum.yaml)' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

export interface ParsedCommand {
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly positionals: readonly string[];
}

/** Parses a command's arguments; unknown options and stray arguments are usage errors. */
export function parseCommand(spec: CommandSpec, argv: readonly string[]): ParsedCommand {
  const options = { ...COMMON_OPTIONS, ...spec.options };
  const config: ParseArgsConfig = {
    args: [...argv],
    options: Object.fromEntries(Object.entries(options).map(([k, o]) => [k, { type: o.type, ...(o.short === undefined ? {} : { short: o.short }) }])),
    allowPositionals: true,
    strict: true,
  };
  let parsed;
  try {
    parsed = parseArgs(config);
  } catch (err) {
    throw new UsageError(`${spec.name}: ${err instanceof Error ? err.message : String(err)}\n\n${commandHelp(spec)}`);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help !== true && parsed.positionals.length > (spec.positionals ?? 0)) {
    throw new UsageError(`${spec.name}: unexpected argument ${JSON.stringify(parsed.positionals[spec.positionals ?? 0])}\n\n${commandHelp(spec)}`);
  }
  return { values, positionals: parsed.positionals };
}

export function commandHelp(spec: CommandSpec): string {
  const options = { ...spec.options, ...COMMON_OPTIONS };
  const rows = Object.entries(options).map(([name, o]) => {
    const flag = `${o.short === undefined ? '    ' : `-${o.short}, `}--${name}${o.type === 'string' ? ` ${o.valueName ?? 'VALUE'}` : ''}`;
    return `  ${flag.padEnd(28)} ${o.description}`;
  });
  return `Usage: dnsquorum ${spec.name}${spec.usage === undefined ? '' : ` ${spec.usage}`} [options]\n\n${spec.summary}\n\nOptions:\n${rows.join('\n')}\n`;
}

export function configPath(values: ParsedCommand['values']): string {
  const flag = values.config;
  if (typeof flag === 'string') return flag;
  return process.env.DNSQUORUM_CONFIG ?? './dnsquorum.yaml';
}

export function stringOption(values: ParsedCommand['values'], name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}
