import type { HostPort } from '../../config/types.js';
import { isOverrideActive } from '../../domain/override.js';
import type { Override } from '../../domain/override.js';
import type { FailoverRecordSpec, ZoneSpec } from '../../domain/zone.js';
import type { Clock } from '../../lib/clock.js';
import { errorMessage } from '../../lib/errors.js';
import type { DnsProvider } from '../../providers/provider.js';
import type { Difference } from '../../verify/compare.js';
import type { ConcurrencyLimit } from '../../verify/limit.js';
import { verifyServer } from '../../verify/servers.js';
import type { OverrideEffect, ProviderEffect, ServerEffect } from './wire.js';

/**
 * Whether an override took effect as resolvers see it: every name server of every provider of the
 * zone is asked for the record over DNS, and what it serves is compared with what the override
 * requires. Provider APIs are asked only for their name server lists, which are cached.
 */

export interface OverrideEffectCheckerOptions {
  readonly zones: readonly ZoneSpec[];
  readonly providers: ReadonlyMap<string, DnsProvider>;
  /** Host name (lowercase, no trailing dot) -> where to ask it (config `resolve`). */
  readonly resolve: ReadonlyMap<string, HostPort>;
  /** Bounds the DNS questions in flight across every check. */
  readonly limit: ConcurrencyLimit;
  readonly clock: Clock;
  /** The overrides in force now: the drains of the record shape what a forced pool serves. */
  readonly active: () => readonly Override[];
  /** Deadline of each DNS question (default: verify's, 2000 ms). */
  readonly queryTimeoutMs?: number;
  /** Finds a name server's address when `resolve` does not name it (default: the system resolver). */
  readonly lookup?: (host: string) => Promise<string>;
}

/** A provider's name servers change only when its zone is re-created; asking its API each time would spend quota. */
export const NAMESERVER_CACHE_MS = 5 * 60_000;

/** What the served values must be: exactly a set, or anything non-empty without one value. */
type Requirement = { readonly kind: 'exactly'; readonly values: readonly string[] } | { readonly kind: 'lacks'; readonly value: string };

function requirementOf(spec: FailoverRecordSpec, override: Override, active: readonly Override[], now: number): Requirement {
  const { action } = override;
  if (action.kind === 'drain') return { kind: 'lacks', value: action.value };
  const drained = new Set(
    active.flatMap((o) =>
      o.zone === override.zone && o.name === override.name && o.type === override.type && o.action.kind === 'drain' && isOverrideActive(o, now) ? [o.action.value] : [],
    ),
  );
  const pool = spec.failover.pools.find((p) => p.name === action.pool)?.values ?? [];
  const kept = pool.filter((v) => !drained.has(v));
  // As the planner does: a forced pool with every value drained serves them all, never nothing;
  // a CNAME serves exactly one host, the first.
  const values = kept.length > 0 ? kept : pool;
  return { kind: 'exactly', values: [...(spec.type === 'CNAME' ? values.slice(0, 1) : values)].sort() };
}

function describeRequirement(r: Requirement): string {
  return r.kind === 'exactly' ? r.values.join(', ') : `any values but ${r.value}`;
}

/** How a served set falls short of the requirement, or null when it meets it. */
function shortfall(r: Requirement, served: readonly string[]): string | null {
  if (r.kind === 'lacks') {
    if (served.length === 0) return 'serves nothing for the record';
    return served.includes(r.value) ? `still serves ${r.value} (serves ${served.join(', ')})` : null;
  }
  if (served.length === 0) return `serves nothing for the record; expected ${r.values.join(', ')}`;
  const lacking = r.values.filter((v) => !served.includes(v));
  const extra = served.filter((v) => !r.values.includes(v));
  if (lacking.length === 0 && extra.length === 0) return null;
  const parts = [lacking.length > 0 ? `lacks ${lacking.join(', ')}` : '', extra.length > 0 ? `has extra ${extra.join(', ')}` : ''].filter((p) => p !== '');
  return `serves ${served.join(', ')}; expected ${r.values.join(', ')} (${parts.join('; ')})`;
}

