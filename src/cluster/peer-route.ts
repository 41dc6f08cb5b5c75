import { z } from 'zod';
import { RECORD_TYPES } from '../domain/record.js';
import { ApiError } from '../lib/api-route.js';
import type { Route } from '../lib/api-route.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { signedSendTime } from './auth.js';
import type { PeerVerifier } from './auth.js';
import { PEER_PATH } from './messages.js';
import type { PeerMessage } from './messages.js';

/**
 * The receiving side of the peer exchange: POST /v1/peer/exchange on the admin API, without the
 * bearer token (the HMAC authenticates). Every refusal is answered 401 DQ_PEER_REJECTED, counted
 * by reason for status, and logged at warn at most once per reason per REJECT_LOG_INTERVAL_MS. A
 * `stale` refusal also carries this replica's clock, signed (see auth.ts), for the sender's skew report.
 */

export type PeerRejection = 'malformed' | 'bad-signature' | 'stale' | 'replayed' | 'unknown-peer';

/** At most this many verdicts per message: far above any real zone, low enough to bound the work. */
export const MAX_PEER_VERDICTS = 100_000;
/** A message with MAX_PEER_VERDICTS verdicts of typical size fits; the admin API's own limit is far smaller. */
export const MAX_PEER_BODY_BYTES = 16 * 1024 * 1024;
/** A verdict's reason (what its probe saw); the sender shortens longer ones rather than have the message refused. */
export const MAX_VERDICT_REASON_LENGTH = 500;
const MAX_NAME_LENGTH = 1_000;
/** Ages at or beyond a day are refused: no verdict that old is fresh, and it bounds what a peer can claim. */
export const MAX_AGE_MS = 24 * 60 * 60 * 1000;
const REJECT_LOG_INTERVAL_MS = 10_000;

const peerVerdictSchema = z.object({
  endpointId: z.string().min(1).max(MAX_NAME_LENGTH),
  state: z.enum(['up', 'down', 'unknown']),
  ageMs: z.number().min(0).lt(MAX_AGE_MS),
  reason: z.string().max(MAX_VERDICT_REASON_LENGTH),
});

/** Far above any real number of overrides; bounds the work one message can cause. */
const MAX_PEER_OVERRIDES = 2_000;
const MAX_TEXT_LENGTH = 1_000;
const DAY_MS = 86_400_000;
const text = z.string().max(MAX_TEXT_LENGTH);

const peerOverrideSchema = z.object({
  slot: z.string().min(1).max(MAX_TEXT_LENGTH),
  stamp: z.object({ wall: z.number().int().nonnegative(), logical: z.number().int().nonnegative(), replica: z.string().min(1).max(MAX_NAME_LENGTH) }),
  override: z.object({
    id: z.string().regex(/^o-[0-9a-f]{12}$/),
    zone: z.string().min(1).max(MAX_NAME_LENGTH),
    name: z.string().min(1).max(MAX_NAME_LENGTH),
    type: z.enum(RECORD_TYPES),
    action: z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('force-pool'), pool: z.string().min(1).max(MAX_NAME_LENGTH) }),
      z.object({ kind: z.literal('drain'), value: z.string().min(1).max(MAX_NAME_LENGTH) }),
    ]),
    actor: text,
    token: text,
    reason: text,
    forced: z.boolean(),
    origin: z.string().min(1).max(MAX_NAME_LENGTH),
    createdAgoMs: z.number().min(-DAY_MS).max(400 * DAY_MS),
    expiresInMs: z.number().min(-400 * DAY_MS).max(400 * DAY_MS),
  }),
  released: z.object({ agoMs: z.number().min(-DAY_MS).max(400 * DAY_MS), actor: text, token: text, reason: text }).nullable(),
});

const peerMessageSchema = z.object({
  v: z.literal(1),
  region: z.string().min(1).max(MAX_NAME_LENGTH),
  writer: z.boolean(),
  seesQuorum: z.boolean(),
  verdicts: z.array(peerVerdictSchema).max(MAX_PEER_VERDICTS),
  overrides: z.array(peerOverrideSchema).max(MAX_PEER_OVERRIDES),
});

