import { describe, expect, it } from 'vitest';
import { ProviderFailureWatch } from '../../src/control/notify/provider-watch.js';
import type { ProviderZoneState, ProviderZoneStatus, SyncStatus } from '../../src/sync/status.js';

const THRESHOLD = 60_000;

interface ZoneAt {
  readonly provider: string;
  readonly zone: string;
  readonly state: ProviderZoneState;
  readonly error: boolean;
}

function zoneStatus(z: ZoneAt, at: number): ProviderZoneStatus {
  return {
    zone: z.zone,
    state: z.state,
    lagMs: z.state === 'in-sync' ? 0 : 12_000,
    lastError: z.error ? { code: 'DQ_PROVIDER_UNAVAILABLE', message: `${z.provider}: connection refused\n  (ECONNREFUSED)`, at } : null,
    consecutiveFailures: z.error ? 4 : 0,
    nextPassAt: null,
    lastReadAt: null,
    lastDnsCheckAt: null,
    lastWrite: null,
    drift: { detected: 0, repaired: 0, current: [] },
  };
}

function statusOf(zones: readonly ZoneAt[], at: number): SyncStatus {
  const providers = [...new Set(zones.map((z) => z.provider))];
  return {
    hold: null,
    records: [],
    providers: providers.map((provider) => ({ provider, type: 'ns1', zones: zones.filter((z) => z.provider === provider).map((z) => zoneStatus(z, at)) })),
  };
}

type Step = readonly [at: number, state: ProviderZoneState, error: boolean, expected: '' | 'provider-failing' | 'provider-recovered'];

/** One provider zone's timeline: what it shows at each observation, and what the watch must say then. */
const timelines: readonly (readonly [label: string, steps: readonly Step[]])[] = [
  ['failing for less than the threshold says nothing', [[0, 'lagging', true, ''], [30_000, 'lagging', true, ''], [59_999, 'lagging', true, '']]],
  ['failing for the threshold notifies once', [[0, 'lagging', true, ''], [60_000, 'lagging', true, 'provider-failing'], [90_000, 'lagging', true, ''], [600_000, 'lagging', true, '']]],
  ['a retry pass (syncing, error still set) does not restart the clock', [[0, 'lagging', true, ''], [30_000, 'syncing', true, ''], [60_000, 'lagging', true, 'provider-failing']]],
  ['a syncing pass alone does not start a failure', [[0, 'syncing', true, ''], [10_000, 'lagging', true, ''], [69_999, 'syncing', true, ''], [70_000, 'lagging', true, 'provider-failing']]],
  ['a recovery before the threshold restarts the clock quietly', [[0, 'lagging', true, ''], [30_000, 'in-sync', false, ''], [40_000, 'lagging', true, ''], [90_000, 'lagging', true, ''], [100_000, 'lagging', true, 'provider-failing']]],
  ['lagging without an error is not failing', [[0, 'lagging', false, ''], [120_000, 'lagging', false, ''], [240_000, 'in-sync', false, '']]],
  ['a refused provider (a guardrail) is not failing', [[0, 'refused', true, ''], [120_000, 'refused', true, '']]],
  ['a notified failure ends only when in sync again', [[0, 'lagging', true, ''], [60_000, 'lagging', true, 'provider-failing'], [70_000, 'lagging', false, ''], [80_000, 'refused', true, ''], [85_000, 'unknown', false, ''], [90_000, 'in-sync', false, 'provider-recovered'], [95_000, 'in-sync', false, '']]],
  ['a second failure after a recovery notifies again', [[0, 'lagging', true, ''], [60_000, 'lagging', true, 'provider-failing'], [61_000, 'in-sync', false, 'provider-recovered'], [62_000, 'lagging', true, ''], [122_000, 'lagging', true, 'provider-failing']]],
];

