import { resolve as resolvePath } from 'node:path';
import type { ZoneSpec } from '../domain/zone.js';
import { API_SCOPES } from '../lib/api-route.js';
import type { ApiScope } from '../lib/api-route.js';
import { formatDuration } from './duration.js';
import { readNotifications } from './notifications.js';
import { FILE_START } from './positions.js';
import type { ConfigNode, MapEntry, Position } from './positions.js';
import { readProviders } from './providers.js';
import type { HostedZoneReference } from './providers.js';
import { readEntries, readMap } from './reader.js';
import type { MapView, Path, Readers } from './reader.js';
import { readSecret } from './secrets.js';
import type { SecretSource } from './secrets.js';
import { readApiTls, readCaBundlePath } from './tls.js';
import type { ApiConfig, ClusterConfig, HostPort, OverridesConfig, PeerConfig, ResolvedConfig, SyncConfig } from './types.js';
import { allDefined } from './util.js';
import { checkHostPort, checkHttpUrl } from './values.js';
import { readZones } from './zones.js';

/**
 * The top level of the config: region, stateDir, resolve, api, cluster, sync, overrides, notifications,
 * providers, zones.
 * Returns the plain (not yet frozen) config, or undefined when a problem was reported.
 */

const TOP_KEYS = ['region', 'stateDir', 'resolve', 'api', 'cluster', 'sync', 'overrides', 'notifications', 'providers', 'zones'];

export const REGION_ENV = 'DNSQUORUM_REGION';

const REGION = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62})$/;

export interface SchemaInput {
  readonly source: string;
  readonly baseDir: string;
  readonly env: NodeJS.ProcessEnv;
  readonly secrets: SecretSource;
}

function checkRegion(readers: Readers) {
  return (node: ConfigNode, path: Path): string | undefined => {
    const region = readers.string(node, path);
    if (region !== undefined && !REGION.test(region)) {
      readers.reporter.report(node.pos, path, `"${region}" is not a valid region name (letters, digits, . _ -; at most 63)`);
      return undefined;
    }
    return region;
  };
}

/** The own region: DNSQUORUM_REGION when set, else the file's region key. */
function readOwnRegion(readers: Readers, top: MapView, env: NodeJS.ProcessEnv): string | undefined {
  const fromFile = top.maybe('region', checkRegion(readers));
  const fromEnv = env[REGION_ENV];
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!REGION.test(fromEnv)) {
      const pos = top.entry('region')?.value.pos ?? top.pos;
      readers.reporter.report(pos, [REGION_ENV], `"${fromEnv}" is not a valid region name (letters, digits, . _ -; at most 63)`);
      return undefined;
    }
    return fromEnv;
  }
  if (!fromFile.present) {
    readers.reporter.report(top.pos, [], `region is required (or set ${REGION_ENV})`);
    return undefined;
  }
  return fromFile.value;
}

function readResolve(readers: Readers, node: ConfigNode, path: Path): Map<string, HostPort> | undefined {
  const entries = readEntries(readers.reporter, node, path);
  if (entries === undefined) return undefined;
  const out = new Map<string, HostPort>();
  const firstAt = new Map<string, Position>();
  let complete = true;
  for (const entry of entries) {
    const entryPath = [...path, entry.key];
    const host = entry.key.toLowerCase().replace(/\.$/, '');
    if (!/^(?!-)[a-z0-9_-]{1,63}(?<!-)(?:\.(?!-)[a-z0-9_-]{1,63}(?<!-))*$/.test(host)) {
      readers.reporter.report(entry.keyPos, entryPath, `"${entry.key}" is not a valid host name`);
      complete = false;
    }
    const earlier = firstAt.get(host);
    if (earlier !== undefined) {
      readers.reporter.report(entry.keyPos, entryPath, `${host} is listed twice (first at line ${earlier.line})`);
      complete = false;
    }
    firstAt.set(host, entry.keyPos);
    const target = readers.checked((t) => checkHostPort(t, { ipOnly: true }))(entry.value, entryPath);
    if (target === undefined) complete = false;
    else out.set(host, target);
  }
  return complete ? out : undefined;
}

