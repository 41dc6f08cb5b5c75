import type { NotificationKind, NotificationSeverity } from '../domain/notification.js';
import type { ConfigNode, MapEntry, Position } from './positions.js';
import { readEntries, readMap } from './reader.js';
import type { MapView, Path, Readers } from './reader.js';
import { readSecret } from './secrets.js';
import type { SecretSource } from './secrets.js';
import type { NotificationsConfig, SinkConfig } from './types.js';
import { allDefined } from './util.js';
import { checkHttpUrl } from './values.js';
import type { Checked } from './values.js';

/**
 * notifications: { providerFailingAfter, sinks: [ { name, type: webhook | slack | pagerduty, ... } ] }.
 * A Slack url carries its token and a PagerDuty routing key lets anyone open incidents, so both
 * (and webhook header values, which are mostly credentials) are secrets: ${ENV} or { file: ... }.
 * No message here quotes a secret's value.
 */

type SinkType = SinkConfig['type'];

const SINK_TYPES: readonly SinkType[] = ['webhook', 'slack', 'pagerduty'];

export const NOTIFICATION_KINDS: readonly NotificationKind[] = [
  'failover',
  'failback',
  'override',
  'override-ended',
  'override-refused',
  'drift',
  'drift-cleared',
  'provider-failing',
  'provider-recovered',
  'clock-skew',
  'clock-skew-cleared',
  'state-file-corrupt',
  'plan-refused',
  'plan-refused-cleared',
];

export const NOTIFICATION_SEVERITIES: readonly NotificationSeverity[] = ['info', 'warning', 'critical'];

export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';

export const NOTIFICATIONS_DEFAULTS: NotificationsConfig = { providerFailingAfterMs: 5 * 60_000, sinks: [] };

const COMMON_KEYS = ['name', 'type', 'events', 'minSeverity'] as const;

const KEYS_BY_TYPE: Readonly<Record<SinkType, readonly string[]>> = {
  webhook: [...COMMON_KEYS, 'url', 'headers'],
  slack: [...COMMON_KEYS, 'url'],
  pagerduty: [...COMMON_KEYS, 'routingKey', 'url'],
};

const ALL_KEYS = [...new Set(Object.values(KEYS_BY_TYPE).flat())];

/** Sink names go into logs and metric labels. */
const SINK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Headers the sender sets itself: a configured one would break the request or lie about its body. */
const RESERVED_HEADERS: ReadonlySet<string> = new Set(['content-type', 'content-length', 'host', 'transfer-encoding', 'connection']);

function misplaced(type: SinkType): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of ALL_KEYS) {
    if (KEYS_BY_TYPE[type].includes(key)) continue;
    const owners = SINK_TYPES.filter((t) => KEYS_BY_TYPE[t].includes(key));
    out[key] = `does not apply to ${type} sinks (only to ${owners.join(', ')})`;
  }
  return out;
}

function readEvents(readers: Readers, node: ConfigNode, path: Path): NotificationKind[] | undefined {
  const items = readers.list(node, path);
  if (items === undefined) return undefined;
  if (items.length === 0) {
    readers.reporter.report(node.pos, path, 'needs at least one event (leave the key out for every kind)');
    return undefined;
  }
  const kinds: NotificationKind[] = [];
  const firstAt = new Map<NotificationKind, Position>();
  let complete = true;
  items.forEach((item, i) => {
    const kind = readers.oneOf(NOTIFICATION_KINDS)(item, [...path, i]);
    if (kind === undefined) {
      complete = false;
      return;
    }
    const earlier = firstAt.get(kind);
    if (earlier !== undefined) {
      readers.reporter.report(item.pos, [...path, i], `${kind} is listed twice (first at line ${earlier.line})`);
      complete = false;
      return;
    }
    firstAt.set(kind, item.pos);
    kinds.push(kind);
  });
  return complete ? kinds : undefined;
}

/** A URL that is a secret: checked like any URL, but the message never shows it. */
function secretUrl(text: string): Checked<string> {
  const checked = checkHttpUrl(text);
  if (checked.ok) return checked;
  return { ok: false, reason: 'is not an http:// or https:// URL without credentials (the value is a secret and is not shown)' };
}

function readSecretUrl(readers: Readers, node: ConfigNode, path: Path, secrets: SecretSource): string | undefined {
  const value = readSecret(readers, node, path, secrets);
  if (value === undefined) return undefined;
  const checked = secretUrl(value.trim());
  if (!checked.ok) {
    readers.reporter.report(node.pos, path, checked.reason);
    return undefined;
  }
  return checked.value;
}

/** A plain URL; when it came from ${ENV} the message leaves the value out, in case it was meant to stay unseen. */
function readPlainUrl(readers: Readers, node: ConfigNode, path: Path): string | undefined {
  return readers.checked((text) => (node.kind === 'scalar' && node.expanded ? secretUrl(text) : checkHttpUrl(text)))(node, path);
}

