import {
  ChangeResourceRecordSetsCommand,
  CreateHostedZoneCommand,
  GetChangeCommand,
  GetHostedZoneCommand,
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import type { ChangeInfo, HostedZone, ResourceRecordSet, RRType } from '@aws-sdk/client-route-53';
import { performance } from 'node:perf_hooks';
import { ProviderError, errorMessage } from '../../lib/errors.js';
import type { ApiCallObserver } from '../provider.js';
import type { WireChange } from './batches.js';
import { decodeName } from './names.js';
import { callWithRetries, classifyFailure } from './retry.js';
import type { CallerOptions } from './retry.js';

/**
 * The narrow port over @aws-sdk/client-route-53: only the six calls the provider makes, in plain
 * types, with ids stripped of their "/hostedzone/" and "/change/" prefixes. Every call runs
 * through callWithRetries (rate limit, deadline, retries). Errors Route53 answered that are not
 * retried come out as Route53ApiError with Route53's error code; everything else as
 * ProviderError (or the caller's abort reason).
 */

/** A record set as ListResourceRecordSets returns it (name still in Route53's escaped form). */
export interface ListedRecordSet {
  readonly name: string;
  readonly type: string;
  readonly ttl?: number;
  readonly values: readonly string[];
  readonly setIdentifier?: string;
  /** The alias target's DNS name, for alias record sets. */
  readonly aliasTarget?: string;
  /**
   * What makes this set something other than a plain record set, e.g. "weighted",
   * "failover PRIMARY", "alias to d1.cloudfront.net.", "traffic policy"; undefined for plain ones.
   */
  readonly routing?: string;
}

export interface RecordSetCursor {
  readonly name: string;
  readonly type: string;
  readonly identifier?: string;
}

export interface RecordSetPage {
  readonly recordSets: readonly ListedRecordSet[];
  /** Where the next page starts; undefined on the last page. */
  readonly next?: RecordSetCursor;
}

export interface ChangeStatus {
  /** Bare id, e.g. "C2682N5HXP0BZ4". */
  readonly id: string;
  readonly status: 'PENDING' | 'INSYNC';
}

export interface HostedZoneSummary {
  /** Bare id, e.g. "Z0123456789ABC". */
  readonly id: string;
  /** Lowercase FQDN. */
  readonly name: string;
  readonly privateZone: boolean;
}

export interface HostedZoneDetail {
  readonly zone: HostedZoneSummary;
  /** The delegation set's name servers, lowercase FQDNs; empty for private zones. */
  readonly nameservers: readonly string[];
}

export interface HostedZonePage {
  readonly zones: readonly HostedZoneSummary[];
  readonly next?: { readonly dnsName: string; readonly zoneId: string };
}

export interface CreatedHostedZone extends HostedZoneDetail {
  readonly change: ChangeStatus;
}

export interface Route53Api {
  listRecordSets(zoneId: string, start: RecordSetCursor | undefined, signal: AbortSignal): Promise<RecordSetPage>;
  changeRecordSets(zoneId: string, changes: readonly WireChange[], comment: string, signal: AbortSignal): Promise<ChangeStatus>;
  getChange(changeId: string, signal: AbortSignal): Promise<ChangeStatus>;
  getHostedZone(zoneId: string, signal: AbortSignal): Promise<HostedZoneDetail>;
  /** Zones in Route53's order starting at dnsName (the first ones may have other names). */
  listHostedZonesByName(dnsName: string, startZoneId: string | undefined, signal: AbortSignal): Promise<HostedZonePage>;
  createHostedZone(name: string, callerReference: string, signal: AbortSignal): Promise<CreatedHostedZone>;
  close(): void;
}

/** A Route53 error that is not retried (InvalidChangeBatch, NoSuchHostedZone, AccessDenied...). */
export class Route53ApiError extends Error {
  /** Route53's error code, e.g. "InvalidChangeBatch". */
  readonly code: string;
  readonly status: number | undefined;

  constructor(code: string, message: string, status: number | undefined, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'Route53ApiError';
    this.code = code;
    this.status = status;
  }
}

export interface SdkRoute53ApiOptions {
  /** Emulators and tests; unset means Route53's own endpoint. */
  readonly endpoint?: string;
  /** Route53 is global and signs with us-east-1; AWS_REGION overrides (e.g. for a partition). */
  readonly region: string;
  readonly caller: CallerOptions;
  /** Told about every request the SDK sends (metrics). */
  readonly apiCalls?: ApiCallObserver;
}

function bareId(id: string | undefined, prefix: 'hostedzone' | 'change'): string {
  return (id ?? '').replace(new RegExp(`^/?${prefix}/`), '');
}

function changeStatus(info: ChangeInfo | undefined): ChangeStatus {
  return { id: bareId(info?.Id, 'change'), status: info?.Status === 'INSYNC' ? 'INSYNC' : 'PENDING' };
}

function zoneSummary(zone: HostedZone | undefined): HostedZoneSummary {
  return { id: bareId(zone?.Id, 'hostedzone'), name: decodeName(zone?.Name ?? ''), privateZone: zone?.Config?.PrivateZone === true };
}

/** Why a listed set is not a plain record set, in words; undefined when it is plain. */
function routingOf(rs: ResourceRecordSet): string | undefined {
  if (rs.AliasTarget !== undefined) return `alias to ${rs.AliasTarget.DNSName ?? '?'}`;
  if (rs.TrafficPolicyInstanceId !== undefined) return 'traffic policy';
  if (rs.Failover !== undefined) return `failover ${rs.Failover}`;
  if (rs.Weight !== undefined) return 'weighted';
  if (rs.Region !== undefined) return `latency (${rs.Region})`;
  if (rs.GeoLocation !== undefined) return 'geolocation';
  if (rs.GeoProximityLocation !== undefined) return 'geoproximity';
  if (rs.CidrRoutingConfig !== undefined) return 'IP-based';
  if (rs.MultiValueAnswer !== undefined) return 'multivalue answer';
  if (rs.SetIdentifier !== undefined) return 'set identifier';
  return undefined;
}

function listed(rs: ResourceRecordSet): ListedRecordSet {
  const routing = routingOf(rs);
  return {
    name: rs.Name ?? '',
    type: rs.Type ?? '',
    ...(rs.TTL === undefined ? {} : { ttl: rs.TTL }),
    values: (rs.ResourceRecords ?? []).map((r) => r.Value ?? ''),
    ...(rs.SetIdentifier === undefined ? {} : { setIdentifier: rs.SetIdentifier }),
    ...(rs.AliasTarget?.DNSName === undefined ? {} : { aliasTarget: rs.AliasTarget.DNSName }),
    ...(routing === undefined ? {} : { routing }),
  };
}

function toSdkChange(change: WireChange): { Action: WireChange['action']; ResourceRecordSet: ResourceRecordSet } {
  const rs = change.recordSet;
  return {
    Action: change.action,
    ResourceRecordSet: { Name: rs.name, Type: rs.type, TTL: rs.ttl, ResourceRecords: rs.values.map((Value) => ({ Value })) },
  };
}

/** The Route53 port on the real AWS SDK. */
export class SdkRoute53Api implements Route53Api {
  private readonly client: Route53Client;
  private readonly caller: CallerOptions;

  constructor(options: SdkRoute53ApiOptions) {
    this.caller = options.caller;
    this.client = new Route53Client({
      region: options.region,
      // Retries are ours (callWithRetries): paced by the bucket, counted and abortable.
      maxAttempts: 1,
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    });
    if (options.apiCalls !== undefined) timeRequests(this.client, options.caller.provider, options.apiCalls);
  }

  private async call<T>(operation: string, signal: AbortSignal, run: (attemptSignal: AbortSignal) => Promise<T>): Promise<T> {
    try {
      return await callWithRetries(operation, run, signal, this.caller);
    } catch (err) {
      if (signal.aborted || err instanceof ProviderError) throw err;
      if (isSdkServiceError(err)) throw new Route53ApiError(err.name, errorMessage(err), err.$metadata?.httpStatusCode, { cause: err });
      // No credentials from any source of the chain, an answer that is not Route53's XML, ...
      const name = err instanceof Error && err.name !== 'Error' ? `${err.name}: ` : '';
      throw new ProviderError('DQ_PROVIDER_UNAVAILABLE', this.caller.provider, `Route53 ${operation} failed: ${name}${errorMessage(err)}`, { cause: err });
    }
  }

  async listRecordSets(zoneId: string, start: RecordSetCursor | undefined, signal: AbortSignal): Promise<RecordSetPage> {
    const out = await this.call('ListResourceRecordSets', signal, (abortSignal) =>
      this.client.send(
        new ListResourceRecordSetsCommand({
          HostedZoneId: zoneId,
          ...(start === undefined
            ? {}
            : { StartRecordName: start.name, StartRecordType: start.type as RRType, ...(start.identifier === undefined ? {} : { StartRecordIdentifier: start.identifier }) }),
        }),
        { abortSignal },
      ),
    );
    const recordSets = (out.ResourceRecordSets ?? []).map(listed);
    if (out.IsTruncated !== true || out.NextRecordName === undefined) return { recordSets };
    const next: RecordSetCursor = {
      name: out.NextRecordName,
      type: out.NextRecordType ?? '',
      ...(out.NextRecordIdentifier === undefined ? {} : { identifier: out.NextRecordIdentifier }),
    };
    return { recordSets, next };
  }

  async changeRecordSets(zoneId: string, changes: readonly WireChange[], comment: string, signal: AbortSignal): Promise<ChangeStatus> {
    const out = await this.call('ChangeResourceRecordSets', signal, (abortSignal) =>
      this.client.send(
        new ChangeResourceRecordSetsCommand({ HostedZoneId: zoneId, ChangeBatch: { Changes: changes.map(toSdkChange), Comment: comment } }),
        { abortSignal },
      ),
    );
    return changeStatus(out.ChangeInfo);
  }

  async getChange(changeId: string, signal: AbortSignal): Promise<ChangeStatus> {
    const out = await this.call('GetChange', signal, (abortSignal) => this.client.send(new GetChangeCommand({ Id: changeId }), { abortSignal }));
    return changeStatus(out.ChangeInfo);
  }

  async getHostedZone(zoneId: string, signal: AbortSignal): Promise<HostedZoneDetail> {
    const out = await this.call('GetHostedZone', signal, (abortSignal) => this.client.send(new GetHostedZoneCommand({ Id: zoneId }), { abortSignal }));
    return { zone: zoneSummary(out.HostedZone), nameservers: (out.DelegationSet?.NameServers ?? []).map(decodeName) };
  }

  async listHostedZonesByName(dnsName: string, startZoneId: string | undefined, signal: AbortSignal): Promise<HostedZonePage> {
    const out = await this.call('ListHostedZonesByName', signal, (abortSignal) =>
      this.client.send(new ListHostedZonesByNameCommand({ DNSName: dnsName, ...(startZoneId === undefined ? {} : { HostedZoneId: startZoneId }) }), { abortSignal }),
    );
    const zones = (out.HostedZones ?? []).map(zoneSummary);
    if (out.IsTruncated !== true || out.NextDNSName === undefined || out.NextHostedZoneId === undefined) return { zones };
    return { zones, next: { dnsName: out.NextDNSName, zoneId: bareId(out.NextHostedZoneId, 'hostedzone') } };
  }

  async createHostedZone(name: string, callerReference: string, signal: AbortSignal): Promise<CreatedHostedZone> {
    const out = await this.call('CreateHostedZone', signal, (abortSignal) =>
      this.client.send(new CreateHostedZoneCommand({ Name: name, CallerReference: callerReference }), { abortSignal }),
    );
    return { zone: zoneSummary(out.HostedZone), nameservers: (out.DelegationSet?.NameServers ?? []).map(decodeName), change: changeStatus(out.ChangeInfo) };
  }

  close(): void {
    this.client.destroy();
  }
}

/**
 * Times every request the client sends, as a middleware right after signing (just before the
 * HTTP round trip and the parsing of the answer), so each attempt is one event, whether our
 * retries or (if they were ever switched on) the SDK's own made it. Route53's errors come out of
 * the deserializer below it, so they are seen here with their names.
 */
function timeRequests(client: Route53Client, provider: string, observer: ApiCallObserver): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      // "ListResourceRecordSetsCommand" -> "ListResourceRecordSets": Route53's own action names.
      const operation = (context.commandName ?? 'unknown').replace(/Command$/, '');
      const began = performance.now();
      try {
        const output = await next(args);
        observer.call({ provider, operation, outcome: 'ok', durationMs: performance.now() - began });
        return output;
      } catch (err) {
        observer.call({ provider, operation, outcome: classifyFailure(err) === 'throttled' ? 'throttled' : 'error', durationMs: performance.now() - began });
        throw err;
      }
    },
    { step: 'finalizeRequest', priority: 'low', name: 'dnsquorumRequestTiming' },
  );
}

interface SdkServiceError {
  readonly name: string;
  readonly $fault: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

/** An error Route53 answered with (as opposed to credentials, network or parse failures). */
function isSdkServiceError(err: unknown): err is Error & SdkServiceError {
  return err instanceof Error && typeof (err as Partial<SdkServiceError>).$fault === 'string';
}
