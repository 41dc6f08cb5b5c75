import type { PeerConfig } from '../config/types.js';
import type { Clock } from '../lib/clock.js';
import { startDeadline } from '../lib/deadline.js';
import { DnsQuorumError, errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { Wakeup } from '../lib/wakeup.js';
import { NONCE_HEADER, SIGNATURE_HEADER, TIME_HEADER, signPeerRequest, staleAnswerTime } from './auth.js';
import { PEER_PATH } from './messages.js';
import type { PeerMessage } from './messages.js';
import { MAX_AGE_MS, MAX_VERDICT_REASON_LENGTH } from './peer-route.js';

/**
 * The sending side of the peer exchange: this replica's message, signed, posted to every peer every
 * intervalMs and at once on notify(). Each peer is posted to on its own: a slow or dead peer never
 * delays another, and a peer whose previous post is still pending is skipped for that round rather
 * than piling up requests.
 *
 * Every post ends in one of three outcomes, each reported (`answered`): the peer accepted the
 * message; it answered but refused it (it is alive: a `stale` refusal means the two clocks differ
 * by more than the replay window, and carries the peer's clock so the difference can be measured);
 * or no answer came at all (refused connection, reset, timeout). Only the last is evidence that a
 * peer is gone.
 */

/** How one post to a peer ended, at `at` on this replica's clock. */
export type PostOutcome =
  | { readonly kind: 'accepted'; readonly at: number }
  | {
      readonly kind: 'refused';
      readonly at: number;
      /** The peer refused the message as stale: its clock and ours differ by more than its replay window. */
      readonly stale: boolean;
      /** The peer's clock minus ours, from a signed stale answer (to within half the round trip); null without one. */
      readonly offsetMs: number | null;
      readonly error: string;
    }
  | { readonly kind: 'unanswered'; readonly at: number; readonly error: string };

export interface PeerSenderOptions {
  /** This replica's region (for logs). */
  readonly self: string;
  readonly peers: readonly PeerConfig[];
  readonly secret: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly intervalMs: number;
  readonly requestTimeoutMs: number;
  /** Builds the message to send now; called once per round. */
  readonly message: () => PeerMessage;
  readonly fetch?: typeof fetch;
  /** Told how each post ended (ClusterView.answered), for the break-glass decision and the skew report. */
  readonly answered?: (region: string, outcome: PostOutcome) => void;
}

export interface PeerSendStatus {
  readonly region: string;
  readonly url: string;
  /** When a peer last accepted our message (this replica's clock); null if never. */
  readonly lastSentAt: number | null;
  /** Why the last post failed; null once one succeeded since (or before the first attempt). */
  readonly lastSendError: string | null;
}

interface PeerTarget {
  readonly region: string;
  readonly url: string;
  readonly endpoint: string;
  lastSentAt: number | null;
  lastSendError: string | null;
  /** Its last answer refused our message as stale (clock skew), for logging the change once. */
  refusesStale: boolean;
  inFlight: Promise<void> | undefined;
}

const MAX_ERROR_TEXT = 300;

/** The peer's exchange URL: its base URL (which may carry a path prefix, with or without a trailing slash) plus PEER_PATH. */
export function peerExchangeUrl(region: string, base: string): string {
  let parsed: URL;
  try {
    parsed = new URL(base);
  } catch (err) {
    throw new DnsQuorumError('DQ_USAGE', `cluster.peers ${region}: url ${JSON.stringify(base)} is not a URL`, { cause: err });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new DnsQuorumError('DQ_USAGE', `cluster.peers ${region}: url must be http:// or https://, not ${parsed.protocol}`);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new DnsQuorumError('DQ_USAGE', `cluster.peers ${region}: url must not carry credentials; the cluster secret authenticates`);
  }
  parsed.search = '';
  parsed.hash = '';
  parsed.pathname = `${parsed.pathname.replace(/\/+$/, '')}${PEER_PATH}`;
  return parsed.toString();
}

/**
 * Keeps every verdict within what receivers accept (peer-route.ts), so one long probe error or one
 * ancient verdict never gets the whole message refused as malformed and this replica taken for silent.
 */
export function withinPeerLimits(message: PeerMessage): PeerMessage {
  return {
    ...message,
    verdicts: message.verdicts.map((v) => ({
      ...v,
      ageMs: Number.isFinite(v.ageMs) ? Math.min(Math.max(0, v.ageMs), MAX_AGE_MS - 1) : MAX_AGE_MS - 1,
      reason: v.reason.length > MAX_VERDICT_REASON_LENGTH ? `${v.reason.slice(0, MAX_VERDICT_REASON_LENGTH - 1)}…` : v.reason,
    })),
  };
}

/** A failure as one short line: the fetch error and its cause (ECONNREFUSED, certificate errors), or the peer's error answer. */
function describeFailure(err: unknown): string {
  if (err instanceof Error && err.cause !== undefined) {
    const cause = err.cause;
    const code = typeof cause === 'object' && cause !== null && 'code' in cause && typeof cause.code === 'string' ? cause.code : undefined;
    return `${err.message}: ${code ?? errorMessage(cause)}`;
  }
  return errorMessage(err);
}

/** The error the peer answered, from its JSON error body when it has one; `stale` when it refused the message as stale. */
async function describeAnswer(res: Response): Promise<{ text: string; stale: boolean }> {
  const text = await res.text();
  let detail = text.trim();
  let stale = false;
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed === 'object' && parsed !== null && 'error' in parsed) {
      const error = parsed.error;
      if (typeof error === 'object' && error !== null && 'code' in error && 'message' in error) {
        detail = `${String(error.code)}: ${String(error.message)}`;
        stale = res.status === 401 && error.code === 'DQ_PEER_REJECTED' && String(error.message).endsWith(': stale');
      }
    }
  } catch {
    // Not JSON: keep the text as it is.
  }
  return { text: `HTTP ${res.status}${detail === '' ? '' : ` ${detail.slice(0, MAX_ERROR_TEXT)}`}`, stale };
}

