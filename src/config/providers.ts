import type { ConfigNode, MapEntry, Position } from './positions.js';
import { readEntries, readMap } from './reader.js';
import type { MapView, Path, Readers } from './reader.js';
import { readSecret } from './secrets.js';
import type { SecretSource } from './secrets.js';
import type { ProviderConfig } from './types.js';
import { allDefined } from './util.js';
import { checkHostName, checkHostPort, checkHttpUrl, checkZoneName } from './values.js';
import type { Checked } from './values.js';

/** providers: { NAME: { type: local | route53 | ns1, ... } }, each type with its own keys. */

type ProviderType = ProviderConfig['type'];

const PROVIDER_TYPES: readonly ProviderType[] = ['local', 'route53', 'ns1'];

const KEYS_BY_TYPE: Readonly<Record<ProviderType, readonly string[]>> = {
  local: ['type', 'listen', 'nameserver'],
  route53: ['type', 'endpoint', 'hostedZoneIds'],
  ns1: ['type', 'apiKey', 'endpoint'],
};

const ALL_KEYS = [...new Set(Object.values(KEYS_BY_TYPE).flat())];

export const NS1_DEFAULT_ENDPOINT = 'https://api.nsone.net/v1/';

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
    case 'route53': {
      const endpoint = view.maybe('endpoint', readers.checked(checkHttpUrl));
      const hostedZoneIds = readHostedZoneIds(readers, view, name, references);
      if (hostedZoneIds === undefined || (endpoint.present && endpoint.value === undefined)) return undefined;
      return { type, name, hostedZoneIds, ...(endpoint.present && endpoint.value !== undefined ? { endpoint: endpoint.value } : {}) };
    }
    case 'ns1': {
      const parts = allDefined({
        apiKey: view.required('apiKey', (n, p) => readSecret(readers, n, p, secrets), ': ${NS1_API_KEY} or { file: ... }'),
        endpoint: view.optional('endpoint', readers.checked(checkHttpUrl), NS1_DEFAULT_ENDPOINT),
      });
      // Relative API paths are joined onto the endpoint, which therefore ends with a slash.
      return parts && { type, name, apiKey: parts.apiKey, endpoint: parts.endpoint.endsWith('/') ? parts.endpoint : `${parts.endpoint}/` };
    }
  }
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
