import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { isIPv6 } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HostPort } from '../../src/config/types.js';
import { AuthoritativeDnsServer } from '../../src/dns/server.js';
import { systemClock } from '../../src/lib/clock.js';
import type { Clock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/logger.js';
import type { Logger } from '../../src/lib/logger.js';
import { internalError, Ns1ApiError, rateLimitExceeded, unauthorized, validationFailed } from './api-error.js';
import type { JsonValue } from './api-error.js';
import { dnsContents } from './dns-view.js';
import { MAX_BODY_BYTES, ServedZonesCache, listen, readBody } from '../common.js';
import type { ReadBody } from '../common.js';
import { FaultInjector } from './faults.js';
import type { FakeNs1Faults, ServerErrorStatus } from './faults.js';
import { isRecordWrite, matchRoute, routeName, runOperation } from './operations.js';
import type { OperationResult, Route } from './operations.js';
import { RateLimiter } from './rate-limit.js';
import type { Ns1RateLimit, Ns1RateLimits, RateLimitOutcome } from './rate-limit.js';
import { DEFAULT_DNS_SERVERS, Ns1State } from './state.js';
import type { StoredZone } from './state.js';
import { isInZone, isNs1RecordType, nameProblem } from './validate.js';

/**
 * A fake NS1 on loopback: the REST/JSON zone and record API (X-NSONE-Key auth, PUT creates,
 * POST updates, NS1's error texts), per-route-and-method token buckets with `x-ratelimit-*`
 * headers on every answer, failures to inject, and every zone served over DNS by src/dns.
 * See docs/fake-ns1.md for what it reproduces and where it differs from NS1.
 */

export type { FakeNs1Faults } from './faults.js';
export type { Ns1RateLimit } from './rate-limit.js';

export interface FakeNs1Options {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (ephemeral). */
  port?: number;
  /** UDP+TCP DNS service of every zone (via src/dns); default 0 (ephemeral). */
  dnsPort?: number;
  /** Required X-NSONE-Key value; default "test-key". */
  apiKey?: string;
  /** Limits per method, as recorded in provider-api-notes §9.4 by default: GET 900/300s, PUT 100/200s, DELETE 100/200s, POST 300/300s. */
  rateLimits?: Partial<Record<'GET' | 'PUT' | 'POST' | 'DELETE', Ns1RateLimit>>;
  faults?: Partial<FakeNs1Faults>;
  /** Records per page of GET /v1/zones/{zone} record summaries before a Link: rel="next" (default: no paging). */
  pageSize?: number;
  /** Seeded randomness for fault decisions, so runs repeat. Default Math.random. */
  random?: () => number;
  /** Token buckets refill by it; the request log, ids and serials read it. Default the system clock. */
  clock?: Clock;
  /** dns_servers given to every new zone; default 4 names like dns1.p01.nsone.net. */
  dnsServers?: string[];
  /** Where the fake reports requests (debug) and DNS trouble. Default silent. */
  logger?: Logger;
}

export interface FakeNs1Request {
  /** GET / PUT / POST / DELETE */
  readonly method: string;
  /** e.g. "/v1/zones/example.com/www.example.com/A" */
  readonly path: string;
  /** "zones", "zone", "record", or "unknown" for paths that are no route. */
  readonly route: string;
  /** clock.now() at arrival. */
  readonly at: number;
  /** 0 when the connection was dropped. */
  readonly status: number;
  /** x-ratelimit-remaining sent. */
  readonly remaining?: number;
}

/** A record as the fake stores it (NS1 shape, simplified). */
export interface FakeNs1Record {
  /** "example.com" (no trailing dot) */
  readonly zone: string;
  /** "www.example.com" */
  readonly domain: string;
  readonly type: string;
  readonly ttl: number;
  /** `meta` (e.g. `{ up: false }`) is an addition to the agreed shape; present only when set. */
  readonly answers: readonly { readonly answer: readonly (string | number)[]; readonly meta?: Readonly<Record<string, JsonValue>> }[];
}

/** An answer before the rate-limit headers are put on it. */
interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
  readonly headers?: Readonly<Record<string, string>>;
}

