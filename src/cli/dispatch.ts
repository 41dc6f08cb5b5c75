import { commandHelp } from './args.js';
import type { CommandSpec } from './args.js';
import { auditCommand, auditSpec } from './commands/audit.js';
import { demoCommand, demoSpec } from './commands/demo.js';
import type { CommandIo } from './commands/io.js';
import { drainCommand, drainSpec, failoverCommand, failoverSpec, releaseCommand, releaseSpec, undrainCommand, undrainSpec } from './commands/override.js';
import { planCommand, planSpec, syncCommand, syncSpec } from './commands/plan.js';
import { runCommand, runSpec } from './commands/run.js';
import { statusCommand, statusSpec } from './commands/status.js';
import { validateCommand, validateSpec } from './commands/validate.js';
import { verifyCommand, verifySpec } from './commands/verify.js';
import { ConfigError, DnsQuorumError, UsageError, formatConfigIssue } from '../lib/errors.js';

type Command = (argv: readonly string[], io: CommandIo) => Promise<number>;

const COMMANDS: ReadonlyMap<string, { spec: CommandSpec; run: Command }> = new Map([
  ['run', { spec: runSpec, run: runCommand }],
  ['validate', { spec: validateSpec, run: validateCommand }],
  ['plan', { spec: planSpec, run: planCommand }],
  ['sync', { spec: syncSpec, run: syncCommand }],
  ['verify', { spec: verifySpec, run: verifyCommand }],
  ['status', { spec: statusSpec, run: statusCommand }],
  ['failover', { spec: failoverSpec, run: failoverCommand }],
  ['drain', { spec: drainSpec, run: drainCommand }],
  ['undrain', { spec: undrainSpec, run: undrainCommand }],
  ['release', { spec: releaseSpec, run: releaseCommand }],
  ['audit', { spec: auditSpec, run: auditCommand }],
  ['demo', { spec: demoSpec, run: demoCommand }],
]);

function usage(): string {
  const rows = [...COMMANDS.values()].map(({ spec }) => `  ${spec.name.padEnd(10)} ${spec.summary.split('\n')[0] ?? ''}`);
  return (
    'Usage: dnsquorum COMMAND [options]\n\n' +
    'Keeps a DNS zone identical across several DNS providers and fails records over when a quorum of\n' +
    'probing regions agrees an endpoint is down.\n\n' +
    `Commands:\n${rows.join('\n')}\n\n` +
    'Every command takes --config FILE (default: $DNSQUORUM_CONFIG or ./dnsquorum.yaml) and --help.\n'
  );
}

/** The process's own streams. */
export const processIo: CommandIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  help: commandHelp,
};

/** Runs `dnsquorum ARGV` and returns its exit code; every error is written to `io.err`, none is thrown. */
export async function runCli(argv: readonly string[], io: CommandIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(usage());
    return name === undefined ? 1 : 0;
  }
  const command = COMMANDS.get(name);
  if (command === undefined) {
    io.err(`dnsquorum: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    return 1;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof ConfigError) io.err(`${err.issues.map(formatConfigIssue).join('\n')}\n`);
    else if (err instanceof UsageError) io.err(`dnsquorum ${err.message}\n`);
    else if (err instanceof DnsQuorumError) io.err(`dnsquorum ${name}: ${err.code}: ${err.message}\n`);
    else io.err(`dnsquorum ${name}: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 1;
  }
}

