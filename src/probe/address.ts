import { lookup as systemLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { HostPort } from '../config/types.js';
import { abortable } from '../lib/deadline.js';
import { CheckFailure, describeError } from './outcome.js';

/** Turns a host name into one IP address. */
export type LookupFn = (hostname: string) => Promise<string>;

export const lookupWithSystemResolver: LookupFn = async (hostname) => (await systemLookup(hostname)).address;

/**
 * Where to connect for a target address. An IP is used as it is, with the check's port. A host
 * name (a CNAME failover value, e.g. a CDN's host name) is looked up in the config's `resolve`
 * map first, whose port then replaces the check's; otherwise the system resolver answers. The
 * lookup is part of the probe (and of its deadline), as it is for any new client.
 */
export async function resolveEndpoint(
  address: string,
  checkPort: number,
  resolveMap: ReadonlyMap<string, HostPort>,
  lookup: LookupFn,
  signal: AbortSignal,
): Promise<HostPort> {
  if (isIP(address) !== 0) return { host: address, port: checkPort };
  const name = address.toLowerCase().replace(/\.$/, '');
  const mapped = resolveMap.get(name);
  const host = mapped?.host ?? name;
  const port = mapped?.port ?? checkPort;
  if (isIP(host) !== 0) return { host, port };
  try {
    return { host: await abortable(lookup(host), signal), port };
  } catch (err) {
    if (signal.aborted) throw err;
    throw new CheckFailure(`resolve ${host}: ${describeError(err)}`, { cause: err });
  }
}
