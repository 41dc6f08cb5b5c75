import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { formatDuration as formatWritten, parseDuration } from '../../config/duration.js';
import { idempotencyKeyProblem, overrideIdForKey } from '../../control/overrides/idempotency.js';
import type { CreateOverrideRequest, CreatedOverrideAnswer, OverrideAnswer, OverrideEffect, OverrideView, ProviderEffect, ReleaseRequest, ServerEffect } from '../../control/overrides/wire.js';
import { MAX_ACTOR_LENGTH, MAX_REASON_LENGTH, describeAction } from '../../domain/override.js';
import { FAILOVER_TYPES } from '../../domain/record.js';
import { startDeadline } from '../../lib/deadline.js';
import type { Deadline } from '../../lib/deadline.js';
import { DnsQuorumError, UsageError } from '../../lib/errors.js';
import { createdOverrideAnswerSchema, overrideAnswerSchema, releasedAnswerSchema } from '../api-answers.js';
import { API_CLIENT_OPTIONS, API_TARGET_HELP, ApiCallError, ApiClient, CHANGE_ATTEMPTS, jsonLine, parseAnswer, resolveApiTarget } from '../api-client.js';
import { parseCommand, stringOption } from '../args.js';
import type { CommandSpec, OptionSpec, ParsedCommand } from '../args.js';
import { formatDuration, isoSeconds, oneLine } from '../format.js';
import type { CommandIo } from './io.js';

/**
 * The on-call commands: failover and drain make an override through the admin API and wait until
 * every provider's name servers serve it; release and undrain end overrides. Each change is sent
 * with an Idempotency-Key (one per run, or --idempotency-key), so the client can send it again
 * when no answer came without making it twice; when no answer comes at all, the command says
 * what may have happened and how to see, and exits EXIT_NO_ANSWER.
 */

/** How often the wait asks the API whether every provider holds the override. */
export const POLL_INTERVAL_MS = 500;
/** How long failover and drain wait by default (--wait). */
export const DEFAULT_WAIT_MS = 120_000;
/** The effect answer asks every provider's name servers over DNS, so it may take longer than a status answer. */
const EFFECT_TIMEOUT_MS = 15_000;
/** 128 + SIGINT, what shells report for a command stopped by Ctrl-C. */
const EXIT_INTERRUPTED = 130;
/** The change was sent and no answer came: it may have been made. Apart from 1, which says it was not. */
export const EXIT_NO_ANSWER = 3;

const OVERRIDE_ID = /^o-[0-9a-f]{12}$/;

const actorOption: OptionSpec = { type: 'string', valueName: 'NAME', description: 'who acts, for status and the audit log (default: the name of the token)' };
const typeOption: OptionSpec = { type: 'string', valueName: 'TYPE', description: 'record type (A, AAAA, CNAME); needed only when the name has several' };
const keyOption: OptionSpec = {
  type: 'string',
  valueName: 'KEY',
  description: 'names this change for the daemon (default: a new random key per run); the same key again gets the first answer instead of a second change',
};

const CREATE_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  reason: { type: 'string', valueName: 'TEXT', description: 'why (required; shown in status and kept in the audit log)' },
  for: { type: 'string', valueName: 'DURATION', description: "how long it lasts, e.g. 30m, 2h (default: the daemon's overrides.defaultDuration)" },
  force: { type: 'boolean', description: 'make it even when the safety check refuses it' },
  type: typeOption,
  actor: actorOption,
  wait: { type: 'string', valueName: 'DURATION', description: `how long to wait for every provider to serve it (default ${formatWritten(DEFAULT_WAIT_MS)})` },
  'no-wait': { type: 'boolean', description: 'do not wait: exit once the daemon has accepted it' },
  'idempotency-key': keyOption,
  ...API_CLIENT_OPTIONS,
};

const RELEASE_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  reason: { type: 'string', valueName: 'TEXT', description: 'why it ends (kept in the audit log)' },
  type: typeOption,
  actor: actorOption,
  'idempotency-key': keyOption,
  ...API_CLIENT_OPTIONS,
};

