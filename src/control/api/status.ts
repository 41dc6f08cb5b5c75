import { z } from 'zod';
import { RELOAD_RESULTS } from '../../config/reload.js';
import { DnsQuorumError } from '../../lib/errors.js';
import type { ClusterStatus, EndpointStatus } from '../../cluster/status.js';
import type { SyncStatus } from '../../sync/status.js';
import type { Route } from './server.js';
import type { ReloadStatus } from './lifecycle.js';
import { overrideViewSchema } from '../overrides/wire.js';
import type { OverrideView } from '../overrides/wire.js';

/** What `GET /v1/status` answers: the sync status plus who answers and since when. Times are epoch ms. */
export interface DaemonStatusReport extends SyncStatus {
  /** The replica's region (its vantage point). */
  readonly region: string;
  /** The daemon's lifecycle state, e.g. starting, running, stopping. */
  readonly state: string;
  readonly startedAt: number;
  /** The daemon's clock when it answered; the CLI shows ages relative to it. */
  readonly now: number;
  /** Peers, who writes, and refused peer messages. */
  readonly cluster: ClusterStatus;
  /** Every endpoint's health across regions: each region's verdict and its age. */
  readonly endpoints: readonly EndpointStatus[];
  /** Overrides in force (made here or learned from a peer). */
  readonly overrides: readonly OverrideView[];
  /** The config file in use, when it was loaded, and how the last reload ended. */
  readonly config: ReloadStatus;
  /** Local providers' state files that did not load at this start, and what was done about them. */
  readonly corruptStateFiles?: readonly CorruptStateFileStatus[];
}

/** A local provider's state file that did not load at start: moved aside (movedTo), or not (moveError). */
export interface CorruptStateFileStatus {
  readonly provider: string;
  readonly path: string;
  readonly problem: string;
  readonly movedTo: string | null;
  readonly moveError: string | null;
  readonly at: number;
}

export function statusRoute(source: () => DaemonStatusReport): Route {
  return {
    method: 'GET',
    path: '/v1/status',
    auth: 'read',
    handle: () => Promise.resolve({ status: 200, body: source() }),
  };
}

const epochMs = z.number().nonnegative();
const count = z.number().int().nonnegative();

const statusErrorSchema = z.object({ code: z.string(), message: z.string(), at: epochMs });

const providerZoneSchema = z.object({
  zone: z.string(),
  state: z.enum(['in-sync', 'syncing', 'lagging', 'refused', 'drift-reported', 'held', 'unknown']),
  lagMs: z.number().nonnegative(),
  lastError: statusErrorSchema.nullable(),
  consecutiveFailures: count,
  nextPassAt: epochMs.nullable(),
  lastReadAt: epochMs.nullable(),
  // A daemon from before it sends none.
  lastSuccessAt: epochMs.nullable().default(null),
  lastDnsCheckAt: epochMs.nullable(),
  lastWrite: z
    .object({
      at: epochMs,
      changes: count,
      timeToVisibleMs: z.number().nonnegative().nullable(),
      visible: z.enum(['pending', 'visible', 'timed-out', 'superseded']),
    })
    .nullable(),
  // A daemon from before refusals were reported sends none.
  refused: z.array(z.object({ rule: z.string(), forceable: z.boolean(), message: z.string(), records: z.array(z.string()), since: epochMs })).default([]),
  drift: z.object({ detected: count, repaired: count, current: z.array(z.string()) }),
});

/** Counts of peer messages refused, by reason. */
const rejectedSchema = z.record(z.string(), count);

const peerSchema = z.object({
  region: z.string(),
  url: z.string(),
  lastHeardAt: epochMs.nullable(),
  fresh: z.boolean(),
  writer: z.boolean(),
  seesQuorum: z.boolean(),
  lastSentAt: epochMs.nullable(),
  lastSendError: z.string().nullable(),
  // A daemon from before the clock-skew report sends none of these.
  lastAnsweredAt: epochMs.nullable().default(null),
  alive: z.boolean().default(true),
  refusesStale: z.boolean().default(false),
  clockOffsetMs: z.number().nullable().default(null),
  stampsRefused: count.default(0),
});

const clusterSchema = z.object({
  region: z.string(),
  writerCapable: z.boolean(),
  freshRegions: z.array(z.string()),
  quorum: count,
  seesQuorum: z.boolean(),
  writer: z.string().nullable(),
  peers: z.array(peerSchema),
  rejected: rejectedSchema,
  clockSkewed: z.array(z.string()).default([]),
});

const endpointSchema = z.object({
  endpointId: z.string(),
  state: z.string(),
  reason: z.string(),
  insufficientVantage: z.boolean(),
  since: epochMs,
  regions: z.array(z.object({ region: z.string(), state: z.string(), ageMs: z.number().nonnegative(), reason: z.string() })),
});

const reportSchema = z.object({
  region: z.string(),
  state: z.string(),
  startedAt: epochMs,
  now: epochMs,
  hold: z.string().nullable(),
  records: z.array(
    z.object({
      zone: z.string(),
      name: z.string(),
      type: z.string(),
      pool: z.string().nullable(),
      values: z.array(z.string()).nullable(),
      cause: z.string(),
      reason: z.string(),
      since: epochMs,
    }),
  ),
  providers: z.array(z.object({ provider: z.string(), type: z.string(), zones: z.array(providerZoneSchema) })),
  cluster: clusterSchema,
  endpoints: z.array(endpointSchema),
  // A daemon from before overrides sends none.
  overrides: z.array(overrideViewSchema).default([]),
  // A daemon from before reloads sends none.
  config: z
    .object({
      source: z.string(),
      loadedAt: epochMs,
      lastReload: z.object({ at: epochMs, result: z.enum(RELOAD_RESULTS), message: z.string() }).nullable(),
    })
    .default({ source: '', loadedAt: 0, lastReload: null }),
  // A daemon from before it sends none.
  corruptStateFiles: z
    .array(z.object({ provider: z.string(), path: z.string(), problem: z.string(), movedTo: z.string().nullable(), moveError: z.string().nullable(), at: epochMs }))
    .default([]),
});

/** "providers[0].zones[1].lagMs" */
function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : `${out === '' ? '' : '.'}${String(key)}`;
  return out === '' ? 'the answer' : out;
}

/**
 * Checks an admin API status answer (for the CLI). Unknown extra fields are allowed, so a newer
 * daemon can add some; missing or mistyped ones are a DQ_API_BAD_ANSWER naming the field.
 */
export function parseStatusReport(json: unknown): DaemonStatusReport {
  const result = reportSchema.safeParse(json);
  if (result.success) return result.data;
  const problems = result.error.issues.slice(0, 5).map((issue) => `${fieldPath(issue.path)}: ${issue.message}`);
  const more = result.error.issues.length - problems.length;
  throw new DnsQuorumError('DQ_API_BAD_ANSWER', `the status answer is not what this CLI understands: ${problems.join('; ')}${more > 0 ? ` (and ${more} more)` : ''}`);
}
