import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { endpointId } from '../../src/domain/health.js';
import type { EndpointHealth, HealthState } from '../../src/domain/health.js';
import type { ZoneSpec } from '../../src/domain/zone.js';
import { ManualClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/logger.js';
import { LocalProvider } from '../../src/providers/local/provider.js';
import { ReconcileLoop } from '../../src/sync/loop.js';

/**
 * The reconcile loop on a manual clock, writing to a real local provider: health changes are
 * applied, and the hourly write budget of a record holds back a second failover within the hour.
 */
const ZONE = 'example.com.';
const API = `api.${ZONE}`;
const PRIMARY = '192.0.2.10';
const SECONDARY = '198.51.100.20';

const zone: ZoneSpec = {
  name: ZONE,
  providers: ['lab'],
  nameservers: 'manual',
  nameserverTtl: 3600,
  unmanaged: 'keep',
  records: [
    {
      kind: 'failover',
      name: API,
      type: 'A',
      ttl: 30,
      failover: {
        check: { protocol: 'tcp', port: 443, intervalMs: 1000, timeoutMs: 500, fall: 1, rise: 1 },
        pools: [
          { name: 'primary', values: [PRIMARY] },
          { name: 'secondary', values: [SECONDARY] },
        ],
        whenAllDown: 'keep-last',
        holdDownMs: 0,
        maxWritesPerHour: 1,
      },
    },
  ],
};

describe('ReconcileLoop', () => {
  let dir: string;
  let provider: LocalProvider;
  /** A second instance on the same state file, so the test's reads are not the loop's. */
  let reader: LocalProvider;
  const clock = new ManualClock(1_000_000);
  const health = new Map<string, EndpointHealth>();
  const setHealth = (value: string, state: HealthState): void => {
    const id = endpointId(API, 'A', value);
    health.set(id, { endpointId: id, state, since: clock.now(), reason: 'test', insufficientVantage: false, regions: [] });
  };
  const served = async (): Promise<readonly string[] | undefined> =>
    (await reader.listRecords(ZONE, AbortSignal.timeout(5000))).find((r) => r.name === API && r.type === 'A')?.values;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dq-loop-'));
    const options = {
      config: { type: 'local' as const, name: 'lab', listen: { host: '127.0.0.1', port: 0 }, nameserver: 'ns1.lab.example.net.' },
      statePath: join(dir, 'lab.json'),
      clock,
      logger: silentLogger(),
    };
    provider = new LocalProvider(options);
    reader = new LocalProvider(options);
  });
  afterEach(async () => {
    await provider.close();
    await reader.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('applies health changes, and keeps a second failover within the hour to the write budget', async () => {
    const loop = new ReconcileLoop({
      zones: [zone],
      providers: new Map([['lab', provider]]),
      clock,
      logger: silentLogger(),
      health: () => health,
      overrides: () => [],
      holdReason: () => undefined,
      intervalMs: 3_600_000,
      passTimeoutMs: 10_000,
    });
    const passes = vi.spyOn(provider, 'listRecords');
    const stop = new AbortController();
    setHealth(PRIMARY, 'up');
    setHealth(SECONDARY, 'up');
    const running = loop.run(stop.signal);

    // The first pass creates the record: no budget spent.
    await vi.waitFor(async () => { expect(await served()).toEqual([PRIMARY]); });

    setHealth(PRIMARY, 'down');
    loop.trigger('primary down');
    await vi.waitFor(async () => { expect(await served()).toEqual([SECONDARY]); });

    // Within the hour the budget (1) is spent: a pass runs, and the failback waits.
    clock.advance(60_000);
    setHealth(PRIMARY, 'up');
    const before = passes.mock.calls.length;
    loop.trigger('primary up');
    await vi.waitFor(() => { expect(passes.mock.calls.length).toBeGreaterThan(before); });
    // Passes run one at a time: once the next one has started, the one for 'primary up' is done.
    loop.trigger('after primary up');
    await vi.waitFor(() => { expect(passes.mock.calls.length).toBeGreaterThan(before + 1); });
    expect(await served()).toEqual([SECONDARY]);

    // An hour after the failover, the budget is back and the record fails back.
    clock.advance(3_600_000);
    loop.trigger('budget renewed');
    await vi.waitFor(async () => { expect(await served()).toEqual([PRIMARY]); });

    stop.abort();
    await running;
  });
});