const NO_ANSWER_HELP =
  `A change that was sent and got no answer is sent again with the same Idempotency-Key (${CHANGE_ATTEMPTS} tries in all, each waiting\n` +
  'twice as long as the one before), which the daemon answers with its first answer: it is never made twice.';

const WAIT_HELP =
  "Then waits until every provider's name servers answer as the override requires (asked over DNS by the daemon),\n" +
  'printing what is still pending on stderr. Ctrl-C stops the waiting; the override stays in force (exit 130).';

export const failoverSpec: CommandSpec = {
  name: 'failover',
  usage: 'RECORD --to POOL --reason TEXT',
  summary:
    'Forces a failover record to serve pool POOL, whatever health says, until it expires (--for) or is released.\n' +
    'Refused when health says the pool is down or it would leave nothing in service, unless --force.\n' +
    `${WAIT_HELP}\n${NO_ANSWER_HELP}\n${API_TARGET_HELP}\n` +
    'Exit 0: every provider serves it; 1: refused, not made, or a provider still pending when the wait ends\n' +
    '(DQ_OVERRIDE_PENDING: the override stays in force); 3: sent, but no answer came (DQ_API_NO_ANSWER): it may have\n' +
    'been made, the message gives its id and how to check.',
  options: { to: { type: 'string', valueName: 'POOL', description: 'the pool to serve (required)' }, ...CREATE_OPTIONS },
  positionals: 1,
};

export const drainSpec: CommandSpec = {
  name: 'drain',
  usage: 'RECORD VALUE --reason TEXT',
  summary:
    'Takes one value (endpoint) of a failover record out of service, whatever health says, until it expires (--for)\n' +
    'or is undrained. Refused when it would leave nothing in service, unless --force.\n' +
    `${WAIT_HELP}\n${NO_ANSWER_HELP}\n${API_TARGET_HELP}\n` +
    'Exit 0: every provider serves the record without VALUE; 1: refused, not made, or a provider still pending when\n' +
    'the wait ends (DQ_OVERRIDE_PENDING: the drain stays in force); 3: sent, but no answer came (DQ_API_NO_ANSWER).',
  options: CREATE_OPTIONS,
  positionals: 2,
};

export const undrainSpec: CommandSpec = {
  name: 'undrain',
  usage: 'RECORD VALUE',
  summary:
    `Ends the drain of VALUE in a failover record: health decides about it again.\n${NO_ANSWER_HELP}\n${API_TARGET_HELP}\n` +
    'Exit 0: ended, or nothing was drained ("nothing to release"); 1: unknown record or value, or an error;\n' +
    '3: sent, but no answer came (DQ_API_NO_ANSWER): it may have ended.',
  options: RELEASE_OPTIONS,
  positionals: 2,
};

export const releaseSpec: CommandSpec = {
  name: 'release',
  usage: 'RECORD|OVERRIDE_ID',
  summary:
    'Ends an override: by id (o- and 12 hex digits, as failover and status print it), or every override of a record.\n' +
    `Health decides again, with its rise and hold-down rules.\n${NO_ANSWER_HELP}\n${API_TARGET_HELP}\n` +
    'Exit 0: released, or nothing was in force for the record or id ("nothing to release"); 1: unknown override or\n' +
    'record, or an error; 3: sent, but no answer came (DQ_API_NO_ANSWER): it may have been released.',
  options: RELEASE_OPTIONS,
  positionals: 1,
};

// ---- arguments ----

export type Parsed<T> = { readonly help: true } | { readonly help: false; readonly invocation: T };

export interface CreateInvocation {
  readonly command: 'failover' | 'drain';
  readonly request: CreateOverrideRequest;
  /** Sent as X-DnsQuorum-Actor. */
  readonly actor: string | undefined;
  /** How long to wait for every provider to serve it; null with --no-wait. */
  readonly waitMs: number | null;
  readonly json: boolean;
  /** --idempotency-key; a new random key per run when absent. */
  readonly idempotencyKey?: string;
  readonly values: ParsedCommand['values'];
}

