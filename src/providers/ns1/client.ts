import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { fullJitterMs, sleep as realSleep } from '../../lib/backoff.js';
import type { Sleep } from '../../lib/backoff.js';
import type { Clock } from '../../lib/clock.js';
import { startDeadline } from '../../lib/deadline.js';
import { errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { describeNetworkError } from '../../lib/network-error.js';
import type { ApiCallObserver, ApiCallOutcome } from '../provider.js';
import { Ns1ApiError, kindOfStatus, messageOfBody } from './errors.js';
import type { Ns1FailureKind } from './errors.js';
import { nextLinkTarget, resolveNextPage } from './link.js';
import { Ns1Pacer, parseRateLimitHeaders, refillIntervalMs } from './pacing.js';

/**
 * A small typed client of the NS1 REST API (v1) on Node's global fetch: zones and records, and
 * nothing else dnsquorum does not use. There is no official NS1 SDK for Node.
 *
 * - Auth: the `X-NSONE-Key` header. The key goes into that header and nowhere else: not into
 *   errors, log lines or thrown messages (NS1's own messages are scrubbed of it, should one ever
 *   echo it), and redirects are not followed, so it never travels to another host.
 * - Records live at `zones/{zone}/{fqdn}/{TYPE}`, names without the trailing dot. PUT creates,
 *   POST updates, DELETE deletes, GET reads.
 * - Zone listings are followed through `Link: <...>; rel="next"`, on the endpoint's origin only.
 * - Every request first waits its turn with the pacer (x-ratelimit-* headers, per route and
 *   method), then runs under a deadline: the caller's signal or the per-request timeout,
 *   whichever fires first (see src/lib/deadline.ts for why not AbortSignal.any). 429, 5xx, network
 *   errors and timeouts are retried up to maxRetries times after a full-jitter backoff, a 429
 *   after at least the bucket's refill interval. Anything else fails at once as Ns1ApiError.
 * - Every body is read to the end, so the connection goes back to fetch's keep-alive pool.
 */

export type Ns1Rdata = readonly (string | number)[];

export interface Ns1Answer {
  readonly answer: Ns1Rdata;
  /** Answer metadata (up, priority, weight, geo...): another tool's, never dnsquorum's. */
  readonly meta?: Readonly<Record<string, unknown>>;
}

/** A record as the zone listing summarises it. */
export interface Ns1RecordSummary {
  /** FQDN without the trailing dot, as NS1 writes it. */
  readonly domain: string;
  readonly type: string;
  readonly ttl: number | undefined;
  /** Each answer's rdata joined with spaces: "192.0.2.1", "10 mx.example.net". */
  readonly shortAnswers: readonly string[];
  /** Above 1 when the record has advanced configuration (filters, metadata). */
  readonly tier: number;
  /** The record this one is linked to (and serves the answers of), if any. */
  readonly link: string | null;
}

export interface Ns1Zone {
  /** Zone name without the trailing dot. */
  readonly zone: string;
  readonly ttl: number | undefined;
  readonly nxTtl: number | undefined;
  readonly refresh: number | undefined;
  readonly retry: number | undefined;
  readonly expiry: number | undefined;
  readonly serial: number | undefined;
  /** "hostmaster@nsone.net" */
  readonly hostmaster: string | undefined;
  /** The zone's own name servers (read-only at NS1), e.g. "dns1.p01.nsone.net". */
  readonly dnsServers: readonly string[];
  /** Every record of the zone, all pages; empty when asked without records. */
  readonly records: readonly Ns1RecordSummary[];
}

export interface Ns1Record {
  readonly zone: string;
  readonly domain: string;
  readonly type: string;
  readonly ttl: number | undefined;
  readonly answers: readonly Ns1Answer[];
  /** The filter chain: empty for a plain record. */
  readonly filters: readonly unknown[];
  readonly link: string | null;
  readonly tier: number;
}

/** The body of a record create or update: plain answers, no filters, no metadata. */
export interface Ns1RecordWrite {
  readonly zone: string;
  readonly domain: string;
  readonly type: string;
  readonly ttl: number;
  readonly answers: readonly { readonly answer: Ns1Rdata }[];
}

export interface Ns1RetryPolicy {
  /** Retries of one request after a 429, a 5xx, a network error or a timeout (0: none). */
  readonly maxRetries: number;
  /** Backoff base after a 429 (the wait is also at least the bucket's refill interval). */
  readonly throttleBaseMs: number;
  /** Backoff base after a 5xx, a network error or a timeout. */
  readonly transientBaseMs: number;
  /** No single backoff is longer than this. */
  readonly capMs: number;
}

export const DEFAULT_NS1_RETRY: Ns1RetryPolicy = { maxRetries: 5, throttleBaseMs: 1000, transientBaseMs: 100, capMs: 20_000 };

/** What the calls of one client went through, for logs, status and tests. */
export interface Ns1CallStats {
  /** API calls made (each may take several requests and pages). */
  calls: number;
  /** Requests sent, retries and pages included. */
  requests: number;
  retries: number;
  /** 429 answers. */
  throttled: number;
  serverErrors: number;
  networkErrors: number;
  timeouts: number;
  /** Requests that waited for the pacer, and how long in all. */
  pacedRequests: number;
  pacedMs: number;
}

export function newNs1CallStats(): Ns1CallStats {
  return { calls: 0, requests: 0, retries: 0, throttled: 0, serverErrors: 0, networkErrors: 0, timeouts: 0, pacedRequests: 0, pacedMs: 0 };
}

export interface Ns1ClientOptions {
  /** Base URL of the API, ending in "/", e.g. "https://api.nsone.net/v1/". */
  readonly endpoint: string;
  readonly apiKey: string;
  /** Deadline of each request (each retry has its own). */
  readonly requestTimeoutMs: number;
  readonly retry: Ns1RetryPolicy;
  /** Paces by the rate-limit headers; a ManualClock in tests, with `sleep` moving it. */
  readonly clock: Clock;
  readonly sleep?: Sleep;
  readonly random?: () => number;
  readonly logger: Logger;
  /** Most pages one listing may take before it is taken for a loop (default 10,000). */
  readonly maxPages?: number;
  /** Told about every request sent (metrics), under the provider's name. */
  readonly apiCalls?: { readonly provider: string; readonly observer: ApiCallObserver };
}

type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';

/** NS1 keeps a rate-limit bucket per route and method; these are the routes this client uses. */
type Route = 'zone' | 'record';

const USER_AGENT = 'dnsquorum (ns1 provider)';

/** NS1 names no operations; these name each (route, method), for metrics. */
const OPERATIONS: Readonly<Record<Route, Readonly<Record<Method, string>>>> = {
  zone: { GET: 'GetZone', PUT: 'CreateZone', POST: 'UpdateZone', DELETE: 'DeleteZone' },
  record: { GET: 'GetRecord', PUT: 'CreateRecord', POST: 'UpdateRecord', DELETE: 'DeleteRecord' },
};

function operationOf(route: Route, method: Method): string {
  return OPERATIONS[route][method];
}

const rdataSchema = z.array(z.union([z.string(), z.number()]));
const optionalNumber = z.number().nullish();
/** A TTL as DNS carries it (RFC 2181 8: 0 to 2^31 - 1 seconds); anything else is not NS1's answer. */
const optionalTtl = z.number().int().min(0).max(2_147_483_647).nullish();

const summarySchema = z.object({
  domain: z.string(),
  type: z.string(),
  ttl: optionalTtl,
  short_answers: rdataSchema.nullish(),
  tier: optionalNumber,
  link: z.string().nullish(),
});

const zoneSchema = z.object({
  zone: z.string(),
  ttl: optionalTtl,
  nx_ttl: optionalTtl,
  refresh: optionalNumber,
  retry: optionalNumber,
  expiry: optionalNumber,
  serial: optionalNumber,
  hostmaster: z.string().nullish(),
  dns_servers: z.array(z.string()).nullish(),
  records: z.array(summarySchema).nullish(),
});

/** A page after the first: a zone object again, or just its records. */
const zonePageSchema = z.union([z.object({ records: z.array(summarySchema).nullish() }), z.array(summarySchema)]);

const recordSchema = z.object({
  zone: z.string(),
  domain: z.string(),
  type: z.string(),
  ttl: optionalTtl,
  answers: z.array(z.object({ answer: rdataSchema, meta: z.record(z.string(), z.unknown()).nullish() })).nullish(),
  filters: z.array(z.unknown()).nullish(),
  link: z.string().nullish(),
  tier: optionalNumber,
});

type SummaryWire = z.infer<typeof summarySchema>;

function summaryOf(wire: SummaryWire): Ns1RecordSummary {
  return {
    domain: wire.domain,
    type: wire.type,
    ttl: wire.ttl ?? undefined,
    shortAnswers: (wire.short_answers ?? []).map(String),
    tier: wire.tier ?? 1,
    link: wire.link ?? null,
  };
}

/** A name as NS1 writes it in paths and bodies: no trailing dot. */
export function bareName(name: string): string {
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

/** Whether a write that went unanswered was applied all the same (NS1 holds what it sent). */
export type Landed = (signal: AbortSignal) => Promise<boolean>;

/** How one request went: answered (any status), or no answer in time, or no answer at all. */
type SendOutcome = { kind: 'answer'; response: Response; text: string } | { kind: 'timeout' } | { kind: 'network'; error: unknown };

interface Answered {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Headers;
  readonly url: URL;
  readonly attempts: number;
}

export class Ns1Client {
  readonly stats: Ns1CallStats = newNs1CallStats();
  readonly pacer: Ns1Pacer;

  private readonly endpoint: URL;
  private readonly apiKey: string;
  private readonly requestTimeoutMs: number;
  private readonly retry: Ns1RetryPolicy;
  private readonly sleep: Sleep;
  private readonly random: () => number;
  private readonly logger: Logger;
  private readonly maxPages: number;
  private readonly apiCalls: Ns1ClientOptions['apiCalls'];
  private readonly closing = new AbortController();

  constructor(options: Ns1ClientOptions) {
    this.endpoint = new URL(options.endpoint.endsWith('/') ? options.endpoint : `${options.endpoint}/`);
    this.apiKey = options.apiKey;
    this.requestTimeoutMs = options.requestTimeoutMs;
    this.retry = options.retry;
    this.sleep = options.sleep ?? realSleep;
    this.random = options.random ?? Math.random;
    this.logger = options.logger;
    this.maxPages = options.maxPages ?? 10_000;
    this.apiCalls = options.apiCalls;
    this.pacer = new Ns1Pacer({ clock: options.clock, sleep: this.sleep });
  }

  /** GET zones/{zone}: the zone with every record summary (all pages), or without records. */
  async getZone(zone: string, signal: AbortSignal, options: { records?: boolean } = {}): Promise<Ns1Zone> {
    const withRecords = options.records ?? true;
    const path = `zones/${encodeURIComponent(bareName(zone))}${withRecords ? '' : '?records=false'}`;
    const first = await this.call('GET', 'zone', path, undefined, signal);
    const parsed = this.parse(zoneSchema, first, 'GET', path);
    // NS1 always lists a zone's name servers, and its records when asked for them: an answer
    // without them would pass for a zone with none (whose apex NS then loses NS1's servers, or
    // whose records all look missing).
    if (parsed.dns_servers === undefined || parsed.dns_servers === null || parsed.dns_servers.length === 0) {
      throw this.malformed('GET', path, first.attempts, 'the answer is not what NS1 sends: the zone has no dns_servers');
    }
    if (withRecords && (parsed.records === undefined || parsed.records === null)) {
      throw this.malformed('GET', path, first.attempts, 'the answer is not what NS1 sends: the zone has no records list');
    }
    const records = (parsed.records ?? []).map(summaryOf);
    let page = first;
    const seen = new Set<string>([page.url.href]);
    for (let pages = 1; withRecords; pages++) {
      const target = nextLinkTarget(page.headers.get('link'));
      if (target === undefined) break;
      const next = resolveNextPage(target, page.url, this.endpoint);
      if (!next.ok) throw this.malformed('GET', path, page.attempts, next.reason);
      if (seen.has(next.url.href) || pages >= this.maxPages) {
        throw this.malformed('GET', path, page.attempts, `the listing of ${bareName(zone)} does not end (page ${pages + 1} is ${next.url.pathname}${next.url.search})`);
      }
      seen.add(next.url.href);
      page = await this.callUrl('GET', 'zone', next.url, path, undefined, signal);
      const more = this.parse(zonePageSchema, page, 'GET', path);
      records.push(...(Array.isArray(more) ? more : (more.records ?? [])).map(summaryOf));
    }
    return {
      zone: parsed.zone,
      ttl: parsed.ttl ?? undefined,
      nxTtl: parsed.nx_ttl ?? undefined,
      refresh: parsed.refresh ?? undefined,
      retry: parsed.retry ?? undefined,
      expiry: parsed.expiry ?? undefined,
      serial: parsed.serial ?? undefined,
      hostmaster: parsed.hostmaster ?? undefined,
      dnsServers: parsed.dns_servers ?? [],
      records,
    };
  }

  /** PUT zones/{zone}: creates the zone (NS1 adds its apex NS record). */
  async createZone(zone: string, signal: AbortSignal): Promise<void> {
    const name = bareName(zone);
    await this.call('PUT', 'zone', `zones/${encodeURIComponent(name)}`, { zone: name }, signal);
  }

  /** GET zones/{zone}/{domain}/{type}: one record in full (answers with metadata, filters). */
  async getRecord(zone: string, domain: string, type: string, signal: AbortSignal): Promise<Ns1Record> {
    const path = recordPath(zone, domain, type);
    const answered = await this.call('GET', 'record', path, undefined, signal);
    const parsed = this.parse(recordSchema, answered, 'GET', path);
    // NS1 always lists a record's answers (empty for a linked record): without them, it would read as a record serving nothing.
    if (parsed.answers === undefined || parsed.answers === null) {
      throw this.malformed('GET', path, answered.attempts, 'the answer is not what NS1 sends: the record has no answers list');
    }
    return {
      zone: parsed.zone,
      domain: parsed.domain,
      type: parsed.type,
      ttl: parsed.ttl ?? undefined,
      answers: parsed.answers.map((a) => (a.meta === undefined || a.meta === null ? { answer: a.answer } : { answer: a.answer, meta: a.meta })),
      filters: parsed.filters ?? [],
      link: parsed.link ?? null,
      tier: parsed.tier ?? 1,
    };
  }

  /** PUT: creates the record; Ns1ApiError kind "already-exists" when it is there. */
  async createRecord(record: Ns1RecordWrite, signal: AbortSignal): Promise<void> {
    await this.call('PUT', 'record', recordPath(record.zone, record.domain, record.type), writeBody(record), signal);
  }

  /**
   * POST: replaces the record's TTL and answers; kind "record-not-found" when it is gone. With
   * `landed`, a POST that went unanswered (the connection broke, or no answer in time) is not sent
   * again before `landed` says NS1 does not hold it yet: NS1 may have applied it, and a second
   * POST would write the record twice. `landed` saying yes ends the call as done.
   */
  async updateRecord(record: Ns1RecordWrite, signal: AbortSignal, options: { landed?: Landed } = {}): Promise<void> {
    await this.call('POST', 'record', recordPath(record.zone, record.domain, record.type), writeBody(record), signal, options.landed);
  }

  /** DELETE: removes the record and its answers; kind "record-not-found" when it is gone. */
  async deleteRecord(zone: string, domain: string, type: string, signal: AbortSignal): Promise<void> {
    await this.call('DELETE', 'record', recordPath(zone, domain, type), undefined, signal);
  }

  /** Ends every wait and request in progress; later calls fail. Idle keep-alive sockets belong to fetch's pool. */
  close(): void {
    this.closing.abort(new Error('the NS1 client was closed'));
  }

  // ---- requests ----

  private call(method: Method, route: Route, path: string, body: unknown, signal: AbortSignal, landed?: Landed): Promise<Answered> {
    return this.callUrl(method, route, new URL(path, this.endpoint), path.replace(/\?.*$/, ''), body, signal, landed);
  }

  private async callUrl(method: Method, route: Route, url: URL, path: string, body: unknown, callerSignal: AbortSignal, landed?: Landed): Promise<Answered> {
    this.stats.calls++;
    // The caller's signal, or close(): either ends waits and requests at once.
    const scope = startDeadline([callerSignal, this.closing.signal]);
    try {
      return await this.attempts(method, route, url, path, body, scope.signal, landed);
    } finally {
      scope.dispose();
    }
  }

  private async attempts(method: Method, route: Route, url: URL, path: string, body: unknown, signal: AbortSignal, landed?: Landed): Promise<Answered> {
    const bucket = `${route} ${method}`;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    for (let attempt = 1; ; attempt++) {
      const paced = await this.pacer.acquire(bucket, signal);
      if (paced > 0) {
        this.stats.pacedRequests++;
        this.stats.pacedMs += paced;
        this.logger.debug({ method, path, bucket, waitedMs: paced, ...this.pacer.state(bucket) }, 'paced by NS1 rate-limit headers');
      }
      this.stats.requests++;
      const sentAt = performance.now();
      const outcome = await this.send(method, url, payload, signal);
      this.report(operationOf(route, method), outcome, performance.now() - sentAt);
      if (outcome.kind === 'answer') {
        const { response, text } = outcome;
        this.pacer.observe(bucket, parseRateLimitHeaders(response.headers));
        // A 429 means the bucket is empty, whatever the headers (if any) say.
        if (response.status === 429) this.pacer.exhausted(bucket);
        if (response.status >= 200 && response.status < 300) {
          return { status: response.status, body: this.json(text, method, path, attempt), headers: response.headers, url, attempts: attempt };
        }
        const message = this.scrub(messageOfBody(text));
        const retryable = response.status === 429 || response.status >= 500;
        if (response.status === 429) this.stats.throttled++;
        else if (response.status >= 500) this.stats.serverErrors++;
        if (!retryable || attempt > this.retry.maxRetries) throw this.failed(method, path, response, message, attempt);
        const delayMs = this.backoff(response.status === 429 ? 'throttled' : 'server', attempt - 1, bucket);
        this.retrying(method, path, attempt, `HTTP ${response.status}${message === '' ? '' : ` ${message}`}`, delayMs);
        await this.sleep(delayMs, signal);
        continue;
      }
      if (signal.aborted) throw signal.reason as Error;
      if (outcome.kind === 'timeout') this.stats.timeouts++;
      else this.stats.networkErrors++;
      const reason = outcome.kind === 'timeout' ? `no answer within ${this.requestTimeoutMs} ms` : `connection failed: ${this.scrub(describeNetworkError(outcome.error))}`;
      if (attempt > this.retry.maxRetries) {
        throw new Ns1ApiError({ kind: outcome.kind, method, path, attempts: attempt }, reason, { cause: outcome.kind === 'network' ? outcome.error : undefined });
      }
      if (landed !== undefined && (await landed(signal))) {
        this.logger.debug({ method, path, attempt, reason }, 'NS1 request went unanswered, but NS1 holds what it sent; not sending it again');
        // What NS1 holds is what the lost answer would have confirmed.
        return { status: 200, body: {}, headers: new Headers(), url, attempts: attempt };
      }
      const delayMs = this.backoff(outcome.kind, attempt - 1, bucket);
      this.retrying(method, path, attempt, reason, delayMs);
      await this.sleep(delayMs, signal);
    }
  }

  private async send(
    method: Method,
    url: URL,
    payload: string | undefined,
    signal: AbortSignal,
  ): Promise<SendOutcome> {
    const deadline = startDeadline(signal, this.requestTimeoutMs);
    const headers: Record<string, string> = { 'X-NSONE-Key': this.apiKey, Accept: 'application/json', 'User-Agent': USER_AGENT };
    if (payload !== undefined) headers['Content-Type'] = 'application/json';
    try {
      const response = await fetch(url, {
        method,
        headers,
        ...(payload === undefined ? {} : { body: payload }),
        // A redirect would carry the key to wherever it points; NS1 does not redirect.
        redirect: 'manual',
        signal: deadline.signal,
      });
      // Read to the end on every path, so the socket goes back to the keep-alive pool.
      const text = await response.text();
      return { kind: 'answer', response, text };
    } catch (error) {
      if (deadline.timedOut() && !signal.aborted) return { kind: 'timeout' };
      return { kind: 'network', error };
    } finally {
      deadline.dispose();
    }
  }

  /** Each request (every retry and page) is one event: 2xx ok, 429 throttled, anything else an error. */
  private report(operation: string, outcome: SendOutcome, durationMs: number): void {
    if (this.apiCalls === undefined) return;
    const status = outcome.kind === 'answer' ? outcome.response.status : undefined;
    const result: ApiCallOutcome = status === 429 ? 'throttled' : status !== undefined && status >= 200 && status < 300 ? 'ok' : 'error';
    this.apiCalls.observer.call({ provider: this.apiCalls.provider, operation, outcome: result, durationMs });
  }

  private backoff(kind: 'throttled' | 'server' | 'network' | 'timeout', retryIndex: number, bucket: string): number {
    if (kind !== 'throttled') return fullJitterMs(this.retry.transientBaseMs, retryIndex, this.retry.capMs, this.random);
    const jitter = fullJitterMs(this.retry.throttleBaseMs, retryIndex, this.retry.capMs, this.random);
    const state = this.pacer.state(bucket);
    // At least one token's refill: sooner, the bucket is still empty.
    return Math.max(jitter, state === undefined ? this.retry.throttleBaseMs : Math.ceil(refillIntervalMs(state)));
  }

  private retrying(method: Method, path: string, attempt: number, reason: string, delayMs: number): void {
    this.stats.retries++;
    this.logger.debug({ method, path, attempt, reason, delayMs }, 'NS1 request failed; retrying');
  }

  private failed(method: Method, path: string, response: Response, message: string, attempts: number): Ns1ApiError {
    const status = response.status;
    if (status >= 300 && status < 400) {
      const location = response.headers.get('location');
      return new Ns1ApiError(
        { kind: 'invalid', method, path, status, attempts },
        `HTTP ${status}: NS1 redirected to ${location === null ? 'elsewhere' : this.scrub(location)}; not followed (check the endpoint)`,
      );
    }
    const kind: Ns1FailureKind = kindOfStatus(status, message);
    const reason =
      kind === 'unauthorized'
        ? `HTTP 401: NS1 refused the API key${message === '' ? '' : ` (${message})`}`
        : kind === 'forbidden'
          ? `HTTP 403: the API key may not do this${message === '' ? '' : ` (${message})`}`
          : `HTTP ${status}${message === '' ? '' : `: ${message}`}`;
    return new Ns1ApiError({ kind, method, path, status, ns1Message: message, attempts }, reason);
  }

  private malformed(method: Method, path: string, attempts: number, reason: string): Ns1ApiError {
    return new Ns1ApiError({ kind: 'malformed', method, path, attempts }, reason);
  }

  private json(text: string, method: Method, path: string, attempts: number): unknown {
    if (text.trim() === '') return {};
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new Ns1ApiError({ kind: 'malformed', method, path, attempts }, `the answer is not JSON (${errorMessage(err)})`);
    }
  }

  private parse<T>(schema: z.ZodType<T>, answered: Answered, method: Method, path: string): T {
    const result = schema.safeParse(answered.body);
    if (result.success) return result.data;
    const issue = result.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? '' : ` at ${issue.path.join('.')}`;
    throw this.malformed(method, path, answered.attempts, `the answer is not what NS1 sends${where}: ${issue?.message ?? 'unexpected shape'}`);
  }

  /** Text from the other side, with the key taken out should it ever be echoed. */
  private scrub(text: string): string {
    return this.apiKey.length === 0 ? text : text.split(this.apiKey).join('[redacted]');
  }
}

function recordPath(zone: string, domain: string, type: string): string {
  return `zones/${encodeURIComponent(bareName(zone))}/${encodeURIComponent(bareName(domain))}/${encodeURIComponent(type.toUpperCase())}`;
}

function writeBody(record: Ns1RecordWrite): Record<string, unknown> {
  return {
    zone: bareName(record.zone),
    domain: bareName(record.domain),
    type: record.type,
    ttl: record.ttl,
    answers: record.answers.map((a) => ({ answer: [...a.answer] })),
  };
}
