import { lookup as systemLookup } from 'node:dns/promises';
import { isIPv6 } from 'node:net';
import type { RecordType as PacketRecordType } from 'dns-packet';
import type { HostPort } from '../config/types.js';
import type { HealthView } from '../domain/health.js';
import type { Override } from '../domain/override.js';
import { compareRecordSets, fqdn, keyOf, recordKey } from '../domain/record.js';
import type { RecordKey, RecordSet } from '../domain/record.js';
import type { ZoneSpec } from '../domain/zone.js';
import type { Clock } from '../lib/clock.js';
import { queryDns } from '../lib/dns-query.js';
import type { DnsReply } from '../lib/dns-query.js';
import { DnsQuorumError, ProviderError, errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { desiredZone } from '../plan/desired.js';
import type { DnsProvider } from '../providers/provider.js';
import { lastServed, nameserverUnion, readZone } from '../sync/sync-once.js';
import type { Listing } from '../sync/sync-once.js';
import { compareAnswer } from './compare.js';
import type { Difference, Expectation } from './compare.js';
import { concurrencyLimit } from './limit.js';

/** One authoritative name server of one provider, and how it answered. */
export interface ServerVerification {
  /** The name server's host name as the provider names it (FQDN). */
  readonly host: string;
  /** "ip:port" it was asked at; null when its address could not be found. */
  readonly address: string | null;
  /** Questions it answered and that were compared. */
  readonly checked: number;
  readonly differences: readonly Difference[];
}

export interface ProviderVerification {
  readonly provider: string;
  readonly type: string;
  /** The provider's API could not be read (or does not hold the zone): its servers were not asked. */
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly servers: readonly ServerVerification[];
}

export interface ZoneVerification {
  readonly zone: string;
  readonly consistent: boolean;
  readonly providers: readonly ProviderVerification[];
}

/** Plain data, JSON-serialisable. */
export interface VerifyReport {
  readonly startedAt: number;
  readonly durationMs: number;
  /** Every provider was read and every one of its servers answered the desired state. */
  readonly consistent: boolean;
  /** Servers that answered at least one question. */
  readonly serversChecked: number;
  readonly zones: readonly ZoneVerification[];
}

export interface VerifyInputs {
  readonly zones: readonly ZoneSpec[];
  readonly providers: ReadonlyMap<string, DnsProvider>;
  /** Host name (lowercase, no trailing dot) -> where to ask it instead of the system resolver (config `resolve`). */
  readonly resolve: ReadonlyMap<string, HostPort>;
  /** Health, overrides and recent writes for the desired records; empty (as in a CLI dry run) when absent. */
  readonly health?: HealthView;
  readonly overrides?: readonly Override[];
  readonly recentWrites?: ReadonlyMap<RecordKey, readonly number[]>;
  /** Deadline of each DNS question (default 2000 ms). */
  readonly queryTimeoutMs?: number;
  /** Questions in flight at once, over all servers (default 32). */
  readonly maxInFlight?: number;
  /** Finds a host's address when `resolve` does not name it; dns.lookup by default. */
  readonly lookup?: (host: string) => Promise<string>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly signal: AbortSignal;
}

const DNS_PORT = 53;

/**
 * Asks every authoritative name server of every provider of each zone for every record set the
 * zone should serve (computed exactly as a dry-run pass computes it) and reports each difference
 * per server. Provider APIs are only read, never written.
 */
export async function verifyZones(inputs: VerifyInputs): Promise<VerifyReport> {
  const startedAt = inputs.clock.now();
  const limit = concurrencyLimit(inputs.maxInFlight ?? 32);
  const zones: ZoneVerification[] = [];
  for (const zone of inputs.zones) zones.push(await verifyZone(zone, inputs, limit));
  const servers = zones.flatMap((z) => z.providers.flatMap((p) => p.servers));
  return {
    startedAt,
    durationMs: inputs.clock.now() - startedAt,
    consistent: zones.every((z) => z.consistent),
    serversChecked: servers.filter((s) => s.checked > 0).length,
    zones,
  };
}

type Limit = ReturnType<typeof concurrencyLimit>;

async function verifyZone(zone: ZoneSpec, inputs: VerifyInputs, limit: Limit): Promise<ZoneVerification> {
  const log = inputs.logger.child({ zone: zone.name });
  const providers = zone.providers.map((name) => {
    const provider = inputs.providers.get(name);
    if (provider === undefined) throw new DnsQuorumError('DQ_INTERNAL', `zone ${zone.name} names provider ${name}, which was not built`);
    return provider;
  });
  const [listings, nameserverSets] = await Promise.all([
    Promise.all(providers.map((p) => readZone(p, zone.name, inputs.signal))),
    Promise.all(providers.map((p) => readNameservers(p, zone.name, inputs.signal))),
  ]);
  inputs.signal.throwIfAborted();

  const desired = desiredZone({
    zone,
    health: inputs.health ?? new Map(),
    overrides: inputs.overrides ?? [],
    lastServed: lastServed(zone, listings),
    recentWrites: inputs.recentWrites ?? new Map(),
    ...(zone.nameservers === 'sync' ? { apexNameservers: nameserverUnion(nameserverSets.map((s) => (s.ok ? s.hosts : undefined))) } : {}),
    now: inputs.clock.now(),
  });
  const desiredKeys = new Set(desired.records.map(keyOf));
  const absent = new Set([...desired.managed].filter((k) => !desiredKeys.has(k)));

  const results = await Promise.all(
    providers.map(async (provider, i): Promise<ProviderVerification> => {
      const listing: Listing = listings[i] ?? { ok: false, error: new Error('no listing') };
      const nameservers = nameserverSets[i] ?? { ok: false, error: new Error('no name servers') };
      const base = { provider: provider.name, type: provider.type };
      const failure = listingFailure(provider, zone.name, listing) ?? (nameservers.ok ? undefined : describe(nameservers.error));
      if (failure !== undefined || !listing.ok || !nameservers.ok) {
        const error = failure ?? { code: 'DQ_INTERNAL', message: 'provider could not be read' };
        log.warn({ provider: provider.name, error }, 'provider could not be read; its servers are not asked');
        return { ...base, error, servers: [] };
      }
      const expectations = expectationsFor(zone, desired.records, absent, listing.records);
      const servers = await Promise.all(nameservers.hosts.map((host) => verifyServer(host, expectations, inputs, limit)));
      for (const server of servers) {
        for (const d of server.differences) log.info({ provider: provider.name, server: server.host, address: server.address, record: d.name, type: d.type, kind: d.kind }, d.message);
      }
      return { ...base, error: null, servers };
    }),
  );

  const consistent = results.every((p) => p.error === null && p.servers.every((s) => s.differences.length === 0));
  return { zone: zone.name, consistent, providers: results };
}

type NameserverRead = { ok: true; hosts: string[] } | { ok: false; error: unknown };

async function readNameservers(provider: DnsProvider, zone: string, signal: AbortSignal): Promise<NameserverRead> {
  try {
    return { ok: true, hosts: (await provider.nameservers(zone, signal)).map(fqdn) };
  } catch (err) {
    return { ok: false, error: err };
  }
}

function listingFailure(provider: DnsProvider, zone: string, listing: Listing): { code: string; message: string } | undefined {
  if (!listing.ok) return describe(listing.error);
  if (listing.zoneMissing) return { code: 'DQ_ZONE_NOT_FOUND', message: `${provider.name}: does not hold zone ${zone} (sync --apply creates it)` };
  return undefined;
}

/**
 * The questions for one provider's servers: the apex NS first (it doubles as the reachability
 * probe), then every desired record set, then the managed keys that must be absent. The apex NS
 * is expected as desired when the zone syncs it, else as the provider itself lists it.
 */
function expectationsFor(zone: ZoneSpec, records: readonly RecordSet[], absent: ReadonlySet<RecordKey>, listed: readonly RecordSet[]): Expectation[] {
  const apexKey = recordKey(zone.name, 'NS');
  const apexNs = records.find((r) => keyOf(r) === apexKey) ?? listed.find((r) => keyOf(r) === apexKey);
  const first: Expectation[] = apexNs === undefined ? [] : [{ name: apexNs.name, type: 'NS', expected: apexNs }];
  const rest = records.filter((r) => keyOf(r) !== apexKey).map((r): Expectation => ({ name: r.name, type: r.type, expected: r }));
  // Only failover records can be absent (fail-closed); the apex NS is managed only when desired.
  const gone = zone.records.filter((r) => absent.has(recordKey(r.name, r.type))).map((r): Expectation => ({ name: r.name, type: r.type, expected: null }));
  return [...first, ...rest.sort(compareRecordSets), ...gone];
}

async function verifyServer(host: string, expectations: readonly Expectation[], inputs: VerifyInputs, limit: Limit): Promise<ServerVerification> {
  let server: HostPort;
  try {
    server = await addressOf(host, inputs);
  } catch (err) {
    inputs.signal.throwIfAborted();
    const [first] = expectations;
    const differences: Difference[] =
      first === undefined ? [] : [{ kind: 'unreachable', name: first.name, type: first.type, expected: null, got: null, message: `cannot find the address of ${host}: ${errorMessage(err)}` }];
    return { host, address: null, checked: 0, differences };
  }
  const address = isIPv6(server.host) ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`;
  const [probe, ...rest] = expectations;
  if (probe === undefined) return { host, address, checked: 0, differences: [] };

  // A dead server costs one timeout, not one per question.
  const first = await ask(server, address, probe, inputs, limit);
  if (first.unanswered) return { host, address, checked: 0, differences: first.differences };
  const others = await Promise.all(rest.map((e) => ask(server, address, e, inputs, limit)));
  const all = [first, ...others];
  return { host, address, checked: all.filter((r) => !r.unanswered).length, differences: all.flatMap((r) => r.differences) };
}

function addressOf(host: string, inputs: VerifyInputs): Promise<HostPort> {
  const key = host.toLowerCase().replace(/\.$/, '');
  const mapped = inputs.resolve.get(key);
  if (mapped !== undefined) return Promise.resolve(mapped);
  const lookup = inputs.lookup ?? (async (h: string) => (await systemLookup(h)).address);
  return lookup(key).then((ip) => ({ host: ip, port: DNS_PORT }));
}

interface Asked {
  readonly unanswered: boolean;
  readonly differences: Difference[];
}

async function ask(server: HostPort, address: string, expectation: Expectation, inputs: VerifyInputs, limit: Limit): Promise<Asked> {
  const timeoutMs = inputs.queryTimeoutMs ?? 2000;
  let reply: DnsReply;
  try {
    reply = await limit(() => queryWithOneRetry(server, expectation, timeoutMs, inputs.signal));
  } catch (err) {
    inputs.signal.throwIfAborted();
    const kind = isTimeout(err) ? 'timeout' : 'unreachable';
    const message = kind === 'timeout' ? `no answer from ${address} within ${timeoutMs} ms (asked twice)` : `cannot ask ${address}: ${errorMessage(err)}`;
    return { unanswered: true, differences: [{ kind, name: expectation.name, type: expectation.type, expected: expectedOf(expectation), got: null, message }] };
  }
  return { unanswered: false, differences: compareAnswer(expectation, reply.packet) };
}

/** A lost UDP datagram is not an inconsistency: a question that timed out is asked once more. */
async function queryWithOneRetry(server: HostPort, expectation: Expectation, timeoutMs: number, signal: AbortSignal): Promise<DnsReply> {
  const type = expectation.type as PacketRecordType;
  try {
    return await queryDns(server, expectation.name, type, { timeoutMs, signal });
  } catch (err) {
    if (signal.aborted || !isTimeout(err)) throw err;
    return queryDns(server, expectation.name, type, { timeoutMs, signal });
  }
}

function expectedOf(expectation: Expectation): Difference['expected'] {
  return expectation.expected === null ? null : { ttl: expectation.expected.ttl, values: expectation.expected.values };
}

/** queryDns rejects with the timeout signal's reason (a TimeoutError) as the cause when no answer came in time. */
function isTimeout(err: unknown): boolean {
  const cause = err instanceof Error ? err.cause : undefined;
  return typeof cause === 'object' && cause !== null && 'name' in cause && cause.name === 'TimeoutError';
}

function describe(err: unknown): { code: string; message: string } {
  if (err instanceof ProviderError || err instanceof DnsQuorumError) return { code: err.code, message: err.message };
  return { code: 'DQ_INTERNAL', message: errorMessage(err) };
}
