import { createHash, timingSafeEqual } from 'node:crypto';
import { unwatchFile, watchFile } from 'node:fs';
import type { Stats } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { HostPort } from '../../config/types.js';
import { MAX_ACTOR_LENGTH } from '../../domain/override.js';
import { DnsQuorumError, errorMessage, errorSummary } from '../../lib/errors.js';
import type { ErrorCode } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { ApiError, scopeAllows } from '../../lib/api-route.js';
import type { ApiMethod, ApiRequest, ApiResponse, ApiScope, Route } from '../../lib/api-route.js';
import { describeCertificate, readTlsPair } from '../../lib/tls-files.js';
import type { TlsFiles, TlsPair } from '../../lib/tls-files.js';

/**
 * The admin HTTP API: a small router on node:http, or node:https with api.tls. Routes answer JSON
 * (or text, for metrics); every failure is a JSON error with a stable code, so the CLI and scripts
 * can act on it.
 */

// The route contract lives in src/lib so that lower layers (cluster, metrics) can contribute routes;
// whoever wires the server takes it from here with the server.
export { ApiError };
export type { ApiMethod, ApiRequest, ApiResponse, ApiScope, Route };

export interface AdminApiOptions {
  readonly listen: HostPort;
  /**
   * Accepted bearer tokens by name (api.token as "api", api.tokens by their names); the name says
   * who acted in audit records. Empty: routes with auth answer 403 DQ_API_DISABLED.
   */
  readonly tokens: ReadonlyMap<string, string>;
  /** Each token's scope by the same names; a token not in it operates (as every token did before scopes). */
  readonly scopes?: ReadonlyMap<string, ApiScope>;
  /**
   * Serve https with this certificate and key. The files are read at start (a problem stops the
   * start), and again when either changes and on reloadTls(); a new pair serves new connections
   * without the listener closing, a refused one leaves the previous pair serving.
   */
  readonly tls?: TlsFiles;
  /** How often the TLS files are looked at for a change; TLS_WATCH_INTERVAL_MS unless set (tests). */
  readonly tlsWatchIntervalMs?: number;
  readonly routes: readonly Route[];
  readonly logger: Logger;
}

/** How a reload of the TLS pair ended: taken, the same as served, or refused (the previous pair goes on). */
export type TlsReloadResult = 'reloaded' | 'unchanged' | 'refused';

/** Request bodies beyond this are refused: every admin request is a few hundred bytes. */
export const MAX_BODY_BYTES = 64 * 1024;
/** An oversize body is read (and dropped) up to this much so the client sees the 413; beyond, the connection is cut. */
const MAX_DISCARD_BYTES = 1024 * 1024;
/** A client must send its headers within this, and the whole request within REQUEST_TIMEOUT_MS. */
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** close() waits this long for requests in flight, then cuts their connections. */
const CLOSE_GRACE_MS = 5_000;
/**
 * The TLS files are polled (stat) this often. Polling, not inotify: a Kubernetes Secret volume
 * swaps a symlink rather than writing the file, and bind mounts may deliver no events at all.
 */
export const TLS_WATCH_INTERVAL_MS = 2_000;

export const DISABLED_MESSAGE = 'the admin API has no token: set api.token in the config to use the admin API';

interface CompiledRoute {
  readonly route: Route;
  /** Literal segments as strings; parameters as { param: name }. */
  readonly segments: readonly (string | { readonly param: string })[];
}

function compileRoute(route: Route): CompiledRoute {
  if (!route.path.startsWith('/')) throw new DnsQuorumError('DQ_INTERNAL', `admin API route ${route.method} ${route.path}: the path must start with /`);
  const segments = route.path
    .split('/')
    .slice(1)
    .map((s) => (s.startsWith(':') && s.length > 1 ? { param: s.slice(1) } : s));
  return { route, segments };
}

/** Params when the route's pattern matches the (decoded) path segments, else undefined. */
function matchSegments(compiled: CompiledRoute, segments: readonly string[]): Record<string, string> | undefined {
  if (compiled.segments.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, pattern] of compiled.segments.entries()) {
    const actual = segments[i] ?? '';
    if (typeof pattern === 'string') {
      if (pattern !== actual) return undefined;
    } else {
      if (actual === '') return undefined;
      params[pattern.param] = actual;
    }
  }
  return params;
}

function formatHostPort(address: HostPort): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