function readApi(readers: Readers, node: ConfigNode | undefined, secrets: SecretSource): ApiConfig | undefined {
  const listenCheck = readers.checked((t) => checkHostPort(t, { allowPortZero: true }));
  const fallbackListen: HostPort = { host: '127.0.0.1', port: 8053 };
  if (node === undefined) return { listen: fallbackListen, tokens: new Map(), scopes: new Map() };
  const view = readMap(readers.reporter, node, ['api'], { allowed: ['listen', 'token', 'tokens', 'tls'] });
  if (view === undefined) return undefined;
  const listen = view.optional('listen', listenCheck, fallbackListen);
  const token = view.maybe('token', (n, p) => readSecret(readers, n, p, secrets));
  const tokensNode = view.entry('tokens')?.value;
  const named = tokensNode === undefined ? new Map<string, NamedToken>() : readNamedTokens(readers, tokensNode, ['api', 'tokens'], secrets);
  const tls = view.maybe('tls', (n, p) => readApiTls(readers, n, p, secrets));
  if (listen === undefined || named === undefined || (token.present && token.value === undefined) || (tls.present && tls.value === undefined)) return undefined;
  const tokens = new Map<string, string>();
  const scopes = new Map<string, ApiScope>();
  if (token.present && token.value !== undefined) {
    tokens.set(API_TOKEN_NAME, token.value);
    scopes.set(API_TOKEN_NAME, 'operate');
  }
  for (const [name, { secret, scope }] of named) {
    tokens.set(name, secret);
    scopes.set(name, scope);
  }
  return { listen, tokens, scopes, ...(tls.present && tls.value !== undefined ? { tls: tls.value } : {}) };
}

/** The name api.token goes by in audit records; api.tokens may not use it. */
export const API_TOKEN_NAME = 'api';

interface NamedToken {
  readonly secret: string;
  readonly scope: ApiScope;
}

/**
 * One api.tokens value: the secret alone (`${VAR}` or `{ file: PATH }`), which operates, or the
 * secret with its scope: `{ token: ${VAR}, scope: read }` or `{ file: PATH, scope: read }`.
 */
function readNamedToken(readers: Readers, node: ConfigNode, path: Path, secrets: SecretSource): NamedToken | undefined {
  if (node.kind !== 'map') {
    const secret = readSecret(readers, node, path, secrets);
    return secret === undefined ? undefined : { secret, scope: 'operate' };
  }
  const view = readMap(readers.reporter, node, path, { allowed: ['token', 'file', 'scope'] });
  if (view === undefined) return undefined;
  const scope = view.optional('scope', readers.oneOf(API_SCOPES), 'operate');
  const tokenEntry = view.entry('token');
  const fileEntry = view.entry('file');
  if ((tokenEntry === undefined) === (fileEntry === undefined)) {
    readers.reporter.report(view.pos, path, 'needs exactly one of token (a ${VAR} reference) or file (a path)');
    return undefined;
  }
  const secret =
    tokenEntry !== undefined
      ? readSecret(readers, tokenEntry.value, view.at('token'), secrets)
      : // Read as the { file: PATH } form, without the scope beside it.
        readSecret(readers, { kind: 'map', pos: node.pos, entries: fileEntry === undefined ? [] : [fileEntry] }, path, secrets);
  return secret === undefined || scope === undefined ? undefined : { secret, scope };
}

/** api.tokens: name -> secret and scope. The name is who acted, in audit records, when the caller names no actor. */
function readNamedTokens(readers: Readers, node: ConfigNode, path: Path, secrets: SecretSource): Map<string, NamedToken> | undefined {
  const entries = readEntries(readers.reporter, node, path);
  if (entries === undefined) return undefined;
  const out = new Map<string, NamedToken>();
  let complete = true;
  for (const entry of entries) {
    const entryPath = [...path, entry.key];
    if (!/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/.test(entry.key) || entry.key === API_TOKEN_NAME) {
      readers.reporter.report(
        entry.keyPos,
        entryPath,
        entry.key === API_TOKEN_NAME
          ? `"${API_TOKEN_NAME}" is the name of api.token; give this token another name`
          : `"${entry.key}" is not a token name: use letters, digits, ".", "_", "@" or "-" (at most 64)`,
      );
      complete = false;
      continue;
    }
    const value = readNamedToken(readers, entry.value, entryPath, secrets);
    if (value === undefined) complete = false;
    else out.set(entry.key, value);
  }
  return complete ? out : undefined;
}