export type ReleaseTarget =
  | { readonly kind: 'id'; readonly id: string }
  | { readonly kind: 'record'; readonly record: string; readonly type: string | undefined; readonly value: string | undefined };

export interface ReleaseInvocation {
  readonly command: 'release' | 'undrain';
  readonly target: ReleaseTarget;
  readonly reason: string | undefined;
  readonly actor: string | undefined;
  readonly json: boolean;
  /** --idempotency-key; a new random key per run when absent. */
  readonly idempotencyKey?: string;
  readonly values: ParsedCommand['values'];
}

function positional(spec: CommandSpec, positionals: readonly string[], index: number, name: string): string {
  const value = positionals[index];
  if (value === undefined) throw new UsageError(`${spec.name}: ${name} is missing (usage: dnsquorum ${spec.name} ${spec.usage ?? ''})`);
  return value;
}

function recordName(command: string, value: string): string {
  if (value === '' || value.length > 254 || /[\s/\\\p{Cc}]/u.test(value)) {
    throw new UsageError(`${command}: RECORD ${JSON.stringify(value)} is not a DNS name (e.g. api.example.com)`);
  }
  return value;
}

function recordValue(command: string, value: string): string {
  if (value === '' || /[\s\p{Cc}]/u.test(value)) throw new UsageError(`${command}: VALUE ${JSON.stringify(value)} is not a record value (e.g. 192.0.2.10)`);
  return value;
}

function reasonOption(command: string, values: ParsedCommand['values'], required: boolean): string | undefined {
  const reason = stringOption(values, 'reason');
  if (reason === undefined) {
    if (required) throw new UsageError(`${command}: --reason TEXT is required: say why (it is shown in status and kept in the audit log)`);
    return undefined;
  }
  if (reason.trim() === '') throw new UsageError(`${command}: --reason must not be blank`);
  if (reason.length > MAX_REASON_LENGTH) throw new UsageError(`${command}: --reason is ${reason.length} characters long; at most ${MAX_REASON_LENGTH}`);
  return reason;
}

/** A positive duration flag in ms, undefined when absent. */
function durationOption(command: string, values: ParsedCommand['values'], flag: string): { written: string; ms: number } | undefined {
  const written = stringOption(values, flag);
  if (written === undefined) return undefined;
  const parsed = parseDuration(written);
  if (!parsed.ok) throw new UsageError(`${command}: --${flag} ${JSON.stringify(written)}: ${parsed.reason}`);
  if (parsed.ms <= 0) throw new UsageError(`${command}: --${flag} ${JSON.stringify(written)}: must be longer than 0s`);
  return { written: written.trim(), ms: parsed.ms };
}

function typeValue(command: string, values: ParsedCommand['values']): string | undefined {
  const type = stringOption(values, 'type');
  if (type === undefined) return undefined;
  const upper = type.toUpperCase();
  if (!FAILOVER_TYPES.includes(upper as (typeof FAILOVER_TYPES)[number])) {
    throw new UsageError(`${command}: --type ${JSON.stringify(type)}: failover records are of type ${FAILOVER_TYPES.join(', ')}`);
  }
  return upper;
}

function actorValue(command: string, values: ParsedCommand['values']): string | undefined {
  const actor = stringOption(values, 'actor');
  if (actor === undefined) return undefined;
  if (actor.trim() === '') throw new UsageError(`${command}: --actor must not be blank`);
  if (actor.length > MAX_ACTOR_LENGTH || /\p{Cc}/u.test(actor)) {
    throw new UsageError(`${command}: --actor must be at most ${MAX_ACTOR_LENGTH} printable characters`);
  }
  return actor;
}

function keyOf(command: string, values: ParsedCommand['values']): { idempotencyKey?: string } {
  const key = stringOption(values, 'idempotency-key');
  if (key === undefined) return {};
  const problem = idempotencyKeyProblem(key);
  if (problem !== undefined) throw new UsageError(`${command}: --idempotency-key ${problem}`);
  return { idempotencyKey: key };
}