interface TokenHash {
  readonly name: string;
  readonly hash: Buffer;
  readonly scope: ApiScope;
}

function hashTokens(tokens: ReadonlyMap<string, string>, scopes: ReadonlyMap<string, ApiScope> | undefined): TokenHash[] {
  return [...tokens].map(([name, token]) => ({ name, hash: sha256(token), scope: scopes?.get(name) ?? 'operate' }));
}

/** The scope a route needs: `auth: true` (routes declared before scopes) needs operate. */
function neededScope(route: Route): ApiScope | undefined {
  if (route.auth === false) return undefined;
  return route.auth === true ? 'operate' : route.auth;
}

/** Whether a file's stat changed in a way a new content may hide behind (a rewrite, or a symlink swapped to a new file). */
function fileChanged(current: Stats, previous: Stats): boolean {
  return current.mtimeMs !== previous.mtimeMs || current.ctimeMs !== previous.ctimeMs || current.ino !== previous.ino || current.size !== previous.size;
}

function listenReason(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    if (err.code === 'EADDRINUSE') return 'the address is already in use';
    if (err.code === 'EADDRNOTAVAIL') return 'the address is not one of this host';
    if (err.code === 'EACCES') return 'permission denied (ports below 1024 need privileges)';
  }
  return errorMessage(err);
}

/** The client went away while its body was being read: nobody is left to answer. */
class ClientGoneError extends Error {
  constructor(cause?: unknown) {
    super('the client closed the connection before sending its whole request', { cause });
    this.name = 'ClientGoneError';
  }
}

type BodyResult = { readonly kind: 'ok'; readonly bytes: Buffer } | { readonly kind: 'too-large'; readonly drained: boolean };

/**
 * Reads the body up to MAX_BODY_BYTES. An oversize body is drained (not kept) up to
 * MAX_DISCARD_BYTES, so the client is still reading when the 413 arrives instead of seeing a reset.
 */
function readBody(req: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  const discardBytes = Math.max(MAX_DISCARD_BYTES, maxBytes);
  const declared = Number(req.headers['content-length'] ?? '0');
  if (Number.isFinite(declared) && declared > discardBytes) return Promise.resolve({ kind: 'too-large', drained: false });
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
      else if (size > discardBytes) {
        cleanup();
        resolve({ kind: 'too-large', drained: false });
      }
    };
    const onEnd = (): void => {
      cleanup();
      resolve(size > maxBytes ? { kind: 'too-large', drained: true } : { kind: 'ok', bytes: Buffer.concat(chunks) });
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(new ClientGoneError(err));
    };
    const onClose = (): void => {
      if (req.complete) return;
      cleanup();
      reject(new ClientGoneError());
    };
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

function parseJsonBody(text: string): unknown {
  if (text.length === 0) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ApiError(400, 'DQ_API_BAD_REQUEST', `the request body is not valid JSON: ${errorMessage(err)}`);
  }
}

function errorBody(code: ErrorCode, message: string): { error: { code: ErrorCode; message: string } } {
  return { error: { code, message } };
}

/** The request target split into path segments and query; undefined when it is not origin-form or not decodable. */
function parseTarget(url: string | undefined): { path: string; segments: string[]; query: URLSearchParams } | undefined {
  if (url === undefined || !url.startsWith('/')) return undefined;
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const query = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
  try {
    return { path, segments: path.split('/').slice(1).map(decodeURIComponent), query };
  } catch {
    return undefined;
  }
}

export class AdminApi {
  readonly name = 'admin-api';
  private readonly server: HttpServer | HttpsServer;
  private readonly routes: readonly CompiledRoute[];
  private tokenHashes: readonly TokenHash[];
  private readonly logger: Logger;
  private readonly listenAt: HostPort;
  /** Responses in flight per connection, so a protocol error never writes into one already started. */
  private readonly inFlight = new WeakMap<Socket, ServerResponse>();
  private listening = false;
  private tlsFiles: TlsFiles | undefined;
  private readonly tlsWatchIntervalMs: number;
  /** The pair being served, to tell a real change from a touched file. */
  private tlsServed: TlsPair | undefined;
  /** The last refusal logged, so a file that stays broken is logged once, not on every poll. */
  private tlsRefusal: string | undefined;
  /** One TLS reload at a time: a rotation touches both files, and SIGHUP may come as well. */
  private tlsQueue: Promise<unknown> = Promise.resolve();
  private readonly onTlsFileChange = (current: Stats, previous: Stats): void => {
    if (fileChanged(current, previous)) void this.reloadTls();
  };

