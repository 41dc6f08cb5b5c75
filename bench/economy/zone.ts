import { endpointId } from '../../src/domain/health.js';
import type { EndpointHealth, HealthState } from '../../src/domain/health.js';
import type { RecordType } from '../../src/domain/record.js';
import type { FailoverRecordSpec, RecordSpec, StaticRecordSpec, ZoneSpec } from '../../src/domain/zone.js';

/**
 * The economy bench's zone: a realistic mix of record sets, generated deterministically, so the
 * floors and the counts are the same run after run.
 */

export const ZONE = 'example.com.';

/**
 * Shares of the static record sets by type. Mostly A/AAAA/CNAME/TXT/MX, as real zones are; a
 * fifth of the A sets and every MX set have two values (round robin, a backup exchange).
 */
const MIX: readonly { readonly type: RecordType; readonly share: number }[] = [
  { type: 'A', share: 0.38 },
  { type: 'CNAME', share: 0.2 },
  { type: 'AAAA', share: 0.14 },
  { type: 'TXT', share: 0.14 },
  { type: 'MX', share: 0.08 },
  { type: 'SRV', share: 0.03 },
  { type: 'CAA', share: 0.03 },
];

export interface EconomyZone {
  readonly spec: ZoneSpec;
  /** The failover record sets, in order; the bench's failover moves the first `failoverMoved` of them. */
  readonly failover: readonly FailoverRecordSpec[];
  /** Record sets the config declares (static and failover); the apex NS comes on top with nameservers: sync. */
  readonly recordSets: number;
}

const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');

/** A deterministic token of `length` hex digits for index i (verification strings). */
function token(i: number, length: number): string {
  let out = '';
  let x = (i + 1) * 2_654_435_761;
  while (out.length < length) {
    x = (x ^ (x >>> 13)) * 1_274_126_177;
    out += hex(Math.abs(x) % 65_536, 4);
  }
  return out.slice(0, length);
}

function ipv4(i: number, host: number): string {
  return `10.${(i >> 8) & 255}.${i & 255}.${host}`;
}

function staticRecord(type: RecordType, i: number): StaticRecordSpec {
  const base = { kind: 'static' as const, type, ttl: 300 };
  switch (type) {
    case 'A':
      return { ...base, name: `web-${i}.${ZONE}`, values: i % 5 === 0 ? [ipv4(i, 10), ipv4(i, 11)] : [ipv4(i, 10)] };
    case 'AAAA':
      // Dual-stacked hosts: the AAAA sits beside an A of the same name.
      return { ...base, name: `web-${i}.${ZONE}`, values: [`2001:db8:${hex(i, 4)}::10`] };
    case 'CNAME':
      return { ...base, name: `www-${i}.${ZONE}`, ttl: 3600, values: [`lb-${i % 97}.cdn.example.net.`] };
    case 'TXT':
      return i % 3 === 0
        ? { ...base, name: `mail-${i}.${ZONE}`, ttl: 3600, values: ['v=spf1 include:_spf.example.net ~all'] }
        : { ...base, name: `_verify-${i}.${ZONE}`, ttl: 3600, values: [`site-verification=${token(i, 32)}`] };
    case 'MX':
      return { ...base, name: `mail-${i}.${ZONE}`, ttl: 3600, values: [`10 mx1-${i % 31}.example.net.`, `20 mx2-${i % 31}.example.net.`] };
    case 'SRV':
      return { ...base, name: `_sip._tcp.svc-${i}.${ZONE}`, values: [`10 5 5060 sip-${i % 17}.example.net.`] };
    case 'CAA':
      return { ...base, name: `web-${i}.${ZONE}`, ttl: 3600, values: ['0 issue "letsencrypt.org"'] };
    default:
      throw new Error(`the bench zone has no ${type} records`);
  }
}

function failoverRecord(i: number): FailoverRecordSpec {
  return {
    kind: 'failover',
    name: `api-${i}.${ZONE}`,
    type: 'A',
    ttl: 30,
    failover: {
      check: { protocol: 'tcp', port: 443, intervalMs: 5000, timeoutMs: 2000, fall: 3, rise: 3 },
      pools: [
        { name: 'primary', values: [`192.0.2.${(i % 100) + 1}`, `192.0.2.${(i % 100) + 101}`] },
        { name: 'secondary', values: [`198.51.100.${(i % 200) + 1}`] },
      ],
      whenAllDown: 'keep-last',
      holdDownMs: 0,
      maxWritesPerHour: 6,
    },
  };
}

/**
 * `total` record sets: `failoverCount` failover records (A, two pools) and the rest static in the
 * MIX shares. Names are unique per type; A, AAAA and CAA share names (dual-stacked hosts with a
 * CAA), TXT and MX share some (mail hosts with SPF).
 */
export function economyZone(total: number, failoverCount: number): EconomyZone {
  const records: RecordSpec[] = [];
  const failover = Array.from({ length: failoverCount }, (_, i) => failoverRecord(i));
  const statics = total - failoverCount;
  let made = 0;
  MIX.forEach(({ type, share }, index) => {
    const count = index === MIX.length - 1 ? statics - made : Math.round(statics * share);
    for (let i = 0; i < count; i++) records.push(staticRecord(type, i));
    made += count;
  });
  records.push(...failover);
  const spec: ZoneSpec = {
    name: ZONE,
    providers: ['r53', 'ns1'],
    nameservers: 'sync',
    nameserverTtl: 172_800,
    unmanaged: 'keep',
    drift: 'repair',
    maxChangeShare: 0.3,
    records,
  };
  return { spec, failover, recordSets: records.length };
}

/** Health of every value of the failover records: `down` for the primary values of the moved ones, else up. */
export function healthOf(failover: readonly FailoverRecordSpec[], moved: number, now: number): Map<string, EndpointHealth> {
  const health = new Map<string, EndpointHealth>();
  failover.forEach((spec, i) => {
    const [primary, ...others] = spec.failover.pools;
    const set = (value: string, state: HealthState): void => {
      const id = endpointId(spec.name, spec.type, value);
      health.set(id, { endpointId: id, state, since: now, reason: 'economy bench', insufficientVantage: false, regions: [] });
    };
    for (const value of primary?.values ?? []) set(value, i < moved ? 'down' : 'up');
    for (const pool of others) for (const value of pool.values) set(value, 'up');
  });
  return health;
}
