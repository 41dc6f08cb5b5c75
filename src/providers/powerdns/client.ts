import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import type { Clock } from '../../lib/clock.js';
import { startDeadline } from '../../lib/deadline.js';
import { ProviderError } from '../../lib/errors.js';
import { describeNetworkError } from '../../lib/network-error.js';
import type { ApiCallObserver } from '../provider.js';

/**
 * A small client of the PowerDNS Authoritative HTTP API (v1, as in PowerDNS 4.x) on Node's fetch:
 * the zone calls dnsquorum uses and nothing else.
 *
 * - Auth: the `X-API-Key` header, and nowhere else (not in errors or logs); redirects are not
 *   followed, so the key never travels to another host.
 * - One request per call, under a deadline (the caller's signal or requestTimeoutMs). A failure
 *   is a typed ProviderError: 5xx, network errors and timeouts are transient (the next pass
 *   re-reads and re-plans, so a PATCH that went unanswered is never blindly sent again); 4xx
 *   answers carry PowerDNS's own `error` text.
 */

export interface PdnsRecord {
  readonly content: string;
  readonly disabled: boolean;
}

export interface PdnsRrset {
  /** FQDN with the trailing dot, as PowerDNS writes it (case as stored). */
  readonly name: string;
  readonly type: string;
  readonly ttl: number;
  readonly records: readonly PdnsRecord[];
}

export interface PdnsZone {
  readonly name: string;
  readonly kind: string;
  readonly serial: number;
  readonly rrsets: readonly PdnsRrset[];
}

/** One entry of a PATCH: REPLACE sets the whole RRset, DELETE removes it. */
export type PdnsRrsetChange =
  | { readonly name: string; readonly type: string; readonly changetype: 'REPLACE'; readonly ttl: number; readonly records: readonly PdnsRecord[] }
  | { readonly name: string; readonly type: string; readonly changetype: 'DELETE' };

export interface PdnsClientOptions {
  /** The provider's name in the config, for errors. */
  readonly provider: string;
  /** Base URL of the server, e.g. "http://127.0.0.1:8081/"; the client adds /api/v1/servers/{serverId}/. */
  readonly url: string;
  readonly apiKey: string;
  readonly serverId: string;
  readonly requestTimeoutMs: number;
  /** Request deadlines run on it (a ManualClock in tests). */
  readonly clock: Clock;
  readonly apiCalls?: ApiCallObserver;
}

const ttlSchema = z.number().int().min(0).max(2_147_483_647);
const zoneSchema = z.object({
  name: z.string(),
  kind: z.string(),
  serial: z.number().int().nonnegative(),
  rrsets: z.array(
    z.object({
      name: z.string(),
      type: z.string(),
      ttl: ttlSchema,
      records: z.array(z.object({ content: z.string(), disabled: z.boolean() })),
    }),
  ),
});

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT';

/** PowerDNS names no operations; these name each call, for metrics. */
type Operation = 'GetZone' | 'CreateZone' | 'PatchRrsets' | 'NotifyZone';

const USER_AGENT = 'dnsquorum (powerdns provider)';
/** PowerDNS's error bodies are short; anything longer is not its answer and is cut. */
const MAX_MESSAGE_CHARS = 500;

export class PdnsClient {
  private readonly base: URL;
  private readonly closing = new AbortController();

  constructor(private readonly options: PdnsClientOptions) {
    const root = options.url.endsWith('/') ? options.url : `${options.url}/`;
    this.base = new URL(`api/v1/servers/${encodeURIComponent(options.serverId)}/`, root);
  }

  /** GET zones/{zone}: the zone with every RRset; DQ_ZONE_NOT_FOUND when the server holds no such zone. */
  async getZone(zone: string, signal: AbortSignal): Promise<PdnsZone> {
    const body = await this.call('GetZone', 'GET', zonePath(zone), undefined, signal, { notFound: zone });
    const parsed = zoneSchema.safeParse(body);
    if (!parsed.success) {
      throw this.error('DQ_PROVIDER_UNAVAILABLE', 'GET', zonePath(zone), `the answer is not a PowerDNS zone: ${parsed.error.issues[0]?.message ?? 'wrong shape'} at ${parsed.error.issues[0]?.path.join('.') ?? '?'}`);
    }
    return parsed.data;
  }

