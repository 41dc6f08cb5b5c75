import type { ConfigNode, MapEntry, Position } from './positions.js';
import { readEntries, readMap } from './reader.js';
import type { MapView, Path, Reader, Readers } from './reader.js';
import { formatDuration } from './duration.js';
import { readSecret } from './secrets.js';
import type { SecretSource } from './secrets.js';
import type { Ns1ProviderConfig, PowerDnsProviderConfig, ProviderConfig, Route53ProviderConfig } from './types.js';
import { allDefined } from './util.js';
import { checkHostName, checkHostPort, checkHttpUrl, checkZoneName } from './values.js';
import type { Checked } from './values.js';

/** providers: { NAME: { type: local | route53 | ns1 | powerdns, ... } }, each type with its own keys. */

type ProviderType = ProviderConfig['type'];

const PROVIDER_TYPES: readonly ProviderType[] = ['local', 'route53', 'ns1', 'powerdns'];

const KEYS_BY_TYPE: Readonly<Record<ProviderType, readonly string[]>> = {
  local: ['type', 'listen', 'nameserver'],
  route53: ['type', 'endpoint', 'hostedZoneIds', 'rateLimit', 'insyncTimeout', 'insyncPollInterval', 'requestTimeout', 'maxBatchRecords'],
  ns1: ['type', 'apiKey', 'endpoint', 'requestTimeout', 'maxRetries'],
  powerdns: ['type', 'url', 'apiKey', 'serverId', 'kind', 'nameservers', 'requestTimeout'],
};

const ALL_KEYS = [...new Set(Object.values(KEYS_BY_TYPE).flat())];

export const NS1_DEFAULT_ENDPOINT = 'https://api.nsone.net/v1/';

/**
 * What an ns1 provider uses for the keys left out. Five retries outlast a short NS1 hiccup; a
 * longer outage is left to the next pass, which re-reads and re-plans anyway.
 */
export const NS1_DEFAULTS = {
  requestTimeoutMs: 20_000,
  maxRetries: 5,
} as const;

/** What a powerdns provider uses for the keys left out. */
export const POWERDNS_DEFAULTS = {
  serverId: 'localhost',
  kind: 'Native',
  requestTimeoutMs: 10_000,
} as const;

/** More retries than this only hold a pass up: the next pass retries everything anyway. */
const NS1_MAX_RETRIES = 20;

/**
 * What a route53 provider uses for the keys left out. 5 requests per second is Route53's
 * historic account-wide limit and half of the 10 per second it allows since 2026, so it is safe
 * under both; changes usually go INSYNC within 60 s (Route53 docs), 5 minutes leaves room.
 */
export const ROUTE53_DEFAULTS = {
  rateLimit: 5,
  insyncTimeoutMs: 5 * 60_000,
  insyncPollIntervalMs: 2_000,
  requestTimeoutMs: 20_000,
  maxBatchRecords: 1000,
} as const;

/** Route53 accepts at most 1,000 ResourceRecord elements in one change request. */
const ROUTE53_MAX_BATCH_RECORDS = 1000;
const ROUTE53_MAX_RATE = 10_000;

const PROVIDER_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

/** A hostedZoneIds entry, kept with its position to check later that the zone uses this provider. */
export interface HostedZoneReference {
  readonly provider: string;
  readonly zone: string;
  readonly pos: Position;
  readonly path: Path;
}

export interface ProvidersRead {
  readonly providers: Map<string, ProviderConfig> | undefined;
  /** Every key under providers, valid or not. */
  readonly names: ReadonlySet<string>;
  readonly hostedZoneReferences: readonly HostedZoneReference[];
}

function misplaced(type: ProviderType): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of ALL_KEYS) {
    if (KEYS_BY_TYPE[type].includes(key)) continue;
    const owners = PROVIDER_TYPES.filter((t) => KEYS_BY_TYPE[t].includes(key));
    out[key] = `does not apply to ${type} providers (only to ${owners.join(', ')})`;
  }
  return out;
}

function checkZoneId(text: string): Checked<string> {
  return /^[A-Za-z0-9/_.-]+$/.test(text) ? { ok: true, value: text } : { ok: false, reason: `"${text}" is not a hosted zone id` };
}

function readHostedZoneIds(readers: Readers, view: MapView, provider: string, references: HostedZoneReference[]): Record<string, string> | undefined {
  const found = view.maybe('hostedZoneIds', (node, path) => {
    const entries = readEntries(readers.reporter, node, path);
    if (entries === undefined) return undefined;
    const ids: Record<string, string> = {};
    let complete = true;
    for (const entry of entries) {
      const entryPath = [...path, entry.key];
      const zone = checkZoneName(entry.key);
      const id = readers.checked(checkZoneId)(entry.value, entryPath);
      if (!zone.ok) readers.reporter.report(entry.keyPos, entryPath, zone.reason);
      if (!zone.ok || id === undefined) {
        complete = false;
        continue;
      }
      references.push({ provider, zone: zone.value, pos: entry.keyPos, path: entryPath });
      ids[zone.value] = id;
    }
    return complete ? ids : undefined;
  });
  return found.present ? found.value : {};
}

