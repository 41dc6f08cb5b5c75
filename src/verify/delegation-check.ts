import { Resolver } from 'node:dns/promises';
import { fqdn, isInZone } from '../domain/record.js';
import type { ZoneSpec } from '../domain/zone.js';
import { errorMessage } from '../lib/errors.js';
import type { DnsProvider } from '../providers/provider.js';
import { delegationFromReply, delegationNotChecked, delegationUnreachable, judgeDelegation, parentServerAnswer } from './delegation.js';
import type { DelegationCheck, DelegationReply, ParentServerAnswer, ParentSource } from './delegation.js';
import { DEFAULT_QUERY_TIMEOUT_MS, askOnceMore, formatAddress, isTimeout } from './query.js';
import { addressOf } from './servers.js';
import type { ServerQueryOptions } from './servers.js';

/**
 * Asks the parent zone's servers how they delegate a zone (`ZONE NS`) and compares the answer with
 * every provider's own name servers. The parent's servers are those of the nearest zone of this
 * config that encloses the zone, else those the system resolver names.
 */

/** The NS names of a zone (FQDNs or bare names); rejects with the resolver's error code (ENODATA, ENOTFOUND, ...). */
export type ParentNameserverLookup = (zone: string, signal: AbortSignal) => Promise<string[]>;

/** Short: the answer is a courtesy, and an offline machine must not make verify slow. */
const RESOLVER_TIMEOUT_MS = 2000;

/** Resolver answers that mean "this name is not a zone apex": the walk goes on one label up. */
const NOT_A_ZONE = new Set(['ENODATA', 'ENOTFOUND']);

/**
 * NS look-ups through node's resolver (c-ares), with a short timeout and one try. `servers`
 * replaces the system's configured resolvers ("127.0.0.1:5353", "[::1]:53").
 */
