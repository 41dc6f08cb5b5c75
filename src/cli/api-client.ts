import { access, readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { loadConfigFile } from '../config/load.js';
import { API_TOKEN_NAME } from '../config/schema.js';
import type { HostPort, ResolvedConfig } from '../config/types.js';
import { startDeadline } from '../lib/deadline.js';
import { DnsQuorumError, ERROR_CODES, UsageError, errorMessage } from '../lib/errors.js';
import type { ErrorCode } from '../lib/errors.js';
import { configPath, stringOption } from './args.js';
import type { OptionSpec, ParsedCommand } from './args.js';

/**
 * The CLI's side of the admin API: where it is (--api, $DNSQUORUM_API_URL, the config's
 * api.listen), the bearer token ($DNSQUORUM_API_TOKEN, --token-file, the config's api.token),
 * who acts (X-DnsQuorum-Actor), and the API's JSON errors turned back into DnsQuorumErrors with
 * the server's code.
 */

/** The daemon answers from memory; anything slower means it is stuck or the address is wrong. */
export const DEFAULT_API_TIMEOUT_MS = 5_000;

/** Options every command that talks to the admin API takes (besides --config). */
export const API_CLIENT_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  api: { type: 'string', valueName: 'URL', description: 'admin API base URL, e.g. http://127.0.0.1:8053' },
  'token-file': { type: 'string', valueName: 'FILE', description: 'file holding the admin API token' },
  json: { type: 'boolean', description: 'print the answer as JSON (for scripts)' },
};

/** For command summaries. */
export const API_TARGET_HELP =
  "API address: --api, else $DNSQUORUM_API_URL, else the config's api.listen. Token: $DNSQUORUM_API_TOKEN,\n" +
  "else --token-file, else the config's api.token.";

export interface ApiTarget {
  /** The API's base URL, ending in "/" (a path prefix such as /dnsquorum/ is kept). */
  readonly base: URL;
  readonly token: string | undefined;
  /** Where the token came from, for error messages. */
  readonly tokenFrom: string;
}

/** An admin API call that failed: `httpStatus` is the API's answer, null when none came. */
export class ApiCallError extends DnsQuorumError {
  readonly httpStatus: number | null;

  constructor(code: ErrorCode, message: string, httpStatus: number | null, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'ApiCallError';
    this.httpStatus = httpStatus;
  }
}

function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** The address a client uses for api.listen: a wildcard listen address is reached on loopback. */
function apiUrlFromListen(listen: HostPort): string {
  const host = listen.host === '0.0.0.0' ? '127.0.0.1' : listen.host === '::' ? '::1' : listen.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${listen.port}`;
}

function baseUrl(command: string, base: string, from: string): URL {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new UsageError(`${command}: ${from} ${JSON.stringify(base)} is not a URL (expected e.g. http://127.0.0.1:8053)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`${command}: ${from} ${base}: only http: and https: URLs are supported`);
  // Relative resolution keeps a path prefix (a reverse proxy mounting the API under /dnsquorum/).
  return new URL(url.href.endsWith('/') ? url.href : `${url.href}/`);
}

async function readTokenFile(command: string, file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
    throw new UsageError(`${command}: cannot read --token-file ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : errorMessage(err)}`);
  }
  const token = text.trim();
  if (token === '') throw new UsageError(`${command}: --token-file ${file} is empty`);
  return token;
}

/** Finds the API and its token. The config is read only when the address or the token must come from it. */
export async function resolveApiTarget(command: string, values: ParsedCommand['values']): Promise<ApiTarget> {
  const apiFlag = stringOption(values, 'api');
  const apiEnv = process.env.DNSQUORUM_API_URL;
  const tokenEnv = process.env.DNSQUORUM_API_TOKEN;
  const tokenFile = stringOption(values, 'token-file');
  const path = configPath(values);

  const needConfigForUrl = apiFlag === undefined && (apiEnv === undefined || apiEnv === '');
  const needConfigForToken = (tokenEnv === undefined || tokenEnv === '') && tokenFile === undefined;
  let config: ResolvedConfig | undefined;
  if (needConfigForUrl) {
    if (!(await exists(path))) {
      throw new UsageError(`${command}: no admin API address: pass --api URL, set DNSQUORUM_API_URL, or point --config at the daemon's config (${path}: no such file)`);
    }
    config = await loadConfigFile(path);
  } else if (needConfigForToken && (await exists(path))) {
    config = await loadConfigFile(path);
  }

  let base: URL;
  if (apiFlag !== undefined) base = baseUrl(command, apiFlag, '--api');
  else if (apiEnv !== undefined && apiEnv !== '') base = baseUrl(command, apiEnv, 'DNSQUORUM_API_URL');
  else if (config !== undefined) base = baseUrl(command, apiUrlFromListen(config.api.listen), 'api.listen');
  else throw new DnsQuorumError('DQ_INTERNAL', `${command}: the config was needed for the API address but not loaded`);

  if (tokenEnv !== undefined && tokenEnv !== '') return { base, token: tokenEnv, tokenFrom: 'DNSQUORUM_API_TOKEN' };
  if (tokenFile !== undefined) return { base, token: await readTokenFile(command, tokenFile), tokenFrom: `--token-file ${tokenFile}` };
  const configToken = config?.api.tokens.get(API_TOKEN_NAME);
  if (config !== undefined && configToken !== undefined) return { base, token: configToken, tokenFrom: `api.token in ${config.source}` };
  return { base, token: undefined, tokenFrom: 'nowhere (set DNSQUORUM_API_TOKEN or pass --token-file)' };
}

