import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../lib/clock.js';

/**
 * Peer message authentication: HMAC-SHA256 with the cluster secret over the send time, a nonce and
 * the exact body. The time bounds a replay window; the nonce, remembered for that window, stops a
 * captured message from being replayed inside it. The time is only compared with a wide window,
 * never used for health, so clock skew between replicas changes no decision.
 *
 * A `stale` refusal is answered with the receiver's clock, signed over the request's nonce: the
 * sender learns by how much the two clocks differ (clock skew beyond the window is reported, see
 * docs/cluster.md), and nobody without the secret can make it believe a figure.
 */

export const TIME_HEADER = 'x-dnsquorum-time';
export const NONCE_HEADER = 'x-dnsquorum-nonce';
export const SIGNATURE_HEADER = 'x-dnsquorum-signature';

/**
 * Messages whose signed time is further than this from the receiver's clock are stale. Equal to
 * HLC_MAX_FORWARD_MS (src/lib/hlc.ts): a peer's override stamps may be as far ahead as its messages.
 */
export const DEFAULT_WINDOW_MS = 5 * 60_000;
/** Nonces remembered at most; bounds memory when a peer (or an attacker with the secret) floods. */
export const DEFAULT_MAX_NONCES = 100_000;

const SIGNATURE_VERSION = 'v1';
const NONCE_PATTERN = /^[0-9a-f]{32}$/;
const TIME_PATTERN = /^\d{1,16}$/;
const SIGNATURE_PATTERN = /^v1=([0-9a-f]{64})$/;

function hmacHex(secret: string, time: string, nonce: string, body: string): string {
  return createHmac('sha256', secret).update(`${time}\n${nonce}\n${body}`, 'utf8').digest('hex');
}

/** The headers that authenticate one peer request. `now` is the sender's clock (epoch ms). */
export function signPeerRequest(secret: string, body: string, now: number, nonce?: string): Record<string, string> {
  const time = String(Math.trunc(now));
  const usedNonce = nonce ?? randomBytes(16).toString('hex');
  return {
    [TIME_HEADER]: time,
    [NONCE_HEADER]: usedNonce,
    [SIGNATURE_HEADER]: `${SIGNATURE_VERSION}=${hmacHex(secret, time, usedNonce, body)}`,
  };
}

/** What a stale answer's signature covers besides the time and the request's nonce, so it never passes for a request's. */
const STALE_ANSWER = 'answer: stale';

/** Headers of a `stale` refusal: the receiver's clock (`now`, epoch ms), signed over the refused request's nonce. */
export function signStaleAnswer(secret: string, now: number, requestNonce: string): Record<string, string> {
  const time = String(Math.trunc(now));
  return { [TIME_HEADER]: time, [SIGNATURE_HEADER]: `${SIGNATURE_VERSION}=${hmacHex(secret, time, requestNonce, STALE_ANSWER)}` };
}

/**
 * The peer's clock from a `stale` refusal's headers, when they are well-formed and signed with the
 * cluster secret over the nonce of the request they answer; undefined otherwise (an older peer, or
 * an answer that did not come from a replica with the secret).
 */
export function staleAnswerTime(secret: string, requestNonce: string, time: string | null, signature: string | null): number | undefined {
  if (time === null || signature === null || !TIME_PATTERN.test(time)) return undefined;
  const given = SIGNATURE_PATTERN.exec(signature)?.[1];
  if (given === undefined) return undefined;
  const expected = Buffer.from(hmacHex(secret, time, requestNonce, STALE_ANSWER), 'hex');
  const actual = Buffer.from(given, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected) ? Number(time) : undefined;
}

/** The signed send time of a request that verify() accepted (epoch ms of the sender's clock). */
export function signedSendTime(headers: PeerHeaders): number | undefined {
  const time = singleHeader(headers, TIME_HEADER);
  return time !== undefined && TIME_PATTERN.test(time) ? Number(time) : undefined;
}

/** The nonce of a request, when it carries exactly one well-formed one. */
export function requestNonce(headers: PeerHeaders): string | undefined {
  const nonce = singleHeader(headers, NONCE_HEADER);
  return nonce !== undefined && NONCE_PATTERN.test(nonce) ? nonce : undefined;
}

export type PeerRejectReason = 'malformed' | 'bad-signature' | 'stale' | 'replayed';
export type PeerVerdictResult = { readonly ok: true } | { readonly ok: false; readonly reason: PeerRejectReason };

export type PeerHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

export interface PeerVerifierOptions {
  readonly secret: string;
  readonly clock: Clock;
  readonly windowMs?: number;
  readonly maxNonces?: number;
}

function singleHeader(headers: PeerHeaders, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value : undefined;
}

export class PeerVerifier {
  private readonly secret: string;
  private readonly clock: Clock;
  private readonly windowMs: number;
  private readonly maxNonces: number;
  /** Nonce → the receiver's time it was accepted, in insertion (so time) order: eviction walks from the front. */
  private readonly nonces = new Map<string, number>();

  constructor(options: PeerVerifierOptions) {
    this.secret = options.secret;
    this.clock = options.clock;
    this.windowMs = options.windowMs ?? DEFAULT_WINDOW_MS;
    this.maxNonces = options.maxNonces ?? DEFAULT_MAX_NONCES;
  }

  /** The headers that answer a request refused as stale: this replica's clock, signed over the request's nonce. */
  staleAnswer(headers: PeerHeaders): Record<string, string> {
    const nonce = requestNonce(headers);
    return nonce === undefined ? {} : signStaleAnswer(this.secret, this.clock.now(), nonce);
  }

  /** How many nonces are remembered now (for tests and status). */
  rememberedNonces(): number {
    return this.nonces.size;
  }

  verify(headers: PeerHeaders, rawBody: string): PeerVerdictResult {
    const time = singleHeader(headers, TIME_HEADER);
    const nonce = singleHeader(headers, NONCE_HEADER);
    const signature = singleHeader(headers, SIGNATURE_HEADER);
    if (time === undefined || nonce === undefined || signature === undefined) return { ok: false, reason: 'malformed' };
    const given = SIGNATURE_PATTERN.exec(signature)?.[1];
    if (!TIME_PATTERN.test(time) || !NONCE_PATTERN.test(nonce) || given === undefined) return { ok: false, reason: 'malformed' };

    const expected = Buffer.from(hmacHex(this.secret, time, nonce, rawBody), 'hex');
    const actual = Buffer.from(given, 'hex');
    // Both are 32 bytes (the pattern guarantees 64 hex digits), as timingSafeEqual needs.
    if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) return { ok: false, reason: 'bad-signature' };

    const now = this.clock.now();
    if (Math.abs(now - Number(time)) > this.windowMs) return { ok: false, reason: 'stale' };

    this.evict(now);
    if (this.nonces.has(nonce)) return { ok: false, reason: 'replayed' };
    // Only a correctly signed, in-window message records its nonce, so nobody without the secret can burn nonces.
    this.nonces.set(nonce, now);
    return { ok: true };
  }

  /**
   * Forgets nonces older than twice the window: a message signed at t is accepted while the
   * receiver's clock is within t ± window, so its nonce must be remembered for up to 2·window after
   * it was first seen. Beyond maxNonces the oldest go first.
   */
  private evict(now: number): void {
    for (const [nonce, seenAt] of this.nonces) {
      if (now - seenAt <= 2 * this.windowMs && this.nonces.size < this.maxNonces) break;
      this.nonces.delete(nonce);
    }
  }
}
