import {
  ChangeResourceRecordSetsCommand,
  CreateHostedZoneCommand,
  GetChangeCommand,
  GetHostedZoneCommand,
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import type { ChangeInfo, DelegationSet, HostedZone, ResourceRecordSet, RRType } from '@aws-sdk/client-route-53';
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

function bareId(id: string, prefix: 'hostedzone' | 'change'): string {
  return id.replace(new RegExp(`^/?${prefix}/`), '');
}

/** A type mnemonic (A, AAAA, NAPTR, HTTPS): Route53 may hold types newer than this SDK knows, never other text. */
const TYPE_MNEMONIC = /^[A-Z][A-Z0-9]{0,15}$/;

/** Route53 accepts TTLs of 0 to 2^31 - 1 seconds, and lists no others. */
const MAX_TTL = 2_147_483_647;

/**
 * Route53 always sends the elements its API reference marks required, and the SDK fills in
 * nothing: an answer without them is not Route53's (a proxy's page served as 200, a body cut
 * short). Read as it is, it would pass for an empty zone, a zone that does not exist (and get
 * created twice) or a change that never goes INSYNC, so it is refused instead, as transient.
 */
class AnswerReader {
  constructor(
    private readonly provider: string,
    private readonly operation: string,
  ) {}

  malformed(what: string): ProviderError {
    return new ProviderError(
      'DQ_PROVIDER_UNAVAILABLE',
      this.provider,
      `Route53 ${this.operation} answered without ${what}; that is not an answer Route53 gives (a proxy in the way, or a body cut short)`,
    );
  }

  required<T>(value: T | undefined, what: string): T {
    if (value === undefined || value === null || (typeof value === 'string' && value === '')) throw this.malformed(what);
    return value;
  }

  changeStatus(info: ChangeInfo | undefined): ChangeStatus {
    const change = this.required(info, 'ChangeInfo');
    const status = this.required(change.Status, 'ChangeInfo.Status');
    if (status !== 'INSYNC' && status !== 'PENDING') throw this.malformed(`a ChangeInfo.Status of PENDING or INSYNC (it says ${JSON.stringify(status)})`);
    return { id: bareId(this.required(change.Id, 'ChangeInfo.Id'), 'change'), status };
  }

  zoneSummary(zone: HostedZone | undefined): HostedZoneSummary {
    const found = this.required(zone, 'HostedZone');
    return {
      id: bareId(this.required(found.Id, 'HostedZone.Id'), 'hostedzone'),
      name: decodeName(this.required(found.Name, 'HostedZone.Name')),
      privateZone: found.Config?.PrivateZone === true,
    };
  }

  /** The delegation set's name servers; a public zone always has them. */
  nameservers(set: DelegationSet | undefined, zone: HostedZoneSummary): string[] {
    if (set === undefined && zone.privateZone) return [];
    const servers = this.required(this.required(set, 'DelegationSet').NameServers, 'DelegationSet.NameServers');
    if (servers.length === 0) throw this.malformed('any DelegationSet.NameServers');
    return servers.map((ns) => decodeName(ns));
  }

  recordSet(rs: ResourceRecordSet): ListedRecordSet {
    const type = this.required(rs.Type, 'ResourceRecordSet.Type');
    // Types dnsquorum does not manage are listed and left alone; a type Route53 does not have is a garbled answer.
    if (!TYPE_MNEMONIC.test(type)) throw this.malformed(`a record type Route53 has (it says ${JSON.stringify(type)})`);
    if (rs.TTL !== undefined && (!Number.isInteger(rs.TTL) || rs.TTL < 0 || rs.TTL > MAX_TTL)) throw this.malformed(`a TTL of 0 to ${MAX_TTL} (it says ${String(rs.TTL)})`);
    for (const record of rs.ResourceRecords ?? []) this.required(record.Value, 'ResourceRecord.Value');
    return listed({ ...rs, Name: this.required(rs.Name, 'ResourceRecordSet.Name'), Type: type });
  }
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
    const answer = this.reader('ListResourceRecordSets');
    const recordSets = answer.required(out.ResourceRecordSets, 'ResourceRecordSets').map((rs) => answer.recordSet(rs));
    // A truncated page without the next start would end the listing early: half a zone read as all
    // of it. The SDK reads an IsTruncated it cannot parse as false, so a next start says otherwise.
    if (!answer.required(out.IsTruncated, 'IsTruncated')) {
      if (out.NextRecordName !== undefined) throw answer.malformed('IsTruncated true beside a NextRecordName');
      return { recordSets };
    }
    const next: RecordSetCursor = {
      name: answer.required(out.NextRecordName, 'NextRecordName (IsTruncated is true)'),
      type: answer.required(out.NextRecordType, 'NextRecordType (IsTruncated is true)'),
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
    return this.reader('ChangeResourceRecordSets').changeStatus(out.ChangeInfo);
  }

  async getChange(changeId: string, signal: AbortSignal): Promise<ChangeStatus> {
    const out = await this.call('GetChange', signal, (abortSignal) => this.client.send(new GetChangeCommand({ Id: changeId }), { abortSignal }));
    return this.reader('GetChange').changeStatus(out.ChangeInfo);
  }

  async getHostedZone(zoneId: string, signal: AbortSignal): Promise<HostedZoneDetail> {
    const out = await this.call('GetHostedZone', signal, (abortSignal) => this.client.send(new GetHostedZoneCommand({ Id: zoneId }), { abortSignal }));
    const answer = this.reader('GetHostedZone');
    const zone = answer.zoneSummary(out.HostedZone);
    return { zone, nameservers: answer.nameservers(out.DelegationSet, zone) };
  }

  async listHostedZonesByName(dnsName: string, startZoneId: string | undefined, signal: AbortSignal): Promise<HostedZonePage> {
    const out = await this.call('ListHostedZonesByName', signal, (abortSignal) =>
      this.client.send(new ListHostedZonesByNameCommand({ DNSName: dnsName, ...(startZoneId === undefined ? {} : { HostedZoneId: startZoneId }) }), { abortSignal }),
    );
    const answer = this.reader('ListHostedZonesByName');
    const zones = answer.required(out.HostedZones, 'HostedZones').map((zone) => answer.zoneSummary(zone));
    if (!answer.required(out.IsTruncated, 'IsTruncated')) {
      if (out.NextDNSName !== undefined) throw answer.malformed('IsTruncated true beside a NextDNSName');
      return { zones };
    }
    const nextName = answer.required(out.NextDNSName, 'NextDNSName (IsTruncated is true)');
    return { zones, next: { dnsName: nextName, zoneId: bareId(answer.required(out.NextHostedZoneId, 'NextHostedZoneId (IsTruncated is true)'), 'hostedzone') } };
  }

  async createHostedZone(name: string, callerReference: string, signal: AbortSignal): Promise<CreatedHostedZone> {
    const out = await this.call('CreateHostedZone', signal, (abortSignal) =>
      this.client.send(new CreateHostedZoneCommand({ Name: name, CallerReference: callerReference }), { abortSignal }),
    );
    const answer = this.reader('CreateHostedZone');
    const zone = answer.zoneSummary(out.HostedZone);
    return { zone, nameservers: answer.nameservers(out.DelegationSet, zone), change: answer.changeStatus(out.ChangeInfo) };
  }

  private reader(operation: string): AnswerReader {
    return new AnswerReader(this.caller.provider, operation);
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
