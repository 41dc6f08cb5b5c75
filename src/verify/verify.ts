import type { HostPort } from '../config/types.js';
import type { HealthView } from '../domain/health.js';
import type { Override } from '../domain/override.js';
import { fqdn } from '../domain/record.js';
import type { RecordKey, RecordSet } from '../domain/record.js';
import type { ZoneSpec } from '../domain/zone.js';
import type { Clock } from '../lib/clock.js';
import { DnsQuorumError, errorSummary } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { planZone } from '../plan/zone-plan.js';
import { readNameservers, readZone } from '../providers/listing.js';
import type { Listing } from '../providers/listing.js';
import type { DnsProvider } from '../providers/provider.js';
import { checkDelegation, systemParentNameservers } from './delegation-check.js';
import type { ParentNameserverLookup } from './delegation-check.js';
import type { DelegationCheck } from './delegation.js';
import { concurrencyLimit } from './limit.js';
import type { ConcurrencyLimit } from './limit.js';
import { verifyServer } from './servers.js';
import type { ServerQueryOptions, ServerVerification } from './servers.js';

export type { ServerVerification } from './servers.js';
export type { DelegationCheck, DelegationStatus, ParentServerAnswer } from './delegation.js';

export interface ProviderVerification {
  readonly provider: string;
  readonly type: string;
  /** The provider's API could not be read (or does not hold the zone): its servers were not asked. */
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly servers: readonly ServerVerification[];
}

export interface ZoneVerification {
  readonly zone: string;
  /** Every provider was read, every one of its servers answered the desired state, and the delegation is not incomplete. */
  readonly consistent: boolean;
  readonly providers: readonly ProviderVerification[];
  /** Whether the parent zone delegates the zone to every provider's name servers. */
  readonly delegation: DelegationCheck;
}

/** Plain data, JSON-serialisable. */
export interface VerifyReport {
  readonly startedAt: number;
  readonly durationMs: number;
  /** Every zone is consistent. */
  readonly consistent: boolean;
  /** Servers that answered at least one question. */
  readonly serversChecked: number;
  readonly zones: readonly ZoneVerification[];
}

export interface VerifyInputs {
  readonly zones: readonly ZoneSpec[];
  /** Every zone of the config, among which a zone's parent is looked for first; `zones` when absent. */
  readonly allZones?: readonly ZoneSpec[];
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
  /**
   * The NS of a parent zone that is not in the config, for the delegation check: the system
   * resolver when absent; null switches that part of the check off ('not-checked').
   */
  readonly parentNameservers?: ParentNameserverLookup | null;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly signal: AbortSignal;
}

/**
 * Asks every authoritative name server of every provider of each zone for every record set the
 * zone should serve (computed exactly as a dry-run pass computes it) and reports each difference
 * per server; then asks the parent zone's servers whether they delegate the zone to every
 * provider's name servers. Provider APIs are only read, never written.
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

async function verifyZone(zone: ZoneSpec, inputs: VerifyInputs, limit: ConcurrencyLimit): Promise<ZoneVerification> {
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

  const nameservers = new Map<string, readonly string[]>();
  const readable = new Map<string, readonly RecordSet[]>();
  providers.forEach((p, i) => {
    const ns = nameserverSets[i];
    if (ns?.ok === true) nameservers.set(p.name, ns.hosts.map(fqdn));
    const listing = listings[i];
    if (listing?.ok === true && !listing.zoneMissing) readable.set(p.name, listing.records);
  });
  // Computed exactly as a dry-run pass computes it: the same plan `plan` shows.
  const plan = planZone({
    zone,
    listings: readable,
    nameservers,
    decision: { decide: { health: inputs.health ?? new Map(), overrides: inputs.overrides ?? [], recentWrites: inputs.recentWrites ?? new Map(), now: inputs.clock.now() } },
    force: false,
  });
  const apex = plan.apexNameservers;
  const everyKnownNameserver = apex.kind === 'synced' ? apex.values : apex.kind === 'unknown' ? apex.known : [...new Set([...nameservers.values()].flat())];

  const serverOptions: ServerQueryOptions = {
    resolve: inputs.resolve,
    limit,
    signal: inputs.signal,
    ...(inputs.lookup === undefined ? {} : { lookup: inputs.lookup }),
    ...(inputs.queryTimeoutMs === undefined ? {} : { queryTimeoutMs: inputs.queryTimeoutMs }),
  };
  const delegation = checkDelegation(zone, everyKnownNameserver, {
    ...serverOptions,
    zones: inputs.allZones ?? inputs.zones,
    providers: inputs.providers,
    parentNameservers: inputs.parentNameservers === undefined ? systemParentNameservers() : inputs.parentNameservers,
  });

  const results = Promise.all(
    providers.map(async (provider, i): Promise<ProviderVerification> => {
      const listing: Listing = listings[i] ?? { ok: false, error: new Error('no listing') };
      const nameservers = nameserverSets[i] ?? { ok: false, error: new Error('no name servers') };
      const base = { provider: provider.name, type: provider.type };
      const failure = listingFailure(provider, zone.name, listing) ?? (nameservers.ok ? undefined : errorSummary(nameservers.error));
      if (failure !== undefined || !listing.ok || !nameservers.ok) {
        const error = failure ?? { code: 'DQ_INTERNAL', message: 'provider could not be read' };
        log.warn({ provider: provider.name, error }, 'provider could not be read; its servers are not asked');
        return { ...base, error, servers: [] };
      }
      const expectations = plan.providers.find((p) => p.provider === provider.name)?.expectations ?? [];
      const servers = await Promise.all(nameservers.hosts.map(fqdn).map((host) => verifyServer(host, expectations, serverOptions)));
      for (const server of servers) {
        for (const d of server.differences) log.info({ provider: provider.name, server: server.host, address: server.address, record: d.name, type: d.type, kind: d.kind }, d.message);
      }
      return { ...base, error: null, servers };
    }),
  );

  const [checked, delegationCheck] = await Promise.all([results, delegation]);
  if (delegationCheck.status === 'incomplete') log.info({ parent: delegationCheck.parent, missing: delegationCheck.missing }, delegationCheck.message);
  else log.debug({ parent: delegationCheck.parent, status: delegationCheck.status }, delegationCheck.message);
  const serversAgree = checked.every((p) => p.error === null && p.servers.every((s) => s.differences.length === 0));
  return { zone: zone.name, consistent: serversAgree && delegationCheck.status !== 'incomplete', providers: checked, delegation: delegationCheck };
}

function listingFailure(provider: DnsProvider, zone: string, listing: Listing): { code: string; message: string } | undefined {
  if (!listing.ok) return errorSummary(listing.error);
  if (listing.zoneMissing) return { code: 'DQ_ZONE_NOT_FOUND', message: `${provider.name}: does not hold zone ${zone} (sync --apply creates it)` };
  return undefined;
}
