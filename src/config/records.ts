import { CONFIGURABLE_TYPES, FAILOVER_TYPES, RECORD_TYPES } from '../domain/record.js';
import type { RecordType } from '../domain/record.js';
import type { FailoverSpec, PoolSpec, RecordSpec, WhenAllDown } from '../domain/zone.js';
import { readCheck } from './check.js';
import type { ConfigNode, Position } from './positions.js';
import { readMap } from './reader.js';
import type { MapView, Path, Readers } from './reader.js';
import { allDefined } from './util.js';
import { checkRecordValue } from './values.js';

/** One record of a zone: static (value / values) or failover (pools behind a health check). */

const RECORD_KEYS = ['type', 'ttl', 'value', 'values', 'failover'];
const FAILOVER_KEYS = ['check', 'pools', 'whenAllDown', 'holdDown', 'maxWritesPerHour'];
const POOL_KEYS = ['name', 'values'];
const WHEN_ALL_DOWN: readonly WhenAllDown[] = ['keep-last', 'all', 'fail-closed'];
const POOL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export const MAX_TTL = 604_800;

export interface RecordContext {
  /** The record's FQDN, already checked against the zone. */
  readonly name: string;
  readonly staleAfterMs: number | undefined;
}

/** What zone-level cross-checks need, even when the rest of the record is invalid. */
export interface RecordDeclaration {
  readonly name: string;
  readonly type: RecordType;
  readonly pos: Position;
  readonly path: Path;
}

export interface RecordRead {
  readonly declaration?: RecordDeclaration;
  readonly spec?: RecordSpec;
}

function readType(readers: Readers) {
  return (node: ConfigNode, path: Path): RecordType | undefined => {
    const text = readers.string(node, path);
    if (text === undefined) return undefined;
    const type = RECORD_TYPES.find((t) => t === text.toUpperCase());
    if (type === 'SOA') {
      readers.reporter.report(node.pos, path, 'SOA cannot be declared: each provider owns and writes its own SOA');
      return undefined;
    }
    if (type === undefined) {
      readers.reporter.report(node.pos, path, `unknown record type "${text}"; expected one of ${CONFIGURABLE_TYPES.join(', ')}`);
    }
    return type;
  };
}

/** A list of record values, each checked for the type; empty lists and repeats are refused. */
function readValueList(readers: Readers, node: ConfigNode, path: Path, type: RecordType, what: string): string[] | undefined {
  const items = readers.list(node, path);
  if (items === undefined) return undefined;
  if (items.length === 0) {
    readers.reporter.report(node.pos, path, `${what} has no values; it needs at least one`);
    return undefined;
  }
  const values: string[] = [];
  let complete = true;
  items.forEach((item, i) => {
    const value = readValue(readers, item, [...path, i], type);
    if (value === undefined) {
      complete = false;
    } else if (values.includes(value)) {
      readers.reporter.report(item.pos, [...path, i], `${value} is listed twice`);
      complete = false;
    } else {
      values.push(value);
    }
  });
  return complete ? values : undefined;
}

function readValue(readers: Readers, node: ConfigNode, path: Path, type: RecordType): string | undefined {
  const text = type === 'TXT' ? readers.text(node, path) : readers.string(node, path);
  if (text === undefined) return undefined;
  const checked = checkRecordValue(type, text);
  if (!checked.ok) readers.reporter.report(node.pos, path, checked.reason);
  return checked.ok ? checked.value : undefined;
}

function readStaticValues(readers: Readers, view: MapView, type: RecordType): string[] | undefined {
  const value = view.entry('value');
  const values = view.entry('values');
  if (value !== undefined && values !== undefined) {
    readers.reporter.report(values.keyPos, view.at('values'), 'give either value or values, not both');
    return undefined;
  }
  if (value === undefined && values === undefined) {
    readers.reporter.report(view.pos, view.path, 'needs value, values or failover');
    return undefined;
  }
  const result =
    value !== undefined
      ? view.required('value', (n, p) => readValue(readers, n, p, type))
      : view.required('values', (n, p) => readValueList(readers, n, p, type, 'the record'));
  if (result === undefined) return undefined;
  const list = typeof result === 'string' ? [result] : result;
  if (type === 'CNAME' && list.length > 1) {
    readers.reporter.report(values?.value.pos ?? view.pos, view.at('values'), `a CNAME has exactly one value, found ${list.length}`);
    return undefined;
  }
  return list;
}

