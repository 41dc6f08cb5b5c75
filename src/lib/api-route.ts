import { DnsQuorumError } from './errors.js';
import type { ErrorCode } from './errors.js';

/**
 * The contract between the admin API server (src/control/api/server.ts) and the routes it serves.
 * It lives here, below every layer, because routes come from several layers (the peer exchange,
 * metrics, overrides, status) and none of them may import the server's layer.
 */

export type ApiMethod = 'GET' | 'POST' | 'DELETE';

/**
 * What a bearer token may do: `read` asks (status, overrides, records, audit), `operate` also acts
 * (overrides, releases, reload). api.tokens entries say which; a token that says nothing operates,
 * as every token did before scopes existed.
 */
export const API_SCOPES = ['read', 'operate'] as const;
export type ApiScope = (typeof API_SCOPES)[number];

/** Whether a token of scope `held` may call a route that needs `needed`: operate includes read. */
export function scopeAllows(held: ApiScope, needed: ApiScope): boolean {
  return held === 'operate' || needed === 'read';
}

export interface ApiRequest {
  readonly method: ApiMethod;
  /** The path as requested, without the query string. */
  readonly path: string;
  /** Values of the route's `:name` segments, decoded. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** The parsed JSON body; null when the request had none, or when the route asked for the raw body only. */
  readonly body: unknown;
  /** The body exactly as sent (UTF-8), for routes that verify a signature over it. Always set by AdminApi. */
  readonly rawBody?: string;
  /** The request headers (names lower-case), for routes that authenticate by their own headers. Always set by AdminApi. */
  readonly headers?: Readonly<Record<string, string | readonly string[] | undefined>>;
  /**
   * Who asks, as the client names itself in X-DnsQuorum-Actor, for audit records. Only set on
   * authenticated routes: the token proves the caller may act, the header says who it is.
   */
  readonly actor: string | null;
  /** The name of the token that authenticated the request (api.token is named "api"); null on open routes. */
  readonly tokenName: string | null;
}

export type ApiResponse =
  | { readonly status: number; readonly body: unknown }
  | { readonly status: number; readonly text: string; readonly contentType: string };

export interface Route {
  readonly method: ApiMethod;
  /** Exact path, where a segment written `:name` matches any one segment (e.g. /v1/overrides/:id). */
  readonly path: string;
  /**
   * The bearer token's scope this route needs: `read` for what only looks, `operate` for what acts;
   * false when no token is needed (metrics are scraped without one, peers sign instead). `true`
   * means `operate`, so that a route declared before scopes existed never opens to a read token.
   */
  readonly auth: boolean | ApiScope;
  /**
   * The body is not parsed as JSON (req.body is null; req.rawBody has it): for routes that check
   * a signature over the exact bytes before trusting, and that answer a bad body themselves.
   */
  readonly rawBodyOnly?: boolean;
  /** This route's body size limit; MAX_BODY_BYTES when unset (peer messages carry every verdict of a region). */
  readonly maxBodyBytes?: number;
  handle(req: ApiRequest): Promise<ApiResponse>;
}

/** What a route handler throws to answer with a specific status and error code. */
export class ApiError extends DnsQuorumError {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, code: ErrorCode, message: string, options?: { cause?: unknown; headers?: Readonly<Record<string, string>> }) {
    super(code, message, options);
    this.name = 'ApiError';
    this.status = status;
    this.headers = options?.headers ?? {};
  }
}
