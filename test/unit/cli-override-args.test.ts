import { describe, expect, it } from 'vitest';
import { parseAuditArgs } from '../../src/cli/commands/audit.js';
import { DEFAULT_WAIT_MS, parseDrainArgs, parseFailoverArgs, parseReleaseArgs, parseUndrainArgs } from '../../src/cli/commands/override.js';
import type { CreateInvocation, Parsed, ReleaseInvocation } from '../../src/cli/commands/override.js';
import { UsageError } from '../../src/lib/errors.js';

function invocation<T>(parsed: Parsed<T>): T {
  if (parsed.help) throw new Error('expected an invocation, got --help');
  return parsed.invocation;
}

function usageError(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    if (err instanceof UsageError) return err.message;
    throw err;
  }
  throw new Error('expected a usage error');
}

/** The invocation without the raw option values it keeps for finding the API. */
function withoutValues(parsed: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(parsed).filter(([key]) => key !== 'values'));
}

function created(argv: readonly string[], parse: (argv: readonly string[]) => Parsed<CreateInvocation>): Record<string, unknown> {
  return withoutValues(invocation(parse(argv)));
}

function released(argv: readonly string[], parse: (argv: readonly string[]) => Parsed<ReleaseInvocation>): Record<string, unknown> {
  return withoutValues(invocation(parse(argv)));
}

describe('failover arguments', () => {
  it.each<[string, string[], Omit<CreateInvocation, 'values'>]>([
    [
      'the minimum: record, pool and reason; waits the default',
      ['api.example.com', '--to', 'secondary', '--reason', 'db migration'],
      { command: 'failover', request: { record: 'api.example.com', action: { kind: 'force-pool', pool: 'secondary' }, reason: 'db migration' }, actor: undefined, waitMs: DEFAULT_WAIT_MS, json: false },
    ],
    [
      'every option',
      ['api.example.com.', '--to', 'b', '--reason', 'r', '--for', ' 1h30m ', '--force', '--type', 'aaaa', '--actor', 'alice', '--wait', '30s', '--json'],
      { command: 'failover', request: { record: 'api.example.com.', type: 'AAAA', action: { kind: 'force-pool', pool: 'b' }, reason: 'r', for: '1h30m', force: true }, actor: 'alice', waitMs: 30_000, json: true },
    ],
    [
      '--no-wait',
      ['api.example.com', '--to', 'b', '--reason', 'r', '--no-wait'],
      { command: 'failover', request: { record: 'api.example.com', action: { kind: 'force-pool', pool: 'b' }, reason: 'r' }, actor: undefined, waitMs: null, json: false },
    ],
  ])('%s', (_name, argv, expected) => {
    expect(created(argv, parseFailoverArgs)).toEqual(expected);
  });

  it.each<[string, string[], string]>([
    ['no record', ['--to', 'b', '--reason', 'r'], 'failover: RECORD is missing (usage: dnsquorum failover RECORD --to POOL --reason TEXT)'],
    ['no --to', ['api.example.com', '--reason', 'r'], 'failover: --to POOL is required'],
    ['a blank --to', ['api.example.com', '--to', ' ', '--reason', 'r'], 'failover: --to " " is not a pool name'],
    ['no --reason', ['api.example.com', '--to', 'b'], 'failover: --reason TEXT is required'],
    ['a blank --reason', ['api.example.com', '--to', 'b', '--reason', '  '], 'failover: --reason must not be blank'],
    ['a reason over 500 characters', ['api.example.com', '--to', 'b', '--reason', 'x'.repeat(501)], 'failover: --reason is 501 characters long; at most 500'],
    ['--for without a unit', ['api.example.com', '--to', 'b', '--reason', 'r', '--for', '90'], 'failover: --for "90": duration needs a unit, e.g. 90s'],
    ['--for that is not a duration', ['api.example.com', '--to', 'b', '--reason', 'r', '--for', 'soon'], 'failover: --for "soon": "soon" is not a duration'],
    ['--for 0s', ['api.example.com', '--to', 'b', '--reason', 'r', '--for', '0s'], 'failover: --for "0s": must be longer than 0s'],
    ['--wait without a unit', ['api.example.com', '--to', 'b', '--reason', 'r', '--wait', '2'], 'failover: --wait "2": duration needs a unit'],
    ['--wait with --no-wait', ['api.example.com', '--to', 'b', '--reason', 'r', '--wait', '1m', '--no-wait'], 'failover: --wait and --no-wait contradict each other'],
    ['a type failover records cannot have', ['api.example.com', '--to', 'b', '--reason', 'r', '--type', 'MX'], 'failover: --type "MX": failover records are of type A, AAAA, CNAME'],
    ['a blank --actor', ['api.example.com', '--to', 'b', '--reason', 'r', '--actor', ''], 'failover: --actor must not be blank'],
    ['an --actor with a newline', ['api.example.com', '--to', 'b', '--reason', 'r', '--actor', 'al\nice'], 'failover: --actor must be at most 200 printable characters'],
    ['a record with a space', ['api example.com', '--to', 'b', '--reason', 'r'], 'failover: RECORD "api example.com" is not a DNS name'],
    ['a record with a slash', ['api/../status', '--to', 'b', '--reason', 'r'], 'failover: RECORD "api/../status" is not a DNS name'],
    ['a second record', ['api.example.com', 'www.example.com', '--to', 'b', '--reason', 'r'], 'failover: unexpected argument "www.example.com"'],
    ['an unknown option', ['api.example.com', '--to', 'b', '--reason', 'r', '--pool', 'b'], "failover: Unknown option '--pool'"],
    ['--to without its value', ['api.example.com', '--reason', 'r', '--to'], "failover: Option '--to <value>' argument missing"],
  ])('refuses %s', (_name, argv, message) => {
    expect(usageError(() => parseFailoverArgs(argv))).toContain(message);
  });

  it('answers --help without checking anything else', () => {
    expect(parseFailoverArgs(['--help'])).toEqual({ help: true });
  });
});

