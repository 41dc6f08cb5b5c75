import type { JsonObject, JsonValue } from './api-error.js';
import type { StoredRecord, StoredZone } from './state.js';

/**
 * The JSON NS1 answers with, field for field as the recorded api.nsone.net answers show them
 * (lexicon cassettes, 2018): the full record, the zone with its record summaries, `{}` for deletes.
 */

/** NS1 network pool the default name servers belong to ("dns1.p01.nsone.net" -> "p01"). */
function poolOf(zone: StoredZone): string {
  return /\.(p\d+)\./.exec(zone.dnsServers[0] ?? '')?.[1] ?? 'p01';
}

function hasMeta(meta: JsonObject | undefined): boolean {
  return meta !== undefined && Object.keys(meta).length > 0;
}

/**
 * NS1 bills and lists records by tier: 1 plain, 2 with metadata, 3 with a filter chain. octoDNS
 * reads every record above tier 1 in full, since the zone's summary leaves meta and filters out.
 */
export function tierOf(record: StoredRecord): number {
  if (record.filters.length > 0) return 3;
  const regionsMeta = Object.values(record.regions).some((region) => typeof region === 'object' && region !== null && !Array.isArray(region) && Object.keys(region).length > 0);
  if (hasMeta(record.meta) || regionsMeta || record.answers.some((a) => hasMeta(a.meta) || a.region !== undefined)) return 2;
  return 1;
}

/** What a record GET, PUT or POST answers. */
export function recordJson(record: StoredRecord): JsonObject {
  const json: JsonObject = {
    domain: record.domain,
    zone: record.zone,
    use_client_subnet: record.use_client_subnet,
    answers: record.answers.map((a) => {
      const answer: JsonObject = { answer: [...a.answer], id: a.id };
      if (a.meta !== undefined) answer.meta = a.meta;
      if (a.region !== undefined) answer.region = a.region;
      return answer;
    }),
    id: record.id,
    regions: record.regions,
    meta: record.meta,
    link: null,
    filters: record.filters.map((f) => {
      const filter: JsonObject = { filter: f.filter, config: f.config };
      if (f.disabled !== undefined) filter.disabled = f.disabled;
      return filter;
    }),
    ttl: record.ttl,
    tier: tierOf(record),
    type: record.type,
    networks: record.networks,
  };
  if (record.tags !== undefined) json.tags = record.tags;
  if (record.blocked_tags !== undefined) json.blocked_tags = record.blocked_tags;
  if (record.override_ttl !== undefined) json.override_ttl = record.override_ttl;
  if (record.override_address_records !== undefined) json.override_address_records = record.override_address_records;
  return json;
}

/** One entry of a zone's `records`: the answers flattened to strings ("10 mx.example.com"). */
export function recordSummary(record: StoredRecord): JsonObject {
  return {
    domain: record.domain,
    short_answers: record.answers.map((a) => a.answer.map(String).join(' ')),
    link: null,
    ttl: record.ttl,
    tier: tierOf(record),
    type: record.type,
    id: record.id,
  };
}

/** A zone as GET /zones/{zone} answers it; `records` undefined leaves the list out (?records=false, and the zone list). */
export function zoneJson(zone: StoredZone, records: readonly StoredRecord[] | undefined): JsonObject {
  const pool = poolOf(zone);
  const json: { [key: string]: JsonValue } = {
    nx_ttl: zone.nx_ttl,
    retry: zone.retry,
    zone: zone.name,
    dnssec: false,
    network_pools: [pool],
    primary: { enabled: false, secondaries: [] },
    refresh: zone.refresh,
    expiry: zone.expiry,
    dns_servers: [...zone.dnsServers],
  };
  if (records !== undefined) json.records = records.map(recordSummary);
  Object.assign(json, {
    meta: zone.meta,
    link: null,
    serial: zone.serial,
    ttl: zone.ttl,
    id: zone.id,
    hostmaster: zone.hostmaster,
    networks: zone.networks,
    pool,
  });
  if (zone.tags !== undefined) json.tags = zone.tags;
  return json;
}