/** "600.0 s ahead of" / "2.5 s behind" this replica's clock. */
export function describeOffset(offsetMs: number): string {
  return `${(Math.abs(offsetMs) / 1000).toFixed(1)} s ${offsetMs >= 0 ? 'ahead of' : 'behind'}`;
}

export class PeerSender {
  private readonly self: string;
  private readonly secret: string;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly intervalMs: number;
  private readonly requestTimeoutMs: number;
  private readonly message: () => PeerMessage;
  private readonly fetchImpl: typeof fetch;
  private readonly targets: readonly PeerTarget[];
  private readonly wakeup: Wakeup;
  private readonly answered: ((region: string, outcome: PostOutcome) => void) | undefined;

  constructor(options: PeerSenderOptions) {
    this.self = options.self;
    this.secret = options.secret;
    this.clock = options.clock;
    this.wakeup = new Wakeup(options.clock);
    this.logger = options.logger;
    this.intervalMs = options.intervalMs;
    this.requestTimeoutMs = options.requestTimeoutMs;
    this.message = options.message;
    this.fetchImpl = options.fetch ?? fetch;
    this.answered = options.answered;
    this.targets = options.peers.map((peer) => ({
      region: peer.region,
      url: peer.url,
      endpoint: peerExchangeUrl(peer.region, peer.url),
      lastSentAt: null,
      lastSendError: null,
      refusesStale: false,
      inFlight: undefined,
    }));
  }

  /** Send a round now (a verdict changed), without waiting for the interval. */
  notify(): void {
    this.wakeup.notify();
  }

