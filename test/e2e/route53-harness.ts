import { ChangeResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import type { Change } from '@aws-sdk/client-route-53';
import { afterAll, beforeAll, vi } from 'vitest';
import type { Route53ProviderConfig } from '../../src/config/types.js';
import type { RecordSet, RecordType } from '../../src/domain/record.js';
import { FakeRoute53 } from '../../fakes/route53/server.js';
import type { FakeRoute53Options, FakeRoute53Request } from '../../fakes/route53/server.js';
import { systemClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/logger.js';
import { Route53Provider } from '../../src/providers/route53/provider.js';
import type { Route53ProviderOptions } from '../../src/providers/route53/provider.js';

/** What the Route53 e2e tests share: the real SDK-backed provider against the in-process fake. */

export const never = new AbortController().signal;

const DUMMY_CREDENTIALS = { accessKeyId: 'AKIDDNSQUORUMTEST', secretAccessKey: 'dnsquorum-test-secret' };

/** The SDK signs every request, so it needs credentials; the fake ignores them. Never real keys. */
export function useDummyAwsCredentials(): void {
  beforeAll(() => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', DUMMY_CREDENTIALS.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', DUMMY_CREDENTIALS.secretAccessKey);
    vi.stubEnv('AWS_SESSION_TOKEN', undefined);
  });
  afterAll(() => {
    vi.unstubAllEnvs();
  });
}

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

export interface HarnessOptions {
  readonly fake?: FakeRoute53Options;
  readonly config?: Partial<Omit<Route53ProviderConfig, 'type' | 'name' | 'endpoint'>>;
  readonly provider?: Partial<Omit<Route53ProviderOptions, 'config'>>;
  /** A zone to create in the fake before the test (default "example.com."); false for none. */
  readonly zone?: string | false;
}

export interface Harness {
  readonly fake: FakeRoute53;
  readonly provider: Route53Provider;
  readonly zone: string;
  /** Bare id of the zone created up front ("" when none was). */
  readonly zoneId: string;
  close(): Promise<void>;
}

/**
 * A fake and a provider tuned for speed: a high rate limit, 5 ms INSYNC polls and millisecond
 * backoffs, unless the options say otherwise.
 */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const fake = await FakeRoute53.start(options.fake);
  const zone = options.zone === false ? '' : (options.zone ?? 'example.com.');
  const zoneId = zone === '' ? '' : fake.createZone(zone).id;
  const provider = new Route53Provider({
    config: { type: 'route53', name: 'r53', endpoint: fake.endpoint, hostedZoneIds: {}, rateLimit: 1000, insyncPollIntervalMs: 5, ...options.config },
    clock: systemClock,
    logger: silentLogger(),
    env: {},
    rateBurst: 50,
    retry: { maxAttempts: 4, throttleBaseMs: 5, transientBaseMs: 2, capMs: 50 },
    ...options.provider,
  });
  return {
    fake,
    provider,
    zone,
    zoneId,
    close: async () => {
      await provider.close();
      await fake.close();
    },
  };
}

export function requestsOf(fake: FakeRoute53, operation: string): FakeRoute53Request[] {
  return fake.requests.filter((r) => r.operation === operation);
}

/** Another writer (the console, another tool) changing the zone through the API, not waiting for INSYNC. */
export async function writeBehindOurBack(fake: FakeRoute53, zoneId: string, changes: Change[]): Promise<void> {
  const client = new Route53Client({ endpoint: fake.endpoint, region: 'us-east-1', credentials: DUMMY_CREDENTIALS, maxAttempts: 1 });
  try {
    await client.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: zoneId, ChangeBatch: { Changes: changes } }));
  } finally {
    client.destroy();
  }
}
