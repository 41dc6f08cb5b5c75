import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { formatDuration, parseDuration } from '../../config/duration.js';
import type { OverridesConfig } from '../../config/types.js';
import type { HealthView } from '../../domain/health.js';
import { MAX_REASON_LENGTH, describeAction, entryState, slotOf } from '../../domain/override.js';
import type { Override, OverrideAction, OverrideEntry } from '../../domain/override.js';
import { FAILOVER_TYPES } from '../../domain/record.js';
import type { RecordKey } from '../../domain/record.js';
import type { FailoverRecordSpec, ZoneSpec } from '../../domain/zone.js';
import type { Clock } from '../../lib/clock.js';
import { DnsQuorumError, errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { checkOverride, findFailoverRecord, resolveAction } from '../../plan/override-check.js';
import type { FoundFailoverRecord, OverrideCheckResult } from '../../plan/override-check.js';
import type { RecordStatus } from '../../sync/status.js';
import { ApiError } from './server.js';
import type { ApiRequest, ApiResponse, Route } from './server.js';
import { IdempotencyMemory, idempotencyKeyOf, overrideIdForKey, reused } from '../overrides/idempotency.js';
import type { OverrideStore, ReleaseOutcome } from '../overrides/store.js';
import type { AuditEvent, AuditLog } from '../audit/log.js';
import type {
  AuditAnswer,
  CreatedOverrideAnswer,
  OverrideAnswer,
  OverrideEffect,
  OverridesAnswer,
  OverrideView,
  RecordsAnswer,
  RecordView,
  ReleasedAnswer,
} from '../overrides/wire.js';
import { overrideView } from '../overrides/wire.js';

/**
 * The admin API's override, record and audit routes (shapes in override-wire.ts). Every change is
 * checked, stored, audited and announced (`changed`) in that order; a refusal is audited too.
 * A change sent with an Idempotency-Key is made once however often it is sent
 * (overrides/idempotency.ts).
 */

export interface OverrideRoutesOptions {
  /** The origin of overrides made here. */
  readonly region: string;
  /** The zones now (a reload may change them). */
  readonly zones: () => readonly ZoneSpec[];
  readonly store: OverrideStore;
  readonly audit: AuditLog;
  readonly clock: Clock;
  readonly limits: () => OverridesConfig;
  readonly health: () => HealthView;
  /** What each failover record serves, as far as this replica knows. */
  readonly served: () => ReadonlyMap<RecordKey, readonly string[]>;
  /** The decider's decisions; empty on a replica that does not write. */
  readonly records: () => readonly RecordStatus[];
  readonly effect: (override: Override, signal: AbortSignal) => Promise<OverrideEffect>;
  /** Called after every store change: the daemon re-decides and tells its peers at once. */
  readonly changed: () => void;
  readonly logger: Logger;
}

/** How long GET /v1/overrides/:id waits for every provider's name servers to answer. */
export const EFFECT_TIMEOUT_MS = 10_000;
const MAX_AUDIT_LIMIT = 1000;
const MAX_FIELD_LENGTH = 1000;

// ---------------------------------------------------------------------------------------------
// Request validation: every problem is a 400 naming the field.

type ZodIssue = z.core.$ZodRawIssue;

/** Messages for people: "is required", "must be a string", not zod's defaults. */
function issueMessage(issue: ZodIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      return `must be ${issue.expected === 'object' ? 'an object' : issue.expected === 'boolean' ? 'true or false' : `a ${issue.expected}`}`;
    case 'unrecognized_keys':
      return `has unknown field${issue.keys.length === 1 ? '' : 's'} ${issue.keys.join(', ')}`;
    case 'invalid_union':
      return 'options' in issue && Array.isArray(issue.options) ? `must be one of ${issue.options.map(String).join(', ')}` : undefined;
    case 'too_big':
      return `must be at most ${String(issue.maximum)} characters`;
    default:
      return undefined;
  }
}