  /** Sends rounds until the signal aborts; then cancels the posts in flight and returns once they have ended. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      this.sendRound(signal);
      await this.wakeup.wait(this.intervalMs, signal);
    }
    await Promise.all(this.targets.flatMap((t) => (t.inFlight === undefined ? [] : [t.inFlight])));
  }

  status(): PeerSendStatus[] {
    return this.targets.map((t) => ({ region: t.region, url: t.url, lastSentAt: t.lastSentAt, lastSendError: t.lastSendError }));
  }

  private sendRound(signal: AbortSignal): void {
    let body: string;
    try {
      body = JSON.stringify(withinPeerLimits(this.message()));
    } catch (err) {
      this.logger.error({ err }, 'peer exchange: could not build this replica\'s message; skipping this round');
      return;
    }
    for (const target of this.targets) {
      // Still waiting for the previous post: skip this peer for this round instead of queueing behind it.
      if (target.inFlight !== undefined) continue;
      target.inFlight = this.post(target, body, signal).finally(() => {
        target.inFlight = undefined;
      });
    }
  }

  /** Posts once; never rejects (every outcome is recorded on the target and reported). */
  private async post(target: PeerTarget, body: string, signal: AbortSignal): Promise<void> {
    const sentAt = this.clock.now();
    const signed = signPeerRequest(this.secret, body, sentAt);
    const headers = { ...signed, 'content-type': 'application/json' };
    let outcome: PostOutcome;
    const deadline = startDeadline(signal, this.requestTimeoutMs);
    try {
      const res = await this.fetchImpl(target.endpoint, { method: 'POST', headers, body, signal: deadline.signal, redirect: 'error' });
      if (res.ok) {
        await res.body?.cancel();
        outcome = { kind: 'accepted', at: this.clock.now() };
      } else {
        const answer = await describeAnswer(res);
        const answeredAt = this.clock.now();
        const peerTime = answer.stale ? staleAnswerTime(this.secret, signed[NONCE_HEADER] ?? '', res.headers.get(TIME_HEADER), res.headers.get(SIGNATURE_HEADER)) : undefined;
        // The peer read its clock between our send and its answer: the midpoint is the best guess of ours then.
        const offsetMs = peerTime === undefined ? null : Math.round(peerTime - (sentAt + answeredAt) / 2);
        const error = offsetMs === null ? answer.text : `${answer.text} (its clock is ${describeOffset(offsetMs)} this replica's)`;
        outcome = { kind: 'refused', at: answeredAt, stale: answer.stale, offsetMs, error };
      }
    } catch (err) {
      // Shutting down: the post was cancelled on purpose, which says nothing about the peer.
      if (signal.aborted) return;
      outcome = { kind: 'unanswered', at: this.clock.now(), error: deadline.timedOut() ? `no answer within ${this.requestTimeoutMs} ms` : describeFailure(err) };
    } finally {
      deadline.dispose();
    }
    this.record(target, outcome);
    this.answered?.(target.region, outcome);
  }

  private record(target: PeerTarget, outcome: PostOutcome): void {
    const refusesStale = outcome.kind === 'refused' && outcome.stale;
    if (refusesStale && !target.refusesStale) {
      const offset = outcome.offsetMs === null ? 'by an unknown amount (the peer did not sign its clock)' : `its clock is ${describeOffset(outcome.offsetMs)} this replica's`;
      this.logger.warn(
        { from: this.self, peer: target.region, url: target.url, offsetMs: outcome.offsetMs, error: outcome.error },
        `clock skew: peer ${target.region} refuses this replica's messages as stale: ${offset}; nothing is exchanged with it until the clocks agree to within the replay window (check NTP on both)`,
      );
    } else if (!refusesStale && target.refusesStale && outcome.kind !== 'unanswered') {
      this.logger.info({ from: this.self, peer: target.region, url: target.url }, `clock skew: peer ${target.region} no longer refuses this replica's messages as stale`);
    }
    if (outcome.kind !== 'unanswered') target.refusesStale = refusesStale;
    const failure = outcome.kind === 'accepted' ? undefined : outcome.error;
    if (failure === undefined) {
      if (target.lastSendError !== null) {
        this.logger.info({ from: this.self, peer: target.region, url: target.url, was: target.lastSendError }, 'peer exchange: peer reachable again');
      }
      target.lastSentAt = this.clock.now();
      target.lastSendError = null;
      return;
    }
    if (target.lastSendError === null && !refusesStale) {
      this.logger.warn({ from: this.self, peer: target.region, url: target.url, error: failure }, 'peer exchange: cannot deliver to peer');
    } else if (target.lastSendError !== failure) {
      this.logger.debug({ from: this.self, peer: target.region, url: target.url, error: failure }, 'peer exchange: still cannot deliver to peer');
    }
    target.lastSendError = failure;
  }
}
