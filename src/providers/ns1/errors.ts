import { DnsQuorumError } from '../../lib/errors.js';
import type { ErrorCode } from '../../lib/errors.js';

/**
 * What went wrong with one NS1 API call, as a kind the provider can act on. NS1 answers errors as
 * JSON `{"message": "..."}`, and its 404s are told apart only by that text ("zone not found" vs
 * "record not found", which ns1-go and octoDNS compare exactly), so the kind comes from status
 * and message together.
 */
export type Ns1FailureKind =
  /** 401: the API key was refused. */
  | 'unauthorized'
  /** 403: the key is valid but may not do this. */
  | 'forbidden'
  | 'zone-not-found'
  | 'record-not-found'
  /** Any other 404 (a wrong endpoint path, for one). */
  | 'not-found'
  /** "record already exists" / "zone already exists" (a create of something that is there). */
  | 'already-exists'
  /** Another 4xx: NS1 refused the request as invalid ("Input validation failed (...)"). */
  | 'invalid'
  /** 429, still after every retry. */
  | 'throttled'
  /** 5xx, still after every retry. */
  | 'server'
  /** The connection failed or broke, still after every retry. */
  | 'network'
  /** No answer within the request timeout, still after every retry. */
  | 'timeout'
  /** A 2xx answer that is not what NS1 sends (not JSON, wrong shape, a Link to another host). */
  | 'malformed';

const CODE_OF_KIND: Readonly<Record<Ns1FailureKind, ErrorCode>> = {
  unauthorized: 'DQ_PROVIDER_REJECTED',
  forbidden: 'DQ_PROVIDER_REJECTED',
  'zone-not-found': 'DQ_ZONE_NOT_FOUND',
  'record-not-found': 'DQ_PROVIDER_CONFLICT',
  'not-found': 'DQ_PROVIDER_REJECTED',
  'already-exists': 'DQ_PROVIDER_CONFLICT',
  invalid: 'DQ_PROVIDER_REJECTED',
  throttled: 'DQ_PROVIDER_THROTTLED',
  server: 'DQ_PROVIDER_UNAVAILABLE',
  network: 'DQ_PROVIDER_UNAVAILABLE',
  timeout: 'DQ_PROVIDER_UNAVAILABLE',
  malformed: 'DQ_PROVIDER_UNAVAILABLE',
};

export interface Ns1ApiErrorDetails {
  readonly kind: Ns1FailureKind;
  readonly method: string;
  /** The API path below the endpoint, e.g. "zones/example.com/www.example.com/A". Never the key. */
  readonly path: string;
  readonly status?: number;
  /** NS1's own message (the key scrubbed out, should it ever be echoed). */
  readonly ns1Message?: string;
  /** Requests sent for this call, retries included. */
  readonly attempts: number;
}

/** An NS1 API call that failed for good (after the retries it was allowed). */
export class Ns1ApiError extends DnsQuorumError {
  readonly kind: Ns1FailureKind;
  readonly method: string;
  readonly path: string;
  readonly status: number | undefined;
  readonly ns1Message: string | undefined;
  readonly attempts: number;

  constructor(details: Ns1ApiErrorDetails, reason: string, options?: { cause?: unknown }) {
    const tries = details.attempts > 1 ? ` (${details.attempts} attempts)` : '';
    super(CODE_OF_KIND[details.kind], `NS1 ${details.method} ${details.path}: ${reason}${tries}`, options);
    this.name = 'Ns1ApiError';
    this.kind = details.kind;
    this.method = details.method;
    this.path = details.path;
    this.status = details.status;
    this.ns1Message = details.ns1Message;
    this.attempts = details.attempts;
  }
}

/** The kind of a final (non-retried) HTTP error answer. */
export function kindOfStatus(status: number, message: string): Ns1FailureKind {
  const text = message.toLowerCase();
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 429) return 'throttled';
  if (status >= 500) return 'server';
  // ns1-python prefixes "server error: "; compare what follows as NS1 wrote it.
  if (text.includes('zone not found')) return 'zone-not-found';
  if (text.includes('record not found') || text.includes('record does not exist')) return 'record-not-found';
  if (text.includes('already exists')) return 'already-exists';
  if (status === 404) return 'not-found';
  return 'invalid';
}

/** NS1's `{"message": "..."}`, or the start of whatever else the body held. */
export function messageOfBody(text: string): string {
  const trimmed = text.trim();
  if (trimmed === '') return '';
  try {
    const parsed: unknown = JSON.parse(trimmed);
    if (typeof parsed === 'object' && parsed !== null && 'message' in parsed && typeof parsed.message === 'string') return parsed.message;
  } catch {
    // not JSON: a proxy's HTML page, say
  }
  return trimmed.length > 200 ? `${trimmed.slice(0, 200)}...` : trimmed;
}