function readProvider(readers: Readers, entry: MapEntry, path: Path, secrets: SecretSource, references: HostedZoneReference[]): ProviderConfig | undefined {
  const name = entry.key;
  if (!PROVIDER_NAME.test(name)) {
    readers.reporter.report(entry.keyPos, path, `"${name}" is not a valid provider name (letters, digits, _ and -)`);
  }
  const node = entry.value;
  if (node.kind !== 'map') {
    readMap(readers.reporter, node, path, { allowed: ALL_KEYS });
    return undefined;
  }
  const typeEntry = node.entries.find((e) => e.key === 'type');
  const type = typeEntry === undefined ? undefined : readers.oneOf(PROVIDER_TYPES)(typeEntry.value, [...path, 'type']);
  if (typeEntry === undefined) readers.reporter.report(node.pos, path, `type is required (${PROVIDER_TYPES.join(', ')})`);
  const view = readMap(readers.reporter, node, path, type === undefined ? { allowed: ALL_KEYS } : { allowed: KEYS_BY_TYPE[type], misplaced: misplaced(type) });
  if (view === undefined || type === undefined) return undefined;

  switch (type) {
    case 'local': {
      const parts = allDefined({
        listen: view.required('listen', readers.checked((t) => checkHostPort(t, { allowPortZero: true }))),
        nameserver: view.required('nameserver', readers.checked(checkHostName)),
      });
      return parts && { type, name, ...parts };
    }
    case 'route53':
      return readRoute53(readers, view, name, references);
    case 'ns1':
      return readNs1(readers, view, name, secrets);
    case 'powerdns':
      return readPowerDns(readers, view, name, secrets);
  }
}

function readPowerDns(readers: Readers, view: MapView, name: string, secrets: SecretSource): PowerDnsProviderConfig | undefined {
  const parts = allDefined({
    url: view.required('url', readers.checked(checkHttpUrl)),
    apiKey: view.required('apiKey', (n, p) => readSecret(readers, n, p, secrets), ': ${PDNS_API_KEY} or { file: ... }'),
    nameservers: view.required('nameservers', (node, path) => readHostNames(readers, node, path), ': the FQDNs of the servers that serve the zone, e.g. [ns1.example.net.]'),
  });
  const serverId = view.maybe('serverId', readers.string);
  const kind = view.maybe('kind', readers.oneOf(['Native', 'Master'] as const));
  const requestTimeout = view.maybe('requestTimeout', readers.duration(100));
  if (parts === undefined || [serverId, kind, requestTimeout].some((read) => read.present && read.value === undefined)) return undefined;
  return {
    type: 'powerdns',
    name,
    url: parts.url,
    apiKey: parts.apiKey,
    nameservers: parts.nameservers,
    ...(serverId.present && serverId.value !== undefined ? { serverId: serverId.value } : {}),
    ...(kind.present && kind.value !== undefined ? { kind: kind.value } : {}),
    ...(requestTimeout.present && requestTimeout.value !== undefined ? { requestTimeoutMs: requestTimeout.value } : {}),
  };
}

/** A non-empty list of host names (lowercase FQDNs, as checkHostName returns them); duplicates are refused. */
function readHostNames(readers: Readers, node: ConfigNode, path: Path): readonly string[] | undefined {
  const items = readers.list(node, path);
  if (items === undefined) return undefined;
  if (items.length === 0) {
    readers.reporter.report(node.pos, path, 'needs at least one name server');
    return undefined;
  }
  const names: string[] = [];
  let complete = true;
  items.forEach((item, i) => {
    const host = readers.checked(checkHostName)(item, [...path, i]);
    if (host === undefined) {
      complete = false;
      return;
    }
    if (names.includes(host)) {
      readers.reporter.report(item.pos, [...path, i], `${host} is listed twice`);
      complete = false;
      return;
    }
    names.push(host);
  });
  return complete ? names : undefined;
}

function readNs1(readers: Readers, view: MapView, name: string, secrets: SecretSource): Ns1ProviderConfig | undefined {
  const parts = allDefined({
    apiKey: view.required('apiKey', (n, p) => readSecret(readers, n, p, secrets), ': ${NS1_API_KEY} or { file: ... }'),
    endpoint: view.optional('endpoint', readers.checked(checkHttpUrl), NS1_DEFAULT_ENDPOINT),
  });
  const requestTimeout = view.maybe('requestTimeout', readers.duration(100));
  const maxRetries = view.maybe('maxRetries', readers.int(0, NS1_MAX_RETRIES));
  if (parts === undefined || [requestTimeout, maxRetries].some((read) => read.present && read.value === undefined)) return undefined;
  return {
    type: 'ns1',
    name,
    apiKey: parts.apiKey,
    // Relative API paths are joined onto the endpoint, which therefore ends with a slash.
    endpoint: parts.endpoint.endsWith('/') ? parts.endpoint : `${parts.endpoint}/`,
    ...(requestTimeout.present && requestTimeout.value !== undefined ? { requestTimeoutMs: requestTimeout.value } : {}),
    ...(maxRetries.present && maxRetries.value !== undefined ? { maxRetries: maxRetries.value } : {}),
  };
}

