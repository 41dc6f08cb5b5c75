import { lookup as systemLookup } from 'node:dns/promises';
import type { HostPort } from '../config/types.js';
import type { DnsReply } from '../lib/dns-query.js';
import { errorMessage } from '../lib/errors.js';
import { compareAnswer } from './compare.js';
import type { Difference, Expectation } from './compare.js';
import type { ConcurrencyLimit } from './limit.js';
import { DEFAULT_QUERY_TIMEOUT_MS, askOnceMore, formatAddress, isTimeout } from './query.js';

/**
 * Asking one authoritative name server a list of questions and comparing its answers with what
 * they should be. Used by `dnsquorum verify` and by the daemon, which checks over DNS whether a
 * provider serves the desired state before reading its API.
 */

export interface ServerQueryOptions {
  /** Host name (lowercase, no trailing dot) -> where to ask it instead of the system resolver (config `resolve`). */
  readonly resolve: ReadonlyMap<string, HostPort>;
  /** Finds a host's address when `resolve` does not name it; dns.lookup by default. */
  readonly lookup?: (host: string) => Promise<string>;
  /** Deadline of each DNS question (default 2000 ms). */
  readonly queryTimeoutMs?: number;
  /** Shared by every server asked at the same time, so the questions in flight stay bounded. */
  readonly limit: ConcurrencyLimit;
  readonly signal: AbortSignal;
}

/** One authoritative name server, and how it answered. */
export interface ServerVerification {
  /** The name server's host name as the provider names it (FQDN). */
  readonly host: string;
  /** "ip:port" it was asked at; null when its address could not be found. */
  readonly address: string | null;
  /** Questions it answered and that were compared. */
  readonly checked: number;
  readonly differences: readonly Difference[];
}

const DNS_PORT = 53;

/**
 * Asks one server every expectation and reports each difference. The first expectation doubles as
 * the reachability probe: a server that does not answer it is reported once and not asked the rest.
 * Rejects only when the signal aborts.
 */
export async function verifyServer(host: string, expectations: readonly Expectation[], options: ServerQueryOptions): Promise<ServerVerification> {
  let server: HostPort;
  try {
    server = await addressOf(host, options);
  } catch (err) {
    options.signal.throwIfAborted();
    const [first] = expectations;
    const differences: Difference[] =
      first === undefined ? [] : [{ kind: 'unreachable', name: first.name, type: first.type, expected: null, got: null, message: `cannot find the address of ${host}: ${errorMessage(err)}` }];
    return { host, address: null, checked: 0, differences };
  }
  const address = formatAddress(server);
  const [probe, ...rest] = expectations;
  if (probe === undefined) return { host, address, checked: 0, differences: [] };

  // A dead server costs one timeout, not one per question.
  const first = await ask(server, address, probe, options);
  if (first.unanswered) return { host, address, checked: 0, differences: first.differences };
  const others = await Promise.all(rest.map((e) => ask(server, address, e, options)));
  const all = [first, ...others];
  return { host, address, checked: all.filter((r) => !r.unanswered).length, differences: all.flatMap((r) => r.differences) };
}

/** Where to ask a name server: the `resolve` map first, else the system resolver, on port 53. */
export function addressOf(host: string, options: Pick<ServerQueryOptions, 'resolve' | 'lookup'>): Promise<HostPort> {
  const key = host.toLowerCase().replace(/\.$/, '');
  const mapped = options.resolve.get(key);
  if (mapped !== undefined) return Promise.resolve(mapped);
  const lookup = options.lookup ?? (async (h: string) => (await systemLookup(h)).address);
  return lookup(key).then((ip) => ({ host: ip, port: DNS_PORT }));
}

interface Asked {
  readonly unanswered: boolean;
  readonly differences: Difference[];
}

async function ask(server: HostPort, address: string, expectation: Expectation, options: ServerQueryOptions): Promise<Asked> {
  const timeoutMs = options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
  let reply: DnsReply;
  try {
    reply = await askOnceMore(server, expectation.name, expectation.type, timeoutMs, options.limit, options.signal);
  } catch (err) {
    options.signal.throwIfAborted();
    const kind = isTimeout(err) ? 'timeout' : 'unreachable';
    const message = kind === 'timeout' ? `no answer from ${address} within ${timeoutMs} ms (asked twice)` : `cannot ask ${address}: ${errorMessage(err)}`;
    return { unanswered: true, differences: [{ kind, name: expectation.name, type: expectation.type, expected: expectedOf(expectation), got: null, message }] };
  }
  return { unanswered: false, differences: compareAnswer(expectation, reply.packet) };
}

function expectedOf(expectation: Expectation): Difference['expected'] {
  return expectation.expected === null ? null : { ttl: expectation.expected.ttl, values: expectation.expected.values };
}
