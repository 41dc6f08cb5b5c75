import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { RECORD_TYPES } from '../../src/domain/record.js';
import { ManualClock } from '../../src/lib/clock.js';
import { ConfigError, formatConfigIssue } from '../../src/lib/errors.js';
import { silentLogger } from '../../src/lib/logger.js';
import { createProvider } from '../../src/providers/registry.js';
import { Route53Provider } from '../../src/providers/route53/provider.js';

function configWith(provider: string): string {
  return [
    'region: us-east',
    'providers:',
    `  r53: ${provider}`,
    'zones:',
    '  example.com:',
    '    providers: [r53]',
    '    records:',
    '      www: { type: A, value: 192.0.2.1 }',
    '',
  ].join('\n');
}

function issuesOf(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfigText(text, '/etc/dnsquorum/dq.yaml', env);
  } catch (err: unknown) {
    if (err instanceof ConfigError) return err.issues.map((i) => formatConfigIssue(i));
    throw err;
  }
  return [];
}

describe('route53 provider config', () => {
  it('leaves every tuning key out when none is written (the provider applies ROUTE53_DEFAULTS)', () => {
    const config = parseConfigText(configWith('{ type: route53 }'), '/etc/dnsquorum/dq.yaml', {});
    expect(config.providers.get('r53')).toEqual({ type: 'route53', name: 'r53', hostedZoneIds: {} });
  });

  it('reads every key', () => {
    const text = configWith(
      '{ type: route53, endpoint: "http://127.0.0.1:4566", hostedZoneIds: { example.com: Z0001 }, rateLimit: 2.5, insyncTimeout: 2m, insyncPollInterval: 500ms, requestTimeout: 10s, maxBatchRecords: 200 }',
    );
    const config = parseConfigText(text, '/etc/dnsquorum/dq.yaml', {});
    expect(config.providers.get('r53')).toEqual({
      type: 'route53',
      name: 'r53',
      endpoint: 'http://127.0.0.1:4566',
      hostedZoneIds: { 'example.com.': 'Z0001' },
      rateLimit: 2.5,
      insyncTimeoutMs: 120_000,
      insyncPollIntervalMs: 500,
      requestTimeoutMs: 10_000,
      maxBatchRecords: 200,
    });
  });

  it('takes a rate from an environment reference', () => {
    const config = parseConfigText(configWith('{ type: route53, rateLimit: "${R53_RATE}" }'), '/etc/dnsquorum/dq.yaml', { R53_RATE: '8' });
    expect(config.providers.get('r53')).toMatchObject({ rateLimit: 8 });
  });

  it.each([
    ['rateLimit: 0', '3:36: providers.r53.rateLimit: 0 is out of range: more than 0 and at most 10000 requests per second'],
    ['rateLimit: fast', '3:36: providers.r53.rateLimit: expected a number of requests per second, found "fast"'],
    ['rateLimit: [1]', '3:36: providers.r53.rateLimit: expected a number of requests per second, found a list'],
    ['maxBatchRecords: 1001', '3:42: providers.r53.maxBatchRecords: 1001 is out of range 1..1000'],
    ['maxBatchRecords: 0', '3:42: providers.r53.maxBatchRecords: 0 is out of range 1..1000'],
    ['insyncTimeout: 5', '3:40: providers.r53.insyncTimeout: duration needs a unit, e.g. 5s'],
    ['insyncTimeout: 10s, insyncPollInterval: 10s', '3:45: providers.r53.insyncPollInterval: insyncPollInterval (10s) must be shorter than insyncTimeout (10s)'],
    ['insyncPollInterval: 6m', '3:25: providers.r53.insyncPollInterval: insyncPollInterval (6m) must be shorter than insyncTimeout (5m)'],
    ['insyncTimeout: 1s', '3:25: providers.r53.insyncTimeout: insyncPollInterval (2s) must be shorter than insyncTimeout (1s)'],
    ['requestTimeout: 10ms', '3:41: providers.r53.requestTimeout: must be at least 100ms'],
    ['insyncTimout: 1m', '3:25: providers.r53.insyncTimout: unknown key; did you mean insyncTimeout?'],
  ])('refuses %s with its position', (keys, issue) => {
    expect(issuesOf(configWith(`{ type: route53, ${keys} }`))).toEqual([`/etc/dnsquorum/dq.yaml:${issue}`]);
  });

  it('names the route53 keys as misplaced on another provider type', () => {
    const issues = issuesOf(configWith('{ type: local, listen: "127.0.0.1:5301", nameserver: ns1.example.com, rateLimit: 5 }'));
    expect(issues).toEqual(['/etc/dnsquorum/dq.yaml:3:78: providers.r53.rateLimit: does not apply to local providers (only to route53)']);
  });
});

describe('route53 in the registry', () => {
  it('builds a Route53Provider with the configured rate and Route53 capabilities, without any request', async () => {
    const provider = createProvider(
      { type: 'route53', name: 'r53', endpoint: 'http://127.0.0.1:9', hostedZoneIds: {}, rateLimit: 2 },
      { stateDir: '/nonexistent', clock: new ManualClock(0), logger: silentLogger() },
    );
    try {
      if (!(provider instanceof Route53Provider)) throw new Error('not a Route53Provider');
      expect(provider.type).toBe('route53');
      expect(provider.capabilities.atomicBatch).toBe(true);
      expect(provider.capabilities.maxBatchSize).toBe(1000);
      expect([...provider.capabilities.recordTypes].sort()).toEqual([...RECORD_TYPES].sort());
      expect(provider.rateLimiter.ratePerSecond).toBe(2);
      expect(provider.stats.attempts).toBe(0);
    } finally {
      await provider.close();
    }
  });

  it('falls back to the default rate of 5 per second', async () => {
    const provider = createProvider({ type: 'route53', name: 'r53', hostedZoneIds: {} }, { stateDir: '/nonexistent', clock: new ManualClock(0), logger: silentLogger() });
    expect(provider instanceof Route53Provider && provider.rateLimiter.ratePerSecond).toBe(5);
    await provider.close();
  });
});
