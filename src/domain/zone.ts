import type { RecordType } from './record.js';

/**
 * A zone as the config declares it, resolved: absolute names, durations in milliseconds,
 * defaults filled in. The planner turns a ZoneSpec plus health and overrides into record sets.
 */

export type CheckProtocol = 'http' | 'https' | 'tcp' | 'dns';

export interface HttpCheckSpec {
  readonly protocol: 'http' | 'https';
  readonly port: number;
  readonly path: string;
  /** Accepted status codes. */
  readonly expect: readonly number[];
  /** A regular expression (source) the body must match, if set. */
  readonly bodyMatch?: string;
  /** Host header; defaults to the record's own name without the trailing dot. */
  readonly host: string;
  /** TLS server name (SNI); defaults to host. */
  readonly sni: string;
  /** Verify the certificate chain and name (https only). */
  readonly tlsVerify: boolean;
}

export interface TcpCheckSpec {
  readonly protocol: 'tcp';
  readonly port: number;
}

export interface DnsCheckSpec {
  readonly protocol: 'dns';
  readonly port: number;
  /** Name to ask for (FQDN). */
  readonly query: string;
  readonly queryType: RecordType;
  /** Accepted rcode, e.g. "NOERROR". */
  readonly expectRcode: string;
  /** If set, one answer must have this canonical value. */
  readonly expectAnswer?: string;
}

export type CheckSpec = (HttpCheckSpec | TcpCheckSpec | DnsCheckSpec) & {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Consecutive failures for a region to call an endpoint down. */
  readonly fall: number;
  /** Consecutive successes for a region to call an endpoint up. */
  readonly rise: number;
};

export interface PoolSpec {
  readonly name: string;
  /** Canonical values: addresses for A/AAAA, host FQDNs for CNAME. */
  readonly values: readonly string[];
}

/** What to serve when every pool is out of service. Never an empty record set. */
export type WhenAllDown = 'keep-last' | 'all' | 'fail-closed';

export interface FailoverSpec {
  readonly check: CheckSpec;
  /** In order of preference. */
  readonly pools: readonly PoolSpec[];
  readonly whenAllDown: WhenAllDown;
  /** A recovered endpoint is used again only after it has been up this long. */
  readonly holdDownMs: number;
  /** Health-driven changes of this record allowed per rolling hour; further changes wait. */
  readonly maxWritesPerHour: number;
}

export interface StaticRecordSpec {
  readonly kind: 'static';
  readonly name: string;
  readonly type: RecordType;
  readonly ttl: number;
  readonly values: readonly string[];
}

export interface FailoverRecordSpec {
  readonly kind: 'failover';
  readonly name: string;
  readonly type: RecordType;
  readonly ttl: number;
  readonly failover: FailoverSpec;
}

export type RecordSpec = StaticRecordSpec | FailoverRecordSpec;

/** Records found at a provider that the config does not name. */
export type UnmanagedPolicy = 'keep' | 'delete';

/**
 * What the daemon does with a change made at a provider behind its back (drift): `repair` writes
 * the desired state back; `report` logs and counts it and leaves it.
 */
export type DriftPolicy = 'repair' | 'report';

export interface ZoneSpec {
  /** Zone FQDN, e.g. "example.com." */
  readonly name: string;
  /** Names of providers (keys of the config's providers map) that serve this zone. */
  readonly providers: readonly string[];
  /**
   * "sync": the apex NS record at every provider is the union of all providers' own name
   * servers. "manual": the apex NS record is left to the operator.
   */
  readonly nameservers: 'sync' | 'manual';
  readonly nameserverTtl: number;
  readonly unmanaged: UnmanagedPolicy;
  readonly drift: DriftPolicy;
  /**
   * Largest share (0..1) of the zone's record sets one pass may update or delete at a provider
   * without --force; health-driven failover changes do not count.
   */
  readonly maxChangeShare: number;
  readonly records: readonly RecordSpec[];
}
