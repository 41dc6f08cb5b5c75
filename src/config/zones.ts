import { fqdn } from '../domain/record.js';
import type { RecordSpec, ZoneSpec } from '../domain/zone.js';
import type { ConfigNode, Position } from './positions.js';
import { readEntries, readMap } from './reader.js';
import type { Path, Readers } from './reader.js';
import { MAX_TTL, readRecord } from './records.js';
import type { RecordDeclaration } from './records.js';
import { allDefined } from './util.js';
import { checkRecordName, checkZoneName } from './values.js';

/** Zones: their providers and records, and the rules that span several records of a zone. */

const ZONE_KEYS = ['providers', 'nameservers', 'nameserverTtl', 'unmanaged', 'drift', 'maxChangeShare', 'records'];

/** The default guardrail: one pass may update or delete at most 30% of a zone's record sets. */
export const DEFAULT_MAX_CHANGE_SHARE = 0.3;

export interface ZonesContext {
  /** Every key of the providers map, valid or not, so a zone is not blamed for a provider's own mistake. */
  readonly providerNames: ReadonlySet<string>;
  readonly staleAfterMs: number | undefined;
}

function readProviderList(readers: Readers, node: ConfigNode, path: Path, known: ReadonlySet<string>): string[] | undefined {
  const items = readers.list(node, path);
  if (items === undefined) return undefined;
  if (items.length === 0) {
    readers.reporter.report(node.pos, path, 'needs at least one provider');
    return undefined;
  }
  const names: string[] = [];
  let complete = true;
  items.forEach((item, i) => {
    const name = readers.string(item, [...path, i]);
    if (name === undefined) {
      complete = false;
    } else if (!known.has(name)) {
      const list = known.size > 0 ? [...known].join(', ') : 'none are configured';
      readers.reporter.report(item.pos, [...path, i], `provider "${name}" is not defined under providers (${list})`);
      complete = false;
    } else if (names.includes(name)) {
      readers.reporter.report(item.pos, [...path, i], `provider "${name}" is listed twice`);
      complete = false;
    } else {
      names.push(name);
    }
  });
  return complete ? names : undefined;
}

/** A CNAME stands alone at its name and never at the apex; a (name, type) is declared once. */
function crossCheck(readers: Readers, zone: string, nameservers: string | undefined, declarations: readonly RecordDeclaration[]): void {
  const { reporter } = readers;
  const first = new Map<string, Position>();
  for (const d of declarations) {
    const key = `${d.name} ${d.type}`;
    const earlier = first.get(key);
    if (earlier !== undefined) {
      reporter.report(d.pos, d.path, `${d.name} ${d.type} is declared twice (first at line ${earlier.line})`);
    } else {
      first.set(key, d.pos);
    }
  }
  const reportedCname = new Set<string>();
  for (const d of declarations) {
    if (d.type === 'CNAME' && d.name === zone) {
      reporter.report(d.pos, d.path, `a CNAME cannot be at the zone apex (${zone}), which must hold SOA and NS records`);
      continue;
    }
    if (d.type === 'NS' && d.name === zone && nameservers === 'sync') {
      reporter.report(d.pos, d.path, 'the apex NS record is managed by nameservers: sync; set nameservers: manual to declare it');
      continue;
    }
    if (d.type !== 'CNAME' || reportedCname.has(d.name)) continue;
    const others = [...new Set(declarations.filter((o) => o.name === d.name && o.type !== 'CNAME').map((o) => o.type))];
    if (others.length > 0) {
      reportedCname.add(d.name);
      reporter.report(d.pos, d.path, `${d.name} has a CNAME and also ${others.join(', ')}; a CNAME must be the only record at its name`);
    }
  }
}

/** The delegation (NS below the apex) whose child zone holds `name`: the one closest to the apex, as servers find it. */
function delegationAbove(name: string, zone: string, cuts: ReadonlyMap<string, unknown>): string | undefined {
  let found: string | undefined;
  for (let n = name; n !== zone && n.includes('.'); n = n.slice(n.indexOf('.') + 1)) {
    if (cuts.has(n)) found = n;
  }
  return found;
}