function waitValue(command: string, values: ParsedCommand['values']): number | null {
  const wait = durationOption(command, values, 'wait');
  if (values['no-wait'] === true) {
    if (wait !== undefined) throw new UsageError(`${command}: --wait and --no-wait contradict each other; pass one of them`);
    return null;
  }
  return wait?.ms ?? DEFAULT_WAIT_MS;
}

function createInvocation(command: CreateInvocation['command'], values: ParsedCommand['values'], record: string, action: CreateOverrideRequest['action']): CreateInvocation {
  const reason = reasonOption(command, values, true) ?? '';
  const duration = durationOption(command, values, 'for');
  const type = typeValue(command, values);
  const request: CreateOverrideRequest = {
    record,
    action,
    reason,
    ...(type === undefined ? {} : { type }),
    ...(duration === undefined ? {} : { for: duration.written }),
    ...(values.force === true ? { force: true } : {}),
  };
  return {
    command,
    request,
    actor: actorValue(command, values),
    waitMs: waitValue(command, values),
    json: values.json === true,
    ...keyOf(command, values),
    values,
  };
}

/** Checks `failover` arguments; every usage error is raised here, before any request. */
export function parseFailoverArgs(argv: readonly string[]): Parsed<CreateInvocation> {
  const parsed = parseCommand(failoverSpec, argv);
  if (parsed.values.help === true) return { help: true };
  const record = recordName('failover', positional(failoverSpec, parsed.positionals, 0, 'RECORD'));
  const pool = stringOption(parsed.values, 'to');
  if (pool === undefined) throw new UsageError('failover: --to POOL is required: the pool the record should serve');
  if (pool.trim() === '' || /[\s\p{Cc}]/u.test(pool)) throw new UsageError(`failover: --to ${JSON.stringify(pool)} is not a pool name`);
  return { help: false, invocation: createInvocation('failover', parsed.values, record, { kind: 'force-pool', pool }) };
}

/** Checks `drain` arguments; every usage error is raised here, before any request. */
export function parseDrainArgs(argv: readonly string[]): Parsed<CreateInvocation> {
  const parsed = parseCommand(drainSpec, argv);
  if (parsed.values.help === true) return { help: true };
  const record = recordName('drain', positional(drainSpec, parsed.positionals, 0, 'RECORD'));
  const value = recordValue('drain', positional(drainSpec, parsed.positionals, 1, 'VALUE'));
  return { help: false, invocation: createInvocation('drain', parsed.values, record, { kind: 'drain', value }) };
}

/** Checks `undrain` arguments. */
export function parseUndrainArgs(argv: readonly string[]): Parsed<ReleaseInvocation> {
  const parsed = parseCommand(undrainSpec, argv);
  const { values } = parsed;
  if (values.help === true) return { help: true };
  const record = recordName('undrain', positional(undrainSpec, parsed.positionals, 0, 'RECORD'));
  const value = recordValue('undrain', positional(undrainSpec, parsed.positionals, 1, 'VALUE'));
  return {
    help: false,
    invocation: {
      command: 'undrain',
      target: { kind: 'record', record, type: typeValue('undrain', values), value },
      reason: reasonOption('undrain', values, false),
      actor: actorValue('undrain', values),
      json: values.json === true,
      ...keyOf('undrain', values),
      values,
    },
  };
}

/** Checks `release` arguments: an override id (o- and 12 hex digits) or a record name. */
export function parseReleaseArgs(argv: readonly string[]): Parsed<ReleaseInvocation> {
  const parsed = parseCommand(releaseSpec, argv);
  const { values } = parsed;
  if (values.help === true) return { help: true };
  const which = positional(releaseSpec, parsed.positionals, 0, 'RECORD or OVERRIDE_ID');
  const type = typeValue('release', values);
  let target: ReleaseTarget;
  if (OVERRIDE_ID.test(which)) {
    if (type !== undefined) throw new UsageError(`release: --type applies to a record name, not to an override id (${which})`);
    target = { kind: 'id', id: which };
  } else {
    target = { kind: 'record', record: recordName('release', which), type, value: undefined };
  }
  return {
    help: false,
    invocation: {
      command: 'release',
      target,
      reason: reasonOption('release', values, false),
      actor: actorValue('release', values),
      json: values.json === true,
      ...keyOf('release', values),
      values,
    },
  };
}