const OVERRIDE_DEFAULTS: OverridesConfig = { defaultDurationMs: 60 * 60_000, maxDurationMs: 24 * 60 * 60_000 };

function readOverrides(readers: Readers, node: ConfigNode | undefined): OverridesConfig | undefined {
  if (node === undefined) return OVERRIDE_DEFAULTS;
  const view = readMap(readers.reporter, node, ['overrides'], { allowed: ['defaultDuration', 'maxDuration'] });
  if (view === undefined) return undefined;
  const maxDurationMs = view.optional('maxDuration', readers.duration(60_000), OVERRIDE_DEFAULTS.maxDurationMs);
  const defaultDurationMs = view.optional('defaultDuration', readers.duration(60_000), Math.min(OVERRIDE_DEFAULTS.defaultDurationMs, maxDurationMs ?? Infinity));
  if (defaultDurationMs !== undefined && maxDurationMs !== undefined && defaultDurationMs > maxDurationMs) {
    readers.reporter.report(
      view.entry('defaultDuration')?.value.pos ?? view.pos,
      view.at('defaultDuration'),
      `${formatDuration(defaultDurationMs)} is longer than overrides.maxDuration (${formatDuration(maxDurationMs)})`,
    );
    return undefined;
  }
  return allDefined({ defaultDurationMs, maxDurationMs });
}

function readPeers(readers: Readers, node: ConfigNode, path: Path, ownRegion: string | undefined): PeerConfig[] | undefined {
  const items = readers.list(node, path);
  if (items === undefined) return undefined;
  const peers: PeerConfig[] = [];
  const firstAt = new Map<string, Position>();
  let complete = true;
  items.forEach((item, i) => {
    const view = readMap(readers.reporter, item, [...path, i], { allowed: ['region', 'url'] });
    const region = view?.required('region', checkRegion(readers));
    const url = view?.required('url', readers.checked(checkHttpUrl));
    if (view === undefined || region === undefined || url === undefined) {
      complete = false;
      return;
    }
    const regionPos = view.entry('region')?.value.pos ?? view.pos;
    if (region === ownRegion) {
      readers.reporter.report(regionPos, view.at('region'), `${region} is this replica's own region; list only the other regions as peers`);
      complete = false;
      return;
    }
    const earlier = firstAt.get(region);
    if (earlier !== undefined) {
      readers.reporter.report(regionPos, view.at('region'), `region ${region} is listed twice (first at line ${earlier.line})`);
      complete = false;
      return;
    }
    firstAt.set(region, regionPos);
    peers.push({ region, url });
  });
  return complete ? peers : undefined;
}

type QuorumSetting = { readonly kind: 'majority' } | { readonly kind: 'count'; readonly count: number };

function readQuorumSetting(readers: Readers, node: ConfigNode, path: Path): QuorumSetting | undefined {
  if (node.kind === 'scalar' && node.value === 'majority') return { kind: 'majority' };
  const isWord = node.kind === 'scalar' && typeof node.value === 'string' && !(node.expanded && /^-?\d+$/.test(node.value));
  if (isWord && !node.unresolved) {
    readers.reporter.report(node.pos, path, `expected majority or a number of regions, found "${node.value}"`);
    return undefined;
  }
  const count = readers.int(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)(node, path);
  return count === undefined ? undefined : { kind: 'count', count };
}