  /** POST zones: creates the zone with these apex name servers; PowerDNS writes the SOA. */
  async createZone(zone: string, kind: 'Native' | 'Master', nameservers: readonly string[], signal: AbortSignal): Promise<void> {
    // soa_edit_api DEFAULT: PowerDNS raises the SOA serial on every change made through the API.
    await this.call('CreateZone', 'POST', 'zones', { name: zone, kind, nameservers, soa_edit_api: 'DEFAULT' }, signal);
  }

  /** PATCH zones/{zone}: every change in one request, which PowerDNS applies all or nothing. */
  async patchRrsets(zone: string, rrsets: readonly PdnsRrsetChange[], signal: AbortSignal): Promise<void> {
    await this.call('PatchRrsets', 'PATCH', zonePath(zone), { rrsets }, signal, { notFound: zone });
  }

  /** PUT zones/{zone}/notify: asks the server to send NOTIFY to the zone's secondaries (Master zones). */
  async notify(zone: string, signal: AbortSignal): Promise<void> {
    await this.call('NotifyZone', 'PUT', `${zonePath(zone)}/notify`, undefined, signal, { notFound: zone });
  }

  close(): void {
    this.closing.abort(new Error('the PowerDNS client was closed'));
  }

  private async call(operation: Operation, method: Method, path: string, body: unknown, callerSignal: AbortSignal, options: { notFound?: string } = {}): Promise<unknown> {
    const deadline = startDeadline([callerSignal, this.closing.signal], this.options.requestTimeoutMs, this.options.clock);
    const startedAt = performance.now();
    let outcome: 'ok' | 'error' = 'error';
    try {
      let response: Response;
      let text: string;
      try {
        response = await fetch(new URL(path, this.base), {
          method,
          headers: { 'X-API-Key': this.options.apiKey, 'User-Agent': USER_AGENT, Accept: 'application/json', ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: deadline.signal,
          redirect: 'error',
        });
        text = await response.text();
      } catch (err) {
        if (callerSignal.aborted) throw err;
        const reason = deadline.timedOut() ? `no answer within ${this.options.requestTimeoutMs} ms` : describeNetworkError(err);
        throw this.error('DQ_PROVIDER_UNAVAILABLE', method, path, reason, err);
      }
      if (response.status >= 200 && response.status < 300) {
        outcome = 'ok';
        if (text.trim() === '') return undefined;
        try {
          return JSON.parse(text) as unknown;
        } catch (err) {
          throw this.error('DQ_PROVIDER_UNAVAILABLE', method, path, `HTTP ${response.status} with a body that is not JSON`, err);
        }
      }
      const message = messageOf(text, this.options.apiKey);
      if (response.status === 404 && options.notFound !== undefined) {
        throw this.error('DQ_ZONE_NOT_FOUND', method, path, `the server holds no zone ${options.notFound} (HTTP 404: ${message})`);
      }
      const code = response.status >= 500 ? 'DQ_PROVIDER_UNAVAILABLE' : response.status === 429 ? 'DQ_PROVIDER_THROTTLED' : 'DQ_PROVIDER_REJECTED';
      const hint = response.status === 401 || response.status === 403 ? ' (check the provider\'s apiKey and the server\'s api-key setting)' : '';
      throw this.error(code, method, path, `HTTP ${response.status}: ${message}${hint}`);
    } finally {
      deadline.dispose();
      this.options.apiCalls?.call({ provider: this.options.provider, operation, outcome, durationMs: performance.now() - startedAt });
    }
  }

  private error(code: ConstructorParameters<typeof ProviderError>[0], method: Method, path: string, reason: string, cause?: unknown): ProviderError {
    return new ProviderError(code, this.options.provider, `PowerDNS ${method} ${path}: ${reason}`, cause === undefined ? undefined : { cause });
  }
}

function zonePath(zone: string): string {
  return `zones/${encodeURIComponent(zone)}`;
}

/** PowerDNS's `error` field, or the body as text; never the API key, should it be echoed. */
function messageOf(text: string, apiKey: string): string {
  let message = text.trim();
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed === 'object' && parsed !== null && 'error' in parsed && typeof parsed.error === 'string') message = parsed.error;
  } catch {
    // Not JSON (PowerDNS answers 401 and 404 with plain text): the text is the message.
  }
  if (apiKey !== '') message = message.split(apiKey).join('[redacted]');
  if (message === '') return 'no message';
  return message.length > MAX_MESSAGE_CHARS ? `${message.slice(0, MAX_MESSAGE_CHARS)}…` : message;
}
