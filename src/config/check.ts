import { RECORD_TYPES } from '../domain/record.js';
import type { RecordType } from '../domain/record.js';
import type { CheckProtocol, CheckSpec } from '../domain/zone.js';
import { formatDuration } from './duration.js';
import type { ConfigNode, Position } from './positions.js';
import { readMap } from './reader.js';
import type { MapView, Path, Readers } from './reader.js';
import { checkHostName, checkPort, checkRecordValue, isIpv4, isIpv6 } from './values.js';
import type { Checked } from './values.js';
import { allDefined } from './util.js';

/** A failover record's health check: protocol-specific keys, defaults, and timing rules. */

const PROTOCOLS: readonly CheckProtocol[] = ['http', 'https', 'tcp', 'dns'];

const COMMON_KEYS = ['protocol', 'port', 'interval', 'timeout', 'fall', 'rise'] as const;
const HTTP_KEYS = ['path', 'expect', 'bodyMatch', 'host'] as const;
const TLS_KEYS = ['sni', 'tlsVerify'] as const;
const DNS_KEYS = ['query', 'queryType', 'expectRcode', 'expectAnswer'] as const;

const KEYS_BY_PROTOCOL: Readonly<Record<CheckProtocol, readonly string[]>> = {
  http: [...COMMON_KEYS, ...HTTP_KEYS],
  https: [...COMMON_KEYS, ...HTTP_KEYS, ...TLS_KEYS],
  tcp: [...COMMON_KEYS],
  dns: [...COMMON_KEYS, ...DNS_KEYS],
};

const ALL_KEYS: readonly string[] = [...COMMON_KEYS, ...HTTP_KEYS, ...TLS_KEYS, ...DNS_KEYS];

const DEFAULT_PORT: Readonly<Record<CheckProtocol, number | undefined>> = { http: 80, https: 443, tcp: undefined, dns: 53 };

export const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'] as const;

export interface CheckContext {
  /** The record's FQDN: default Host header, SNI and DNS query name. */
  readonly recordName: string;
  /** cluster.staleAfter: a check interval at least this long would make every verdict stale. */
  readonly staleAfterMs: number | undefined;
}

function misplacedKeys(protocol: CheckProtocol): Record<string, string> {
  const misplaced: Record<string, string> = {};
  for (const key of ALL_KEYS) {
    if (KEYS_BY_PROTOCOL[protocol].includes(key)) continue;
    const owners = PROTOCOLS.filter((p) => KEYS_BY_PROTOCOL[p].includes(key));
    misplaced[key] = `does not apply to ${protocol} checks (only to ${owners.join(', ')})`;
  }
  return misplaced;
}

function checkHttpHost(text: string): Checked<string> {
  const bare = text.toLowerCase().replace(/\.$/, '');
  // Single labels ("localhost") are fine here: the name goes into a header, not into DNS data.
  if (isIpv4(bare) || isIpv6(bare) || /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/.test(bare)) return { ok: true, value: bare };
  const host = checkHostName(text);
  return host.ok ? { ok: true, value: host.value.slice(0, -1) } : host;
}

function checkPath(text: string): Checked<string> {
  if (!text.startsWith('/') || /\s/.test(text)) return { ok: false, reason: `"${text}" must start with / and contain no spaces` };
  return { ok: true, value: text };
}

function checkRegex(text: string): Checked<string> {
  try {
    new RegExp(text);
    return { ok: true, value: text };
  } catch (err: unknown) {
    return { ok: false, reason: `is not a valid regular expression: ${err instanceof Error ? err.message : String(err)}` };
  }
}

function readExpect(readers: Readers, node: ConfigNode, path: Path): readonly number[] | undefined {
  const status = readers.int(100, 599);
  if (node.kind !== 'seq') {
    const one = status(node, path);
    return one === undefined ? undefined : [one];
  }
  if (node.items.length === 0) {
    readers.reporter.report(node.pos, path, 'needs at least one status code');
    return undefined;
  }
  const codes = node.items.map((item, i) => status(item, [...path, i]));
  return codes.every((c) => c !== undefined) ? [...new Set(codes)] : undefined;
}

function upper<T extends string>(readers: Readers, options: readonly T[]) {
  return (node: ConfigNode, path: Path): T | undefined => {
    const text = readers.string(node, path);
    if (text === undefined) return undefined;
    const found = options.find((o) => o === text.toUpperCase());
    if (found === undefined) readers.reporter.report(node.pos, path, `expected one of ${options.join(', ')}, found "${text}"`);
    return found;
  };
}

function valuePos(view: MapView, key: string): Position {
  return view.entry(key)?.value.pos ?? view.pos;
}