function jsonAnswer(status: number, body: JsonValue, headers?: Readonly<Record<string, string>>): Answer {
  // NS1's bodies end in a newline (the recorded Content-Length counts it).
  const text = `${JSON.stringify(body)}\n`;
  return headers === undefined ? { status, contentType: 'application/json', text } : { status, contentType: 'application/json', text, headers };
}

function errorAnswer(error: Ns1ApiError): Answer {
  return jsonAnswer(error.status, { message: error.message });
}

/** What a flaky edge in front of the API hands out: JSON from the API for 500 and 503, a proxy's HTML page for 502. */
function serverErrorAnswer(status: ServerErrorStatus): Answer {
  switch (status) {
    case 500:
      return errorAnswer(internalError());
    case 502:
      return {
        status,
        contentType: 'text/html',
        text: '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n',
      };
    case 503:
      return jsonAnswer(503, { message: 'service unavailable' });
  }
}

function checkOptions(options: FakeNs1Options): void {
  if (options.apiKey !== undefined && options.apiKey === '') throw new RangeError('apiKey must not be empty');
  if (options.pageSize !== undefined && (!Number.isInteger(options.pageSize) || options.pageSize < 1)) {
    throw new RangeError(`pageSize must be a whole number of at least 1, not ${options.pageSize}`);
  }
  if (options.dnsServers !== undefined) {
    if (options.dnsServers.length === 0) throw new RangeError('dnsServers must name at least one server');
    for (const server of options.dnsServers) {
      const problem = nameProblem(server);
      if (problem !== undefined) throw new RangeError(`dnsServers: "${server}" ${problem}`);
    }
  }
}

export class FakeNs1 {
  /** "http://127.0.0.1:PORT/v1/" */
  readonly endpoint: string;
  /** Where every zone is served over DNS (UDP and TCP). */
  readonly dnsAddress: HostPort;
  /** The X-NSONE-Key value the API requires. */
  readonly apiKey: string;

  private readonly state: Ns1State;
  private readonly faultInjector: FaultInjector;
  private readonly rateLimiter: RateLimiter;
  private readonly pageSize: number | undefined;
  private readonly log: FakeNs1Request[] = [];
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly http: Server;
  private readonly dns: AuthoritativeDnsServer;
  private readonly closing = new AbortController();

  private constructor(parts: {
    endpoint: string;
    dnsAddress: HostPort;
    apiKey: string;
    state: Ns1State;
    faults: FaultInjector;
    rateLimiter: RateLimiter;
    pageSize: number | undefined;
    logger: Logger;
    clock: Clock;
    http: Server;
    dns: AuthoritativeDnsServer;
  }) {
    this.endpoint = parts.endpoint;
    this.dnsAddress = parts.dnsAddress;
    this.apiKey = parts.apiKey;
    this.state = parts.state;
    this.faultInjector = parts.faults;
    this.rateLimiter = parts.rateLimiter;
    this.pageSize = parts.pageSize;
    this.logger = parts.logger;
    this.clock = parts.clock;
    this.http = parts.http;
    this.dns = parts.dns;
  }

