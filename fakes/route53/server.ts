import { randomUUID } from 'node:crypto';
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
import { ApiError, errorBody, internalFailure, invalidInput } from './api-error.js';
import { dnsContents } from './dns-view.js';
import { MAX_BODY_BYTES, ServedZonesCache, listen, readBody } from '../common.js';
import { FaultInjector } from './faults.js';
import type { FakeRoute53Faults } from './faults.js';
import { escapeName } from './names.js';
import { matchRoute, runOperation } from './operations.js';
import type { OperationResult } from './operations.js';
import type { FakeRecordSet } from './records.js';
import { Route53State } from './state.js';
import type { FakeVpc, HostedZone } from './state.js';

/**
 * A fake Amazon Route53 on loopback: the REST/XML API the AWS SDK speaks (hosted zones, record
 * sets, changes), with Route53's validation texts, ordering, paging and limits, failures to
 * inject, and every hosted zone served over DNS by src/dns the way the real name servers serve
 * them. See docs/fake-route53.md for what it reproduces and where it differs.
 */

export type { FakeRoute53Faults } from './faults.js';
export type { FakeAliasTarget, FakeGeoLocation, FakeRecordSet } from './records.js';
export type { FakeVpc } from './state.js';

export interface FakeRoute53Options {
  host?: string;
  port?: number;
  /** UDP+TCP DNS service of every hosted zone; default 0 (ephemeral). */
  dnsPort?: number;
  /** A change stays PENDING this long, then GetChange says INSYNC. Default 0 (INSYNC at once on the next GetChange). */
  changeDelayMs?: number;
  /**
   * Host names (no trailing dot) every zone gets as its name servers, like a reusable delegation
   * set, so a config can name them in `resolve:` before the fake starts. Default: four at random per zone.
   */
  delegationSet?: readonly string[];
  faults?: Partial<FakeRoute53Faults>;
  /** Seeded randomness for fault decisions, so tests are repeatable. Default Math.random. */
  random?: () => number;
  /** Time for change status, the token bucket and the request log. Default the system clock. */
  clock?: Clock;
  /** Where the fake reports requests (debug) and DNS trouble. Default silent. */
  logger?: Logger;
}

export interface FakeRoute53Request {
  readonly operation: string;
  /** clock.now() when the request arrived. */
  readonly at: number;
  /** HTTP status answered (0 when the connection was dropped). */
  readonly status: number;
  readonly errorCode?: string;
  /** Bare id, e.g. "Z0123456789ABC". */
  readonly zoneId?: string;
  /** ChangeResourceRecordSets: number of Change elements. */
  readonly changes?: number;
}

export class FakeRoute53 {
  /** "http://127.0.0.1:PORT" */
  readonly endpoint: string;
  /** Where every hosted zone is served over DNS (UDP and TCP). */
  readonly dnsAddress: HostPort;

  private readonly state: Route53State;
  private readonly faultInjector: FaultInjector;
  private readonly log: FakeRoute53Request[] = [];
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly http: Server;
  private readonly dns: AuthoritativeDnsServer;
  private readonly closing = new AbortController();

  private constructor(parts: {
    endpoint: string;
    dnsAddress: HostPort;
    state: Route53State;
    faults: FaultInjector;
    logger: Logger;
    clock: Clock;
    http: Server;
    dns: AuthoritativeDnsServer;
  }) {
    this.endpoint = parts.endpoint;
    this.dnsAddress = parts.dnsAddress;
    this.state = parts.state;
    this.faultInjector = parts.faults;
    this.logger = parts.logger;
    this.clock = parts.clock;
    this.http = parts.http;
    this.dns = parts.dns;
  }

  /** Listens for HTTP and DNS (ports 0 by default) and resolves once both are up. */
  static async start(options: FakeRoute53Options = {}): Promise<FakeRoute53> {
    const host = options.host ?? '127.0.0.1';
    const clock = options.clock ?? systemClock;
    const logger = options.logger ?? silentLogger();
    const changeDelayMs = options.changeDelayMs ?? 0;
    if (!Number.isFinite(changeDelayMs) || changeDelayMs < 0) throw new RangeError(`changeDelayMs must be at least 0, not ${changeDelayMs}`);
    const state = new Route53State(clock, changeDelayMs, options.delegationSet);
    const faults = new FaultInjector(clock, options.random ?? Math.random);
    if (options.faults !== undefined) faults.set(options.faults);

    const served = new ServedZonesCache({ get version() { return state.version; }, contents: () => dnsContents(state.allZones()) }, logger);
    const dns = new AuthoritativeDnsServer({
      listen: { host, port: options.dnsPort ?? 0 },
      zones: () => served.zones(),
      logger,
      name: 'fake-route53',
    });
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
    const fake = new FakeRoute53({
      endpoint: `http://${isIPv6(host) ? `[${host}]` : host}:${port}`,
      dnsAddress: dns.address(),
      state,
      faults,
      logger,
      clock,
      http,
      dns,
    });
    http.on('request', (req: IncomingMessage, res: ServerResponse) => {
      fake.handle(req, res).catch((err: unknown) => {
        logger.error({ err }, 'fake Route53 request handling failed');
        res.destroy();
      });
    });
    return fake;
  }

