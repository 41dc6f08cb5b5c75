import { access, readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { z } from 'zod';
import { formatDuration, parseDuration } from '../config/duration.js';
import { loadConfigFile } from '../config/load.js';
import { API_TOKEN_NAME } from '../config/schema.js';
import type { HostPort, ResolvedConfig } from '../config/types.js';
import { startDeadline } from '../lib/deadline.js';
import { readCaBundle } from '../lib/tls-files.js';
import { DnsQuorumError, ERROR_CODES, UsageError, errorMessage } from '../lib/errors.js';
import type { ErrorCode } from '../lib/errors.js';
import { configPath, stringOption } from './args.js';
import type { OptionSpec, ParsedCommand } from './args.js';

/**
 * The CLI's side of the admin API: where it is (--api, $DNSQUORUM_API_URL, the config's
 * api.listen), the bearer token ($DNSQUORUM_API_TOKEN, --token-file, the config's api.token),
 * who acts (X-DnsQuorum-Actor), and the API's JSON errors turned back into DnsQuorumErrors with
 * the server's code.
 *
 * A failure without an answer says whether the request was sent. Not sent (connection refused,
 * no such host, no route, no connection in time, a certificate refused) is DQ_API_UNREACHABLE:
 * nothing happened at the daemon. Sent but not answered in time is DQ_API_NO_ANSWER: the daemon
 * may have done it (a busy daemon answers late, but it answers). Changes carry an
 * Idempotency-Key and are sent again with it (`change`), which the daemon answers with its first
 * answer instead of acting twice. Requests go over node:http(s), not fetch, because only it
 * tells when the request has left: `finish` fires once the whole request is handed to the
 * operating system.
 */

/** The daemon answers from memory; anything slower means it is stuck, overloaded, or the address is wrong. */
export const DEFAULT_API_TIMEOUT_MS = 5_000;
/** How many times in all a change is sent when it was sent and got no answer; each try waits twice as long as the one before. */
export const CHANGE_ATTEMPTS = 3;
/** A pause before a change is sent again, so that a reset connection is not retried in the same instant. */
const RETRY_PAUSE_MS = 200;

/** Options every command that talks to the admin API takes (besides --config). */
export const API_CLIENT_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  api: { type: 'string', valueName: 'URL', description: 'admin API base URL, e.g. http://127.0.0.1:8053' },
  'token-file': { type: 'string', valueName: 'FILE', description: 'file holding the admin API token' },
  timeout: { type: 'string', valueName: 'DURATION', description: `how long a request waits for the admin API's answer (default ${formatDuration(DEFAULT_API_TIMEOUT_MS)})` },
  ca: { type: 'string', valueName: 'FILE', description: "PEM CA bundle an https admin API's certificate must chain to" },
  json: { type: 'boolean', description: 'print the answer as JSON (for scripts)' },
};

/** For command summaries. */
export const API_TARGET_HELP =
  "API address: --api, else $DNSQUORUM_API_URL, else the config's api.listen. Token: $DNSQUORUM_API_TOKEN,\n" +
  "else --token-file, else the config's api.token. An https API's certificate is checked against --ca, else\n" +
  "$DNSQUORUM_CA, else Node's default CAs.";

export interface ApiTarget {
  /** The API's base URL, ending in "/" (a path prefix such as /dnsquorum/ is kept). */
  readonly base: URL;
  readonly token: string | undefined;
  /** Where the token came from, for error messages. */
  readonly tokenFrom: string;
  /** The --ca / $DNSQUORUM_CA bundle (PEM) an https API's certificate must chain to; Node's default CAs when unset. */
  readonly ca?: string;
  /** --timeout: how long each request waits for its answer; DEFAULT_API_TIMEOUT_MS when absent. */
  readonly timeoutMs?: number;
}

/**
 * An admin API call that failed: `httpStatus` is the API's answer, null when none came. `sent`
 * says whether the request left this process: false only for DQ_API_UNREACHABLE.
 */
export class ApiCallError extends DnsQuorumError {
  readonly httpStatus: number | null;
  readonly sent: boolean;