// ---- what the effect looks like, in words ----

function serverText(s: ServerEffect): string {
  if (s.served === null) return `${s.host} no answer${s.message === null ? '' : ` (${oneLine(s.message)})`}`;
  return `${s.host} serves ${s.served.length === 0 ? 'nothing' : s.served.join(', ')}`;
}

/** "holds (4 servers)" or "pending: 2 of 4 servers (dns1.example.net. serves 192.0.2.10, 192.0.2.11; dns2.example.net. no answer)" */
function providerText(p: ProviderEffect): string {
  if (p.error !== null) return `pending: its name servers are unknown (${oneLine(p.error)})`;
  const n = p.servers.length;
  if (p.holds) return `holds (${n} server${n === 1 ? '' : 's'})`;
  const pending = p.servers.filter((s) => !s.holds);
  return `pending: ${pending.length} of ${n} server${n === 1 ? '' : 's'} (${pending.map(serverText).join('; ')})`;
}

/** "ns1 (2 of 4 servers: ...); r53 (...)": the providers that do not hold it yet. */
function pendingText(effect: OverrideEffect): string {
  const pending = effect.providers.filter((p) => !p.holds);
  if (pending.length === 0) return 'no provider named yet';
  return pending.map((p) => `${p.provider} ${providerText(p)}`).join('; ');
}

function overrideTitle(o: OverrideView): string {
  return `${describeAction(o.action)} for ${o.name} ${o.type}`;
}

/** The override, for people: what, who, why, until when. */
function overrideLines(o: OverrideView, now: number): string[] {
  const left = o.expiresAt - now;
  const lines = [
    `override ${o.id}: ${overrideTitle(o)}`,
    `  by ${o.actor} (token ${o.token}, at ${o.origin}), reason: ${oneLine(o.reason)}`,
    `  expires ${isoSeconds(o.expiresAt)}${left > 0 ? ` (in ${formatDuration(left)})` : ''}`,
  ];
  if (o.forced) lines.push('  made with --force: the safety check was overridden');
  return lines;
}

function effectLines(effect: OverrideEffect): string[] {
  const width = Math.max(0, ...effect.providers.map((p) => p.provider.length));
  return effect.providers.map((p) => `  ${p.provider.padEnd(width)}  ${providerText(p)}`);
}

// ---- failover and drain ----

type WaitOutcome =
  | { readonly kind: 'holds'; readonly latest: OverrideAnswer }
  | { readonly kind: 'ended'; readonly latest: OverrideAnswer }
  | { readonly kind: 'pending'; readonly latest: OverrideAnswer | undefined; readonly lastError: string | undefined }
  | { readonly kind: 'interrupted'; readonly latest: OverrideAnswer | undefined };

/** No answer, or the daemon failing inside: worth asking again while the wait lasts. */
function worthRetrying(err: unknown): err is ApiCallError {
  return err instanceof ApiCallError && (err.httpStatus === null || err.httpStatus >= 500);
}

/**
 * Asks for the override's effect every POLL_INTERVAL_MS until every provider holds it, it ends,
 * `waitMs` passes (one last answer is still taken then), or `interrupt` aborts.
 */
async function waitForEffect(
  client: ApiClient,
  id: string,
  waitMs: number,
  interrupt: AbortSignal,
  progress: (line: string) => void,
): Promise<WaitOutcome> {
  const deadline = startDeadline(interrupt, waitMs);
  try {
    return await pollEffect(client, id, interrupt, deadline, progress);
  } finally {
    deadline.dispose();
  }
}