  /**
   * Listens for HTTP and DNS (ports 0 by default) and resolves once both are up. Throws
   * RangeError for out-of-range options or faults, DnsQuorumError when DNS cannot listen.
   */
  static async start(options: FakeNs1Options = {}): Promise<FakeNs1> {
    checkOptions(options);
    const host = options.host ?? '127.0.0.1';
    const clock = options.clock ?? systemClock;
    const logger = options.logger ?? silentLogger();
    const rateLimiter = new RateLimiter(clock, options.rateLimits);
    const faults = new FaultInjector(options.random ?? Math.random);
    if (options.faults !== undefined) faults.set(options.faults);
    const state = new Ns1State(clock, (options.dnsServers ?? DEFAULT_DNS_SERVERS).map((s) => s.toLowerCase()));

    const served = new ServedZonesCache({ get version() { return state.version; }, contents: () => dnsContents(state.allZones()) }, logger);
    const dns = new AuthoritativeDnsServer({ listen: { host, port: options.dnsPort ?? 0 }, zones: () => served.zones(), logger, name: 'fake-ns1' });
    await dns.start();
    const http = createServer({ keepAlive: true });
    try {
      await listen(http, options.port ?? 0, host);
    } catch (err) {
      await dns.close();
      throw err;
    }
    const address = http.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const fake = new FakeNs1({
      endpoint: `http://${isIPv6(host) ? `[${host}]` : host}:${port}/v1/`,
      dnsAddress: dns.address(),
      apiKey: options.apiKey ?? 'test-key',
      state,
      faults,
      rateLimiter,
      pageSize: options.pageSize,
      logger,
      clock,
      http,
      dns,
    });
    http.on('request', (req: IncomingMessage, res: ServerResponse) => {
      fake.handle(req, res).catch((err: unknown) => {
        logger.error({ err }, 'fake NS1 request handling failed');
        res.destroy();
      });
    });
    return fake;
  }

  /** Every request answered (or dropped) so far, oldest first. */
  get requests(): readonly FakeNs1Request[] {
    return this.log;
  }

  /** The faults now in force. */
  get faults(): Readonly<FakeNs1Faults> {
    return this.faultInjector.faults;
  }

  /** The per-method limits now in force. */
  get rateLimits(): Readonly<Ns1RateLimits> {
    return this.rateLimiter.limits;
  }

  /** Merges `faults` into the current ones; throws RangeError for out-of-range values. Setting failWritesAfter restarts its count. */
  setFaults(faults: Partial<FakeNs1Faults>): void {
    this.faultInjector.set(faults);
  }

  /** Changes the per-method limits from now on (buckets shrink to the new limit). Throws RangeError for bad limits. */
  setRateLimits(limits: Partial<Record<'GET' | 'PUT' | 'POST' | 'DELETE', Ns1RateLimit>>): void {
    this.rateLimiter.set(limits);
  }

  clearRequests(): void {
    this.log.length = 0;
  }

  /**
   * Creates a zone as PUT /v1/zones/{zone} does, apex NS record included; returns its name as NS1
   * writes it (lowercase, no trailing dot) and its dns_servers. Throws for a bad or existing name.
   */
  createZone(name: string): { name: string; dnsServers: string[] } {
    try {
      const zone = this.state.createZone(name.replace(/\.$/, ''));
      return { name: zone.name, dnsServers: [...zone.dnsServers] };
    } catch (err) {
      if (err instanceof Ns1ApiError) throw new Error(`cannot create zone "${name}": ${err.message}`, { cause: err });
      throw err;
    }
  }

  /** Every record of a zone in NS1's listing order (by domain, then type). Throws for an unknown zone. */
  zoneRecords(zone: string): FakeNs1Record[] {
    return this.state.sortedRecords(this.requireZone(zone)).map((record) => ({
      zone: record.zone,
      domain: record.domain,
      type: record.type,
      ttl: record.ttl,
      answers: record.answers.map((a) => (a.meta === undefined ? { answer: [...a.answer] } : { answer: [...a.answer], meta: a.meta })),
    }));
  }

  /**
   * Adds or replaces a record behind the API's back (out-of-band changes in tests): only the
   * zone, the name (inside the zone) and the type are checked; DNS serves it at once with a
   * higher serial. Throws for an unknown zone, a name outside it or a type the fake does not hold.
   */
  putRecordDirect(record: FakeNs1Record): void {
    const zone = this.requireZone(record.zone);
    const domain = record.domain.toLowerCase().replace(/\.$/, '');
    const type = record.type.toUpperCase();
    if (!isInZone(domain, zone.name)) throw new Error(`putRecordDirect: ${record.domain} is not in zone ${zone.name}`);
    if (!isNs1RecordType(type)) throw new Error(`putRecordDirect: the fake NS1 does not hold ${record.type} records`);
    if (!Number.isInteger(record.ttl) || record.ttl < 0) throw new Error(`putRecordDirect: ttl must be a whole number of at least 0, not ${record.ttl}`);
    const answers = record.answers.map((a) => (a.meta === undefined ? { answer: [...a.answer] } : { answer: [...a.answer], meta: { ...a.meta } }));
    this.state.putDirect(zone, { zone: zone.name, domain, type }, record.ttl, answers);
  }