/**
 * What one server served, from verifyServer's differences against "nothing": no difference means
 * it serves nothing; `present` carries what it serves; anything else means no usable answer.
 */
function servedFrom(differences: readonly Difference[]): { served: readonly string[] } | { failure: string } {
  const [first] = differences;
  if (first === undefined) return { served: [] };
  if (first.kind === 'present' && first.got !== null) return { served: first.got.values };
  return { failure: first.message };
}

interface CachedNameservers {
  readonly servers: readonly string[];
  readonly at: number;
}

export class OverrideEffectChecker {
  private readonly options: OverrideEffectCheckerOptions;
  private readonly nameserverCache = new Map<string, CachedNameservers>();

  constructor(options: OverrideEffectCheckerOptions) {
    this.options = options;
  }

  /**
   * Asks every name server of every provider of the override's zone. Never rejects but when the
   * signal aborts: a provider whose name servers cannot be listed, or a server that does not
   * answer, is reported in the effect.
   */
  async check(override: Override, signal: AbortSignal): Promise<OverrideEffect> {
    const { clock } = this.options;
    const zone = this.options.zones.find((z) => z.name === override.zone);
    const spec = zone?.records.find((r): r is FailoverRecordSpec => r.kind === 'failover' && r.name === override.name && r.type === override.type);
    if (zone === undefined || spec === undefined) {
      return { expectation: `${override.name} ${override.type} is no longer a failover record in the config`, holds: false, providers: [], checkedAt: clock.now() };
    }
    const requirement = requirementOf(spec, override, this.options.active(), clock.now());
    const providers = await Promise.all(zone.providers.map((name) => this.checkProvider(name, zone.name, spec, requirement, signal)));
    signal.throwIfAborted();
    return {
      expectation: describeRequirement(requirement),
      holds: providers.length > 0 && providers.every((p) => p.holds),
      providers,
      checkedAt: clock.now(),
    };
  }

  private async checkProvider(name: string, zone: string, spec: FailoverRecordSpec, requirement: Requirement, signal: AbortSignal): Promise<ProviderEffect> {
    const provider = this.options.providers.get(name);
    if (provider === undefined) return { provider: name, holds: false, servers: [], error: `provider ${name} is not configured` };
    let hosts: readonly string[];
    try {
      hosts = await this.nameservers(provider, zone, signal);
    } catch (err) {
      signal.throwIfAborted();
      return { provider: name, holds: false, servers: [], error: `cannot list its name servers for ${zone}: ${errorMessage(err)}` };
    }
    if (hosts.length === 0) return { provider: name, holds: false, servers: [], error: `it names no name servers for ${zone}` };
    const servers = await Promise.all(hosts.map((host) => this.checkServer(host, spec, requirement, signal)));
    return { provider: name, holds: servers.every((s) => s.holds), servers, error: null };
  }

  private async checkServer(host: string, spec: FailoverRecordSpec, requirement: Requirement, signal: AbortSignal): Promise<ServerEffect> {
    const verification = await verifyServer(host, [{ name: spec.name, type: spec.type, expected: null }], {
      resolve: this.options.resolve,
      limit: this.options.limit,
      signal,
      ...(this.options.queryTimeoutMs === undefined ? {} : { queryTimeoutMs: this.options.queryTimeoutMs }),
      ...(this.options.lookup === undefined ? {} : { lookup: this.options.lookup }),
    });
    const answer = servedFrom(verification.differences);
    if ('failure' in answer) return { host, holds: false, served: null, message: answer.failure };
    const message = shortfall(requirement, answer.served);
    return { host, holds: message === null, served: answer.served, message };
  }

  /** The provider's name servers for the zone; a success is kept NAMESERVER_CACHE_MS, a failure is asked again next time. */
  private async nameservers(provider: DnsProvider, zone: string, signal: AbortSignal): Promise<readonly string[]> {
    const key = `${provider.name}|${zone}`;
    const now = this.options.clock.now();
    const cached = this.nameserverCache.get(key);
    if (cached !== undefined && now - cached.at < NAMESERVER_CACHE_MS) return cached.servers;
    const servers = await provider.nameservers(zone, signal);
    this.nameserverCache.set(key, { servers, at: now });
    return servers;
  }
}
