import type { Ns1ProviderConfig } from '../../src/config/types.js';
import type { RecordSet, RecordType } from '../../src/domain/record.js';
import type { StaticRecordSpec, ZoneSpec } from '../../src/domain/zone.js';
import { FakeNs1 } from '../../fakes/ns1/server.js';
import type { FakeNs1Options, FakeNs1Request } from '../../fakes/ns1/server.js';
import { advancingSleep } from '../../src/lib/backoff.js';
import type { Sleep } from '../../src/lib/backoff.js';
import { ManualClock, systemClock } from '../../src/lib/clock.js';
import type { Clock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/logger.js';
import type { Logger } from '../../src/lib/logger.js';
import { Ns1Provider } from '../../src/providers/ns1/provider.js';
import type { Ns1ProviderOptions } from '../../src/providers/ns1/provider.js';
import { syncOnce } from '../../src/sync/sync-once.js';
import type { SyncReport } from '../../src/sync/sync-once.js';

/** What the NS1 e2e tests share: the real client and provider against the in-process fake NS1. */

export const never = new AbortController().signal;

/** A small seeded PRNG (mulberry32), so fault decisions and jitter repeat run after run. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function rs(name: string, type: RecordType, ttl: number, values: string[]): RecordSet {
  return { name, type, ttl, values };
}

export interface Ns1HarnessOptions {
  readonly fake?: Omit<FakeNs1Options, 'clock'>;
  readonly config?: Partial<Omit<Ns1ProviderConfig, 'type' | 'name' | 'endpoint'>>;
  readonly provider?: Partial<Omit<Ns1ProviderOptions, 'config' | 'clock'>>;
  /** A zone to create in the fake before the test (default "example.com."); false for none. */
  readonly zone?: string | false;
  /**
   * Run fake and provider on one ManualClock, the provider's sleep moving it: the fake's token
   * buckets refill by exactly the time the client waits, and no wait takes real time.
   */
  readonly manualClock?: boolean;
  /** Called before every wait of the provider (pacing and backoff), with the wait. */
  readonly beforeSleep?: (ms: number) => Promise<void>;
}

export interface Ns1Harness {
  readonly fake: FakeNs1;
  readonly provider: Ns1Provider;
  readonly clock: Clock;
  readonly zone: string;
  close(): Promise<void>;
}

/**
 * A fake and a provider tuned for speed: millisecond backoffs and a 5 s request deadline, unless
 * the options say otherwise. With manualClock, pacing waits and backoffs move the shared clock.
 */
export async function startNs1Harness(options: Ns1HarnessOptions = {}): Promise<Ns1Harness> {
  const clock = options.manualClock === true ? new ManualClock(Date.UTC(2026, 0, 1)) : systemClock;
  const fake = await FakeNs1.start({ ...options.fake, clock });
  const zone = options.zone === false ? '' : (options.zone ?? 'example.com.');
  if (zone !== '') fake.createZone(zone);
  const baseSleep: Sleep | undefined = clock instanceof ManualClock ? advancingSleep(clock) : undefined;
  const hook = options.beforeSleep;
  const sleep: Sleep | undefined =
    hook === undefined || baseSleep === undefined
      ? baseSleep
      : async (ms, signal) => {
          await hook(ms);
          await baseSleep(ms, signal);
        };
  const provider = new Ns1Provider({
    config: { type: 'ns1', name: 'ns1', apiKey: fake.apiKey, endpoint: fake.endpoint, requestTimeoutMs: 5000, ...options.config },
    clock,
    logger: silentLogger(),
    retry: { throttleBaseMs: 5, transientBaseMs: 2, capMs: 50 },
    ...(sleep === undefined ? {} : { sleep }),
    ...options.provider,
  });
  return {
    fake,
    provider,
    clock,
    zone,
    close: async () => {
      await provider.close();
      await fake.close();
    },
  };
}

export function staticRecord(name: string, type: StaticRecordSpec['type'], values: string[], ttl = 300): StaticRecordSpec {
  return { kind: 'static', name, type, ttl, values };
}

export function hostRecords(zone: string, count: number, prefix = 'host'): StaticRecordSpec[] {
  return Array.from({ length: count }, (_, i) => staticRecord(`${prefix}${i}.${zone}`, 'A', [`10.${Math.floor(i / 250)}.${i % 250}.1`]));
}

export function zoneSpec(name: string, records: StaticRecordSpec[], overrides: Partial<ZoneSpec> = {}): ZoneSpec {
  return { name, providers: ['ns1'], nameservers: 'sync', nameserverTtl: 3600, unmanaged: 'delete', drift: 'repair', maxChangeShare: 0.3, records, ...overrides };
}

export function pass(h: Ns1Harness, zone: ZoneSpec, dryRun: boolean, logger: Logger = silentLogger()): Promise<SyncReport> {
  return syncOnce({
    zones: [zone],
    providers: new Map([['ns1', h.provider]]),
    health: new Map(),
    overrides: [],
    recentWrites: new Map(),
    dryRun,
    force: false,
    clock: h.clock,
    logger,
    signal: never,
  });
}

export function outcomeOf(report: SyncReport): string | undefined {
  const provider = report.zones[0]?.providers[0];
  return provider === undefined ? undefined : `${provider.outcome}${provider.error === undefined ? '' : ` (${provider.error.code}: ${provider.error.message})`}`;
}

/** Record writes (PUT, POST, DELETE on records) the fake answered with this status. */
export function recordWrites(requests: readonly FakeNs1Request[], status = 200): FakeNs1Request[] {
  return requests.filter((r) => r.route === 'record' && r.method !== 'GET' && r.status === status);
}

/** The fake's records as "domain TYPE ttl answer|answer". */
export function held(fake: FakeNs1, zone: string): string[] {
  return fake.zoneRecords(zone).map((r) => `${r.domain} ${r.type} ${r.ttl} ${r.answers.map((a) => a.answer.join(' ')).join('|')}`);
}
