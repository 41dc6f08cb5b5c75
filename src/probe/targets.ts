import { endpointId } from '../domain/health.js';
import type { EndpointId } from '../domain/health.js';
import type { FailoverRecordSpec, ZoneSpec } from '../domain/zone.js';
import type { ProbeTarget } from './prober.js';

export interface FailoverRecordRef {
  readonly zone: string;
  readonly name: string;
  readonly endpointIds: readonly EndpointId[];
  readonly spec: FailoverRecordSpec;
}

export function failoverRecords(zones: readonly ZoneSpec[]): FailoverRecordRef[] {
  return zones.flatMap((zone) =>
    zone.records.flatMap((spec) =>
      spec.kind === 'failover'
        ? [{ zone: zone.name, name: spec.name, spec, endpointIds: uniqueValues(spec).map((v) => endpointId(spec.name, spec.type, v)) }]
        : [],
    ),
  );
}

/**
 * Every endpoint of every failover record, once each. The address is the IP (A/AAAA) or the host
 * name without its trailing dot (CNAME: a CDN host, probed with the site's own Host and SNI).
 */
export function endpointTargets(zones: readonly ZoneSpec[]): ProbeTarget[] {
  return failoverRecords(zones).flatMap(({ spec }) =>
    uniqueValues(spec).map((value) => ({
      endpointId: endpointId(spec.name, spec.type, value),
      address: spec.type === 'CNAME' ? value.replace(/\.$/, '') : value,
      check: spec.failover.check,
    })),
  );
}

function uniqueValues(spec: FailoverRecordSpec): string[] {
  return [...new Set(spec.failover.pools.flatMap((p) => p.values))];
}