export function systemParentNameservers(options: { readonly servers?: readonly string[]; readonly timeoutMs?: number } = {}): ParentNameserverLookup {
  return async (zone, signal) => {
    signal.throwIfAborted();
    const resolver = new Resolver({ timeout: options.timeoutMs ?? RESOLVER_TIMEOUT_MS, tries: 1 });
    if (options.servers !== undefined) resolver.setServers([...options.servers]);
    const onAbort = (): void => {
      resolver.cancel();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await resolver.resolveNs(zone === '.' ? '.' : zone.replace(/\.$/, ''));
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  };
}

export interface DelegationCheckOptions extends ServerQueryOptions {
  /** Every zone of the config: a zone's parent is looked for among them first. */
  readonly zones: readonly ZoneSpec[];
  readonly providers: ReadonlyMap<string, DnsProvider>;
  /** The NS of a parent zone outside the config; null: such delegations are not checked. */
  readonly parentNameservers: ParentNameserverLookup | null;
}

/** The longest zone of the config that is a proper suffix of `zone`. */
export function nearestConfiguredParent(zone: string, zones: readonly ZoneSpec[]): ZoneSpec | undefined {
  const name = fqdn(zone);
  return zones
    .filter((z) => z.name !== name && isInZone(name, z.name))
    .reduce<ZoneSpec | undefined>((best, z) => (best === undefined || z.name.length > best.name.length ? z : best), undefined);
}

function parentOf(name: string): string | undefined {
  if (name === '.') return undefined;
  const dot = name.indexOf('.');
  const rest = name.slice(dot + 1);
  return rest === '' ? '.' : rest;
}

interface ParentServers {
  readonly parent: string;
  readonly source: ParentSource;
  readonly hosts: readonly string[];
  readonly problems: readonly string[];
}

/** The parent zone's servers as its providers in this config name them. */
async function configuredParentServers(parent: ZoneSpec, options: DelegationCheckOptions): Promise<ParentServers> {
  const problems: string[] = [];
  const sets = await Promise.all(
    parent.providers.map(async (name) => {
      const provider = options.providers.get(name);
      if (provider === undefined) {
        problems.push(`provider ${name} of ${parent.name} was not built`);
        return [];
      }
      try {
        return (await provider.nameservers(parent.name, options.signal)).map(fqdn);
      } catch (err) {
        options.signal.throwIfAborted();
        problems.push(`the name servers of ${parent.name} at ${name} could not be read: ${errorMessage(err)}`);
        return [];
      }
    }),
  );
  return { parent: parent.name, source: 'config', hosts: [...new Set(sets.flat())], problems };
}

/** Walks up from the zone's parent until the resolver names the servers of an enclosing zone. */
async function resolvedParentServers(zone: string, lookup: ParentNameserverLookup, signal: AbortSignal): Promise<ParentServers | string> {
  for (let candidate = parentOf(zone); candidate !== undefined; candidate = parentOf(candidate)) {
    let hosts: string[];
    try {
      hosts = await lookup(candidate, signal);
    } catch (err) {
      signal.throwIfAborted();
      const code = err instanceof Error && 'code' in err ? String(err.code) : '';
      if (NOT_A_ZONE.has(code)) continue;
      return `the resolver could not be asked for the name servers of ${candidate}: ${errorMessage(err)}`;
    }
    if (hosts.length > 0) return { parent: candidate, source: 'resolver', hosts: [...new Set(hosts.map(fqdn))], problems: [] };
  }
  return `the resolver knows no zone above ${zone}`;
}

async function askParent(host: string, zone: string, expected: readonly string[], options: DelegationCheckOptions): Promise<ParentServerAnswer> {
  let address: string | null = null;
  let reply: DelegationReply;
  try {
    const server = await addressOf(host, options);
    address = formatAddress(server);
    const timeoutMs = options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
    try {
      reply = delegationFromReply((await askOnceMore(server, zone, 'NS', timeoutMs, options.limit, options.signal)).packet, zone);
    } catch (err) {
      options.signal.throwIfAborted();
      reply = { ok: false, error: isTimeout(err) ? `no answer from ${address} within ${timeoutMs} ms (asked twice)` : `cannot ask ${address}: ${errorMessage(err)}` };
    }
  } catch (err) {
    options.signal.throwIfAborted();
    reply = { ok: false, error: `cannot find the address of ${host}: ${errorMessage(err)}` };
  }
  return parentServerAnswer(host, address, reply, expected);
}

/**
 * Checks how the parent zone delegates `zone`, against `expected` (every provider's own name
 * servers for it). Never rejects for a failed question or look-up (those are in the result), only
 * when the signal aborts.
 */
export async function checkDelegation(zone: ZoneSpec, expected: readonly string[], options: DelegationCheckOptions): Promise<DelegationCheck> {
  if (zone.name === '.') return delegationNotChecked('the root zone has no parent');
  const configured = nearestConfiguredParent(zone.name, options.zones);
  let found: ParentServers | string;
  if (configured !== undefined) {
    found = await configuredParentServers(configured, options);
  } else if (options.parentNameservers === null) {
    return delegationNotChecked(`the parent zone of ${zone.name} is not in this config, and asking the system resolver for it is switched off`);
  } else {
    found = await resolvedParentServers(zone.name, options.parentNameservers, options.signal);
  }
  if (typeof found === 'string') return delegationUnreachable(found, expected);
  if (found.hosts.length === 0) {
    const why = found.problems.length > 0 ? found.problems.join('; ') : 'its providers name no name servers';
    return delegationUnreachable(`no server of the parent zone ${found.parent} to ask: ${why}`, expected, found.parent, found.source);
  }
  if (expected.length === 0) {
    return delegationNotChecked(`no provider's name servers for ${zone.name} could be read, so there is nothing to compare the delegation with`, found.parent, found.source);
  }
  const servers = await Promise.all(found.hosts.map((host) => askParent(host, zone.name, expected, options)));
  return judgeDelegation({ zone: zone.name, parent: found.parent, source: found.source, expected, servers, problems: found.problems });
}