/** A number of requests per second: more than 0, fractions allowed (0.5 is one every 2 s). */
function requestRate(readers: Readers): Reader<number> {
  return (node, path) => {
    if (node.kind !== 'scalar') {
      readers.reporter.report(node.pos, path, `expected a number of requests per second, found a ${node.kind === 'map' ? 'mapping' : 'list'}`);
      return undefined;
    }
    if (node.unresolved) return undefined;
    const text = typeof node.value === 'string' ? node.value.trim() : undefined;
    const value = typeof node.value === 'number' ? node.value : node.expanded && text !== undefined && /^\d+(\.\d+)?$/.test(text) ? Number(text) : undefined;
    if (value === undefined || !Number.isFinite(value)) {
      readers.reporter.report(node.pos, path, `expected a number of requests per second, found ${JSON.stringify(node.value)}`);
      return undefined;
    }
    if (value <= 0 || value > ROUTE53_MAX_RATE) {
      readers.reporter.report(node.pos, path, `${value} is out of range: more than 0 and at most ${ROUTE53_MAX_RATE} requests per second`);
      return undefined;
    }
    return value;
  };
}

function readRoute53(readers: Readers, view: MapView, name: string, references: HostedZoneReference[]): Route53ProviderConfig | undefined {
  const endpoint = view.maybe('endpoint', readers.checked(checkHttpUrl));
  const hostedZoneIds = readHostedZoneIds(readers, view, name, references);
  const rateLimit = view.maybe('rateLimit', requestRate(readers));
  const insyncTimeout = view.maybe('insyncTimeout', readers.duration(1_000));
  const insyncPollInterval = view.maybe('insyncPollInterval', readers.duration(10));
  const requestTimeout = view.maybe('requestTimeout', readers.duration(100));
  const maxBatchRecords = view.maybe('maxBatchRecords', readers.int(1, ROUTE53_MAX_BATCH_RECORDS));

  const timeoutMs = insyncTimeout.present ? insyncTimeout.value : ROUTE53_DEFAULTS.insyncTimeoutMs;
  const pollMs = insyncPollInterval.present ? insyncPollInterval.value : ROUTE53_DEFAULTS.insyncPollIntervalMs;
  let consistent = true;
  if (timeoutMs !== undefined && pollMs !== undefined && pollMs >= timeoutMs) {
    const entry = view.entry(insyncPollInterval.present ? 'insyncPollInterval' : 'insyncTimeout');
    readers.reporter.report(
      entry?.keyPos ?? view.pos,
      view.at(insyncPollInterval.present ? 'insyncPollInterval' : 'insyncTimeout'),
      `insyncPollInterval (${formatDuration(pollMs)}) must be shorter than insyncTimeout (${formatDuration(timeoutMs)})`,
    );
    consistent = false;
  }

  const optional = { endpoint, rateLimit, insyncTimeout, insyncPollInterval, requestTimeout, maxBatchRecords };
  if (hostedZoneIds === undefined || !consistent || Object.values(optional).some((read) => read.present && read.value === undefined)) return undefined;
  return {
    type: 'route53',
    name,
    hostedZoneIds,
    ...(endpoint.present && endpoint.value !== undefined ? { endpoint: endpoint.value } : {}),
    ...(rateLimit.present && rateLimit.value !== undefined ? { rateLimit: rateLimit.value } : {}),
    ...(insyncTimeout.present && insyncTimeout.value !== undefined ? { insyncTimeoutMs: insyncTimeout.value } : {}),
    ...(insyncPollInterval.present && insyncPollInterval.value !== undefined ? { insyncPollIntervalMs: insyncPollInterval.value } : {}),
    ...(requestTimeout.present && requestTimeout.value !== undefined ? { requestTimeoutMs: requestTimeout.value } : {}),
    ...(maxBatchRecords.present && maxBatchRecords.value !== undefined ? { maxBatchRecords: maxBatchRecords.value } : {}),
  };
}

export function readProviders(readers: Readers, node: ConfigNode | undefined, path: Path, secrets: SecretSource): ProvidersRead {
  const hostedZoneReferences: HostedZoneReference[] = [];
  if (node === undefined) return { providers: new Map(), names: new Set(), hostedZoneReferences };
  const entries = readEntries(readers.reporter, node, path);
  if (entries === undefined) return { providers: undefined, names: new Set(), hostedZoneReferences };
  const providers = new Map<string, ProviderConfig>();
  let complete = true;
  for (const entry of entries) {
    const provider = readProvider(readers, entry, [...path, entry.key], secrets, hostedZoneReferences);
    if (provider === undefined) complete = false;
    else providers.set(entry.key, provider);
  }
  return { providers: complete ? providers : undefined, names: new Set(entries.map((e) => e.key)), hostedZoneReferences };
}