/** The message in a body, or why it is not one (a short text naming the first bad field). */
export function parsePeerMessage(rawBody: string): { ok: true; message: PeerMessage } | { ok: false; problem: string } {
  let json: unknown;
  try {
    json = JSON.parse(rawBody);
  } catch {
    return { ok: false, problem: 'the body is not valid JSON' };
  }
  const result = peerMessageSchema.safeParse(json);
  if (result.success) return { ok: true, message: result.data };
  const issue = result.error.issues[0];
  const where = issue === undefined || issue.path.length === 0 ? '(body)' : issue.path.map(String).join('.');
  return { ok: false, problem: `${where}: ${issue?.message ?? 'invalid'}` };
}

export interface PeerRouteOptions {
  readonly verifier: PeerVerifier;
  /** The regions of cluster.peers: messages from any other region are refused. */
  readonly peers: readonly string[];
  readonly clock: Clock;
  readonly logger: Logger;
  /**
   * Called with each accepted message, this replica's clock when it arrived, and the sender's
   * clock when it was signed (their difference is the clocks' offset, give or take the transit).
   */
  readonly onMessage: (message: PeerMessage, receivedAt: number, sentAt: number | undefined) => void;
}

export interface PeerRoute {
  readonly route: Route;
  /** Refusals so far, by reason (only reasons that happened). */
  rejected(): Record<string, number>;
}

export function peerRoute(options: PeerRouteOptions): PeerRoute {
  const { verifier, clock, logger, onMessage } = options;
  const knownPeers = new Set(options.peers);
  const counts = new Map<PeerRejection, number>();
  /** Per reason: when it was last logged, and how many were not logged since. */
  const logState = new Map<PeerRejection, { loggedAt: number; suppressed: number }>();

  const reject = (reason: PeerRejection, detail: Record<string, unknown>, headers?: Readonly<Record<string, string>>): ApiError => {
    counts.set(reason, (counts.get(reason) ?? 0) + 1);
    const now = clock.now();
    const last = logState.get(reason);
    if (last === undefined || now - last.loggedAt >= REJECT_LOG_INTERVAL_MS || now < last.loggedAt) {
      logger.warn({ reason, ...detail, suppressedSinceLastLine: last?.suppressed ?? 0 }, 'peer message rejected');
      logState.set(reason, { loggedAt: now, suppressed: 0 });
    } else {
      last.suppressed += 1;
    }
    return new ApiError(401, 'DQ_PEER_REJECTED', `peer message rejected: ${reason}`, headers === undefined ? {} : { headers });
  };

  const route: Route = {
    method: 'POST',
    path: PEER_PATH,
    auth: false,
    rawBodyOnly: true,
    maxBodyBytes: MAX_PEER_BODY_BYTES,
    handle: (req) => {
      const rawBody = req.rawBody;
      const headers = req.headers;
      if (rawBody === undefined || headers === undefined) return Promise.reject(reject('malformed', { problem: 'no raw body or headers' }));
      const check = verifier.verify(headers, rawBody);
      if (!check.ok) {
        // A stale message is correctly signed: its sender's clock is off (or it is an old capture).
        // The answer tells it this replica's clock, signed, so a sender that is off can say by how much.
        const answer = check.reason === 'stale' ? verifier.staleAnswer(headers) : undefined;
        return Promise.reject(reject(check.reason, {}, answer));
      }
      const parsed = parsePeerMessage(rawBody);
      if (!parsed.ok) return Promise.reject(reject('malformed', { problem: parsed.problem }));
      if (!knownPeers.has(parsed.message.region)) {
        return Promise.reject(reject('unknown-peer', { region: parsed.message.region.slice(0, 100) }));
      }
      onMessage(parsed.message, clock.now(), signedSendTime(headers));
      return Promise.resolve({ status: 204, body: null });
    },
  };

  return {
    route,
    rejected: () => Object.fromEntries(counts),
  };
}
