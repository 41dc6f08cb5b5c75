import type { NotificationKind, NotificationSeverity } from '../domain/notification.js';
import type { ZoneSpec } from '../domain/zone.js';
import type { ApiScope } from '../lib/api-route.js';
import type { TlsFiles } from '../lib/tls-files.js';

/** host:port, parsed. IPv6 hosts are written "[::1]:53" in the config and stored without brackets. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface LocalProviderConfig {
  readonly type: 'local';
  readonly name: string;
  /** Address of the built-in authoritative DNS server (UDP and TCP). */
  readonly listen: HostPort;
  /** This server's own name, FQDN; published in the apex NS record and the SOA MNAME. */
  readonly nameserver: string;
}

export interface Route53ProviderConfig {
  readonly type: 'route53';
  readonly name: string;
  readonly endpoint?: string;
  readonly hostedZoneIds: Readonly<Record<string, string>>;
  /** Requests per second for the whole account; unset means ROUTE53_DEFAULTS.rateLimit. */
  readonly rateLimit?: number;
  /** Longest wait for a change to go INSYNC; unset means ROUTE53_DEFAULTS.insyncTimeoutMs. */
  readonly insyncTimeoutMs?: number;
  /** Pause between two GetChange polls; unset means ROUTE53_DEFAULTS.insyncPollIntervalMs. */
  readonly insyncPollIntervalMs?: number;
  /** Deadline of each API request; unset means ROUTE53_DEFAULTS.requestTimeoutMs. */
  readonly requestTimeoutMs?: number;
  /** ResourceRecord elements per change request (1..1000); unset means ROUTE53_DEFAULTS.maxBatchRecords. */
  readonly maxBatchRecords?: number;
}

export interface Ns1ProviderConfig {
  readonly type: 'ns1';
  readonly name: string;
  readonly apiKey: string;
  readonly endpoint: string;
  /** Deadline of each API request; unset means NS1_DEFAULTS.requestTimeoutMs. */
  readonly requestTimeoutMs?: number;
  /** Retries of one request after a 429, a 5xx or a network error; unset means NS1_DEFAULTS.maxRetries. */
  readonly maxRetries?: number;
}

export interface PowerDnsProviderConfig {
  readonly type: 'powerdns';
  readonly name: string;
  /** Base URL of the server's HTTP API (its webserver), e.g. "http://127.0.0.1:8081". */
  readonly url: string;
  readonly apiKey: string;
  /** Unset means POWERDNS_DEFAULTS.serverId ("localhost", PowerDNS's own name for itself). */
  readonly serverId?: string;
  /** The kind of zone made when the zone is missing; unset means POWERDNS_DEFAULTS.kind. */
  readonly kind?: 'Native' | 'Master';
  /** The apex NS of a zone it creates, and what nameservers() answers: PowerDNS has no delegation set of its own. */
  readonly nameservers: readonly string[];
  /** Deadline of each API request; unset means POWERDNS_DEFAULTS.requestTimeoutMs. */
  readonly requestTimeoutMs?: number;
}

export type ProviderConfig = LocalProviderConfig | Route53ProviderConfig | Ns1ProviderConfig | PowerDnsProviderConfig;

export interface PeerConfig {
  readonly region: string;
  readonly url: string;
}

export interface ClusterConfig {
  readonly peers: readonly PeerConfig[];
  readonly secret?: string;
  /** Absolute path of the PEM bundle that https peers' certificates must chain to; unset: Node's default CAs. */
  readonly ca?: string;
  /** Regions needed to decide, already resolved from "majority" or a number. */
  readonly quorum: number;
  /** A region's verdict older than this counts as missing. */
  readonly staleAfterMs: number;
  /** After start, writes wait for quorum data on every failover record, at most this long. */
  readonly warmupMs: number;
  /** This replica may write; false makes it a prober only (it still shares its verdicts). */
  readonly writer: boolean;
  /** How often this replica sends its verdicts to every peer (also at once on a change). */
  readonly exchangeIntervalMs: number;
}

export interface ApiConfig {
  readonly listen: HostPort;
  /** Accepted bearer tokens by name: api.token is named "api", api.tokens by their keys. Empty: the API's authenticated routes are off. */
  readonly tokens: ReadonlyMap<string, string>;
  /** The scope of every token in `tokens`, by the same names: api.token operates; api.tokens entries say, operate unless they do. */
  readonly scopes: ReadonlyMap<string, ApiScope>;
  /** Serve https with this certificate and key (absolute paths); unset: plain http. */
  readonly tls?: TlsFiles;
}

export interface OverridesConfig {
  /** How long an override lasts when the operator gives no --for. */
  readonly defaultDurationMs: number;
  /** The longest --for accepted. */
  readonly maxDurationMs: number;
}

export interface SyncConfig {
  /**
   * Compare every provider with the desired state at least this often, even without a health
   * change. The comparison asks the provider's name servers over DNS, which costs no API quota;
   * the API is read only when DNS differs or readInterval has passed.
   */
  readonly intervalMs: number;
  /** Read every provider's records from its API at least this often, even when DNS agrees. */
  readonly readIntervalMs: number;
  /** After a write, how long to wait for every server of the provider to answer the new data. */
  readonly visibleTimeoutMs: number;
}

/** What every notification sink has: its name (in logs and metrics) and which events it takes. */
interface NotificationSinkBase {
  /** Unique among the sinks; logs and metrics name a sink by it, never by its URL. */
  readonly name: string;
  /** The kinds it takes; every kind unless the config lists some. */
  readonly events: readonly NotificationKind[];
  /** Events below this severity are not sent to it (an event that ends one it was sent always is). */
  readonly minSeverity: NotificationSeverity;
}

/** A generic JSON webhook: the event as JSON, POSTed to url with the configured headers. */
export interface WebhookSinkConfig extends NotificationSinkBase {
  readonly type: 'webhook';
  readonly url: string;
  /** Header name -> value; the values are secrets. */
  readonly headers: Readonly<Record<string, string>>;
}

/** A Slack incoming webhook. Its url carries the token, so it is a secret. */
export interface SlackSinkConfig extends NotificationSinkBase {
  readonly type: 'slack';
  readonly url: string;
}

/** PagerDuty Events API v2. */
export interface PagerDutySinkConfig extends NotificationSinkBase {
  readonly type: 'pagerduty';
  /** The integration's routing key (a secret). */
  readonly routingKey: string;
  /** The Events API endpoint; PagerDuty's own unless set (tests point it at loopback). */
  readonly url: string;
}

export type SinkConfig = WebhookSinkConfig | SlackSinkConfig | PagerDutySinkConfig;

export interface NotificationsConfig {
  /** A provider lagging with errors for this long notifies (once); its recovery notifies once too. */
  readonly providerFailingAfterMs: number;
  /** Empty: nothing is sent. */
  readonly sinks: readonly SinkConfig[];
}

/** The whole configuration, validated, resolved and deeply frozen. */
export interface ResolvedConfig {
  /** Absolute path of the file it was loaded from. */
  readonly source: string;
  readonly region: string;
  readonly stateDir: string;
  /** Host name (lowercase, no trailing dot) -> where to reach it instead of asking DNS. */
  readonly resolve: ReadonlyMap<string, HostPort>;
  readonly api: ApiConfig;
  readonly cluster: ClusterConfig;
  readonly sync: SyncConfig;
  readonly overrides: OverridesConfig;
  readonly notifications: NotificationsConfig;
  readonly providers: ReadonlyMap<string, ProviderConfig>;
  readonly zones: readonly ZoneSpec[];
}
