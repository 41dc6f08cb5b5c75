/**
 * DNS record sets as plain data. Every name is a lowercase FQDN with a trailing dot, and every
 * value is in canonical presentation form (see canonicalValue), so two record sets can be
 * compared with recordSetsEqual regardless of where they came from.
 */

export const RECORD_TYPES = ['A', 'AAAA', 'CNAME', 'TXT', 'MX', 'SRV', 'CAA', 'NS', 'PTR', 'SOA'] as const;
export type RecordType = (typeof RECORD_TYPES)[number];

/** Types a zone file may declare. SOA belongs to the provider, never to us. */
export const CONFIGURABLE_TYPES: readonly RecordType[] = ['A', 'AAAA', 'CNAME', 'TXT', 'MX', 'SRV', 'CAA', 'NS', 'PTR'];

/** Types a failover record may have: the value of each pool member is an address or a host name. */
export const FAILOVER_TYPES: readonly RecordType[] = ['A', 'AAAA', 'CNAME'];

export interface RecordSet {
  /** Lowercase FQDN with trailing dot, e.g. "api.example.com." */
  readonly name: string;
  readonly type: RecordType;
  readonly ttl: number;
  /**
   * Canonical presentation values, sorted. TXT values are the unquoted character data of the
   * whole record (joined across 255-byte strings); MX "10 mail.example.com.", SRV
   * "10 5 443 target.example.com.", CAA '0 issue "letsencrypt.org"'.
   */
  readonly values: readonly string[];
  /**
   * Set by a provider on a record set it lists but can never write, saying what it is (a Route53
   * alias or routing-policy set: "alias to d111.cloudfront.net."). The planner never deletes such
   * a set, whatever the zone's `unmanaged` policy: it is kept and reported.
   */
  readonly unwritable?: string;
}

/** Identity of a record set inside a zone: name and type. */
export type RecordKey = string;

export function recordKey(name: string, type: RecordType): RecordKey {
  return `${name} ${type}`;
}

export function keyOf(rs: Pick<RecordSet, 'name' | 'type'>): RecordKey {
  return recordKey(rs.name, rs.type);
}

export function isRecordType(value: string): value is RecordType {
  return (RECORD_TYPES as readonly string[]).includes(value);
}

/** Lowercase, trailing dot. "WWW.Example.com" -> "www.example.com." */
export function fqdn(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower : `${lower}.`;
}

/** Resolves a zone-relative name ("www", "@", "a.b" or an FQDN ending in the zone) to an FQDN. */
export function absoluteName(relative: string, zone: string): string {
  const zoneFqdn = fqdn(zone);
  if (relative === '@' || relative === '') return zoneFqdn;
  if (relative.endsWith('.')) return relative.toLowerCase();
  return `${relative.toLowerCase()}.${zoneFqdn}`;
}

/** True when name is the zone apex or a name below it. */
export function isInZone(name: string, zone: string): boolean {
  const n = fqdn(name);
  const z = fqdn(zone);
  return n === z || n.endsWith(`.${z}`);
}

/** Expands an IPv6 address to eight groups, then writes it in RFC 5952 canonical form. */
function canonicalIpv6(value: string): string {
  const lower = value.toLowerCase();
  const [head = '', tail] = lower.split('::', 2);
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = 8 - headGroups.length - tailGroups.length;
  // More than eight groups (data read from a provider, not checked like the config) cannot be
  // compressed back; Array(-n) would throw a RangeError, so such a value just stays malformed.
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array<string>(Math.max(0, missing)).fill('0'), ...tailGroups];
  const short = groups.map((g) => g.replace(/^0+(?=.)/, ''));
  // RFC 5952: compress the longest run (of two or more) of zero groups, the first if tied.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < short.length; ) {
    if (short[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < short.length && short[j] === '0') j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return short.join(':');
  const left = short.slice(0, bestStart).join(':');
  const right = short.slice(bestStart + bestLen).join(':');
  return `${left}::${right}`;
}

/**
 * Canonical presentation form of one value, so that equal data compares equal: host names are
 * lowercased FQDNs, IPv6 addresses are RFC 5952, numbers lose leading zeros.
 */
export function canonicalValue(type: RecordType, value: string): string {
  const v = value.trim();
  switch (type) {
    case 'A':
      return v.split('.').map((octet) => String(Number(octet))).join('.');
    case 'AAAA':
      return canonicalIpv6(v);
    case 'CNAME':
    case 'NS':
    case 'PTR':
      return fqdn(v);
    case 'MX': {
      const [pref = '', host = ''] = v.split(/\s+/);
      return `${Number(pref)} ${fqdn(host)}`;
    }
    case 'SRV': {
      const [prio = '', weight = '', port = '', target = ''] = v.split(/\s+/);
      return `${Number(prio)} ${Number(weight)} ${Number(port)} ${fqdn(target)}`;
    }
    case 'CAA': {
      const m = /^(\d+)\s+([A-Za-z0-9]+)\s+(.*)$/.exec(v);
      if (!m) return v;
      const raw = m[3] ?? '';
      const unquoted = raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
      return `${Number(m[1])} ${(m[2] ?? '').toLowerCase()} "${unquoted}"`;
    }
    case 'TXT':
    case 'SOA':
      return v;
  }
}

/** A record set with canonical name, canonical values, sorted and without duplicates. */
export function normalizeRecordSet(rs: RecordSet): RecordSet {
  const values = [...new Set(rs.values.map((v) => canonicalValue(rs.type, v)))].sort();
  return { name: fqdn(rs.name), type: rs.type, ttl: rs.ttl, values };
}

export function recordSetsEqual(a: RecordSet, b: RecordSet): boolean {
  if (a.name !== b.name || a.type !== b.type || a.ttl !== b.ttl) return false;
  if (a.values.length !== b.values.length) return false;
  const sortedA = [...a.values].sort();
  const sortedB = [...b.values].sort();
  return sortedA.every((v, i) => v === sortedB[i]);
}

/** Deterministic order: by name, then by type. */
export function compareRecordSets(a: Pick<RecordSet, 'name' | 'type'>, b: Pick<RecordSet, 'name' | 'type'>): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  if (a.type !== b.type) return a.type < b.type ? -1 : 1;
  return 0;
}