function fieldName(path: readonly PropertyKey[]): string {
  return path.length === 0 ? 'the request body' : path.map(String).join('.');
}

function badRequest(message: string): ApiError {
  return new ApiError(400, 'DQ_API_BAD_REQUEST', message);
}

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body, { error: issueMessage });
  if (result.success) return result.data;
  const problems = result.error.issues.slice(0, 5).map((i) => `${fieldName(i.path)} ${i.message}`);
  throw badRequest(problems.join('; '));
}

const text = z.string().max(MAX_FIELD_LENGTH);

const createSchema = z.strictObject({
  record: text,
  type: text.optional(),
  action: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('force-pool'), pool: text }),
    z.strictObject({ kind: z.literal('drain'), value: text }),
  ]),
  reason: z.string(),
  for: text.optional(),
  force: z.boolean().optional(),
});

const releaseSchema = z.strictObject({ reason: z.string().optional() });

/** The reason, trimmed; a 400 naming `field` when blank, too long or carrying control characters. */
function checkReason(raw: string, field: string): string {
  const reason = raw.trim();
  if (reason === '') throw badRequest(`${field} must not be blank: say why, for whoever looks at this next`);
  if (reason.length > MAX_REASON_LENGTH) throw badRequest(`${field} is ${reason.length} characters; at most ${MAX_REASON_LENGTH}`);
  if (/\p{Cc}/u.test(reason)) throw badRequest(`${field} must not contain control characters (newlines, tabs, escapes)`);
  return reason;
}

function checkType(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const upper = raw.trim().toUpperCase();
  if (!(FAILOVER_TYPES as readonly string[]).includes(upper)) throw badRequest(`type "${raw}" is not a failover record type; use one of ${FAILOVER_TYPES.join(', ')}`);
  return upper;
}

/** The override's length in ms from `for`, or the configured default. */
function durationOf(raw: string | undefined, limits: OverridesConfig): number {
  if (raw === undefined) return limits.defaultDurationMs;
  const parsed = parseDuration(raw);
  if (!parsed.ok) throw badRequest(`for: ${parsed.reason}`);
  if (parsed.ms <= 0) throw badRequest(`for must be longer than 0 (got "${raw}")`);
  if (parsed.ms > limits.maxDurationMs) {
    throw badRequest(`for "${raw}" is longer than the maximum ${formatDuration(limits.maxDurationMs)} (overrides.maxDuration in the config)`);
  }
  return parsed.ms;
}

/** A query parameter that must be a whole number in [min, max]; undefined when absent. */
function wholeNumberParam(query: URLSearchParams, name: string, min: number, max: number): number | undefined {
  const raw = query.get(name);
  if (raw === null) return undefined;
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw badRequest(`${name} must be a whole number from ${min} to ${max === Number.MAX_SAFE_INTEGER ? 'up' : max} (got "${raw}")`);
  }
  return n;
}

function booleanParam(query: URLSearchParams, name: string): boolean {
  const raw = query.get(name);
  if (raw === null || raw === '0' || raw === 'false') return false;
  if (raw === '1' || raw === 'true' || raw === '') return true;
  throw badRequest(`${name} must be 1 or 0 (got "${raw}")`);
}

/** DQ_OVERRIDE_UNKNOWN from the pure check, as the API answers it. */
function asApiError(err: unknown): unknown {
  if (err instanceof DnsQuorumError && !(err instanceof ApiError) && err.code === 'DQ_OVERRIDE_UNKNOWN') {
    return new ApiError(404, 'DQ_OVERRIDE_UNKNOWN', err.message, { cause: err });
  }
  return err;
}

function lookupRecord(zones: readonly ZoneSpec[], name: string, type: string | undefined): FoundFailoverRecord {
  try {
    return findFailoverRecord(zones, name, type);
  } catch (err) {
    throw asApiError(err);
  }
}