function readTiming(readers: Readers, view: MapView, context: CheckContext) {
  const intervalMs = view.optional('interval', readers.duration(1), 10_000);
  const timeoutMs = view.optional('timeout', readers.duration(1), 2_000);
  const fall = view.optional('fall', readers.int(1, 20), 3);
  const rise = view.optional('rise', readers.int(1, 20), 3);
  if (intervalMs !== undefined && timeoutMs !== undefined && timeoutMs >= intervalMs) {
    const blame = view.has('timeout') ? 'timeout' : 'interval';
    readers.reporter.report(
      valuePos(view, blame),
      view.at(blame),
      `timeout (${formatDuration(timeoutMs)}) must be shorter than interval (${formatDuration(intervalMs)})`,
    );
  }
  const stale = context.staleAfterMs;
  if (intervalMs !== undefined && stale !== undefined && intervalMs >= stale) {
    readers.reporter.report(
      valuePos(view, 'interval'),
      view.at('interval'),
      `interval (${formatDuration(intervalMs)}) must be shorter than cluster.staleAfter (${formatDuration(stale)}), or every verdict goes stale between two probes`,
    );
  }
  return { intervalMs, timeoutMs, fall, rise };
}

function readPort(readers: Readers, view: MapView, protocol: CheckProtocol): number | undefined {
  const portReader = (node: ConfigNode, path: Path): number | undefined => {
    const value = readers.int(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)(node, path);
    if (value === undefined) return undefined;
    const port = checkPort(value);
    if (!port.ok) readers.reporter.report(node.pos, path, port.reason);
    return port.ok ? port.value : undefined;
  };
  const fallback = DEFAULT_PORT[protocol];
  if (fallback === undefined) return view.required('port', portReader, ` for ${protocol} checks`);
  return view.optional('port', portReader, fallback);
}

/** Reads check: { protocol, ... } into a CheckSpec. */
export function readCheck(readers: Readers, node: ConfigNode, path: Path, context: CheckContext): CheckSpec | undefined {
  if (node.kind !== 'map') {
    readMap(readers.reporter, node, path, { allowed: ALL_KEYS });
    return undefined;
  }
  const protocolEntry = node.entries.find((e) => e.key === 'protocol');
  const protocol = protocolEntry === undefined ? undefined : readers.oneOf(PROTOCOLS)(protocolEntry.value, [...path, 'protocol']);
  if (protocolEntry === undefined) readers.reporter.report(node.pos, path, `protocol is required (${PROTOCOLS.join(', ')})`);
  const view = readMap(
    readers.reporter,
    node,
    path,
    protocol === undefined ? { allowed: ALL_KEYS } : { allowed: KEYS_BY_PROTOCOL[protocol], misplaced: misplacedKeys(protocol) },
  );
  if (view === undefined || protocol === undefined) return undefined;

  const port = readPort(readers, view, protocol);
  const timing = allDefined(readTiming(readers, view, context));
  const hostFromRecord = context.recordName.replace(/\.$/, '');

  switch (protocol) {
    case 'http':
    case 'https': {
      const host = view.optional('host', readers.checked(checkHttpHost), hostFromRecord);
      const parts = allDefined({
        port,
        path: view.optional('path', readers.checked(checkPath), '/'),
        expect: view.optional('expect', (n, p) => readExpect(readers, n, p), [200]),
        host,
        sni: view.optional('sni', readers.checked(checkHttpHost), host ?? hostFromRecord),
        tlsVerify: view.optional('tlsVerify', readers.bool, true),
      });
      const bodyMatch = view.maybe('bodyMatch', readers.checked(checkRegex));
      if (parts === undefined || timing === undefined || (bodyMatch.present && bodyMatch.value === undefined)) return undefined;
      return {
        protocol,
        ...parts,
        ...(bodyMatch.present && bodyMatch.value !== undefined ? { bodyMatch: bodyMatch.value } : {}),
        ...timing,
      };
    }
    case 'tcp':
      if (port === undefined || timing === undefined) return undefined;
      return { protocol, port, ...timing };
    case 'dns': {
      const queryType = view.optional('queryType', upper(readers, RECORD_TYPES), 'A');
      const parts = allDefined({
        port,
        query: view.optional('query', readers.checked(checkHostName), context.recordName),
        queryType,
        expectRcode: view.optional('expectRcode', upper(readers, RCODES), 'NOERROR'),
      });
      const answerType: RecordType = queryType ?? 'A';
      // SOA data has no canonical form of its own; it is compared as written.
      const checkAnswer = (text: string): Checked<string> =>
        answerType === 'SOA' ? { ok: true, value: text.trim() } : checkRecordValue(answerType, text);
      const expectAnswer = view.maybe('expectAnswer', readers.checked(checkAnswer));
      if (parts === undefined || timing === undefined || (expectAnswer.present && expectAnswer.value === undefined)) return undefined;
      return {
        protocol,
        ...parts,
        ...(expectAnswer.present && expectAnswer.value !== undefined ? { expectAnswer: expectAnswer.value } : {}),
        ...timing,
      };
    }
  }
}
