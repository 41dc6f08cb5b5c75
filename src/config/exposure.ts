import { BlockList, isIP } from 'node:net';
import type { ResolvedConfig } from './types.js';

/**
 * What the config lets travel in plain HTTP beyond this host, for the daemon to warn about at
 * start: bearer tokens to an admin API that listens on plain http at a non-loopback address, and
 * the peer exchange to a peer reached by an http:// URL at a non-loopback address. Neither is
 * refused (a private network or a proxy on the same host may be the reason), but neither happens
 * without a warning line that names the address.
 */

export interface PlainHttpExposure {
  readonly what: 'api' | 'peer';
  /** The listen address or the peer's URL. */
  readonly address: string;
  /** The peer's region, for `peer`. */
  readonly region?: string;
  readonly message: string;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');
LOOPBACK.addSubnet('::ffff:127.0.0.0', 104, 'ipv6');

/** Whether a host (an address, brackets allowed, or a name) is this host's loopback: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase().replace(/\.$/, '');
  if (bare === 'localhost' || bare.endsWith('.localhost')) return true;
  const family = isIP(bare);
  if (family === 0) return false;
  return LOOPBACK.check(bare, family === 4 ? 'ipv4' : 'ipv6');
}

export function plainHttpExposures(config: ResolvedConfig): PlainHttpExposure[] {
  const exposures: PlainHttpExposure[] = [];
  const { listen, tls, tokens } = config.api;
  if (tls === undefined && tokens.size > 0 && !isLoopbackHost(listen.host)) {
    const address = listen.host.includes(':') ? `[${listen.host}]:${listen.port}` : `${listen.host}:${listen.port}`;
    exposures.push({
      what: 'api',
      address,
      message: `the admin API listens on plain http at ${address}, which is not a loopback address: bearer tokens sent to it travel unencrypted; set api.tls, or listen on loopback behind a TLS proxy`,
    });
  }
  for (const peer of config.cluster.peers) {
    const url = new URL(peer.url);
    if (url.protocol !== 'http:' || isLoopbackHost(url.hostname)) continue;
    exposures.push({
      what: 'peer',
      address: peer.url,
      region: peer.region,
      message: `peer ${peer.region} is reached over plain http at ${peer.url}, which is not a loopback address: the exchange is signed (cluster.secret itself is never sent) but verdicts and overrides, with who made them and why, travel readable; use an https:// URL (api.tls on that replica)`,
    });
  }
  return exposures;
}