async function pollEffect(client: ApiClient, id: string, interrupt: AbortSignal, deadline: Deadline, progress: (line: string) => void): Promise<WaitOutcome> {
  let latest: OverrideAnswer | undefined;
  let lastError: string | undefined;
  let lastLine: string | undefined;
  for (;;) {
    let line: string;
    try {
      const answer = await client.get(`v1/overrides/${encodeURIComponent(id)}`, { signal: interrupt, timeoutMs: EFFECT_TIMEOUT_MS });
      latest = parseAnswer(overrideAnswerSchema, answer.json, 'override');
      lastError = undefined;
      if (latest.effect === null) return { kind: 'ended', latest };
      if (latest.effect.holds) return { kind: 'holds', latest };
      line = `waiting: ${pendingText(latest.effect)}`;
    } catch (err) {
      if (interrupt.aborted) return { kind: 'interrupted', latest };
      if (!worthRetrying(err)) throw err;
      lastError = `${err.code}: ${err.message}`;
      line = `waiting: the admin API did not answer (${lastError}); asking again`;
    }
    if (line !== lastLine) progress(line);
    lastLine = line;
    if (deadline.timedOut()) return { kind: 'pending', latest, lastError };
    try {
      await delay(POLL_INTERVAL_MS, undefined, { signal: deadline.signal });
    } catch {
      if (interrupt.aborted) return { kind: 'interrupted', latest };
      // The deadline passed while sleeping: one last answer decides.
    }
  }
}

/** An API error answer, as --json prints it. */
function jsonError(err: unknown): string | undefined {
  if (!(err instanceof ApiCallError) || err.httpStatus === null) return undefined;
  return `${JSON.stringify({ error: { code: err.code, message: err.message } })}\n`;
}

/** Says on stderr that a try got no answer and the change goes again, with the same key. */
function retryNotice(io: CommandIo, key: string): (failure: ApiCallError, attempt: number, attempts: number) => void {
  return (failure, attempt, attempts) => {
    io.err(
      `${failure.message}. Sending it again with the same Idempotency-Key ${key} (try ${attempt} of ${attempts}): ` +
        'the daemon answers a key it has seen with its first answer, so this cannot make a second change\n',
    );
  };
}

/**
 * A change that was sent and never answered: the message says it may have been made, the key (and
 * the override's id) it carried, and how to see; exit EXIT_NO_ANSWER, never the 1 that says it
 * was not made.
 */
function noAnswerExit(io: CommandIo, command: string, json: boolean, err: ApiCallError, key: string, overrideId: string | null, check: string): number {
  if (json) io.out(`${JSON.stringify({ error: { code: err.code, message: err.message }, idempotencyKey: key, overrideId })}\n`);
  io.err(`dnsquorum ${command}: ${err.code}: ${err.message}.\n${check}\n`);
  return EXIT_NO_ANSWER;
}

function isNoAnswer(err: unknown): err is ApiCallError {
  return err instanceof ApiCallError && err.code === 'DQ_API_NO_ANSWER';
}

async function createOverride(client: ApiClient, invocation: CreateInvocation, key: string, io: CommandIo): Promise<CreatedOverrideAnswer> {
  try {
    const answer = await client.change('POST', 'v1/overrides', { body: invocation.request, idempotencyKey: key, onRetry: retryNotice(io, key) });
    return parseAnswer(createdOverrideAnswerSchema, answer.json, 'override');
  } catch (err) {
    if (invocation.json) {
      const body = jsonError(err);
      if (body !== undefined) io.out(body);
    }
    if (err instanceof ApiCallError && err.code === 'DQ_OVERRIDE_REFUSED') {
      throw new DnsQuorumError('DQ_OVERRIDE_REFUSED', `${err.message}\nre-run with --force to make it anyway`, { cause: err });
    }
    throw err;
  }
}

