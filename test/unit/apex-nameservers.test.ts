import { describe, expect, it } from 'vitest';
import { keyOf, recordKey } from '../../src/domain/record.js';
import type { RecordSet } from '../../src/domain/record.js';
import type { ZoneSpec } from '../../src/domain/zone.js';
import { ManualClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/logger.js';
import { planZone } from '../../src/plan/zone-plan.js';
import type { ApexNameservers } from '../../src/plan/zone-plan.js';
import { ZoneDecider } from '../../src/sync/decider.js';
import { syncOnce } from '../../src/sync/sync-once.js';
import { MemoryProvider } from '../helpers/memory-provider.js';

/**
 * The `plan`/`sync` commands and the daemon plan the same apex NS from the same inputs, by the
 * one rule of plan/zone-plan.ts: while any provider's own name servers are unknown, the apex NS is
 * left as each provider holds it; once all are known, it is their union in the zone's order.
 */
const ZONE = 'example.com.';
const APEX = recordKey(ZONE, 'NS');
const zone: ZoneSpec = {
  name: ZONE,
  providers: ['a', 'b'],
  nameservers: 'sync',
  nameserverTtl: 3600,
  unmanaged: 'keep',
  drift: 'repair',
  maxChangeShare: 1,
  records: [{ kind: 'static', name: `www.${ZONE}`, type: 'A', ttl: 300, values: ['192.0.2.80'] }],
};
const A_HOSTS = ['ns1.a.example.net.', 'ns2.a.example.net.'];
const B_HOSTS = ['ns1.b.example.net.', 'ns2.b.example.net.'];

/** Both providers hold the zone, each with the apex NS a past sync gave them (the union of both). */
async function providers(): Promise<{ a: MemoryProvider; b: MemoryProvider }> {
  const a = new MemoryProvider('a', A_HOSTS);
  const b = new MemoryProvider('b', B_HOSTS);
  for (const p of [a, b]) {
    await p.ensureZone(ZONE);
    p.edit(ZONE, { name: ZONE, type: 'NS', ttl: 3600, values: [...A_HOSTS, ...B_HOSTS] });
    p.edit(ZONE, { name: `www.${ZONE}`, type: 'A', ttl: 300, values: ['192.0.2.80'] });
  }
  return { a, b };
}

interface Planned {
  readonly apex: ApexNameservers;
  /** "name TYPE" of every record set the plan would change at provider a. */
  readonly changedAtA: readonly string[];
}

const changedKeys = (cs: { creates: readonly RecordSet[]; updates: readonly { after: RecordSet }[]; deletes: readonly RecordSet[] }): string[] =>
  [...cs.creates.map(keyOf), ...cs.updates.map((u) => keyOf(u.after)), ...cs.deletes.map(keyOf)].sort();

/** What `dnsquorum plan` plans: syncOnce in dry run. */
async function cliPlan(a: MemoryProvider, b: MemoryProvider): Promise<Planned> {
  const clock = new ManualClock(1_000_000);
  const report = await syncOnce({
    zones: [zone],
    providers: new Map([['a', a], ['b', b]]),
    health: new Map(),
    overrides: [],
    recentWrites: new Map(),
    dryRun: true,
    force: false,
    clock,
    logger: silentLogger(),
    signal: AbortSignal.timeout(5000),
  });
  const [pass] = report.zones;
  if (pass === undefined) throw new Error('no zone in the report');
  const atA = pass.providers.find((p) => p.provider === 'a');
  if (atA === undefined) throw new Error('no pass for a');
  return { apex: pass.apexNameservers, changedAtA: changedKeys(atA.changes) };
}

/** What the daemon plans for provider a: the decider's target after both providers were read, planned as its syncer does. */
async function daemonPlan(a: MemoryProvider, b: MemoryProvider): Promise<Planned & { readonly desiredApex: RecordSet | undefined }> {
  const decider = new ZoneDecider({ zones: [zone], clock: new ManualClock(1_000_000), logger: silentLogger(), health: () => new Map(), overrides: () => [], healthPaused: () => false });
  const nameservers = async (p: MemoryProvider): Promise<string[] | undefined> => p.nameservers().catch(() => undefined);
  decider.observe(zone, 'a', await a.listRecords(ZONE), await nameservers(a));
  const target = decider.observe(zone, 'b', await b.listRecords(ZONE), await nameservers(b));
  const [atA] = planZone({ zone, listings: new Map([['a', a.held(ZONE)]]), nameservers: target.nameservers, decision: { decided: target.desired }, keptAsHeld: target.keptAsHeld, force: false }).providers;
  if (atA === undefined) throw new Error('no plan for a');
  return { apex: target.apexNameservers, desiredApex: target.desired.records.find((rs) => keyOf(rs) === APEX), changedAtA: changedKeys(atA.apply) };
}

describe('the apex NS rule, CLI and daemon alike', () => {
  it('leaves the apex NS as each provider holds it while one provider\'s name servers are unknown', async () => {
    const { a, b } = await providers();
    b.nameserversDown = true;
    const cli = await cliPlan(a, b);
    const daemon = await daemonPlan(a, b);
    expect(cli.apex).toEqual({ kind: 'unknown', missing: ['b'], known: A_HOSTS });
    expect(daemon.apex).toEqual(cli.apex);
    // Before the one rule, `plan` unioned only a's servers and would have taken b's out of a's apex NS.
    expect(cli.changedAtA).toEqual([]);
    expect(daemon.changedAtA).toEqual(cli.changedAtA);
    expect(daemon.desiredApex).toBeUndefined();
  });

  it('plans the union of every provider\'s name servers, in the zone\'s order, once all are known', async () => {
    const { a, b } = await providers();
    a.edit(ZONE, { name: ZONE, type: 'NS', ttl: 3600, values: A_HOSTS });
    const cli = await cliPlan(a, b);
    const daemon = await daemonPlan(a, b);
    expect(cli.apex).toEqual({ kind: 'synced', values: [...A_HOSTS, ...B_HOSTS] });
    expect(daemon.apex).toEqual(cli.apex);
    expect(cli.changedAtA).toEqual([APEX]);
    expect(daemon.changedAtA).toEqual(cli.changedAtA);
    expect([...(daemon.desiredApex?.values ?? [])].sort()).toEqual([...A_HOSTS, ...B_HOSTS].sort());
  });
});
