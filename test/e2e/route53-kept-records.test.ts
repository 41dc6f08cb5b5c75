import { afterEach, describe, expect, it } from 'vitest';
import { endpointId } from '../../src/domain/health.js';
import type { EndpointHealth, HealthState } from '../../src/domain/health.js';
import type { RecordSpec, ZoneSpec } from '../../src/domain/zone.js';
import { systemClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/logger.js';
import { syncOnce } from '../../src/sync/sync-once.js';
import type { ProviderPass, SyncReport } from '../../src/sync/sync-once.js';
import type { FakeRecordSet } from '../../fakes/route53/server.js';
import { failoverSpec } from '../helpers/failover-spec.js';
import { memoryLogger } from '../helpers/memory-logger.js';
import type { LogLine } from '../helpers/memory-logger.js';
import { never, requestsOf, startHarness, useDummyAwsCredentials } from './route53-harness.js';
import type { Harness } from './route53-harness.js';

/**
 * Issue 16, defect 6: record sets dnsquorum cannot write (aliases, weighted and failover routing
 * sets) never hold back the rest of a change set. Under `unmanaged: delete` they are kept and
 * reported, the rest (a health failover included) goes out; a config record that collides with
 * one is refused on its own, after the rest was applied. Real SDK against the fake Route53.
 */

useDummyAwsCredentials();

const ZONE = 'example.com.';
const PRIMARY = '192.0.2.10';
const SECONDARY = '198.51.100.20';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const api = failoverSpec(`api.${ZONE}`, { primary: [PRIMARY], secondary: [SECONDARY] });

function zoneSpec(records: readonly RecordSpec[]): ZoneSpec {
  return { name: ZONE, providers: ['r53'], nameservers: 'manual', nameserverTtl: 3600, unmanaged: 'delete', drift: 'repair', maxChangeShare: 1, records: [api, ...records] };
}

function health(states: Record<string, HealthState>): Map<string, EndpointHealth> {
  return new Map(
    Object.entries(states).map(([value, state]) => {
      const id = endpointId(api.name, api.type, value);
      return [id, { endpointId: id, state, since: 0, reason: 'test', insufficientVantage: false, regions: [] }];
    }),
  );
}

/** The primary is down, the secondary up: the decision moves api to the secondary. */
const PRIMARY_DOWN = health({ [PRIMARY]: 'down', [SECONDARY]: 'up' });

async function pass(h: Harness, zone: ZoneSpec, dryRun = false): Promise<ProviderPass> {
  const report: SyncReport = await syncOnce({
    zones: [zone],
    providers: new Map([['r53', h.provider]]),
    health: PRIMARY_DOWN,
    overrides: [],
    recentWrites: new Map(),
    dryRun,
    force: false,
    clock: systemClock,
    logger: silentLogger(),
    signal: never,
  });
  const provider = report.zones[0]?.providers[0];
  if (provider === undefined) throw new Error('no provider pass');
  return provider;
}

/** What the console makes and dnsquorum never writes: an apex alias, a weighted pair, a failover pair. */
const CONSOLE_SETS: readonly FakeRecordSet[] = [
  { name: ZONE, type: 'A', ttl: 0, values: [], aliasTarget: { hostedZoneId: 'Z2FDTNDATAQYW2', dnsName: 'd111.cloudfront.net.', evaluateTargetHealth: false } },
  { name: `w.${ZONE}`, type: 'A', ttl: 60, values: ['192.0.2.1'], setIdentifier: 'one', weight: 10 },
  { name: `w.${ZONE}`, type: 'A', ttl: 60, values: ['192.0.2.2'], setIdentifier: 'two', weight: 20 },
  { name: `fo.${ZONE}`, type: 'A', ttl: 60, values: ['192.0.2.3'], setIdentifier: 'main', failover: 'PRIMARY', healthCheckId: 'hc-1' },
  { name: `fo.${ZONE}`, type: 'A', ttl: 60, values: ['192.0.2.4'], setIdentifier: 'backup', failover: 'SECONDARY' },
];

async function zoneWithConsoleSets(logger = silentLogger()): Promise<Harness> {
  harness = await startHarness({ zone: ZONE, provider: { logger } });
  const h = harness;
  h.fake.putRecordDirect(ZONE, { name: `api.${ZONE}`, type: 'A', ttl: 30, values: [PRIMARY] });
  h.fake.putRecordDirect(ZONE, { name: `www.${ZONE}`, type: 'CNAME', ttl: 300, values: ['old-edge.example.net.'] });
  h.fake.putRecordDirect(ZONE, { name: `stray.${ZONE}`, type: 'A', ttl: 300, values: ['203.0.113.9'] });
  for (const rs of CONSOLE_SETS) h.fake.putRecordDirect(ZONE, rs);
  return h;
}

/** Every routing-policy or alias set the fake holds, as stored. */
function consoleSetsHeld(h: Harness): FakeRecordSet[] {
  return h.fake.zoneRecords(ZONE).filter((rs) => rs.aliasTarget !== undefined || rs.setIdentifier !== undefined);
}

function heldPlain(h: Harness, name: string, type: string): readonly string[] | undefined {
  return h.fake.zoneRecords(ZONE).find((rs) => rs.name === name && rs.type === type && rs.setIdentifier === undefined)?.values;
}

const www = { kind: 'static', name: `www.${ZONE}`, type: 'CNAME', ttl: 300, values: ['edge.example.net.'] } as const;

describe('route53: record sets dnsquorum never writes', () => {
  it('under unmanaged: delete, keeps an apex alias, weighted and failover sets and applies the rest, the health failover included', async () => {
    const { logger, lines } = memoryLogger();
    const h = await zoneWithConsoleSets(logger);
    const before = consoleSetsHeld(h);
    expect(before).toHaveLength(5);

    const planned = await pass(h, zoneSpec([www]), true);
    expect(planned.outcome).toBe('pending');
    expect(planned.changes.deletes.map((d) => `${d.name} ${d.type}`)).toEqual([`stray.${ZONE} A`]);
    expect(planned.unmanagedKept.map((k) => [`${k.name} ${k.type}`, k.unwritable])).toEqual([
      [`${ZONE} A`, 'alias to d111.cloudfront.net.'],
      [`fo.${ZONE} A`, 'failover SECONDARY "backup", failover PRIMARY "main"'],
      [`w.${ZONE} A`, 'weighted "one", weighted "two"'],
    ]);

    const applied = await pass(h, zoneSpec([www]));
    expect(applied.outcome, JSON.stringify(applied.error)).toBe('applied');
    expect(applied.error).toBeUndefined();
    expect(heldPlain(h, `api.${ZONE}`, 'A'), 'the health failover went out').toEqual([SECONDARY]);
    expect(heldPlain(h, `www.${ZONE}`, 'CNAME')).toEqual(['edge.example.net.']);
    expect(heldPlain(h, `stray.${ZONE}`, 'A'), 'an unmanaged plain record set is deleted').toBeUndefined();
    expect(consoleSetsHeld(h), 'every alias and routing-policy set is left as it was').toEqual(before);
    // Not one change request carried them: one request, five changes (DELETE and CREATE for api and www, DELETE for stray).
    expect(requestsOf(h.fake, 'ChangeResourceRecordSets').map((r) => [r.status, r.changes])).toEqual([[200, 5]]);

    const again = await pass(h, zoneSpec([www]));
    expect(again.outcome).toBe('in-sync');
    const kept = lines.filter((l: LogLine) => l.level === 40 && l.msg.includes('never writes'));
    expect(kept.map((l) => l.record)).toEqual([`${ZONE} A`, `fo.${ZONE} A`, `w.${ZONE} A`]);
  });

  it('refuses a config record whose name and type a weighted set holds, on its own, after applying the rest', async () => {
    const h = await zoneWithConsoleSets();
    const collides = { kind: 'static', name: `w.${ZONE}`, type: 'A', ttl: 60, values: ['192.0.2.9'] } as const;
    const result = await pass(h, zoneSpec([www, collides]));
    expect(result.outcome).toBe('failed');
    expect(result.error?.code).toBe('DQ_PROVIDER_REJECTED');
    expect(result.error?.message).toContain(`w.${ZONE} A (weighted "one", weighted "two")`);
    expect(result.error?.message).toContain('the other 3 changes were applied');
    expect(heldPlain(h, `api.${ZONE}`, 'A'), 'the failover was not held back').toEqual([SECONDARY]);
    expect(heldPlain(h, `www.${ZONE}`, 'CNAME')).toEqual(['edge.example.net.']);
    expect(consoleSetsHeld(h).filter((rs) => rs.name === `w.${ZONE}`).map((rs) => rs.values)).toEqual([['192.0.2.1'], ['192.0.2.2']]);
  });
});
