import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { endpointId } from '../../src/domain/health.js';
import type { EndpointHealth, EndpointId, HealthState } from '../../src/domain/health.js';
import { recordKey } from '../../src/domain/record.js';
import type { RecordKey } from '../../src/domain/record.js';
import type { FailoverRecordSpec, WhenAllDown, ZoneSpec } from '../../src/domain/zone.js';
import { changedKeys, desiredZone } from '../../src/plan/desired.js';
import type { DesiredZone, DesiredZoneInputs } from '../../src/plan/desired.js';

/**
 * The daemon decides again only the records a health change touches (desiredZone with
 * `touched`). That is an optimisation, so it must never decide differently from deciding the
 * whole zone: for any zone and any run of health changes, the incremental decision equals the
 * full one after every step, and changedKeys names exactly the keys whose records moved.
 */

const ZONE = 'example.com.';
const NOW = 1_000_000_000;

interface ZoneShape {
  readonly records: readonly { readonly pools: readonly (readonly number[])[]; readonly whenAllDown: WhenAllDown }[];
  readonly sync: boolean;
}

function zoneFrom(shape: ZoneShape): ZoneSpec {
  const records: FailoverRecordSpec[] = shape.records.map((r, i) => ({
    kind: 'failover',
    name: `r${i}.${ZONE}`,
    type: 'A',
    ttl: 30,
    failover: {
      check: { protocol: 'tcp', port: 443, intervalMs: 5000, timeoutMs: 2000, fall: 3, rise: 3 },
      pools: r.pools.map((octets, p) => ({ name: `p${p}`, values: [...new Set(octets)].map((o) => `192.0.2.${o}`) })),
      whenAllDown: r.whenAllDown,
      holdDownMs: 0,
      maxWritesPerHour: 1_000,
    },
  }));
  return {
    name: ZONE,
    providers: ['a', 'b'],
    nameservers: shape.sync ? 'sync' : 'manual',
    nameserverTtl: 3600,
    unmanaged: 'keep',
    drift: 'repair',
    maxChangeShare: 1,
    records: [{ kind: 'static', name: `www.${ZONE}`, type: 'CNAME', ttl: 300, values: ['edge.example.net.'] }, ...records],
  };
}

/** Every endpoint of the zone, with the record it belongs to. */
function endpointsOf(zone: ZoneSpec): { readonly id: EndpointId; readonly key: RecordKey }[] {
  const out: { id: EndpointId; key: RecordKey }[] = [];
  for (const spec of zone.records) {
    if (spec.kind !== 'failover') continue;
    const values = new Set(spec.failover.pools.flatMap((p) => p.values));
    for (const value of values) out.push({ id: endpointId(spec.name, spec.type, value), key: recordKey(spec.name, spec.type) });
  }
  return out;
}

function healthEntry(id: EndpointId, state: HealthState): EndpointHealth {
  return { endpointId: id, state, since: 0, reason: 'test', insufficientVantage: false, regions: [] };
}

const shapeArb: fc.Arbitrary<ZoneShape> = fc.record({
  records: fc.array(
    fc.record({
      pools: fc.array(fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 }),
      whenAllDown: fc.constantFrom<WhenAllDown>('keep-last', 'all', 'fail-closed'),
    }),
    { minLength: 1, maxLength: 8 },
  ),
  sync: fc.boolean(),
});

/** One step: new states for some endpoints (by index, wrapped), and maybe new apex name servers. */
const stepArb = fc.record({
  changes: fc.array(fc.tuple(fc.nat(), fc.constantFrom<HealthState | 'forget'>('up', 'down', 'unknown', 'forget')), { maxLength: 6 }),
  apex: fc.option(fc.subarray(['ns1.a.example.', 'ns2.a.example.', 'ns1.b.example.']), { nil: undefined }),
});

function comparable(desired: DesiredZone): unknown {
  return { records: desired.records, managed: [...desired.managed].sort(), decisions: desired.decisions };
}

describe('desiredZone, incremental', () => {
  it('re-deciding only the touched records equals deciding the whole zone, step after step', () => {
    fc.assert(
      fc.property(shapeArb, fc.array(stepArb, { minLength: 1, maxLength: 10 }), fc.array(fc.integer({ min: 1, max: 8 }), { maxLength: 3 }), (shape, steps, servedOctets) => {
        const zone = zoneFrom(shape);
        const endpoints = endpointsOf(zone);
        const health = new Map<EndpointId, EndpointHealth>();
        // What r0 serves today, so keep-last has something to keep.
        const lastServed = new Map<RecordKey, readonly string[]>(servedOctets.length > 0 ? [[recordKey(`r0.${ZONE}`, 'A'), servedOctets.map((o) => `192.0.2.${o}`)]] : []);
        const inputsNow = (apex: readonly string[] | undefined): DesiredZoneInputs => ({
          zone,
          health,
          overrides: [],
          lastServed,
          recentWrites: new Map(),
          ...(apex === undefined ? {} : { apexNameservers: apex }),
          now: NOW,
        });
        let apex: readonly string[] | undefined;
        let previous = desiredZone(inputsNow(apex));
        for (const step of steps) {
          const touched = new Set<RecordKey>();
          for (const [index, state] of step.changes) {
            const endpoint = endpoints[index % endpoints.length];
            if (endpoint === undefined) continue;
            if (state === 'forget') health.delete(endpoint.id);
            else health.set(endpoint.id, healthEntry(endpoint.id, state));
            touched.add(endpoint.key);
          }
          apex = step.apex ?? apex;
          const incremental = desiredZone(inputsNow(apex), { desired: previous, touched });
          const full = desiredZone(inputsNow(apex));
          expect(comparable(incremental)).toEqual(comparable(full));
          expect(new Set(changedKeys(zone, previous, incremental, touched))).toEqual(new Set(changedKeys(zone, previous, full)));
          previous = incremental;
        }
      }),
      { numRuns: 300 },
    );
  });
});
