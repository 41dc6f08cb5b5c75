import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/load.js';
import type { ZoneSpec } from '../../src/domain/zone.js';
import { ConfigError } from '../../src/lib/errors.js';

const example = fileURLToPath(new URL('../../config/example.yaml', import.meta.url));
const env = { DNSQUORUM_API_TOKEN: 'api-token', DNSQUORUM_CLUSTER_SECRET: 'cluster-secret', NS1_API_KEY: 'ns1-key' };

function zone(zones: readonly ZoneSpec[], name: string): ZoneSpec | undefined {
  return zones.find((z) => z.name === name);
}

describe('config/example.yaml', () => {
  it('validates when its environment variables are set', async () => {
    const config = await loadConfigFile(example, env);
    expect(config.region).toBe('us-east');
    expect(config.stateDir).toBe('/var/lib/dnsquorum');
    expect(config.api.tokens.get('api')).toBe('api-token');
    expect(config.cluster).toMatchObject({ quorum: 2, secret: 'cluster-secret', staleAfterMs: 30_000, warmupMs: 120_000 });
    expect(config.cluster.peers.map((p) => p.region)).toEqual(['eu-west', 'ap-south']);
    expect([...config.providers.values()].map((p) => `${p.name}:${p.type}`)).toEqual(['r53:route53', 'ns1:ns1', 'lab:local']);
    expect(config.providers.get('ns1')).toMatchObject({ apiKey: 'ns1-key', endpoint: 'https://api.nsone.net/v1/' });

    const main = zone(config.zones, 'example.com.');
    expect(main?.providers).toEqual(['r53', 'ns1']);
    expect(main).toMatchObject({ drift: 'repair', maxChangeShare: 0.3 });
    expect(config.sync).toEqual({ intervalMs: 60_000, readIntervalMs: 900_000, visibleTimeoutMs: 300_000 });
    const failovers = main?.records.filter((r) => r.kind === 'failover').map((r) => `${r.name} ${r.type}`);
    expect(failovers).toEqual(['api.example.com. A', 'www.example.com. CNAME', 'smtp.example.com. A']);
    const www = main?.records.find((r) => r.name === 'www.example.com.');
    expect(www?.kind === 'failover' && www.failover.pools.map((p) => p.values)).toEqual([
      ['example.global.fastly.net.'],
      ['d111111abcdef8.cloudfront.net.'],
    ]);
    expect(main?.records.some((r) => r.kind === 'static' && r.type === 'MX')).toBe(true);
    expect(zone(config.zones, 'lab.example.com.')?.providers).toEqual(['lab']);
  });

  it('names every secret variable it needs when none is set', async () => {
    const err = await loadConfigFile(example, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    const messages = (err as ConfigError).issues.map((i) => i.message);
    expect(messages).toEqual([
      'api.token: environment variable DNSQUORUM_API_TOKEN is not set',
      'cluster.secret: environment variable DNSQUORUM_CLUSTER_SECRET is not set',
      'providers.ns1.apiKey: environment variable NS1_API_KEY is not set',
    ]);
  });
});
