import { join } from 'node:path';
import type { HostPort, ProviderConfig, ResolvedConfig } from '../config/types.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { LocalProvider } from './local/provider.js';
import { Ns1Provider } from './ns1/provider.js';
import { PowerDnsProvider } from './powerdns/provider.js';
import type { ApiCallObserver, DnsProvider } from './provider.js';
import { Route53Provider } from './route53/provider.js';

export interface ProviderContext {
  readonly stateDir: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Told about every API request of the route53 and ns1 providers (metrics); none when unset. */
  readonly apiCalls?: ApiCallObserver;
}

/** Where a local provider keeps its zones. The built-in DNS server serves from the same file. */
export function localStatePath(stateDir: string, providerName: string): string {
  return join(stateDir, 'local', `${providerName}.json`);
}

/** The one place that maps a provider type to its implementation. */
export function createProvider(config: ProviderConfig, context: ProviderContext): DnsProvider {
  const logger = context.logger.child({ provider: config.name });
  const apiCalls = context.apiCalls === undefined ? {} : { apiCalls: context.apiCalls };
  switch (config.type) {
    case 'local':
      return new LocalProvider({ config, statePath: localStatePath(context.stateDir, config.name), clock: context.clock, logger });
    case 'route53':
      return new Route53Provider({ config, clock: context.clock, logger, ...apiCalls });
    case 'ns1':
      return new Ns1Provider({ config, clock: context.clock, logger, ...apiCalls });
    case 'powerdns':
      return new PowerDnsProvider({ config, clock: context.clock, logger, ...apiCalls });
  }
}

export function createProviders(configs: Iterable<ProviderConfig>, context: ProviderContext): Map<string, DnsProvider> {
  const providers = new Map<string, DnsProvider>();
  for (const config of configs) providers.set(config.name, createProvider(config, context));
  return providers;
}

/**
 * Where to reach name servers over DNS: the config's `resolve:` map, plus each local provider's
 * own name server at the address its built-in DNS server listens on (unless `resolve:` says
 * otherwise). Used by `verify` and by the daemon's DNS comparisons.
 */
export function nameServerAddresses(config: Pick<ResolvedConfig, 'resolve' | 'providers'>): ReadonlyMap<string, HostPort> {
  const addresses = new Map(config.resolve);
  for (const provider of config.providers.values()) {
    if (provider.type !== 'local' || provider.listen.port === 0) continue;
    const host = provider.nameserver.replace(/\.$/, '');
    if (!addresses.has(host)) addresses.set(host, provider.listen);
  }
  return addresses;
}