/** Runs until Ctrl-C, then aborts the signal once; the handler is removed by `dispose`. */
function interruptOnSigint(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSigint = (): void => {
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  return { signal: controller.signal, dispose: () => process.off('SIGINT', onSigint) };
}

async function runCreate(invocation: CreateInvocation, io: CommandIo): Promise<number> {
  const { command } = invocation;
  const client = new ApiClient(await resolveApiTarget(command, invocation.values), invocation.actor === undefined ? {} : { actor: invocation.actor });
  const key = invocation.idempotencyKey ?? randomUUID();
  let created: CreatedOverrideAnswer;
  try {
    created = await createOverride(client, invocation, key, io);
  } catch (err) {
    if (!isNoAnswer(err)) throw err;
    const id = overrideIdForKey(key);
    return noAnswerExit(
      io,
      command,
      invocation.json,
      err,
      key,
      id,
      `If it did, the override is ${id} (Idempotency-Key ${key}). See whether it is in force with "dnsquorum status" ` +
        `(its Overrides table) or "dnsquorum audit --since 15m"; end it with "dnsquorum release ${id}". ` +
        `To send it again with no risk of a second override, run the same command with --idempotency-key ${key}.`,
    );
  }
  const o = created.override;
  const notes = [...(created.replaced === null ? [] : [`  replaced ${created.replaced}`]), ...created.warnings.map((w) => `  warning: ${oneLine(w)}`)];

  if (invocation.waitMs === null) {
    if (invocation.json) io.out(`${JSON.stringify({ created, latest: null, outcome: 'not-waited' })}\n`);
    else io.out([...overrideLines(o, o.createdAt), ...notes, 'not waiting for the providers (--no-wait): follow it with dnsquorum status', ''].join('\n'));
    return 0;
  }

  io.err(`override ${o.id} made: ${overrideTitle(o)}; waiting up to ${formatWritten(invocation.waitMs)} for every provider to serve it (Ctrl-C stops waiting; the override stays)\n`);
  const interrupt = interruptOnSigint();
  let outcome: WaitOutcome;
  try {
    outcome = await waitForEffect(client, o.id, invocation.waitMs, interrupt.signal, (line) => { io.err(`${line}\n`); });
  } finally {
    interrupt.dispose();
  }

  const latest = outcome.latest;
  if (invocation.json) io.out(`${JSON.stringify({ created, latest: latest ?? null, outcome: outcome.kind })}\n`);
  const shown = latest?.override ?? o;
  const now = latest?.effect?.checkedAt ?? o.createdAt;
  const head = [...overrideLines(shown, now), ...notes];

  switch (outcome.kind) {
    case 'holds': {
      const effect = outcome.latest.effect;
      if (!invocation.json && effect !== null) io.out([...head, `every provider serves it (${effect.expectation}):`, ...effectLines(effect), ''].join('\n'));
      return 0;
    }
    case 'pending': {
      const effect = outcome.latest?.effect ?? null;
      if (!invocation.json) io.out([...head, ...(effect === null ? [] : [`not every provider serves it yet (${effect.expectation}):`, ...effectLines(effect)]), ''].join('\n'));
      const what = effect !== null ? pendingText(effect) : `could not be checked: ${outcome.lastError ?? 'the admin API gave no answer'}`;
      throw new DnsQuorumError(
        'DQ_OVERRIDE_PENDING',
        `override ${o.id} is in force, but after ${formatWritten(invocation.waitMs)} not every provider serves it: ${what}. ` +
          `It stays in force: follow it with "dnsquorum status", or end it with "dnsquorum release ${o.id}"`,
      );
    }
    case 'ended': {
      const view = outcome.latest.override;
      const by = view.released === null ? '' : ` by ${view.released.actor} (${oneLine(view.released.reason)})`;
      io.err(`dnsquorum ${command}: override ${o.id} is no longer in force (${view.state}${by}) and was not waited for further\n`);
      return 1;
    }
    case 'interrupted':
      io.err(
        `\ninterrupted: only the waiting stopped. Override ${o.id} stays in force until ${isoSeconds(shown.expiresAt)}; ` +
          `follow it with "dnsquorum status", or end it with "dnsquorum release ${o.id}"\n`,
      );
      return EXIT_INTERRUPTED;
  }
}

export async function failoverCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const parsed = parseFailoverArgs(argv);
  if (parsed.help) {
    io.out(io.help(failoverSpec));
    return 0;
  }
  return runCreate(parsed.invocation, io);
}