/** Why a fetch failed, in words: undici hides the socket error in `cause`. */
function fetchFailure(err: unknown): string {
  const cause = err instanceof Error ? err.cause : undefined;
  if (typeof cause === 'object' && cause !== null && 'code' in cause && typeof cause.code === 'string') {
    const words: Record<string, string> = {
      ECONNREFUSED: 'connection refused (is the daemon running, and is api.listen this address?)',
      ECONNRESET: 'the connection was reset',
      ENOTFOUND: 'no such host',
      EHOSTUNREACH: 'host unreachable',
      ETIMEDOUT: 'the connection timed out',
    };
    return words[cause.code] ?? `${cause.code}: ${errorMessage(cause)}`;
  }
  return errorMessage(cause ?? err);
}

/** The API's `{ error: { code, message } }`, when the answer has that shape. */
function apiErrorBody(text: string): { code: string; message: string } | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || !('error' in parsed)) return undefined;
    const { error } = parsed;
    if (typeof error !== 'object' || error === null || !('code' in error) || !('message' in error)) return undefined;
    return typeof error.code === 'string' && typeof error.message === 'string' ? { code: error.code, message: error.message } : undefined;
  } catch {
    return undefined;
  }
}

/** "overrides[0].action.kind" */
function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : `${out === '' ? '' : '.'}${String(key)}`;
  return out === '' ? 'the answer' : out;
}

/** Checks an answer against its schema; a mismatch is DQ_API_BAD_ANSWER naming the fields. */
export function parseAnswer<T>(schema: z.ZodType<T>, json: unknown, what: string): T {
  const result = schema.safeParse(json);
  if (result.success) return result.data;
  const problems = result.error.issues.slice(0, 5).map((issue) => `${fieldPath(issue.path)}: ${issue.message}`);
  const more = result.error.issues.length - problems.length;
  throw new DnsQuorumError('DQ_API_BAD_ANSWER', `the ${what} answer is not what this CLI understands: ${problems.join('; ')}${more > 0 ? ` (and ${more} more)` : ''}`);
}

export interface ApiAnswer {
  readonly status: number;
  /** The body as sent, for --json output. */
  readonly text: string;
  readonly json: unknown;
}

export interface ApiRequestOptions {
  readonly body?: unknown;
  readonly query?: Readonly<Record<string, string>>;
  /** Gives up (rejecting with the signal's reason) when it aborts. */
  readonly signal?: AbortSignal;
  /** This request's timeout; the client's otherwise. */
  readonly timeoutMs?: number;
}

export class ApiClient {
  private readonly timeoutMs: number;
  private readonly actor: string | undefined;

  constructor(
    readonly target: ApiTarget,
    options: { readonly actor?: string; readonly timeoutMs?: number } = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_API_TIMEOUT_MS;
    this.actor = options.actor;
  }

  /** `path` is relative to the base, e.g. "v1/overrides/o-0123456789ab". */
  url(path: string, query: Readonly<Record<string, string>> = {}): URL {
    const url = new URL(path.replace(/^\/+/, ''), this.target.base);
    for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
    return url;
  }

  get(path: string, options: ApiRequestOptions = {}): Promise<ApiAnswer> {
    return this.request('GET', path, options);
  }

  post(path: string, body: unknown, options: ApiRequestOptions = {}): Promise<ApiAnswer> {
    return this.request('POST', path, { ...options, body });
  }

  delete(path: string, options: ApiRequestOptions = {}): Promise<ApiAnswer> {
    return this.request('DELETE', path, options);
  }

  /**
   * One request. Rejects with an ApiCallError: DQ_API_UNREACHABLE when no answer came, the API's
   * own code (and its HTTP status) when it answered an error, DQ_API_BAD_ANSWER when the answer
   * is not the API's JSON.
   */
  async request(method: 'GET' | 'POST' | 'DELETE', path: string, options: ApiRequestOptions = {}): Promise<ApiAnswer> {
    const url = this.url(path, options.query);
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.target.token !== undefined) headers.authorization = `Bearer ${this.target.token}`;
    if (this.actor !== undefined) headers['x-dnsquorum-actor'] = this.actor;
    let body: string | undefined;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    const deadline = startDeadline(options.signal === undefined ? [] : [options.signal], timeoutMs);
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, { method, headers, signal: deadline.signal, redirect: 'error', ...(body === undefined ? {} : { body }) });
      text = await response.text();
    } catch (err) {
      options.signal?.throwIfAborted();
      const why = deadline.timedOut() ? `no answer within ${timeoutMs / 1000} s` : fetchFailure(err);
      throw new ApiCallError('DQ_API_UNREACHABLE', `cannot reach the admin API at ${url.href}: ${why}`, null, { cause: err });
    } finally {
      deadline.dispose();
    }
    if (!response.ok) {
      const error = apiErrorBody(text);
      if (error === undefined) {
        throw new ApiCallError(
          'DQ_API_BAD_ANSWER',
          `the admin API at ${url.href} answered HTTP ${response.status} without an error body (is this the dnsquorum admin API?)`,
          response.status,
        );
      }
      const hint = response.status === 401 ? ` (token from ${this.target.tokenFrom})` : '';
      // A code this CLI does not know (a newer daemon) is kept in the message.
      if (!isErrorCode(error.code)) throw new ApiCallError('DQ_API_BAD_ANSWER', `${error.code}: ${error.message}${hint}`, response.status);
      throw new ApiCallError(error.code, `${error.message}${hint}`, response.status);
    }
    try {
      return { status: response.status, text, json: JSON.parse(text) as unknown };
    } catch (err) {
      throw new ApiCallError('DQ_API_BAD_ANSWER', `the admin API at ${url.href} answered with invalid JSON: ${errorMessage(err)}`, response.status);
    }
  }
}

/** The answer's text as printed by --json: exactly as the API sent it, ending in one newline. */
export function jsonLine(text: string): string {
  return text.endsWith('\n') ? text : `${text}\n`;
}
