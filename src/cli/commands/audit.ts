import { parseDuration } from '../../config/duration.js';
import type { AuditEvent } from '../../control/audit/log.js';
import { UsageError } from '../../lib/errors.js';
import { auditAnswerSchema } from '../api-answers.js';
import { API_CLIENT_OPTIONS, API_TARGET_HELP, ApiClient, jsonLine, parseAnswer, resolveApiTarget } from '../api-client.js';
import { parseCommand } from '../args.js';
import type { CommandSpec, ParsedCommand } from '../args.js';
import { isoSeconds, oneLine, table } from '../format.js';
import type { CommandIo } from './io.js';

/** The API answers at most this many lines per request. */
const MAX_LIMIT = 1000;

export const auditSpec: CommandSpec = {
  name: 'audit',
  summary:
    "Shows the daemon's audit log: every override, release, refusal, expiry and health-driven write, with when\n" +
    '(UTC), the replica, who, what, why and the result. Oldest first; the newest --limit lines (default 100).\n' +
    `${API_TARGET_HELP}\n` +
    'Exit 0: shown; 1: the API could not be reached or refused the request.',
  options: {
    limit: { type: 'string', valueName: 'N', description: `at most N lines, the newest (1 to ${MAX_LIMIT}; default: the daemon's, 100)` },
    since: { type: 'string', valueName: 'WHEN', description: 'only lines since then: a duration ago (30m, 2h, 1d) or an ISO time (2025-01-15T12:00:00Z)' },
    ...API_CLIENT_OPTIONS,
  },
};

export interface AuditInvocation {
  readonly limit: number | undefined;
  /** Epoch ms. */
  readonly since: number | undefined;
  readonly json: boolean;
  readonly values: ParsedCommand['values'];
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i;

/** Whether the YYYY-MM-DD the text starts with is a day of the calendar (Date.parse turns 02-30 into 03-02). */
function calendarDay(value: string): boolean {
  const [y, m, d] = value.slice(0, 10).split('-').map(Number);
  if (y === undefined || m === undefined || d === undefined) return false;
  const day = new Date(Date.UTC(y, m - 1, d));
  return day.getUTCFullYear() === y && day.getUTCMonth() === m - 1 && day.getUTCDate() === d;
}

/** --since as epoch ms: a duration before `now`, a date (its UTC midnight) or a date-time with a zone. */
export function parseSince(written: string, now: number): number {
  const value = written.trim();
  if (/^\d{4}-/.test(value)) {
    if (!ISO_DATE.test(value) && !ISO_TIME.test(value)) {
      const hint = /T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(value) ? ' (give the time zone, e.g. Z for UTC)' : '';
      throw new UsageError(`audit: --since ${JSON.stringify(written)} is not an ISO time like 2025-01-15T12:00:00Z${hint}`);
    }
    const at = Date.parse(value);
    if (Number.isNaN(at) || !calendarDay(value)) throw new UsageError(`audit: --since ${JSON.stringify(written)} is not a valid date`);
    return at;
  }
  const duration = parseDuration(value);
  if (!duration.ok) throw new UsageError(`audit: --since ${JSON.stringify(written)}: ${duration.reason}, or an ISO time like 2025-01-15T12:00:00Z`);
  return Math.max(0, now - duration.ms);
}

/** Checks `audit` arguments; `now` (epoch ms) turns "--since 2h" into a time. */
export function parseAuditArgs(argv: readonly string[], now: number): { readonly help: true } | { readonly help: false; readonly invocation: AuditInvocation } {
  const { values } = parseCommand(auditSpec, argv);
  if (values.help === true) return { help: true };
  let limit: number | undefined;
  const limitText = values.limit;
  if (typeof limitText === 'string') {
    limit = /^\d+$/.test(limitText.trim()) ? Number(limitText.trim()) : Number.NaN;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw new UsageError(`audit: --limit ${JSON.stringify(limitText)} must be a whole number from 1 to ${MAX_LIMIT}`);
    }
  }
  const since = typeof values.since === 'string' ? parseSince(values.since, now) : undefined;
  return { help: false, invocation: { limit, since, json: values.json === true, values } };
}

function recordCell(e: AuditEvent): string {
  if (e.record === null) return '-';
  return e.type === null ? e.record : `${e.record} ${e.type}`;
}

/** The audit log for people: one row per event, oldest first. */
export function formatAuditEvents(events: readonly AuditEvent[]): string {
  if (events.length === 0) return '(no audit events)\n';
  const rows = events.map((e) => [isoSeconds(e.at), e.region, e.actor, e.action, recordCell(e), oneLine(e.what), oneLine(e.why), oneLine(e.result)]);
  return `${table(['TIME (UTC)', 'REGION', 'ACTOR', 'ACTION', 'RECORD', 'WHAT', 'WHY', 'RESULT'], rows).join('\n')}\n`;
}

export async function auditCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const parsed = parseAuditArgs(argv, Date.now());
  if (parsed.help) {
    io.out(io.help(auditSpec));
    return 0;
  }
  const { invocation } = parsed;
  const client = new ApiClient(await resolveApiTarget('audit', invocation.values));
  const query: Record<string, string> = {};
  if (invocation.limit !== undefined) query.limit = String(invocation.limit);
  if (invocation.since !== undefined) query.since = String(invocation.since);
  const answer = await client.get('v1/audit', { query });
  const { events } = parseAnswer(auditAnswerSchema, answer.json, 'audit');
  io.out(invocation.json ? jsonLine(answer.text) : formatAuditEvents(events));
  return 0;
}