/**
 * Data at or below a delegation inside the zone belongs to the child zone: the zone's servers
 * answer every question there with a referral (RFC 1034 4.3.2), so such a record is never served
 * and the zone never converges (verify stays inconsistent, the daemon re-reads the provider every
 * pass). Allowed there: the delegation's own NS set, and glue: A/AAAA records at the names its NS
 * records point at, which referrals carry in their additional section.
 */
function checkOccluded(readers: Readers, zone: string, declarations: readonly RecordDeclaration[], specs: readonly RecordSpec[]): void {
  const cuts = new Map<string, { line: number; targets: readonly string[] | undefined }>();
  for (const d of declarations) {
    if (d.type !== 'NS' || d.name === zone) continue;
    const spec = specs.find((r) => r.name === d.name && r.type === 'NS');
    // An NS set whose values did not read is reported already; its glue cannot be told apart.
    cuts.set(d.name, { line: d.pos.line, targets: spec?.kind === 'static' ? spec.values : undefined });
  }
  if (cuts.size === 0) return;
  for (const d of declarations) {
    const cut = delegationAbove(d.name, zone, cuts);
    const delegation = cut === undefined ? undefined : cuts.get(cut);
    if (cut === undefined || delegation === undefined || (d.type === 'NS' && d.name === cut)) continue;
    const address = d.type === 'A' || d.type === 'AAAA';
    if (address && (delegation.targets === undefined || delegation.targets.includes(d.name))) continue;
    const where = d.name === cut ? `is at the delegation ${cut}` : `is below the delegation ${cut}`;
    const targets = delegation.targets === undefined ? 'its NS records' : delegation.targets.join(', ');
    readers.reporter.report(
      d.pos,
      d.path,
      `${d.name} ${d.type} ${where} (NS at line ${delegation.line}): the zone's servers answer for it with a referral to the child zone and never serve it, ` +
        `so the zone could never be in sync; declare it in the child zone (below a delegation only A/AAAA glue for ${targets} is allowed)`,
    );
  }
}

interface RecordsContext extends ZonesContext {
  readonly zone: string;
  readonly nameservers: 'sync' | 'manual' | undefined;
}

function readRecords(readers: Readers, node: ConfigNode, path: Path, context: RecordsContext): RecordSpec[] | undefined {
  const { zone } = context;
  const entries = readEntries(readers.reporter, node, path);
  if (entries === undefined) return undefined;
  const specs: RecordSpec[] = [];
  const declarations: RecordDeclaration[] = [];
  let complete = true;
  for (const entry of entries) {
    const entryPath = [...path, entry.key];
    const name = checkRecordName(entry.key, zone);
    if (!name.ok) {
      readers.reporter.report(entry.keyPos, entryPath, name.reason);
      complete = false;
    }
    const recordContext = { name: name.ok ? name.value : zone, staleAfterMs: context.staleAfterMs };
    const value = entry.value;
    const items: [ConfigNode, Path][] =
      value.kind === 'seq' ? value.items.map((item, i): [ConfigNode, Path] => [item, [...entryPath, i]]) : [[value, entryPath]];
    if (value.kind === 'seq' && value.items.length === 0) {
      readers.reporter.report(value.pos, entryPath, 'an empty list declares no record; remove the name or add a record');
      complete = false;
    }
    for (const [itemNode, itemPath] of items) {
      const read = readRecord(readers, itemNode, itemPath, recordContext);
      if (name.ok && read.declaration !== undefined) declarations.push(read.declaration);
      if (read.spec === undefined) complete = false;
      else specs.push(read.spec);
    }
  }
  crossCheck(readers, zone, context.nameservers, declarations);
  checkOccluded(readers, zone, declarations, specs);
  return complete ? specs : undefined;
}

const SHARE_FORM = 'write a percentage such as 30% or a fraction such as 0.3';

/**
 * A share of a zone: "30%" or 0.3, more than 0 and at most 1 (1 = no limit). A number above 1 is
 * refused rather than read as a percentage: "30" could as well be a typo for 0.30 as for 30%.
 */
