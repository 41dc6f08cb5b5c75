import { describe, expect, it } from 'vitest';
import { readiness } from '../../src/control/api/lifecycle.js';
import { RefusalWatch } from '../../src/control/notify/refusal-watch.js';
import type { ProviderZoneState, ProviderZoneStatus, RefusalStatus, SyncStatus } from '../../src/sync/status.js';

/**
 * Issue 16, defect 1, the reporting side: changes a guardrail holds back open one `plan-refused`
 * condition per provider zone (again when what is held back changes) and resolve it once a pass
 * holds nothing back; /readyz lists them without failing readiness.
 */
const ZONE = 'example.com.';
const NS_REMOVAL: RefusalStatus = { rule: 'nameserver-removal', forceable: true, message: "apex NS of example.com. would lose ns2.b.example.net. (b's own)", records: ['example.com. NS'], since: 1_000 };
const SHARE: RefusalStatus = { rule: 'too-much-change', forceable: true, message: 'would update or delete 16 of 20 record sets', records: ['h01.example.com. A'], since: 2_000 };

function zone(state: ProviderZoneState, refused: readonly RefusalStatus[]): ProviderZoneStatus {
  return { zone: ZONE, state, lagMs: 0, lastError: null, consecutiveFailures: 0, nextPassAt: null, lastReadAt: null, lastDnsCheckAt: null, lastWrite: null, refused, drift: { detected: 0, repaired: 0, current: [] } };
}

function status(zones: Readonly<Record<string, ProviderZoneStatus>>): SyncStatus {
  return { hold: null, records: [], providers: Object.entries(zones).map(([provider, z]) => ({ provider, type: 'memory', zones: [z] })) };
}

describe('the plan-refused notification', () => {
  it('opens once per provider zone, again when what is held back changes, and resolves once nothing is', () => {
    const watch = new RefusalWatch('us-east');
    const kinds = (s: SyncStatus, at: number): string[] => watch.observe(s, at).map((e) => `${e.kind} ${e.provider ?? ''} ${e.dedupKey}`);

    expect(kinds(status({ a: zone('in-sync', []), b: zone('refused', [NS_REMOVAL]) }), 1)).toEqual([`plan-refused b plan-refused/${ZONE}/b`]);
    // Found again by every read: told once.
    expect(kinds(status({ a: zone('in-sync', []), b: zone('refused', [NS_REMOVAL]) }), 2)).toEqual([]);
    // A second rule holds back more: told again, same condition.
    expect(kinds(status({ a: zone('in-sync', []), b: zone('refused', [NS_REMOVAL, SHARE]) }), 3)).toEqual([`plan-refused b plan-refused/${ZONE}/b`]);
    // A reload's fresh syncer, or a failing one, says nothing either way.
    expect(kinds(status({ a: zone('in-sync', []), b: zone('unknown', []) }), 4)).toEqual([]);
    expect(kinds(status({ a: zone('in-sync', []), b: zone('lagging', []) }), 5)).toEqual([]);
    expect(kinds(status({ a: zone('in-sync', []), b: zone('in-sync', []) }), 6)).toEqual([`plan-refused-cleared b plan-refused/${ZONE}/b`]);
    expect(kinds(status({ a: zone('in-sync', []), b: zone('in-sync', []) }), 7)).toEqual([]);
  });

  it('words the opening event for people and the pager, and ends it when the provider leaves the config', () => {
    const watch = new RefusalWatch('us-east');
    const [opened] = watch.observe(status({ b: zone('refused', [NS_REMOVAL]) }), 10);
    expect(opened).toMatchObject({
      kind: 'plan-refused',
      severity: 'warning',
      opens: true,
      resolves: false,
      zone: ZONE,
      provider: 'b',
      details: { rules: 'nameserver-removal', records: 'example.com. NS', forceable: true },
    });
    expect(opened?.summary).toContain("would lose ns2.b.example.net. (b's own)");
    expect(opened?.summary).toContain('failover included, is written');
    expect(watch.observe(status({}), 11)).toEqual([expect.objectContaining({ kind: 'plan-refused-cleared', resolves: true, dedupKey: opened?.dedupKey })]);
  });
});

describe('/readyz and refusals', () => {
  const hold = { hold: false, reason: '', waitingFor: [] };

  it('lists what is held back and marks the answer degraded, but stays ready', () => {
    const result = readiness({ state: 'running', hold, sync: status({ a: zone('in-sync', []), b: zone('refused', [NS_REMOVAL]) }) });
    expect(result.ready).toBe(true);
    expect(result.degraded).toBe(true);
    expect(result.checks.find((c) => c.name === 'guardrails')).toEqual({
      name: 'guardrails',
      ok: false,
      required: false,
      detail: `held back (every other change, failover included, is written): b (${ZONE}) nameserver-removal: example.com. NS`,
    });
  });

  it('is neither degraded nor unready when nothing is held back', () => {
    const result = readiness({ state: 'running', hold, sync: status({ a: zone('in-sync', []) }) });
    expect(result).toMatchObject({ ready: true, degraded: false });
    expect(result.checks.every((c) => c.ok)).toBe(true);
  });
});
