import { z } from 'zod';
import { entryState } from '../../domain/override.js';
import { RECORD_TYPES } from '../../domain/record.js';
import type { Override, OverrideAction, OverrideEntry, OverrideRelease, OverrideState } from '../../domain/override.js';
import type { HlcStamp } from '../../lib/hlc.js';
import type { AuditEvent } from '../audit/log.js';

/**
 * The JSON the admin API's override, record and audit routes take and answer. The CLI and
 * scripts rely on these shapes; docs/admin-api.md documents them.
 *
 *   GET    /v1/overrides[?all=1]            -> OverridesAnswer   (active ones; all=1 adds ended ones)
 *   POST   /v1/overrides                    CreateOverrideRequest -> 201 CreatedOverrideAnswer
 *                                           409 DQ_OVERRIDE_REFUSED, 404 DQ_OVERRIDE_UNKNOWN, 400 DQ_API_BAD_REQUEST
 *                                           (200 for a request sent again with its Idempotency-Key, see overrides/idempotency.ts)
 *   GET    /v1/overrides/:id                -> OverrideAnswer (with the effect at every provider, asked over DNS)
 *   DELETE /v1/overrides/:id                ReleaseRequest (optional) -> ReleasedAnswer (404 only for an id not held)
 *   DELETE /v1/records/:name/overrides[?type=A&value=V]  ReleaseRequest (optional) -> ReleasedAnswer
 *                                           (every override of the record; with value, only the drain of that value;
 *                                           nothing in force: 200 with nothing released)
 *   POST and DELETE take an Idempotency-Key header: the same key again answers what the first request did.
 *   GET    /v1/records                      -> RecordsAnswer
 *   GET    /v1/audit[?limit=N&since=MS]     -> AuditAnswer
 */

export interface CreateOverrideRequest {
  /** Record name, FQDN (the trailing dot is optional), case-insensitive. */
  readonly record: string;
  /** Needed only when the name has failover records of several types. */
  readonly type?: string;
  readonly action: OverrideAction;
  /** Required, not blank, at most 500 characters. */
  readonly reason: string;
  /** A duration like "30m" or "2h"; overrides.defaultDuration when absent; at most overrides.maxDuration. */
  readonly for?: string;
  /** Make it even though the safety check refuses it (the refusal is still audited with the result). */
  readonly force?: boolean;
}

export interface ReleaseRequest {
  readonly reason?: string;
}

/** An override as the API shows it. */
export interface OverrideView extends Override {
  readonly state: OverrideState;
  readonly released: OverrideRelease | null;
  readonly stamp: HlcStamp;
}

export interface OverridesAnswer {
  readonly overrides: readonly OverrideView[];
}

export interface CreatedOverrideAnswer {
  readonly override: OverrideView;
  /** The id of the override this one replaced in its slot, if any. */
  readonly replaced: string | null;
  /** Safety check notes that did not refuse it (e.g. health of the pool not known yet), or what --force overrode. */
  readonly warnings: readonly string[];
}

/** Whether one name server answers as the override requires. */
export interface ServerEffect {
  readonly host: string;
  readonly holds: boolean;
  /** The values it served for the record; null when it did not answer. */
  readonly served: readonly string[] | null;
  /** Why it does not hold, in words; null when it holds. */
  readonly message: string | null;
}

export interface ProviderEffect {
  readonly provider: string;
  /** Every name server of the provider answers as required. */
  readonly holds: boolean;
  readonly servers: readonly ServerEffect[];
  /** The provider's name servers could not be found (its API failed); null otherwise. */
  readonly error: string | null;
}

/** What resolvers see of an override: every provider's name servers, asked over DNS. */
export interface OverrideEffect {
  /** What every server must answer, in words: "192.0.2.20, 192.0.2.21" or "any values but 192.0.2.10". */
  readonly expectation: string;
  readonly holds: boolean;
  readonly providers: readonly ProviderEffect[];
  readonly checkedAt: number;
}

export interface OverrideAnswer {
  readonly override: OverrideView;
  /** Null when the override is no longer active (nothing to hold). */
  readonly effect: OverrideEffect | null;
}

export interface ReleasedAnswer {
  /** The overrides this request released; empty when nothing it names was in force (nothing to release). */
  readonly released: readonly OverrideView[];
  /** The overrides it named by id that had already ended (released or expired): nothing to release for them. */
  readonly ended: readonly OverrideView[];
}

/** One failover record: its pools, what it serves (when this replica decides) and its overrides. */
export interface RecordView {
  readonly zone: string;
  readonly name: string;
  readonly type: string;
  readonly pools: readonly { readonly name: string; readonly values: readonly string[] }[];
  /** What the record serves by this replica's decision; null on a replica that does not write (see the writer's status). */
  readonly serving: {
    readonly pool: string | null;
    readonly values: readonly string[] | null;
    readonly cause: string;
    readonly reason: string;
    readonly since: number;
  } | null;
  readonly overrides: readonly OverrideView[];
}

export interface RecordsAnswer {
  readonly records: readonly RecordView[];
}

export interface AuditAnswer {
  readonly events: readonly AuditEvent[];
}

/** An entry as the API shows it at `now`. */
export function overrideView(entry: OverrideEntry, now: number): OverrideView {
  return { ...entry.override, state: entryState(entry, now), released: entry.released, stamp: entry.stamp };
}

const releaseSchema = z.object({ at: z.number(), actor: z.string(), token: z.string(), reason: z.string() });

/** An OverrideView in an API answer (for the CLI). Unknown extra fields are allowed. */
export const overrideViewSchema = z.object({
  id: z.string(),
  zone: z.string(),
  name: z.string(),
  type: z.enum(RECORD_TYPES),
  action: z.discriminatedUnion('kind', [z.object({ kind: z.literal('force-pool'), pool: z.string() }), z.object({ kind: z.literal('drain'), value: z.string() })]),
  actor: z.string(),
  token: z.string(),
  reason: z.string(),
  forced: z.boolean(),
  origin: z.string(),
  createdAt: z.number(),
  expiresAt: z.number(),
  state: z.enum(['active', 'released', 'expired']),
  released: releaseSchema.nullable(),
  stamp: z.object({ wall: z.number(), logical: z.number(), replica: z.string() }),
});