  constructor(options: AdminApiOptions) {
    this.routes = options.routes.map(compileRoute);
    this.tokenHashes = hashTokens(options.tokens, options.scopes);
    this.logger = options.logger;
    this.listenAt = options.listen;
    this.tlsFiles = options.tls;
    this.tlsWatchIntervalMs = options.tlsWatchIntervalMs ?? TLS_WATCH_INTERVAL_MS;
    const serverOptions = { headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS };
    const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
      this.onRequest(req, res).catch((err: unknown) => {
        // onRequest answers every failure itself; this only catches a failure to write the answer.
        this.logger.warn({ err, method: req.method, path: req.url?.split('?')[0] }, 'admin API: could not answer a request');
        res.destroy();
      });
    };
    // With TLS the certificate is set in start(), before the first connection is accepted.
    this.server = options.tls === undefined ? createHttpServer(serverOptions, onRequest) : createHttpsServer(serverOptions, onRequest);
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      this.onClientError(err, socket);
    });
    this.server.on('tlsClientError', (err: NodeJS.ErrnoException) => {
      // A client that does not trust the certificate, or speaks plain HTTP to this port.
      this.logger.debug({ reason: err.code ?? err.message }, 'admin API: TLS handshake failed');
    });
  }

  /** Takes new tokens and scopes (a config reload); requests already authenticated are not asked again. */
  setTokens(tokens: ReadonlyMap<string, string>, scopes?: ReadonlyMap<string, ApiScope>): void {
    this.tokenHashes = hashTokens(tokens, scopes);
  }

  /**
   * Reads the certificate and key again (from `files` when the config now names others) and
   * serves them to new connections; the listener and open connections stay. A pair that does not
   * load is logged (DQ_TLS_INVALID) and the previous one goes on. Never rejects. Without api.tls
   * at start there is nothing to reload: http and https are different servers.
   */
  reloadTls(files?: TlsFiles): Promise<TlsReloadResult> {
    const next = this.tlsQueue.then(() => this.loadTls(files ?? this.tlsFiles));
    this.tlsQueue = next.catch(() => undefined);
    return next;
  }

  private async loadTls(files: TlsFiles | undefined): Promise<TlsReloadResult> {
    if (files === undefined || this.tlsFiles === undefined || !this.listening || !('setSecureContext' in this.server)) return 'unchanged';
    if (files.cert !== this.tlsFiles.cert || files.key !== this.tlsFiles.key) {
      this.unwatchTls();
      this.tlsFiles = files;
      this.watchTls();
    }
    let pair: TlsPair;
    try {
      pair = await readTlsPair(files, 'api.tls');
      if (this.tlsServed !== undefined && this.tlsServed.cert === pair.cert && this.tlsServed.key === pair.key) {
        this.tlsRefusal = undefined;
        return 'unchanged';
      }
      this.server.setSecureContext(pair);
    } catch (err) {
      const { code, message } = errorSummary(err);
      if (this.tlsRefusal !== message) this.logger.error({ code, cert: files.cert, key: files.key }, `admin API: the TLS pair was not reloaded, the previous one goes on serving: ${message}`);
      this.tlsRefusal = message;
      return 'refused';
    }
    this.tlsRefusal = undefined;
    this.tlsServed = pair;
    this.logger.info({ cert: files.cert, ...describeCertificate(pair.cert) }, 'admin API: TLS certificate reloaded; new connections get it');
    return 'reloaded';
  }

  private watchTls(): void {
    if (this.tlsFiles === undefined) return;
    // Not persistent: a watched file never keeps the process alive.
    for (const path of new Set([this.tlsFiles.cert, this.tlsFiles.key])) watchFile(path, { interval: this.tlsWatchIntervalMs, persistent: false }, this.onTlsFileChange);
  }

  private unwatchTls(): void {
    if (this.tlsFiles === undefined) return;
    for (const path of new Set([this.tlsFiles.cert, this.tlsFiles.key])) unwatchFile(path, this.onTlsFileChange);
  }

  async start(): Promise<void> {
    if (this.tlsFiles !== undefined && 'setSecureContext' in this.server) {
      const pair = await readTlsPair(this.tlsFiles, 'api.tls');
      this.server.setSecureContext(pair);
      this.tlsServed = pair;
    }
    await this.listen();
    this.watchTls();
  }

  private listen(): Promise<void> {
    const where = formatHostPort(this.listenAt);
    return new Promise((resolve, reject) => {
      const onError = (err: unknown): void => {
        reject(new DnsQuorumError('DQ_API_LISTEN', `the admin API cannot listen on ${where} (api.listen): ${listenReason(err)}`, { cause: err }));
      };
      this.server.once('error', onError);
      this.server.listen(this.listenAt.port, this.listenAt.host, () => {
        this.server.off('error', onError);
        this.listening = true;
        this.server.on('error', (err) => {
          this.logger.error({ err }, 'admin API server error');
        });
        const certificate = this.tlsServed === undefined ? {} : { cert: this.tlsFiles?.cert, ...describeCertificate(this.tlsServed.cert) };
        this.logger.info({ listen: formatHostPort(this.address()), tls: this.tlsServed !== undefined, ...certificate }, 'admin API listening');
        resolve();
      });
    });
  }

  /** Where it listens; the port is the one bound when the config said 0. */
  address(): HostPort {
    const info = this.server.address();
    if (info === null || typeof info === 'string') throw new DnsQuorumError('DQ_INTERNAL', 'the admin API is not listening');
    return { host: info.address, port: info.port };
  }

  /** Stops accepting, closes idle keep-alive connections, and cuts the rest after CLOSE_GRACE_MS. */
  close(): Promise<void> {
    if (!this.listening) return Promise.resolve();
    this.listening = false;
    this.unwatchTls();
    return new Promise((resolve) => {
      const cut = setTimeout(() => {
        this.server.closeAllConnections();
      }, CLOSE_GRACE_MS);
      cut.unref();
      this.server.close(() => {
        clearTimeout(cut);
        resolve();
      });
      this.server.closeIdleConnections();
    });
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const began = performance.now();
    this.inFlight.set(req.socket, res);
    res.once('finish', () => {
      if (this.inFlight.get(req.socket) === res) this.inFlight.delete(req.socket);
    });
    let answer: ApiResponse;
    let headers: Readonly<Record<string, string>> = {};
    let path = '-';
    try {
      const target = parseTarget(req.url);
      if (target === undefined) throw new ApiError(400, 'DQ_API_BAD_REQUEST', 'the request target is not a valid path');
      path = target.path;
      answer = await this.dispatch(req, target);
    } catch (err) {
      if (err instanceof ClientGoneError) {
        this.logger.debug({ method: req.method, path }, 'admin API: client went away mid-request');
        res.destroy();
        return;
      }
      if (err instanceof ApiError) {
        answer = { status: err.status, body: errorBody(err.code, err.message) };
        headers = err.headers;
      } else {
        this.logger.error({ err, method: req.method, path }, 'admin API handler failed');
        answer = { status: 500, body: errorBody('DQ_API_INTERNAL', 'the request failed inside the daemon; its log has the details') };
      }
    }
    this.send(res, answer, headers);
    this.logger.debug({ method: req.method, path, status: answer.status, ms: Math.round((performance.now() - began) * 10) / 10 }, 'admin API request');
  }

  private async dispatch(req: IncomingMessage, target: { path: string; segments: string[]; query: URLSearchParams }): Promise<ApiResponse> {
    const candidates = this.routes
      .map((compiled) => ({ compiled, params: matchSegments(compiled, target.segments) }))
      .filter((c): c is { compiled: CompiledRoute; params: Record<string, string> } => c.params !== undefined);
    if (candidates.length === 0) throw new ApiError(404, 'DQ_API_NOT_FOUND', `no route ${target.path}`);
    const chosen = candidates.find((c) => c.compiled.route.method === req.method);
    if (chosen === undefined) {
      const allow = [...new Set(candidates.map((c) => c.compiled.route.method))].sort().join(', ');
      throw new ApiError(405, 'DQ_API_METHOD', `${target.path} does not take ${req.method ?? 'this method'}; it takes ${allow}`, { headers: { allow } });
    }
    const { route } = chosen.compiled;
    const needed = neededScope(route);
    const caller = needed === undefined ? { actor: null, tokenName: null } : this.authenticate(req, `${route.method} ${route.path}`, needed);
    const rawBody = await this.readRawBody(req, route.maxBodyBytes ?? MAX_BODY_BYTES);
    const body = route.rawBodyOnly === true ? null : parseJsonBody(rawBody);
    return route.handle({ method: route.method, path: target.path, params: chosen.params, query: target.query, body, rawBody, headers: req.headers, ...caller });
  }

  /**
   * Checks the bearer token and that its scope covers `needed`; returns the token's name and the
   * actor the client names (null if none).
   */
  private authenticate(req: IncomingMessage, routeName: string, needed: ApiScope): { actor: string | null; tokenName: string } {
    if (this.tokenHashes.length === 0) throw new ApiError(403, 'DQ_API_DISABLED', DISABLED_MESSAGE);
    const unauthorized = (message: string): ApiError =>
      new ApiError(401, 'DQ_API_UNAUTHORIZED', message, { headers: { 'www-authenticate': 'Bearer realm="dnsquorum"' } });
    const header = req.headers.authorization;
    if (header === undefined || header === '') throw unauthorized('this route needs an Authorization: Bearer <token> header');
    const match = /^bearer +(\S+) *$/i.exec(header);
    if (match?.[1] === undefined) throw unauthorized('the Authorization header must be "Bearer <token>"');
    // Hashing first gives both sides the same length, so timingSafeEqual never reveals the token's
    // length; every token is compared, so the time taken does not say which one nearly matched.
    const offered = sha256(match[1]);
    let matched: TokenHash | undefined;
    for (const token of this.tokenHashes) {
      if (timingSafeEqual(offered, token.hash) && matched === undefined) matched = token;
    }
    if (matched === undefined) throw unauthorized('the bearer token is wrong');
    const tokenName = matched.name;
    if (!scopeAllows(matched.scope, needed)) {
      throw new ApiError(403, 'DQ_API_FORBIDDEN', `token "${tokenName}" has scope ${matched.scope}; ${routeName} needs a token of scope ${needed}`);
    }
    const actor = req.headers['x-dnsquorum-actor'];
    if (typeof actor !== 'string' || actor === '') return { actor: null, tokenName };
    if (actor.length > MAX_ACTOR_LENGTH || /[\p{Cc}]/u.test(actor)) {
      throw new ApiError(400, 'DQ_API_BAD_REQUEST', `X-DnsQuorum-Actor must be at most ${MAX_ACTOR_LENGTH} printable characters`);
    }
    return { actor, tokenName };
  }

  private async readRawBody(req: IncomingMessage, maxBytes: number): Promise<string> {
    const result = await readBody(req, maxBytes);
    if (result.kind === 'too-large') {
      throw new ApiError(413, 'DQ_API_TOO_LARGE', `the request body is over ${maxBytes / 1024} KiB`, {
        headers: result.drained ? {} : { connection: 'close' },
      });
    }
    return result.bytes.toString('utf8');
  }

  private send(res: ServerResponse, answer: ApiResponse, headers: Readonly<Record<string, string>>): void {
    // A 204 has no body, so no Content-Length or Content-Type either (RFC 9110 §8.6).
    if (answer.status === 204) {
      res.writeHead(204, { ...headers, 'cache-control': 'no-store' });
      res.end();
      return;
    }
    const [payload, contentType] = 'text' in answer ? [answer.text, answer.contentType] : [`${JSON.stringify(answer.body)}\n`, 'application/json; charset=utf-8'];
    const bytes = Buffer.from(payload, 'utf8');
    res.writeHead(answer.status, {
      ...headers,
      'content-type': contentType,
      'content-length': String(bytes.length),
      'cache-control': 'no-store',
    });
    res.end(bytes);
  }

  /** Malformed HTTP, oversize headers, timeouts: answered in JSON like everything else, then the connection is closed. */
  private onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
    const started = this.inFlight.get(socket);
    if (err.code === 'ECONNRESET' || !socket.writable || started?.headersSent === true) {
      socket.destroy();
      return;
    }
    const [status, reason, code, message]: [number, string, ErrorCode, string] =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'DQ_API_BAD_REQUEST', `the request did not arrive within ${REQUEST_TIMEOUT_MS / 1000} s`]
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? [431, 'Request Header Fields Too Large', 'DQ_API_TOO_LARGE', 'the request headers are too large']
          : [400, 'Bad Request', 'DQ_API_BAD_REQUEST', 'the request is not valid HTTP'];
    this.logger.debug({ status, reason: err.code ?? err.message }, 'admin API refused a malformed request');
    const body = `${JSON.stringify(errorBody(code, message))}\n`;
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      () => socket.destroy(),
    );
  }
}