function readShare(readers: Readers, node: ConfigNode, path: Path): number | undefined {
  if (node.kind !== 'scalar') {
    readers.reporter.report(node.pos, path, `expected a share, found ${node.kind === 'map' ? 'a mapping' : 'a list'}; ${SHARE_FORM}`);
    return undefined;
  }
  if (node.unresolved) return undefined;
  const { value } = node;
  const text = typeof value === 'string' ? value.trim() : undefined;
  const percent = text === undefined ? null : /^(\d+(?:\.\d+)?)\s*%$/.exec(text);
  let share: number | undefined;
  if (typeof value === 'number') share = value;
  else if (percent !== null) share = Number(percent[1]) / 100;
  else if (text !== undefined && node.expanded && /^\d+(?:\.\d+)?$/.test(text)) share = Number(text);
  if (share === undefined) {
    const found = typeof value === 'string' ? `the string ${JSON.stringify(value)}` : `the ${typeof value} ${String(value)}`;
    readers.reporter.report(node.pos, path, `expected a share, found ${found}; ${SHARE_FORM}`);
    return undefined;
  }
  if (!(share > 0 && share <= 1)) {
    const written = percent !== null ? `${percent[1] ?? ''}%` : String(share);
    const hint = share > 1 && share <= 100 && percent === null ? ` (for ${share}% write "${share}%")` : '';
    readers.reporter.report(node.pos, path, `${written} is out of range (more than 0%, at most 100%; 100% means no limit)${hint}`);
    return undefined;
  }
  return share;
}

function readZone(readers: Readers, key: string, keyPos: Position, node: ConfigNode, path: Path, context: ZonesContext): ZoneSpec | undefined {
  const zone = checkZoneName(key);
  if (!zone.ok) readers.reporter.report(keyPos, path, zone.reason);
  const view = readMap(readers.reporter, node, path, { allowed: ZONE_KEYS });
  if (view === undefined) return undefined;
  const nameservers = view.optional('nameservers', readers.oneOf(['sync', 'manual'] as const), 'sync');
  const parts = allDefined({
    name: zone.ok ? zone.value : undefined,
    providers: view.required('providers', (n, p) => readProviderList(readers, n, p, context.providerNames)),
    nameservers,
    nameserverTtl: view.optional('nameserverTtl', readers.int(1, MAX_TTL), 3600),
    unmanaged: view.optional('unmanaged', readers.oneOf(['keep', 'delete'] as const), 'keep'),
    drift: view.optional('drift', readers.oneOf(['repair', 'report'] as const), 'repair'),
    maxChangeShare: view.optional('maxChangeShare', (n, p) => readShare(readers, n, p), DEFAULT_MAX_CHANGE_SHARE),
    records: view.optional('records', (n, p) => readRecords(readers, n, p, { ...context, zone: zone.ok ? zone.value : fqdn(key), nameservers }), []),
  });
  return parts;
}

/** Reads the zones map; zone names are normalised to FQDNs and must be unique after that. */
export function readZones(readers: Readers, node: ConfigNode, path: Path, context: ZonesContext): ZoneSpec[] | undefined {
  const entries = readEntries(readers.reporter, node, path);
  if (entries === undefined) return undefined;
  const zones: ZoneSpec[] = [];
  const seen = new Map<string, Position>();
  let complete = true;
  for (const entry of entries) {
    const zonePath = [...path, entry.key];
    const normalized = checkZoneName(entry.key);
    if (normalized.ok) {
      const earlier = seen.get(normalized.value);
      if (earlier !== undefined) {
        readers.reporter.report(entry.keyPos, zonePath, `zone ${normalized.value} is declared twice (first at line ${earlier.line})`);
        complete = false;
      }
      seen.set(normalized.value, entry.keyPos);
    }
    const zone = readZone(readers, entry.key, entry.keyPos, entry.value, zonePath, context);
    if (zone === undefined) complete = false;
    else zones.push(zone);
  }
  return complete ? zones : undefined;
}