  /** Every request answered (or dropped) so far, oldest first. */
  get requests(): readonly FakeRoute53Request[] {
    return this.log;
  }

  /** The faults now in force. */
  get faults(): Readonly<FakeRoute53Faults> {
    return this.faultInjector.faults;
  }

  /** Merges `faults` into the current ones; a new tokenBucket starts full. Throws RangeError for out-of-range values. */
  setFaults(faults: Partial<FakeRoute53Faults>): void {
    this.faultInjector.set(faults);
  }

  /** How long changes submitted from now on, and those still PENDING, stay PENDING (one already INSYNC stays so). */
  setChangeDelay(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`change delay must be at least 0, not ${ms}`);
    this.state.setChangeDelay(ms);
  }

  clearRequests(): void {
    this.log.length = 0;
  }

  /**
   * Creates a hosted zone directly (as the CreateHostedZone route does); returns its bare id, its
   * 4 name servers as the apex NS record holds them (absolute, e.g. "ns-1234.awsdns-12.org.") and
   * its name as the API shows it ("example.com."). With `privateZone` (a VPC) the zone is private:
   * no name servers of its own, not served on DNS. Throws ApiError InvalidInput for a bad name.
   */
  createZone(name: string, options: { readonly privateZone?: FakeVpc } = {}): { id: string; nameservers: string[]; name: string } {
    const { zone } = this.state.createZone(name, randomUUID(), undefined, options.privateZone);
    return { id: zone.id, nameservers: zone.nameservers.map((ns) => `${ns}.`), name: escapeName(zone.name) };
  }

  /** Deletes a hosted zone (by name or bare id) with every record set in it, as someone at the console might. */
  deleteZone(zone: string): void {
    this.state.deleteZone(this.requireZone(zone).id);
  }

  /** Every record set of a zone (by name or bare id), sorted as ListResourceRecordSets sorts. */
  zoneRecords(zone: string): FakeRecordSet[] {
    return this.state.sortedSets(this.requireZone(zone));
  }

  /** Replaces or adds record sets behind the API's back (out-of-band changes in tests). */
  putRecordDirect(zone: string, rrset: FakeRecordSet): void {
    this.state.putDirect(this.requireZone(zone), rrset);
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

  private requireZone(zone: string): HostedZone {
    const found = this.state.findZone(zone.replace(/^\/?hostedzone\//, ''));
    if (found === undefined) throw new Error(`the fake Route53 has no hosted zone "${zone}"`);
    return found;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = this.clock.now();
    const url = new URL(req.url ?? '/', 'http://fake.invalid');
    const body = await readBody(req);
    const route = matchRoute(req.method ?? 'GET', url.pathname);
    const entry: { operation: string; at: number; zoneId?: string; changes?: number } = { operation: route?.operation ?? 'Unknown', at };
    if (route !== undefined && 'zoneId' in route) entry.zoneId = route.zoneId;

    const decision = this.faultInjector.decide();
    if (decision.kind === 'drop') {
      this.record({ ...entry, status: 0 });
      req.socket.destroy();
      return;
    }

    let result: OperationResult;
    let error: ApiError | undefined;
    try {
      if (typeof req.headers.authorization !== 'string' || req.headers.authorization === '') {
        throw new ApiError(403, 'MissingAuthenticationToken', 'Missing Authentication Token');
      }
      if (route === undefined) throw new ApiError(404, 'UnknownOperation', `No Route53 operation answers ${req.method ?? '?'} ${url.pathname}`);
      if (decision.kind === 'error') throw decision.error;
      if (body.tooLarge) throw invalidInput(`The request body is larger than ${MAX_BODY_BYTES} bytes`);
      result = runOperation(route, {
        state: this.state,
        query: url.searchParams,
        body: body.text,
        priorRequestNotComplete: this.faultInjector.faults.priorRequestNotComplete,
        noteChanges: (count) => {
          entry.changes = count;
        },
      });
    } catch (err) {
      if (err instanceof ApiError) {
        error = err;
      } else {
        this.logger.error({ err, operation: entry.operation }, 'fake Route53 operation failed unexpectedly; answering InternalFailure');
        error = internalFailure();
      }
      result = { status: error.status, body: '' };
    }

    const requestId = randomUUID();
    const delayMs = this.faultInjector.faults.delayMs;
    if (delayMs > 0) {
      try {
        await sleep(delayMs, undefined, { signal: this.closing.signal });
      } catch {
        // Closing: the connection is being cut anyway.
        return;
      }
    }
    this.record({ ...entry, status: result.status, ...(error === undefined ? {} : { errorCode: error.code }) });
    if (res.destroyed) return;
    const text = error === undefined ? result.body : errorBody(error, requestId);
    res.writeHead(result.status, {
      'Content-Type': 'text/xml',
      'Content-Length': Buffer.byteLength(text),
      'x-amzn-RequestId': requestId,
      ...result.headers,
    });
    res.end(text);
  }

  private record(entry: FakeRoute53Request): void {
    this.log.push(entry);
    this.logger.debug({ ...entry }, 'fake Route53 request');
  }
}
