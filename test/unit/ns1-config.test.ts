import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { ManualClock } from '../../src/lib/clock.js';
import { ConfigError, formatConfigIssue } from '../../src/lib/errors.js';
import { silentLogger } from '../../src/lib/logger.js';
import { Ns1Provider } from '../../src/providers/ns1/provider.js';
import { createProvider } from '../../src/providers/registry.js';

const FILE = '/etc/dnsquorum/dq.yaml';

function configWith(provider: string): string {
  return ['region: us-east', 'providers:', `  ns1: ${provider}`, 'zones:', '  example.com:', '    providers: [ns1]', '    records:', '      www: { type: A, value: 192.0.2.1 }', ''].join('\n');
}

function issuesOf(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfigText(text, FILE, env);
  } catch (err: unknown) {
    if (err instanceof ConfigError) return err.issues.map((i) => formatConfigIssue(i));
    throw err;
  }
  return [];
}

describe('ns1 provider config', () => {
  it('leaves the tuning keys out when none is written (the provider applies NS1_DEFAULTS)', () => {
    const config = parseConfigText(configWith('{ type: ns1, apiKey: "${NS1_API_KEY}" }'), FILE, { NS1_API_KEY: 'k-123' });
    expect(config.providers.get('ns1')).toEqual({ type: 'ns1', name: 'ns1', apiKey: 'k-123', endpoint: 'https://api.nsone.net/v1/' });
  });

  it('reads every key', () => {
    const text = configWith('{ type: ns1, apiKey: "${NS1_API_KEY}", endpoint: "http://127.0.0.1:9999/v1", requestTimeout: 5s, maxRetries: 2 }');
    expect(parseConfigText(text, FILE, { NS1_API_KEY: 'k-123' }).providers.get('ns1')).toEqual({
      type: 'ns1',
      name: 'ns1',
      apiKey: 'k-123',
      endpoint: 'http://127.0.0.1:9999/v1/',
      requestTimeoutMs: 5000,
      maxRetries: 2,
    });
  });

  it('allows maxRetries 0 (no retries within a pass)', () => {
    const text = configWith('{ type: ns1, apiKey: "${NS1_API_KEY}", maxRetries: 0 }');
    expect(parseConfigText(text, FILE, { NS1_API_KEY: 'k' }).providers.get('ns1')).toMatchObject({ maxRetries: 0 });
  });

  const PREFIX = '  ns1: { type: ns1, apiKey: "${NS1_API_KEY}", ';
  it.each([
    ['requestTimeout: 10ms', 'value', 'providers.ns1.requestTimeout:'],
    ['requestTimeout: soon', 'value', 'providers.ns1.requestTimeout: "soon" is not a duration'],
    ['maxRetries: 21', 'value', 'providers.ns1.maxRetries: 21 is out of range 0..20'],
    ['maxRetries: -1', 'value', 'providers.ns1.maxRetries: -1 is out of range 0..20'],
    ['maxRetries: two', 'value', 'providers.ns1.maxRetries: expected an integer'],
    ['rateLimit: 5', 'key', 'providers.ns1.rateLimit: does not apply to ns1 providers (only to route53)'],
  ] as const)('%s is refused at the %s, with its position', (entry, at, expected) => {
    const issues = issuesOf(configWith(`{ type: ns1, apiKey: "\${NS1_API_KEY}", ${entry} }`), { NS1_API_KEY: 'k' });
    const col = PREFIX.length + 1 + (at === 'key' ? 0 : entry.indexOf(':') + 2);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toContain(`${FILE}:3:${col}: ${expected}`);
  });

  it('maxRetries does not apply to route53 providers', () => {
    const issues = issuesOf(configWith('{ type: route53, maxRetries: 3 }'));
    expect(issues).toEqual([`${FILE}:3:${'  ns1: { type: route53, '.length + 1}: providers.ns1.maxRetries: does not apply to route53 providers (only to ns1)`]);
  });

  it('the registry builds an ns1 provider', async () => {
    const config = parseConfigText(configWith('{ type: ns1, apiKey: "${NS1_API_KEY}" }'), FILE, { NS1_API_KEY: 'k' });
    const ns1 = config.providers.get('ns1');
    if (ns1 === undefined) throw new Error('no ns1 provider');
    const provider = createProvider(ns1, { stateDir: '/tmp', clock: new ManualClock(0), logger: silentLogger() });
    expect(provider).toBeInstanceOf(Ns1Provider);
    expect(provider.capabilities.atomicBatch).toBe(false);
    await provider.close();
  });
});