  constructor(code: ErrorCode, message: string, httpStatus: number | null, options?: { cause?: unknown; sent?: boolean }) {
    super(code, message, options);
    this.name = 'ApiCallError';
    this.httpStatus = httpStatus;
    this.sent = options?.sent ?? true;
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

/** The address a client uses for api.listen: a wildcard listen address is reached on loopback; https with api.tls. */
function apiUrlFromListen(listen: HostPort, tls: boolean): string {
  const host = listen.host === '0.0.0.0' ? '127.0.0.1' : listen.host === '::' ? '::1' : listen.host;
  return `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${listen.port}`;
}

/** The CA bundle the API's certificate is checked against: --ca, else $DNSQUORUM_CA; none (Node's default CAs) without either. */
async function caTransport(values: ParsedCommand['values']): Promise<{ ca?: string }> {
  const flag = stringOption(values, 'ca');
  const env = process.env.DNSQUORUM_CA;
  const [file, from] = flag !== undefined ? [flag, '--ca'] : env !== undefined && env !== '' ? [env, 'DNSQUORUM_CA'] : [undefined, ''];
  return file === undefined ? {} : { ca: await readCaBundle(file, from) };
}

function timeoutOption(command: string, values: ParsedCommand['values']): { timeoutMs?: number } {
  const written = stringOption(values, 'timeout');
  if (written === undefined) return {};
  const parsed = parseDuration(written);
  if (!parsed.ok) throw new UsageError(`${command}: --timeout ${JSON.stringify(written)}: ${parsed.reason}`);
  if (parsed.ms <= 0) throw new UsageError(`${command}: --timeout ${JSON.stringify(written)}: must be longer than 0s`);
  return { timeoutMs: parsed.ms };
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
  const timeout = timeoutOption(command, values);
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
  else if (config !== undefined) base = baseUrl(command, apiUrlFromListen(config.api.listen, config.api.tls !== undefined), 'api.listen');
  else throw new DnsQuorumError('DQ_INTERNAL', `${command}: the config was needed for the API address but not loaded`);

  const via = { ...(await caTransport(values)), ...timeout };
  if (tokenEnv !== undefined && tokenEnv !== '') return { base, ...via, token: tokenEnv, tokenFrom: 'DNSQUORUM_API_TOKEN' };
  if (tokenFile !== undefined) return { base, ...via, token: await readTokenFile(command, tokenFile), tokenFrom: `--token-file ${tokenFile}` };
  const configToken = config?.api.tokens.get(API_TOKEN_NAME);
  if (config !== undefined && configToken !== undefined) return { base, ...via, token: configToken, tokenFrom: `api.token in ${config.source}` };
  return { base, ...via, token: undefined, tokenFrom: 'nowhere (set DNSQUORUM_API_TOKEN or pass --token-file)' };
}

const UNTRUSTED_CERT = "the API's certificate does not chain to a trusted CA (pass --ca FILE or set DNSQUORUM_CA to its CA bundle)";

// ---- one exchange ----

interface RawAnswer {
  readonly status: number;
  readonly text: string;
}

/** An exchange that ended without an answer, and how far it got. */
class ExchangeFailure extends Error {
  constructor(
    /** The whole request was handed to the operating system: the daemon may have it. */
    readonly sent: boolean,
    /** A connection was established. */
    readonly connected: boolean,
    /** The time ran out (rather than the connection failing). */
    readonly timedOut: boolean,
    options: { cause: unknown },
  ) {
    super(sent ? 'sent, no answer' : 'not sent', options);
    this.name = 'ExchangeFailure';
  }
}

function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

/** What went wrong with the connection, in words. */
function socketFailure(err: unknown): string {
  const code = errorCode(err);
  const words: Record<string, string> = {
    ECONNREFUSED: 'connection refused (is the daemon running, and is api.listen this address?)',
    ECONNRESET: 'the connection was reset',
    EPIPE: 'the connection was closed while sending',
    ENOTFOUND: 'no such host',
    EAI_AGAIN: 'the host name could not be resolved (DNS failure)',
    EHOSTUNREACH: 'host unreachable (no route)',
    ENETUNREACH: 'network unreachable (no route)',
    ETIMEDOUT: 'the connection timed out',
    DEPTH_ZERO_SELF_SIGNED_CERT: UNTRUSTED_CERT,
    SELF_SIGNED_CERT_IN_CHAIN: UNTRUSTED_CERT,
    UNABLE_TO_VERIFY_LEAF_SIGNATURE: UNTRUSTED_CERT,
    UNABLE_TO_GET_ISSUER_CERT_LOCALLY: UNTRUSTED_CERT,
  };
  if (code !== undefined) return words[code] ?? `${code}: ${errorMessage(err)}`;
  return errorMessage(err);
}

/**
 * One request on a connection of its own (no keep-alive: a kept connection that the server
 * closes just as it is reused fails a request that never reached the daemon). Rejects with an
 * ExchangeFailure, or with the signal's reason when `interrupt` aborts.
 */
function exchange(
  url: URL,
  request: { readonly method: string; readonly headers: Readonly<Record<string, string>>; readonly body: string | undefined; readonly ca: string | undefined },
  timeoutMs: number,
  interrupt: AbortSignal | undefined,
): Promise<RawAnswer> {
  interrupt?.throwIfAborted();
  const deadline = startDeadline(interrupt === undefined ? [] : [interrupt], timeoutMs);
  return new Promise<RawAnswer>((resolve, reject) => {
    let sent = false;
    let connected = false;
    let settled = false;
    const settle = (finish: () => void): void => {
      if (settled) return;
      settled = true;
      deadline.signal.removeEventListener('abort', onAbort);
      deadline.dispose();
      finish();
    };
    const fail = (err: unknown): void => {
      settle(() => {
        if (!deadline.timedOut() && interrupt?.aborted === true) reject(interrupt.reason as Error);
        else reject(new ExchangeFailure(sent, connected, deadline.timedOut(), { cause: err }));
      });
    };
    const { body } = request;
    const headers = body === undefined ? request.headers : { ...request.headers, 'content-length': String(Buffer.byteLength(body)) };
    const options = { method: request.method, headers, agent: false as const };
    const req = url.protocol === 'https:' ? httpsRequest(url, request.ca === undefined ? options : { ...options, ca: request.ca }) : httpRequest(url, options);
    const onAbort = (): void => {
      req.destroy(deadline.signal.reason instanceof Error ? deadline.signal.reason : new Error('aborted'));
    };
    deadline.signal.addEventListener('abort', onAbort, { once: true });
    req.on('socket', (socket: Socket) => {
      if (!socket.connecting) connected = true;
      else socket.once('connect', () => (connected = true));
    });
    req.on('finish', () => {
      sent = true;
    });
    req.on('error', fail);
    req.on('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        settle(() => {
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
        });
      });
      res.on('error', fail);
      res.on('close', () => {
        if (!res.complete) fail(new Error('the connection closed before the whole answer came'));
      });
    });
    if (deadline.signal.aborted) onAbort();
    req.end(body);
  });
}