export async function drainCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const parsed = parseDrainArgs(argv);
  if (parsed.help) {
    io.out(io.help(drainSpec));
    return 0;
  }
  return runCreate(parsed.invocation, io);
}

// ---- release and undrain ----

function afterRelease(o: OverrideView): string {
  return o.action.kind === 'force-pool'
    ? `  health decides ${o.name} ${o.type} again (rise and hold-down apply)`
    : `  ${o.action.value} of ${o.name} ${o.type} is back under health checks`;
}

/** " (released by bob at 2025-01-15T12:00:00Z: done)" or " (expired at ...)" */
function endedText(o: OverrideView): string {
  if (o.released !== null) return ` (released by ${o.released.actor} at ${isoSeconds(o.released.at)}${o.released.reason === '' ? '' : `: ${oneLine(o.released.reason)}`})`;
  return ` (expired at ${isoSeconds(o.expiresAt)})`;
}

async function runRelease(invocation: ReleaseInvocation, io: CommandIo): Promise<number> {
  const { command, target } = invocation;
  const client = new ApiClient(await resolveApiTarget(command, invocation.values), invocation.actor === undefined ? {} : { actor: invocation.actor });
  const body: ReleaseRequest | undefined = invocation.reason === undefined ? undefined : { reason: invocation.reason };
  const key = invocation.idempotencyKey ?? randomUUID();
  const options = { ...(body === undefined ? {} : { body }), idempotencyKey: key, onRetry: retryNotice(io, key) };
  const what =
    target.kind === 'id'
      ? `override ${target.id}`
      : target.value === undefined
        ? `every override of ${target.record}`
        : `the drain of ${target.value} of ${target.record}`;
  let answer;
  try {
    answer =
      target.kind === 'id'
        ? await client.change('DELETE', `v1/overrides/${encodeURIComponent(target.id)}`, options)
        : await client.change('DELETE', `v1/records/${encodeURIComponent(target.record)}/overrides`, {
            ...options,
            query: { ...(target.type === undefined ? {} : { type: target.type }), ...(target.value === undefined ? {} : { value: target.value }) },
          });
  } catch (err) {
    if (isNoAnswer(err)) {
      return noAnswerExit(
        io,
        command,
        invocation.json,
        err,
        key,
        target.kind === 'id' ? target.id : null,
        `If it did, ${what} was released (Idempotency-Key ${key}). See what is in force with "dnsquorum status" or ` +
          '"dnsquorum audit --since 15m". Running the same command again is safe: with nothing left in force it says "nothing to release"; ' +
          `with --idempotency-key ${key} it gets the first answer.`,
      );
    }
    const errorBody = invocation.json ? jsonError(err) : undefined;
    if (errorBody !== undefined) io.out(errorBody);
    throw err;
  }
  const { released, ended } = parseAnswer(releasedAnswerSchema, answer.json, 'release');
  if (invocation.json) {
    io.out(jsonLine(answer.text));
    return 0;
  }
  if (released.length === 0) {
    const why =
      target.kind === 'id'
        ? `override ${target.id} was not in force${ended.map(endedText).join('')}`
        : target.value === undefined
          ? `no override of ${target.record} was in force`
          : `${target.value} of ${target.record} was not drained`;
    io.out(`nothing to release: ${why}\n`);
    return 0;
  }
  const lines = released.flatMap((o) => [`released ${o.id}: ${overrideTitle(o)} (made by ${o.actor}: ${oneLine(o.reason)})`, afterRelease(o)]);
  io.out(`${lines.join('\n')}\n`);
  return 0;
}

export async function releaseCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const parsed = parseReleaseArgs(argv);
  if (parsed.help) {
    io.out(io.help(releaseSpec));
    return 0;
  }
  return runRelease(parsed.invocation, io);
}

export async function undrainCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const parsed = parseUndrainArgs(argv);
  if (parsed.help) {
    io.out(io.help(undrainSpec));
    return 0;
  }
  return runRelease(parsed.invocation, io);
}
