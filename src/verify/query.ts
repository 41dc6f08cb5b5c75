import { isIPv6 } from 'node:net';
import type { RecordType as PacketRecordType } from 'dns-packet';
import type { HostPort } from '../config/types.js';
import { queryDns } from '../lib/dns-query.js';
import type { DnsReply } from '../lib/dns-query.js';
import type { ConcurrencyLimit } from './limit.js';

/** How verify asks one server one question; shared by the record checks and the delegation check. */

/** Deadline of one DNS question unless the caller sets another. */
export const DEFAULT_QUERY_TIMEOUT_MS = 2000;

/** "ip:port", IPv6 in brackets, as reports print a server's address. */
export function formatAddress(server: HostPort): string {
  return isIPv6(server.host) ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`;
}

/**
 * Asks once, and once more after a timeout: a lost UDP datagram is not an inconsistency. The
 * question waits for a free slot of `limit` first, so many servers never mean many sockets.
 */
export function askOnceMore(server: HostPort, name: string, type: PacketRecordType, timeoutMs: number, limit: ConcurrencyLimit, signal: AbortSignal): Promise<DnsReply> {
  return limit(async () => {
    try {
      return await queryDns(server, name, type, { timeoutMs, signal });
    } catch (err) {
      if (signal.aborted || !isTimeout(err)) throw err;
      return queryDns(server, name, type, { timeoutMs, signal });
    }
  });
}

/** queryDns rejects with the timeout signal's reason (a TimeoutError) as the cause when no answer came in time. */
export function isTimeout(err: unknown): boolean {
  const cause = err instanceof Error ? err.cause : undefined;
  return typeof cause === 'object' && cause !== null && 'name' in cause && cause.name === 'TimeoutError';
}