/** The ApiCallError for an exchange that got no answer. */
function noAnswer(url: URL, failure: ExchangeFailure, timeoutMs: number, change: boolean): ApiCallError {
  const seconds = formatDuration(timeoutMs);
  if (!failure.sent) {
    const why = failure.timedOut
      ? failure.connected
        ? `connected, but the request could not be sent within ${seconds}`
        : `no connection within ${seconds}`
      : socketFailure(failure.cause);
    return new ApiCallError('DQ_API_UNREACHABLE', `cannot reach the admin API at ${url.href}: ${why}; nothing was sent`, null, { cause: failure, sent: false });
  }
  const why = failure.timedOut ? `no answer within ${seconds}` : `${socketFailure(failure.cause)} before the answer came`;
  return new ApiCallError(
    'DQ_API_NO_ANSWER',
    `the request was sent to the admin API at ${url.href}, but ${why}: ${change ? 'the daemon may have done it' : 'the daemon is slow or stuck'}`,
    null,
    { cause: failure, sent: true },
  );
}

/** What one try of a change got, short: "no answer in time", "the connection was reset". */
function tryOutcome(err: ApiCallError): string {
  const failure = err.cause;
  if (!(failure instanceof ExchangeFailure)) return err.message;
  if (!failure.sent) return failure.timedOut ? 'not sent: no connection in time' : `not sent: ${socketFailure(failure.cause)}`;
  return failure.timedOut ? 'no answer in time' : socketFailure(failure.cause);
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
  /** Sent as Idempotency-Key. */
  readonly idempotencyKey?: string;
}