  /** Stops HTTP and DNS, cutting open connections and pending delayed answers. Safe to call twice. */
  async close(): Promise<void> {
    this.closing.abort();
    const closed = new Promise<void>((resolve) => {
      this.http.close(() => {
        resolve();
      });
    });
    this.http.closeAllConnections();
    await Promise.all([closed, this.dns.close()]);
  }

  private requireZone(name: string): StoredZone {
    const zone = this.state.findZone(name.replace(/\.$/, ''));
    if (zone === undefined) throw new Error(`the fake NS1 has no zone "${name}"`);
    return zone;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = this.clock.now();
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://fake.invalid');
    const route = matchRoute(url.pathname);
    const name = routeName(route);
    const body = await readBody(req);
    const entry = { method, path: url.pathname, route: name, at };

    if (this.faultInjector.drop()) {
      this.record({ ...entry, status: 0 });
      req.socket.destroy();
      return;
    }

    let limit: RateLimitOutcome;
    let answer: Answer;
    const key = req.headers['x-nsone-key'];
    if (typeof key !== 'string' || key !== this.apiKey) {
      // Buckets are kept per customer; a request nobody can be charged for takes no token.
      limit = this.rateLimiter.peek(name, method);
      answer = errorAnswer(unauthorized());
    } else {
      limit = this.rateLimiter.take(name, method);
      const serverError = limit.allowed ? this.faultInjector.serverError() : undefined;
      if (!limit.allowed) answer = errorAnswer(rateLimitExceeded());
      else if (serverError !== undefined) answer = serverErrorAnswer(serverError);
      else answer = this.operate(route, method, url.searchParams, body);
    }

    const { delayMs } = this.faultInjector.faults;
    if (delayMs > 0) {
      try {
        await sleep(delayMs, undefined, { signal: this.closing.signal });
      } catch {
        // Closing: the connection is being cut anyway.
        return;
      }
    }
    this.record({ ...entry, status: answer.status, remaining: limit.remaining });
    if (res.destroyed) return;
    res.writeHead(answer.status, {
      'Content-Type': answer.contentType,
      'Content-Length': Buffer.byteLength(answer.text),
      'x-ratelimit-by': 'customer',
      'x-ratelimit-limit': String(limit.limit),
      'x-ratelimit-period': String(limit.periodSeconds),
      'x-ratelimit-remaining': String(limit.remaining),
      ...answer.headers,
    });
    res.end(answer.text);
  }

  private operate(route: Route | undefined, method: string, query: URLSearchParams, body: ReadBody): Answer {
    if (route === undefined) return jsonAnswer(404, { message: 'Not Found' });
    const write = isRecordWrite(route, method);
    if (write && this.faultInjector.writesBlocked()) return errorAnswer(internalError());
    let result: OperationResult;
    try {
      if (body.tooLarge) throw validationFailed(`the request body is larger than ${MAX_BODY_BYTES} bytes`);
      result = runOperation(route, { state: this.state, method, query, body: body.text, endpoint: this.endpoint, pageSize: this.pageSize });
    } catch (err) {
      if (err instanceof Ns1ApiError) return errorAnswer(err);
      this.logger.error({ err, method, route: route.kind }, 'fake NS1 operation failed unexpectedly; answering 500');
      return errorAnswer(internalError());
    }
    if (write) this.faultInjector.noteWriteSucceeded();
    return jsonAnswer(result.status, result.body, result.headers);
  }

  private record(entry: FakeNs1Request): void {
    this.log.push(entry);
    this.logger.debug({ ...entry }, 'fake NS1 request');
  }
}