function inRecordTerms(spec: FailoverRecordSpec, action: OverrideAction): OverrideAction {
  try {
    return resolveAction(spec, action);
  } catch (err) {
    throw asApiError(err);
  }
}

function newOverrideId(store: OverrideStore): string {
  for (;;) {
    const id = `o-${randomBytes(6).toString('hex')}`;
    if (store.find(id) === undefined) return id;
  }
}

/** "o-1a2b3c4d5e6f (api.example.com. A: force pool secondary, by alice)" */
function describeOverride(o: Override): string {
  return `${o.id} (${o.name} ${o.type}: ${describeAction(o.action)}, by ${o.actor})`;
}

function sameRecord(o: Pick<Override, 'zone' | 'name' | 'type'>, zone: string, spec: Pick<FailoverRecordSpec, 'name' | 'type'>): boolean {
  return o.zone === zone && o.name === spec.name && o.type === spec.type;
}

function sameAction(a: OverrideAction, b: OverrideAction): boolean {
  return a.kind === 'force-pool' ? b.kind === 'force-pool' && a.pool === b.pool : b.kind === 'drain' && a.value === b.value;
}

/** A create request as checked: what the override is to be, before the safety check. */
interface CreateAsked {
  readonly zone: ZoneSpec;
  readonly spec: FailoverRecordSpec;
  readonly action: OverrideAction;
  readonly reason: string;
  readonly durationMs: number;
  readonly force: boolean;
}

// ---------------------------------------------------------------------------------------------