function readPools(readers: Readers, node: ConfigNode, path: Path, type: RecordType): PoolSpec[] | undefined {
  const items = readers.list(node, path);
  if (items === undefined) return undefined;
  if (items.length === 0) {
    readers.reporter.report(node.pos, path, 'needs at least one pool');
    return undefined;
  }
  const pools: PoolSpec[] = [];
  const firstByName = new Map<string, Position>();
  let complete = true;
  items.forEach((item, i) => {
    const view = readMap(readers.reporter, item, [...path, i], { allowed: POOL_KEYS });
    if (view === undefined) {
      complete = false;
      return;
    }
    const name = view.required('name', readers.string);
    const what = name === undefined ? 'this pool' : `pool ${name}`;
    if (name !== undefined && !POOL_NAME.test(name)) {
      readers.reporter.report(valuePos(view, 'name'), view.at('name'), `"${name}" is not a valid pool name (letters, digits, . _ -)`);
      complete = false;
    }
    if (name !== undefined) {
      const first = firstByName.get(name);
      if (first !== undefined) {
        readers.reporter.report(valuePos(view, 'name'), view.at('name'), `pool name ${name} is used twice in this record (first at line ${first.line})`);
        complete = false;
      } else {
        firstByName.set(name, valuePos(view, 'name'));
      }
    }
    const values = view.required('values', (n, p) => readValueList(readers, n, p, type, what));
    if (values !== undefined && type === 'CNAME' && values.length !== 1) {
      readers.reporter.report(
        valuePos(view, 'values'),
        view.at('values'),
        `a CNAME pool has exactly one value (a CNAME cannot hold several), found ${values.length}`,
      );
      complete = false;
    }
    if (name === undefined || values === undefined) complete = false;
    else pools.push({ name, values });
  });
  return complete ? pools : undefined;
}

function valuePos(view: MapView, key: string): Position {
  return view.entry(key)?.value.pos ?? view.pos;
}

function readFailover(readers: Readers, node: ConfigNode, path: Path, type: RecordType, context: RecordContext): FailoverSpec | undefined {
  const view = readMap(readers.reporter, node, path, { allowed: FAILOVER_KEYS });
  if (view === undefined) return undefined;
  const whenAllDown = view.optional('whenAllDown', readers.oneOf(WHEN_ALL_DOWN), 'keep-last');
  if (type === 'CNAME' && whenAllDown === 'all') {
    readers.reporter.report(
      valuePos(view, 'whenAllDown'),
      view.at('whenAllDown'),
      'whenAllDown: all is refused for a CNAME, which holds one value; use keep-last or fail-closed',
    );
  }
  const parts = allDefined({
    check: view.required('check', (n, p) => readCheck(readers, n, p, { recordName: context.name, staleAfterMs: context.staleAfterMs })),
    pools: view.required('pools', (n, p) => readPools(readers, n, p, type)),
    whenAllDown: type === 'CNAME' && whenAllDown === 'all' ? undefined : whenAllDown,
    holdDownMs: view.optional('holdDown', readers.duration(0), 0),
    maxWritesPerHour: view.optional('maxWritesPerHour', readers.int(1, 3600), 12),
  });
  return parts;
}

/** Reads one record mapping. The declaration is returned whenever name and type are readable. */
export function readRecord(readers: Readers, node: ConfigNode, path: Path, context: RecordContext): RecordRead {
  const view = readMap(readers.reporter, node, path, { allowed: RECORD_KEYS });
  if (view === undefined) return {};
  const type = view.required('type', readType(readers), ` (${CONFIGURABLE_TYPES.join(', ')})`);
  const ttl = view.optional('ttl', readers.int(1, MAX_TTL), 300);
  if (type === undefined) return {};
  const declaration: RecordDeclaration = { name: context.name, type, pos: view.pos, path };

  const failoverEntry = view.entry('failover');
  if (failoverEntry === undefined) {
    const values = readStaticValues(readers, view, type);
    if (ttl === undefined || values === undefined) return { declaration };
    return { declaration, spec: { kind: 'static', name: context.name, type, ttl, values } };
  }

  for (const key of ['value', 'values']) {
    const entry = view.entry(key);
    if (entry !== undefined) {
      readers.reporter.report(entry.keyPos, view.at(key), `${key} does not apply to a failover record: its pools hold the values`);
    }
  }
  if (!FAILOVER_TYPES.includes(type)) {
    readers.reporter.report(failoverEntry.keyPos, view.at('failover'), `failover needs type ${FAILOVER_TYPES.join(', ')}, not ${type}`);
    return { declaration };
  }
  const failover = view.required('failover', (n, p) => readFailover(readers, n, p, type, context));
  if (ttl === undefined || failover === undefined) return { declaration };
  return { declaration, spec: { kind: 'failover', name: context.name, type, ttl, failover } };
}