/** "majority" -> floor(n/2)+1; a number must be 1..n, and at least 2 once there are 2+ regions. */
function resolveQuorum(readers: Readers, view: MapView, setting: QuorumSetting, regions: readonly string[]): number | undefined {
  const n = regions.length;
  const majority = Math.floor(n / 2) + 1;
  if (setting.kind === 'majority') return majority;
  const k = setting.count;
  const pos = view.entry('quorum')?.value.pos ?? view.pos;
  const path = view.at('quorum');
  const described = `${n} region${n === 1 ? '' : 's'} (${regions.join(', ')})`;
  if (k < 1 || k > n) {
    readers.reporter.report(pos, path, `quorum ${k} must be between 1 and the ${described}`);
    return undefined;
  }
  if (k < 2 && n >= 2) {
    readers.reporter.report(
      pos,
      path,
      `quorum 1 would let one region alone fail an endpoint over; with ${described} it must be at least 2 (majority is ${majority})`,
    );
    return undefined;
  }
  return k;
}

function readCluster(readers: Readers, node: ConfigNode | undefined, ownRegion: string | undefined, secrets: SecretSource): ClusterConfig | undefined {
  const defaults = { peers: [], quorum: 1, staleAfterMs: 30_000, warmupMs: 120_000, writer: true, exchangeIntervalMs: 2_000 };
  if (node === undefined) return defaults;
  const view = readMap(readers.reporter, node, ['cluster'], { allowed: ['peers', 'secret', 'ca', 'quorum', 'staleAfter', 'warmup', 'writer', 'exchangeInterval'] });
  if (view === undefined) return undefined;
  const peers = view.optional('peers', (n, p) => readPeers(readers, n, p, ownRegion), []);
  const secret = view.maybe('secret', (n, p) => readSecret(readers, n, p, secrets));
  const ca = view.maybe('ca', (n, p) => readCaBundlePath(readers, n, p, secrets));
  if (!secret.present && peers !== undefined && peers.length > 0) {
    readers.reporter.report(view.pos, view.path, 'secret is required when peers are set: replicas sign what they exchange with it');
  }
  const setting = view.optional('quorum', (n, p) => readQuorumSetting(readers, n, p), { kind: 'majority' });
  const regions = ownRegion !== undefined && peers !== undefined ? [ownRegion, ...peers.map((p) => p.region)] : undefined;
  const quorum = setting !== undefined && regions !== undefined ? resolveQuorum(readers, view, setting, regions) : undefined;
  const parts = allDefined({
    peers,
    quorum,
    staleAfterMs: view.optional('staleAfter', readers.duration(1), defaults.staleAfterMs),
    warmupMs: view.optional('warmup', readers.duration(0), defaults.warmupMs),
    writer: view.optional('writer', readers.bool, defaults.writer),
    exchangeIntervalMs: view.optional('exchangeInterval', readers.duration(10), defaults.exchangeIntervalMs),
  });
  if (parts !== undefined && parts.exchangeIntervalMs >= parts.staleAfterMs) {
    readers.reporter.report(
      view.entry('exchangeInterval')?.value.pos ?? view.pos,
      view.at('exchangeInterval'),
      `exchangeInterval (${formatDuration(parts.exchangeIntervalMs)}) must be shorter than staleAfter (${formatDuration(parts.staleAfterMs)}), or peers' verdicts would go stale between two messages`,
    );
    return undefined;
  }
  if (parts === undefined || (secret.present && secret.value === undefined) || (ca.present && ca.value === undefined)) return undefined;
  if (!secret.present && parts.peers.length > 0) return undefined;
  return {
    ...parts,
    ...(secret.present && secret.value !== undefined ? { secret: secret.value } : {}),
    ...(ca.present && ca.value !== undefined ? { ca: ca.value } : {}),
  };
}

const SYNC_DEFAULTS: SyncConfig = { intervalMs: 60_000, readIntervalMs: 15 * 60_000, visibleTimeoutMs: 5 * 60_000 };