export function overrideRoutes(options: OverrideRoutesOptions): Route[] {
  const { store, clock, region } = options;
  const logger = options.logger.child({ component: 'overrides' });
  const keys = new IdempotencyMemory({ clock });

  const activeEntries = (): OverrideEntry[] => {
    const now = clock.now();
    return store.entries().filter((e) => entryState(e, now) === 'active');
  };

  const whatIsActive = (): string => {
    const active = store.active();
    if (active.length === 0) return 'no override is active';
    return `active: ${active.map(describeOverride).join(', ')}`;
  };

  const who = (req: ApiRequest): { actor: string; token: string } => {
    const token = req.tokenName ?? 'unknown';
    return { actor: req.actor ?? token, token };
  };

  const audit = (
    req: ApiRequest,
    fields: Pick<AuditEvent, 'action' | 'zone' | 'what' | 'why' | 'result' | 'overrideId'> & { readonly record: string; readonly type: string },
  ): Promise<void> => {
    const { actor, token } = who(req);
    return options.audit.append({ at: clock.now(), region, actor, token, provider: null, ...fields });
  };

  const create = async (req: ApiRequest): Promise<ApiResponse> => {
    if (req.body === null) throw badRequest('the request needs a JSON body: { "record", "action", "reason" } (see docs/overrides-api.md)');
    const body = parseBody(createSchema, req.body);
    const reason = checkReason(body.reason, 'reason');
    const type = checkType(body.type);
    const { zone, spec } = lookupRecord(options.zones(), body.record, type);
    const action = inRecordTerms(spec, body.action);
    const asked: CreateAsked = { zone, spec, action, reason, durationMs: durationOf(body.for, options.limits()), force: body.force === true };
    const key = idempotencyKeyOf(req.headers);
    if (key === undefined) return make(req, asked, newOverrideId(store));
    const { actor, token } = who(req);
    const fingerprint = JSON.stringify(['create', zone.name, spec.name, spec.type, action, reason, body.for ?? null, asked.force, actor, token]);
    return keys.run(key, fingerprint, () => {
      const id = overrideIdForKey(key);
      const held = store.find(id);
      return held === undefined ? make(req, asked, id) : Promise.resolve(alreadyMade(req, key, held, asked));
    });
  };

  /**
   * A request sent again with its key, whose first answer this replica does not remember (it
   * restarted since, or another replica took the first): the override its key made is found by
   * its id and answered as it is now.
   */
  const alreadyMade = (req: ApiRequest, key: string, held: OverrideEntry, asked: CreateAsked): ApiResponse => {
    const o = held.override;
    const { actor, token } = who(req);
    const same =
      sameRecord(o, asked.zone.name, asked.spec) && sameAction(o.action, asked.action) && o.reason === asked.reason && o.actor === actor && o.token === token;
    if (!same) throw reused(key, `override ${describeOverride(o)}`);
    const view = overrideView(held, clock.now());
    logger.info({ id: o.id, state: view.state, actor }, 'override request sent again with its Idempotency-Key: answered with the override it made');
    const answer: CreatedOverrideAnswer = {
      override: view,
      replaced: null,
      warnings: [`this request was made before (Idempotency-Key ${key}): override ${o.id}, taken at ${o.origin}, is ${view.state}`],
    };
    return { status: 200, body: answer };
  };

  const make = async (req: ApiRequest, asked: CreateAsked, id: string): Promise<ApiResponse> => {
    const { zone, spec, action, reason, durationMs } = asked;
    const now = clock.now();
    const { actor, token } = who(req);
    const draft: Override = {
      id,
      zone: zone.name,
      name: spec.name,
      type: spec.type,
      action,
      actor,
      token,
      reason,
      forced: false,
      origin: region,
      createdAt: now,
      expiresAt: now + durationMs,
    };
    const active = store.active();
    let verdict: OverrideCheckResult;
    try {
      verdict = checkOverride({ zone, spec, override: draft, active, health: options.health(), lastServed: options.served(), now });
    } catch (err) {
      throw asApiError(err);
    }
    const what = `${describeAction(action)} for ${formatDuration(durationMs)}`;
    const base = { zone: zone.name, record: spec.name, type: spec.type, what, why: reason } as const;

    if (!verdict.ok && !asked.force) {
      await audit(req, { ...base, action: 'refused', result: `refused: ${verdict.reason}`, overrideId: null });
      logger.warn({ record: spec.name, type: spec.type, action: describeAction(action), actor, reason: verdict.reason }, 'override refused by the safety check');
      throw new ApiError(409, 'DQ_OVERRIDE_REFUSED', verdict.reason);
    }
    const override: Override = verdict.ok ? draft : { ...draft, forced: true };
    const replaced = active.find((o) => slotOf(o) === slotOf(override));

    let entry: OverrideEntry;
    try {
      entry = await store.put(override);
    } catch (err) {
      const message = errorMessage(err);
      await audit(req, { ...base, action: 'override', result: `failed: ${message}`, overrideId: override.id });
      logger.error({ err, record: spec.name, type: spec.type, id: override.id }, 'override could not be stored');
      throw new ApiError(500, 'DQ_STATE_WRITE', `the override was not made: ${message}`, { cause: err });
    }
    const result = verdict.ok ? 'accepted' : `accepted (forced past: ${verdict.reason})`;
    await audit(req, { ...base, action: 'override', result, overrideId: override.id });
    logger.info({ id: override.id, record: spec.name, type: spec.type, action: describeAction(action), actor, forced: override.forced, expiresAt: override.expiresAt }, 'override made');
    options.changed();

    const warnings = verdict.ok ? [...verdict.warnings] : [`made with force past the safety check: ${verdict.reason}`];
    if (replaced !== undefined) warnings.push(`replaces override ${describeOverride(replaced)}`);
    const answer: CreatedOverrideAnswer = { override: overrideView(entry, clock.now()), replaced: replaced?.id ?? null, warnings };
    return { status: 201, body: answer };
  };

  /**
   * Releases what `selects` picks among the overrides in force when the store gets to the release
   * (after every change queued before it), one audit line each. The answer is what the store did
   * then: a failover queued just before is released with the rest, one queued after is not.
   */
  const releaseSelected = async (
    req: ApiRequest,
    selects: (o: Override) => boolean,
    reason: string,
    notReleased: string,
  ): Promise<{ released: OverrideView[]; ended: OverrideView[] }> => {
    const { actor, token } = who(req);
    const why = reason === '' ? '(no reason given)' : reason;
    const fields = (o: Override): Pick<AuditEvent, 'zone' | 'what' | 'why' | 'overrideId'> & { record: string; type: string } => ({
      zone: o.zone,
      record: o.name,
      type: o.type,
      what: describeAction(o.action),
      why,
      overrideId: o.id,
    });
    let outcome: ReleaseOutcome;
    try {
      outcome = await store.releaseWhere(selects, { at: clock.now(), actor, token, reason });
    } catch (err) {
      const message = errorMessage(err);
      // Nothing was released, so what is in force now is what the release picked.
      const picked = store.active().filter(selects);
      for (const o of picked) await audit(req, { ...fields(o), action: 'release', result: `failed: ${message}` });
      logger.error({ err, ids: picked.map((o) => o.id) }, 'override release could not be stored');
      throw new ApiError(500, 'DQ_STATE_WRITE', `${notReleased}: ${message}`, { cause: err });
    }
    try {
      for (const { override: o } of outcome.released) {
        await audit(req, { ...fields(o), action: 'release', result: 'released' });
        logger.info({ id: o.id, record: o.name, type: o.type, action: describeAction(o.action), actor }, 'override released');
      }
    } finally {
      if (outcome.released.length > 0) options.changed();
    }
    const now = clock.now();
    return { released: outcome.released.map((e) => overrideView(e, now)), ended: outcome.ended.map((e) => overrideView(e, now)) };
  };

  const releaseReason = (body: unknown): string => {
    if (body === null) return '';
    const parsed = parseBody(releaseSchema, body);
    return parsed.reason === undefined ? '' : checkReason(parsed.reason, 'reason');
  };

  /** Runs a release, once per Idempotency-Key when the request has one. */
  const onceByKey = (req: ApiRequest, asked: readonly unknown[], act: () => Promise<ApiResponse>): Promise<ApiResponse> => {
    const key = idempotencyKeyOf(req.headers);
    if (key === undefined) return act();
    const { actor, token } = who(req);
    return keys.run(key, JSON.stringify([...asked, actor, token]), act);
  };

  /** An id held but no longer in force answers 200 with it in `ended`; only an id never held (or forgotten) is a 404. */
  const releaseById = async (req: ApiRequest): Promise<ApiResponse> => {
    const id = req.params.id ?? '';
    const reason = releaseReason(req.body);
    return onceByKey(req, ['release', id, reason], async () => {
      const { released, ended } = await releaseSelected(req, (o) => o.id === id, reason, `override ${id} was not released`);
      if (released.length === 0 && ended.length === 0) throw new ApiError(404, 'DQ_OVERRIDE_UNKNOWN', `no override ${id}; ${whatIsActive()}`);
      const answer: ReleasedAnswer = { released, ended };
      return { status: 200, body: answer };
    });
  };

  /** A known record (and value) with nothing in force answers 200 with nothing released: there is nothing to release. */
  const releaseByRecord = async (req: ApiRequest): Promise<ApiResponse> => {
    const reason = releaseReason(req.body);
    const type = checkType(req.query.get('type') ?? undefined);
    const { zone, spec } = lookupRecord(options.zones(), req.params.name ?? '', type);
    const rawValue = req.query.get('value');
    const value = rawValue === null ? undefined : inRecordTerms(spec, { kind: 'drain', value: rawValue });
    const slot = value === undefined ? null : slotOf({ zone: zone.name, name: spec.name, type: spec.type, action: value });
    const selects = (o: Override): boolean => sameRecord(o, zone.name, spec) && (slot === null || slotOf(o) === slot);
    const notReleased = value === undefined ? `the overrides of ${spec.name} ${spec.type} were not released` : `the ${describeAction(value)} of ${spec.name} ${spec.type} was not released`;
    return onceByKey(req, ['release-record', zone.name, spec.name, spec.type, slot, reason], async () => {
      const { released } = await releaseSelected(req, selects, reason, notReleased);
      // Only overrides in force are picked by record: none is asked for that had ended.
      const answer: ReleasedAnswer = { released, ended: [] };
      return { status: 200, body: answer };
    });
  };

  const list = (req: ApiRequest): Promise<ApiResponse> => {
    const all = booleanParam(req.query, 'all');
    const now = clock.now();
    const entries = all ? store.entries() : activeEntries();
    const answer: OverridesAnswer = { overrides: entries.map((e) => overrideView(e, now)) };
    return Promise.resolve({ status: 200, body: answer });
  };

  const show = async (req: ApiRequest): Promise<ApiResponse> => {
    const id = req.params.id ?? '';
    const entry = store.find(id);
    if (entry === undefined) throw new ApiError(404, 'DQ_OVERRIDE_UNKNOWN', `no override ${id}; ${whatIsActive()}`);
    const view = overrideView(entry, clock.now());
    let effect: OverrideEffect | null = null;
    if (view.state === 'active') {
      const signal = AbortSignal.timeout(EFFECT_TIMEOUT_MS);
      try {
        effect = await options.effect(entry.override, signal);
      } catch (err) {
        if (!signal.aborted) throw err;
        throw new ApiError(504, 'DQ_PROVIDER_UNAVAILABLE', `override ${id} is active, but its effect could not be checked: the providers' name servers did not all answer within ${EFFECT_TIMEOUT_MS / 1000} s`, { cause: err });
      }
    }
    const answer: OverrideAnswer = { override: view, effect };
    return { status: 200, body: answer };
  };

  const records = (): Promise<ApiResponse> => {
    const now = clock.now();
    const decided = options.records();
    const active = activeEntries();
    const views: RecordView[] = options.zones().flatMap((zone) =>
      zone.records.flatMap((spec): RecordView[] => {
        if (spec.kind !== 'failover') return [];
        const status = decided.find((r) => r.zone === zone.name && r.name === spec.name && r.type === spec.type);
        return [
          {
            zone: zone.name,
            name: spec.name,
            type: spec.type,
            pools: spec.failover.pools.map((p) => ({ name: p.name, values: [...p.values] })),
            serving: status === undefined ? null : { pool: status.pool, values: status.values, cause: status.cause, reason: status.reason, since: status.since },
            overrides: active.filter((e) => sameRecord(e.override, zone.name, spec)).map((e) => overrideView(e, now)),
          },
        ];
      }),
    );
    const answer: RecordsAnswer = { records: views };
    return Promise.resolve({ status: 200, body: answer });
  };

  const auditRoute = async (req: ApiRequest): Promise<ApiResponse> => {
    const limit = wholeNumberParam(req.query, 'limit', 1, MAX_AUDIT_LIMIT);
    const since = wholeNumberParam(req.query, 'since', 0, Number.MAX_SAFE_INTEGER);
    const events = await options.audit.read({ ...(limit === undefined ? {} : { limit }), ...(since === undefined ? {} : { since }) });
    const answer: AuditAnswer = { events };
    return { status: 200, body: answer };
  };

  return [
    { method: 'GET', path: '/v1/overrides', auth: 'read', handle: list },
    { method: 'POST', path: '/v1/overrides', auth: 'operate', handle: create },
    { method: 'GET', path: '/v1/overrides/:id', auth: 'read', handle: show },
    { method: 'DELETE', path: '/v1/overrides/:id', auth: 'operate', handle: releaseById },
    { method: 'DELETE', path: '/v1/records/:name/overrides', auth: 'operate', handle: releaseByRecord },
    { method: 'GET', path: '/v1/records', auth: 'read', handle: records },
    { method: 'GET', path: '/v1/audit', auth: 'read', handle: auditRoute },
  ];
}