export interface ChangeOptions extends ApiRequestOptions {
  readonly idempotencyKey: string;
  /** Told before each new try (`attempt` of `attempts`), with what the last one got. */
  readonly onRetry?: (failure: ApiCallError, attempt: number, attempts: number) => void;
}

export class ApiClient {
  private readonly timeoutMs: number;
  private readonly actor: string | undefined;

  constructor(
    readonly target: ApiTarget,
    options: { readonly actor?: string; readonly timeoutMs?: number } = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? target.timeoutMs ?? DEFAULT_API_TIMEOUT_MS;
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

  /**
   * A change (POST, DELETE) sent with its Idempotency-Key, and sent again with the same key while
   * a try was sent and got no answer, up to CHANGE_ATTEMPTS tries, each waiting twice as long as
   * the one before (5 s, 10 s, 20 s by default). The daemon answers a key it has seen with its
   * first answer, so a try never acts twice. When no try was sent yet, one that cannot be sent
   * is not repeated: nothing happened, and the address is probably wrong. Once every try is used
   * up, the error is DQ_API_NO_ANSWER saying what each got.
   */
  async change(method: 'POST' | 'DELETE', path: string, options: ChangeOptions): Promise<ApiAnswer> {
    const firstTimeoutMs = options.timeoutMs ?? this.timeoutMs;
    const got: string[] = [];
    let sent = false;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.request(method, path, { ...options, timeoutMs: firstTimeoutMs * 2 ** (attempt - 1) });
      } catch (err) {
        // An answer, even an error, is the daemon's word; an interruption is the user's.
        if (!(err instanceof ApiCallError) || err.httpStatus !== null) throw err;
        sent ||= err.sent;
        if (!sent) throw err;
        got.push(tryOutcome(err));
        if (attempt >= CHANGE_ATTEMPTS) {
          throw new ApiCallError(
            'DQ_API_NO_ANSWER',
            `the request was sent to the admin API at ${this.url(path, options.query).href}, but no answer came in ${attempt} tries ` +
              `(waiting ${[...got.keys()].map((i) => formatDuration(firstTimeoutMs * 2 ** i)).join(', ')}: ${got.join('; ')}): the daemon may have done it`,
            null,
            { cause: err, sent: true },
          );
        }
        options.onRetry?.(err, attempt + 1, CHANGE_ATTEMPTS);
        await delay(RETRY_PAUSE_MS, undefined, options.signal === undefined ? {} : { signal: options.signal });
      }
    }
  }

  /**
   * One request. Rejects with an ApiCallError: DQ_API_UNREACHABLE when it could not be sent,
   * DQ_API_NO_ANSWER when it was sent and no answer came in time, the API's own code (and its
   * HTTP status) when it answered an error, DQ_API_BAD_ANSWER when the answer is not the API's JSON.
   */
  async request(method: 'GET' | 'POST' | 'DELETE', path: string, options: ApiRequestOptions = {}): Promise<ApiAnswer> {
    const url = this.url(path, options.query);
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.target.token !== undefined) headers.authorization = `Bearer ${this.target.token}`;
    if (this.actor !== undefined) headers['x-dnsquorum-actor'] = this.actor;
    if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
    let body: string | undefined;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    let response: RawAnswer;
    try {
      response = await exchange(url, { method, headers, body, ca: this.target.ca }, timeoutMs, options.signal);
    } catch (err) {
      options.signal?.throwIfAborted();
      if (err instanceof ExchangeFailure) throw noAnswer(url, err, timeoutMs, method !== 'GET');
      throw err;
    }
    const { text } = response;
    if (response.status < 200 || response.status > 299) {
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