describe('drain arguments', () => {
  it('sends the value as a drain', () => {
    expect(created(['api.example.com', '192.0.2.10', '--reason', 'disk full', '--for', '2h'], parseDrainArgs)).toEqual({
      command: 'drain',
      request: { record: 'api.example.com', action: { kind: 'drain', value: '192.0.2.10' }, reason: 'disk full', for: '2h' },
      actor: undefined,
      waitMs: DEFAULT_WAIT_MS,
      json: false,
    });
  });

  it.each<[string, string[], string]>([
    ['no value', ['api.example.com', '--reason', 'r'], 'drain: VALUE is missing (usage: dnsquorum drain RECORD VALUE --reason TEXT)'],
    ['no reason', ['api.example.com', '192.0.2.10'], 'drain: --reason TEXT is required'],
    ['a blank value', ['api.example.com', '', '--reason', 'r'], 'drain: VALUE "" is not a record value'],
    ['a third argument', ['api.example.com', '192.0.2.10', '192.0.2.11', '--reason', 'r'], 'drain: unexpected argument "192.0.2.11"'],
    ['--to (a failover option)', ['api.example.com', '192.0.2.10', '--reason', 'r', '--to', 'b'], "drain: Unknown option '--to'"],
  ])('refuses %s', (_name, argv, message) => {
    expect(usageError(() => parseDrainArgs(argv))).toContain(message);
  });
});