describe('ProviderFailureWatch', () => {
  it.each(timelines)('%s', (_label, steps) => {
    const watch = new ProviderFailureWatch({ thresholdMs: THRESHOLD, region: 'us-east' });
    const said = steps.map(([at, state, error]) => watch.observe(statusOf([{ provider: 'ns1', zone: 'example.com.', state, error }], at), at).map((e) => e.kind).join(','));
    expect(said).toEqual(steps.map(([, , , expected]) => expected));
  });

  it('gives a critical event and its info resolution the same dedupKey', () => {
    const watch = new ProviderFailureWatch({ thresholdMs: THRESHOLD, region: 'eu-west' });
    const failing = { provider: 'ns1', zone: 'example.com.', state: 'lagging', error: true } as const;
    watch.observe(statusOf([failing], 1_000), 1_000);
    const [opened] = watch.observe(statusOf([failing], 91_000), 91_000);
    const [closed] = watch.observe(statusOf([{ ...failing, state: 'in-sync', error: false }], 391_000), 391_000);
    expect(opened).toEqual({
      kind: 'provider-failing',
      severity: 'critical',
      at: 91_000,
      region: 'eu-west',
      summary: 'provider ns1 has been failing for zone example.com. for 1m30s: ns1: connection refused (ECONNREFUSED)',
      zone: 'example.com.',
      record: null,
      provider: 'ns1',
      dedupKey: 'provider-failing/ns1/example.com.',
      opens: true,
      resolves: false,
      details: {
        state: 'lagging',
        failingForMs: 90_000,
        consecutiveFailures: 4,
        lagMs: 12_000,
        errorCode: 'DQ_PROVIDER_UNAVAILABLE',
        error: 'ns1: connection refused (ECONNREFUSED)',
      },
    });
    expect(closed).toMatchObject({
      kind: 'provider-recovered',
      severity: 'info',
      at: 391_000,
      region: 'eu-west',
      summary: 'provider ns1 is in sync again for zone example.com. after failing for 6m30s',
      provider: 'ns1',
      zone: 'example.com.',
      dedupKey: opened?.dedupKey,
      opens: false,
      resolves: true,
    });
  });

  it('watches each provider zone on its own', () => {
    const watch = new ProviderFailureWatch({ thresholdMs: THRESHOLD, region: 'us-east' });
    const zones = (aState: ProviderZoneState, bState: ProviderZoneState): ZoneAt[] => [
      { provider: 'ns1', zone: 'a.example.', state: aState, error: aState === 'lagging' },
      { provider: 'ns1', zone: 'b.example.', state: bState, error: bState === 'lagging' },
      { provider: 'r53', zone: 'a.example.', state: 'in-sync', error: false },
    ];
    expect(watch.observe(statusOf(zones('lagging', 'in-sync'), 0), 0)).toEqual([]);
    expect(watch.observe(statusOf(zones('lagging', 'lagging'), 30_000), 30_000)).toEqual([]);
    expect(watch.observe(statusOf(zones('lagging', 'lagging'), 60_000), 60_000).map((e) => e.dedupKey)).toEqual(['provider-failing/ns1/a.example.']);
    expect(watch.observe(statusOf(zones('in-sync', 'lagging'), 90_000), 90_000).map((e) => `${e.kind} ${e.dedupKey}`)).toEqual([
      'provider-recovered provider-failing/ns1/a.example.',
      'provider-failing provider-failing/ns1/b.example.',
    ]);
  });

  it('closes nothing for a failure that left the config before its threshold', () => {
    const watch = new ProviderFailureWatch({ thresholdMs: THRESHOLD, region: 'us-east' });
    const pending: ZoneAt = { provider: 'r53', zone: 'example.com.', state: 'lagging', error: true };
    watch.observe(statusOf([pending], 0), 0);
    expect(watch.observe(statusOf([], 30_000), 30_000)).toEqual([]);
    // Back again: its clock starts over.
    expect(watch.observe(statusOf([pending], 70_000), 70_000)).toEqual([]);
    expect(watch.observe(statusOf([pending], 129_999), 129_999)).toEqual([]);
    expect(watch.observe(statusOf([pending], 130_000), 130_000).map((e) => e.kind)).toEqual(['provider-failing']);
  });

  it('resolves with the reason when the provider zone disappears after notifying', () => {
    const watch = new ProviderFailureWatch({ thresholdMs: THRESHOLD, region: 'us-east' });
    const failing: ZoneAt = { provider: 'ns1', zone: 'example.com.', state: 'lagging', error: true };
    watch.observe(statusOf([failing], 0), 0);
    watch.observe(statusOf([failing], 60_000), 60_000);
    const events = watch.observe(statusOf([], 70_000), 70_000);
    expect(events).toMatchObject([{ kind: 'provider-recovered', resolves: true, dedupKey: 'provider-failing/ns1/example.com.', details: { reason: 'no longer in the configuration' } }]);
  });

  it('applies a new threshold to a failure already being timed', () => {
    const watch = new ProviderFailureWatch({ thresholdMs: 10 * THRESHOLD, region: 'us-east' });
    const failing: ZoneAt = { provider: 'ns1', zone: 'example.com.', state: 'lagging', error: true };
    watch.observe(statusOf([failing], 0), 0);
    expect(watch.observe(statusOf([failing], 90_000), 90_000)).toEqual([]);
    watch.setThreshold(THRESHOLD);
    expect(watch.observe(statusOf([failing], 91_000), 91_000).map((e) => e.details.failingForMs)).toEqual([91_000]);
  });
});
