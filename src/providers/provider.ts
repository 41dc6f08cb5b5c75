import type { ChangeSet } from '../domain/change-set.js';
import type { RecordSet, RecordType } from '../domain/record.js';

/** What a provider can do, declared as data so that sync can plan around it. */
export interface ProviderCapabilities {
  /** A change set is applied all or nothing. */
  readonly atomicBatch: boolean;
  /** Most record-set changes one apply call may carry; larger change sets are split by the provider. */
  readonly maxBatchSize: number;
  readonly recordTypes: ReadonlySet<RecordType>;
}

/**
 * A DNS provider serving zones. Implementations own every provider-specific rule (batching,
 * ordering, rate limits) and never import each other. Dry-run is not their concern: sync decides
 * whether to call applyChanges at all.
 */
export interface DnsProvider {
  /** The provider's name in the config, e.g. "r53". */
  readonly name: string;
  readonly type: string;
  readonly capabilities: ProviderCapabilities;

  /**
   * Every record set the provider serves for the zone, apex SOA and NS included, normalised
   * (see normalizeRecordSet). Throws ProviderError DQ_ZONE_NOT_FOUND if the zone does not exist.
   */
  listRecords(zone: string, signal: AbortSignal): Promise<RecordSet[]>;

  /**
   * Applies the change set. Updates and deletes name the exact current record set (`before`);
   * if the provider holds something else, it throws ProviderError DQ_PROVIDER_CONFLICT. With
   * atomicBatch, a failure leaves nothing applied. Applying a change set whose effects are already
   * in place must be harmless: a create or update whose result is already held, and a delete of
   * a record set that is already gone, are skipped.
   */
  applyChanges(changes: ChangeSet, signal: AbortSignal): Promise<void>;

  /** Creates the zone if the provider does not hold it yet (with its own SOA and NS). */
  ensureZone(zone: string, signal: AbortSignal): Promise<void>;

  /** This provider's own authoritative name servers for the zone (FQDNs), from its metadata. */
  nameservers(zone: string, signal: AbortSignal): Promise<string[]>;

  /**
   * Optional: a config reload is replacing this provider with one built from the new config. From
   * now on it sends nothing new, and a wait that only watches an accepted change take effect (a
   * Route53 change going INSYNC) ends at once, so the switch never waits on the provider's
   * propagation; requests already sent finish. close() follows once the switch is made.
   */
  handOver?(): void;

  /** Releases sockets and timers. */
  close(): Promise<void>;
}

/** How one request to a provider's API ended: answered, refused as too many ("slow down"), or failed otherwise. */
export type ApiCallOutcome = 'ok' | 'error' | 'throttled';

/**
 * One request to a provider's API (one attempt: each retry is its own event), for metrics.
 * `operation` is the provider's own name for the call (Route53: "ChangeResourceRecordSets"; NS1:
 * "UpdateRecord"), a short fixed list per provider so it stays a low-cardinality label.
 */
export interface ApiCallEvent {
  /** The provider's name in the config. */
  readonly provider: string;
  readonly operation: string;
  /** throttled: HTTP 429, or Route53's Throttling / PriorRequestNotComplete. */
  readonly outcome: ApiCallOutcome;
  readonly durationMs: number;
}

/** Told about every provider API request. Must not throw or block: it is called on the request path. */
export interface ApiCallObserver {
  call(event: ApiCallEvent): void;
}