describe('release and undrain arguments', () => {
  it.each<[string, string[], Omit<ReleaseInvocation, 'values'>]>([
    ['an override id', ['o-0123456789ab'], { command: 'release', target: { kind: 'id', id: 'o-0123456789ab' }, reason: undefined, actor: undefined, json: false }],
    [
      'a record, with type, reason and actor',
      ['api.example.com', '--type', 'cname', '--reason', 'done', '--actor', 'bob', '--json'],
      { command: 'release', target: { kind: 'record', record: 'api.example.com', type: 'CNAME', value: undefined }, reason: 'done', actor: 'bob', json: true },
    ],
    // Not an id (upper-case hex, or the wrong length): a record name.
    ['a name that only looks like an id', ['o-0123456789AB'], { command: 'release', target: { kind: 'record', record: 'o-0123456789AB', type: undefined, value: undefined }, reason: undefined, actor: undefined, json: false }],
  ])('release takes %s', (_name, argv, expected) => {
    expect(released(argv, parseReleaseArgs)).toEqual(expected);
  });

  it('undrain names the record and the value', () => {
    expect(released(['api.example.com', '192.0.2.10', '--type', 'A'], parseUndrainArgs)).toEqual({
      command: 'undrain',
      target: { kind: 'record', record: 'api.example.com', type: 'A', value: '192.0.2.10' },
      reason: undefined,
      actor: undefined,
      json: false,
    });
  });

  it.each<[string, (argv: readonly string[]) => unknown, string[], string]>([
    ['release with nothing', parseReleaseArgs, [], 'release: RECORD or OVERRIDE_ID is missing'],
    ['release with --type and an id', parseReleaseArgs, ['o-0123456789ab', '--type', 'A'], 'release: --type applies to a record name, not to an override id (o-0123456789ab)'],
    ['release with a blank reason', parseReleaseArgs, ['api.example.com', '--reason', ''], 'release: --reason must not be blank'],
    ['release with --for', parseReleaseArgs, ['api.example.com', '--for', '1h'], "release: Unknown option '--for'"],
    ['undrain without a value', parseUndrainArgs, ['api.example.com'], 'undrain: VALUE is missing'],
    ['undrain with a bad type', parseUndrainArgs, ['api.example.com', '192.0.2.10', '--type', 'TXT'], 'undrain: --type "TXT": failover records are of type A, AAAA, CNAME'],
  ])('refuses %s', (_name, parse, argv, message) => {
    expect(usageError(() => parse(argv))).toContain(message);
  });
});

describe('audit arguments', () => {
  const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);

  it.each<[string, string[], { limit: number | undefined; since: number | undefined; json: boolean }]>([
    ['nothing', [], { limit: undefined, since: undefined, json: false }],
    ['--limit', ['--limit', '20'], { limit: 20, since: undefined, json: false }],
    ['--since a duration ago', ['--since', '2h'], { limit: undefined, since: NOW - 2 * 3_600_000, json: false }],
    ['--since a date (UTC midnight)', ['--since', '2025-01-14'], { limit: undefined, since: Date.UTC(2025, 0, 14), json: false }],
    ['--since a UTC time', ['--since', '2025-01-15T11:30:00Z', '--json'], { limit: undefined, since: Date.UTC(2025, 0, 15, 11, 30), json: true }],
    ['--since a time with an offset', ['--since', '2025-01-15T12:30+01:00'], { limit: undefined, since: Date.UTC(2025, 0, 15, 11, 30), json: false }],
  ])('takes %s', (_name, argv, expected) => {
    expect(withoutValues(invocation(parseAuditArgs(argv, NOW)))).toEqual(expected);
  });

  it.each<[string, string[], string]>([
    ['--limit 0', ['--limit', '0'], 'audit: --limit "0" must be a whole number from 1 to 1000'],
    ['--limit 1001', ['--limit', '1001'], 'audit: --limit "1001" must be a whole number from 1 to 1000'],
    ['--limit 2.5', ['--limit', '2.5'], 'audit: --limit "2.5" must be a whole number'],
    ['--since without a unit', ['--since', '30'], 'audit: --since "30": duration needs a unit, e.g. 30s, or an ISO time like 2025-01-15T12:00:00Z'],
    ['--since a time without a zone', ['--since', '2025-01-15T11:30:00'], 'audit: --since "2025-01-15T11:30:00" is not an ISO time like 2025-01-15T12:00:00Z (give the time zone, e.g. Z for UTC)'],
    ['--since a month that does not exist', ['--since', '2025-13-01'], 'audit: --since "2025-13-01" is not a valid date'],
    ['--since a day that does not exist', ['--since', '2025-02-30T10:00:00Z'], 'audit: --since "2025-02-30T10:00:00Z" is not a valid date'],
    ['a positional argument', ['api.example.com'], 'audit: unexpected argument "api.example.com"'],
  ])('refuses %s', (_name, argv, message) => {
    expect(usageError(() => parseAuditArgs(argv, NOW))).toContain(message);
  });
});