function readHeaders(readers: Readers, node: ConfigNode, path: Path, secrets: SecretSource): Record<string, string> | undefined {
  const entries = readEntries(readers.reporter, node, path);
  if (entries === undefined) return undefined;
  const headers: Record<string, string> = {};
  const firstAt = new Map<string, Position>();
  let complete = true;
  for (const entry of entries) {
    const entryPath = [...path, entry.key];
    const lower = entry.key.toLowerCase();
    if (!HEADER_NAME.test(entry.key)) {
      readers.reporter.report(entry.keyPos, entryPath, `"${entry.key}" is not an HTTP header name`);
      complete = false;
    } else if (RESERVED_HEADERS.has(lower)) {
      readers.reporter.report(entry.keyPos, entryPath, `${entry.key} is set by dnsquorum itself and cannot be configured`);
      complete = false;
    } else {
      const earlier = firstAt.get(lower);
      if (earlier !== undefined) {
        readers.reporter.report(entry.keyPos, entryPath, `header ${entry.key} is listed twice (header names ignore case; first at line ${earlier.line})`);
        complete = false;
      }
      firstAt.set(lower, entry.keyPos);
    }
    const value = readSecret(readers, entry.value, entryPath, secrets);
    if (value === undefined) complete = false;
    else if (/[\r\n\0]/.test(value)) {
      readers.reporter.report(entry.value.pos, entryPath, 'a header value cannot hold line breaks or NUL (the value is a secret and is not shown)');
      complete = false;
    } else headers[entry.key] = value;
  }
  return complete ? headers : undefined;
}

function readSinkName(readers: Readers, view: MapView, firstAt: Map<string, Position>): string | undefined {
  const name = view.required('name', readers.string);
  if (name === undefined) return undefined;
  const pos = view.entry('name')?.value.pos ?? view.pos;
  if (!SINK_NAME.test(name)) {
    readers.reporter.report(pos, view.at('name'), `"${name}" is not a valid sink name (letters, digits, . _ -; at most 64)`);
    return undefined;
  }
  const earlier = firstAt.get(name);
  if (earlier !== undefined) {
    readers.reporter.report(pos, view.at('name'), `sink name ${name} is used twice (first at line ${earlier.line})`);
    return undefined;
  }
  firstAt.set(name, pos);
  return name;
}

function readSink(readers: Readers, node: ConfigNode, path: Path, secrets: SecretSource, names: Map<string, Position>): SinkConfig | undefined {
  if (node.kind !== 'map') {
    readMap(readers.reporter, node, path, { allowed: ALL_KEYS });
    return undefined;
  }
  const typeEntry: MapEntry | undefined = node.entries.find((e) => e.key === 'type');
  const type = typeEntry === undefined ? undefined : readers.oneOf(SINK_TYPES)(typeEntry.value, [...path, 'type']);
  if (typeEntry === undefined) readers.reporter.report(node.pos, path, `type is required (${SINK_TYPES.join(', ')})`);
  const view = readMap(readers.reporter, node, path, type === undefined ? { allowed: ALL_KEYS } : { allowed: KEYS_BY_TYPE[type], misplaced: misplaced(type) });
  if (view === undefined) return undefined;
  const common = allDefined({
    name: readSinkName(readers, view, names),
    events: view.optional('events', (n, p) => readEvents(readers, n, p), NOTIFICATION_KINDS),
    minSeverity: view.optional('minSeverity', readers.oneOf(NOTIFICATION_SEVERITIES), 'info'),
  });
  if (type === undefined) return undefined;

  switch (type) {
    case 'webhook': {
      const url = view.required('url', (n, p) => readPlainUrl(readers, n, p));
      const headers = view.optional('headers', (n, p) => readHeaders(readers, n, p, secrets), {});
      return common === undefined || url === undefined || headers === undefined ? undefined : { type, ...common, url, headers };
    }
    case 'slack': {
      const url = view.required('url', (n, p) => readSecretUrl(readers, n, p, secrets), ': the incoming webhook URL, as ${SLACK_WEBHOOK_URL} or { file: ... }');
      return common === undefined || url === undefined ? undefined : { type, ...common, url };
    }
    case 'pagerduty': {
      const routingKey = view.required('routingKey', (n, p) => readSecret(readers, n, p, secrets), ': ${PD_ROUTING_KEY} or { file: ... }');
      const url = view.optional('url', (n, p) => readPlainUrl(readers, n, p), PAGERDUTY_EVENTS_URL);
      return common === undefined || routingKey === undefined || url === undefined ? undefined : { type, ...common, routingKey, url };
    }
  }
}

function readSinks(readers: Readers, node: ConfigNode, path: Path, secrets: SecretSource): SinkConfig[] | undefined {
  const items = readers.list(node, path);
  if (items === undefined) return undefined;
  const names = new Map<string, Position>();
  const sinks: SinkConfig[] = [];
  let complete = true;
  items.forEach((item, i) => {
    const sink = readSink(readers, item, [...path, i], secrets, names);
    if (sink === undefined) complete = false;
    else sinks.push(sink);
  });
  return complete ? sinks : undefined;
}

/** The notifications section; undefined (reported) when anything in it is wrong. */
export function readNotifications(readers: Readers, node: ConfigNode | undefined, secrets: SecretSource): NotificationsConfig | undefined {
  if (node === undefined) return NOTIFICATIONS_DEFAULTS;
  const view = readMap(readers.reporter, node, ['notifications'], { allowed: ['providerFailingAfter', 'sinks'] });
  if (view === undefined) return undefined;
  return allDefined({
    providerFailingAfterMs: view.optional('providerFailingAfter', readers.duration(1_000), NOTIFICATIONS_DEFAULTS.providerFailingAfterMs),
    sinks: view.optional('sinks', (n, p) => readSinks(readers, n, p, secrets), []),
  });
}