function readSync(readers: Readers, node: ConfigNode | undefined): SyncConfig | undefined {
  if (node === undefined) return SYNC_DEFAULTS;
  const view = readMap(readers.reporter, node, ['sync'], { allowed: ['interval', 'readInterval', 'visibleTimeout'] });
  if (view === undefined) return undefined;
  const intervalMs = view.optional('interval', readers.duration(1), SYNC_DEFAULTS.intervalMs);
  // A long interval raises the default read interval with it, so that setting only interval is never an error.
  const readFallback = Math.max(SYNC_DEFAULTS.readIntervalMs, intervalMs ?? 0);
  const readIntervalMs = view.optional('readInterval', readers.duration(1_000), readFallback);
  const visibleTimeoutMs = view.optional('visibleTimeout', readers.duration(1_000), SYNC_DEFAULTS.visibleTimeoutMs);
  if (intervalMs !== undefined && readIntervalMs !== undefined && readIntervalMs < intervalMs) {
    // Only an explicit readInterval can be shorter: the default follows interval.
    readers.reporter.report(
      view.entry('readInterval')?.value.pos ?? view.pos,
      view.at('readInterval'),
      `${formatDuration(readIntervalMs)} must not be shorter than sync.interval (${formatDuration(intervalMs)}): ` +
        'every interval compares the name servers over DNS, every readInterval also reads the provider APIs',
    );
    return undefined;
  }
  return allDefined({ intervalMs, readIntervalMs, visibleTimeoutMs });
}

/** A route53 hostedZoneIds entry must name a zone that this provider serves. */
function checkHostedZoneReferences(readers: Readers, references: readonly HostedZoneReference[], zones: readonly ZoneSpec[]): boolean {
  let ok = true;
  for (const ref of references) {
    const zone = zones.find((z) => z.name === ref.zone);
    if (zone === undefined || !zone.providers.includes(ref.provider)) {
      readers.reporter.report(
        ref.pos,
        ref.path,
        zone === undefined ? `${ref.zone} is not a zone of this config` : `zone ${ref.zone} does not list provider ${ref.provider}`,
      );
      ok = false;
    }
  }
  return ok;
}

function entryValue(view: MapView, key: string): ConfigNode | undefined {
  const entry: MapEntry | undefined = view.entry(key);
  if (entry === undefined) return undefined;
  // "api:" with nothing after it means the defaults, like leaving the key out.
  return entry.value.kind === 'scalar' && entry.value.value === null && !entry.value.unresolved ? undefined : entry.value;
}

/** Validates and resolves the whole document. */
export function readConfig(readers: Readers, root: ConfigNode | undefined, input: SchemaInput): Omit<ResolvedConfig, 'source'> | undefined {
  if (root === undefined) {
    readers.reporter.report(FILE_START, [], 'the file is empty; expected at least region, providers and zones');
    return undefined;
  }
  const top = readMap(readers.reporter, root, [], { allowed: TOP_KEYS });
  if (top === undefined) return undefined;
  const region = readOwnRegion(readers, top, input.env);
  const stateDir = top.optional('stateDir', readers.string, './state');
  const resolveNode = entryValue(top, 'resolve');
  const resolved = resolveNode === undefined ? new Map<string, HostPort>() : readResolve(readers, resolveNode, ['resolve']);
  const api = readApi(readers, entryValue(top, 'api'), input.secrets);
  const cluster = readCluster(readers, entryValue(top, 'cluster'), region, input.secrets);
  const sync = readSync(readers, entryValue(top, 'sync'));
  const overrides = readOverrides(readers, entryValue(top, 'overrides'));
  const notifications = readNotifications(readers, entryValue(top, 'notifications'), input.secrets);
  const providers = readProviders(readers, entryValue(top, 'providers'), ['providers'], input.secrets);
  const zonesNode = entryValue(top, 'zones');
  const staleAfterMs = cluster?.staleAfterMs;
  const zones = zonesNode === undefined ? [] : readZones(readers, zonesNode, ['zones'], { providerNames: providers.names, staleAfterMs });
  const references = zones === undefined || checkHostedZoneReferences(readers, providers.hostedZoneReferences, zones);

  const parts = allDefined({
    region,
    stateDir: stateDir === undefined ? undefined : resolvePath(input.baseDir, stateDir),
    resolve: resolved,
    api,
    cluster,
    sync,
    overrides,
    notifications,
    providers: providers.providers,
    zones,
  });
  return references ? parts : undefined;
}
