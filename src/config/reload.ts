import type { ResolvedConfig } from './types.js';

/**
 * How a config reload ended: applied (the new config runs), unchanged (read and valid, but the
 * same as the running one), invalid (it did not load or validate), rejected (valid, but it changes
 * something only a restart can, or the daemon has no file to read again).
 */
export const RELOAD_RESULTS = ['applied', 'unchanged', 'invalid', 'rejected'] as const;
export type ReloadResult = (typeof RELOAD_RESULTS)[number];

/** How a reload ended. The running config goes on unless `applied`. */
export interface ReloadOutcome {
  readonly result: ReloadResult;
  readonly message: string;
}

/**
 * What a running daemon cannot take from a reloaded config, each with why; empty when the new
 * config can be applied in place. These are bound to sockets, files or peers that were set up at
 * start: changing them by reload would half-apply (peers still expecting the old secret, the
 * overrides file left behind in the old state directory), so they need a restart.
 */
export function reloadBlockers(running: ResolvedConfig, next: ResolvedConfig): string[] {
  const blockers: string[] = [];
  const changed = (what: string, a: unknown, b: unknown, why: string): void => {
    if (canonical(a) !== canonical(b)) blockers.push(`${what} changed (${why}); restart to apply it`);
  };
  changed('region', running.region, next.region, "it is this replica's identity to its peers");
  changed('stateDir', running.stateDir, next.stateDir, 'the overrides and the audit log are open there');
  changed('api.listen', running.api.listen, next.api.listen, 'the admin API listens there, and peers post to it');
  // A new cert and key are taken in place (api.tls paths included); http and https are different servers.
  changed('api.tls', running.api.tls !== undefined, next.api.tls !== undefined, 'the admin API listens with or without TLS');
  changed('resolve', running.resolve, next.resolve, 'probes and DNS checks were set up with it');
  // The warm-up only matters at start: any other cluster setting must match the peers'.
  changed('cluster', { ...running.cluster, warmupMs: 0, ca: undefined }, { ...next.cluster, warmupMs: 0, ca: undefined }, 'every replica must agree on peers, secret and quorum');
  changed('cluster.ca', running.cluster.ca, next.cluster.ca, 'peers are reached with the CA bundle read at start');
  for (const [name, provider] of next.providers) {
    const before = running.providers.get(name);
    if (provider.type === 'local' && before !== undefined) changed(`providers.${name}`, before, provider, 'its built-in DNS server listens with these settings');
  }
  for (const [name, before] of running.providers) {
    if (before.type === 'local' && !next.providers.has(name)) blockers.push(`providers.${name} removed (its built-in DNS server is running); restart to apply it`);
    if (before.type !== 'local' && next.providers.get(name)?.type === 'local') blockers.push(`providers.${name} became a local provider; restart to apply it`);
  }
  for (const [name, provider] of next.providers) {
    if (provider.type === 'local' && !running.providers.has(name)) blockers.push(`providers.${name} added as a local provider (it needs its own DNS server); restart to apply it`);
  }
  return blockers;
}

/** Whether two configs differ at all (a reload of an unchanged file is a no-op). */
export function sameConfig(a: ResolvedConfig, b: ResolvedConfig): boolean {
  return canonical({ ...a, source: '' }) === canonical({ ...b, source: '' });
}

/** JSON with maps as sorted entry lists, so equal configs compare equal whatever their key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v instanceof Map ? [...(v as Map<unknown, unknown>).entries()].sort((x, y) => String(x[0]).localeCompare(String(y[0]))) : v));
}
