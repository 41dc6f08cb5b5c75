import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfigText } from '../../src/config/load.js';
import type { ResolvedConfig } from '../../src/config/types.js';
import type { FailoverRecordSpec, RecordSpec, StaticRecordSpec, ZoneSpec } from '../../src/domain/zone.js';
import { ConfigError, formatConfigIssue } from '../../src/lib/errors.js';

const dir = fileURLToPath(new URL('../fixtures/config/', import.meta.url));
const env = { DQ_TEST_CLUSTER_SECRET: 'cluster-secret-value' };

function zone(config: ResolvedConfig, name: string): ZoneSpec {
  const found = config.zones.find((z) => z.name === name);
  if (found === undefined) throw new Error(`no zone ${name}`);
  return found;
}

function record(z: ZoneSpec, name: string, type: string): RecordSpec {
  const found = z.records.find((r) => r.name === name && r.type === type);
  if (found === undefined) throw new Error(`no record ${name} ${type}`);
  return found;
}

function staticRecord(z: ZoneSpec, name: string, type: string): StaticRecordSpec {
  const r = record(z, name, type);
  if (r.kind !== 'static') throw new Error('not static');
  return r;
}

function failoverRecord(z: ZoneSpec, name: string, type: string): FailoverRecordSpec {
  const r = record(z, name, type);
  if (r.kind !== 'failover') throw new Error('not failover');
  return r;
}

function issuesOf(text: string, environment: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfigText(text, '/etc/dnsquorum/dq.yaml', environment, () => 'file-secret');
  } catch (err: unknown) {
    if (err instanceof ConfigError) return err.issues.map((i) => formatConfigIssue(i));
    throw err;
  }
  return [];
}

describe('defaults', () => {
  it('fills in every default of a minimal config', async () => {
    const config = await loadConfigFile(`${dir}valid-minimal.yaml`, {});
    expect(config.source).toBe(`${dir}valid-minimal.yaml`);
    expect(config.region).toBe('us-east');
    expect(config.stateDir).toBe(join(dir, 'state'));
    expect(config.resolve.size).toBe(0);
    expect(config.api.listen).toEqual({ host: '127.0.0.1', port: 8053 });
    expect([...config.api.tokens]).toEqual([]);
    expect(config.overrides).toEqual({ defaultDurationMs: 3_600_000, maxDurationMs: 86_400_000 });
    expect(config.cluster).toEqual({ peers: [], quorum: 1, staleAfterMs: 30_000, warmupMs: 120_000, writer: true, exchangeIntervalMs: 2_000 });
    expect(config.sync).toEqual({ intervalMs: 60_000, readIntervalMs: 900_000, visibleTimeoutMs: 300_000 });
    expect(config.providers.get('lab')).toEqual({
      type: 'local',
      name: 'lab',
      listen: { host: '127.0.0.1', port: 5301 },
      nameserver: 'ns1.example.com.',
    });
    const z = zone(config, 'example.com.');
    expect(z).toMatchObject({ providers: ['lab'], nameservers: 'sync', nameserverTtl: 3600, unmanaged: 'keep', drift: 'repair', maxChangeShare: 0.3 });
    expect(staticRecord(z, 'www.example.com.', 'A')).toEqual({ kind: 'static', name: 'www.example.com.', type: 'A', ttl: 300, values: ['192.0.2.1'] });
    expect(failoverRecord(z, 'api.example.com.', 'A').failover).toEqual({
      check: {
        protocol: 'http',
        port: 80,
        path: '/',
        expect: [200],
        host: 'api.example.com',
        sni: 'api.example.com',
        tlsVerify: true,
        intervalMs: 10_000,
        timeoutMs: 2_000,
        fall: 3,
        rise: 3,
      },
      pools: [{ name: 'primary', values: ['192.0.2.10'] }],
      whenAllDown: 'keep-last',
      holdDownMs: 0,
      maxWritesPerHour: 12,
    });
  });

  it.each([
    ['https', { port: 443, path: '/', expect: [200] }],
    ['dns', { port: 53, query: 'api.example.com.', queryType: 'A', expectRcode: 'NOERROR' }],
  ])('gives a %s check its protocol defaults', (protocol, expected) => {
    const text = `region: r1\nproviders: { lab: { type: local, listen: "127.0.0.1:5301", nameserver: ns.example.com } }\nzones:\n  example.com:\n    providers: [lab]\n    records:\n      api: { type: A, failover: { check: { protocol: ${protocol} }, pools: [{ name: p, values: [192.0.2.1] }] } }\n`;
    const config = parseConfigText(text, '/x/dq.yaml', {});
    const check = failoverRecord(zone(config, 'example.com.'), 'api.example.com.', 'A').failover.check;
    expect(check).toMatchObject({ protocol, ...expected, intervalMs: 10_000, timeoutMs: 2_000 });
  });
});

describe('resolution and normalisation', () => {
  it('normalises names, values, addresses and durations', async () => {
    const config = await loadConfigFile(`${dir}valid-everything.yaml`, env);
    expect(config.stateDir).toBe('/var/lib/dnsquorum');
    expect([...config.resolve]).toEqual([
      ['ns1.example.net', { host: '127.0.0.1', port: 5391 }],
      ['ns6.example.net', { host: '::1', port: 5353 }],
    ]);
    expect(config.api.listen).toEqual({ host: '::1', port: 0 });
    expect(config.cluster).toMatchObject({ quorum: 3, staleAfterMs: 90_000, warmupMs: 0, secret: 'cluster-secret-value' });
    expect(config.sync).toEqual({ intervalMs: 30_000, readIntervalMs: 600_000, visibleTimeoutMs: 120_000 });
    expect(config.providers.get('r53')).toEqual({
      type: 'route53',
      name: 'r53',
      endpoint: 'http://127.0.0.1:4566',
      hostedZoneIds: { 'example.com.': 'Z0001' },
    });
    expect(config.providers.get('bare53')).toEqual({ type: 'route53', name: 'bare53', hostedZoneIds: {} });

    const z = zone(config, 'example.com.');
    expect(z).toMatchObject({ nameservers: 'manual', nameserverTtl: 86400, unmanaged: 'delete', drift: 'report', maxChangeShare: 0.125 });
    expect(staticRecord(z, 'example.com.', 'NS').values).toEqual(['ns-1.awsdns-01.org.', 'ns-2.awsdns-02.co.uk.']);
    expect(staticRecord(z, 'example.com.', 'MX').values).toEqual(['10 mail.example.com.', '0 .']);
    expect(staticRecord(z, 'example.com.', 'CAA').values).toEqual(['0 issue "letsencrypt.org"']);
    expect(staticRecord(z, 'v6.example.com.', 'AAAA').values).toEqual(['2001:db8::1', '2001:db8::2']);
    expect(staticRecord(z, '*.dev.example.com.', 'A').values).toEqual(['192.0.2.7']);
    expect(staticRecord(z, 'a.b.example.com.', 'TXT').values).toEqual(['']);
    expect(staticRecord(z, '_sip._tcp.example.com.', 'SRV').values).toEqual(['10 5 5060 sip.example.com.']);
    expect(staticRecord(z, '7.example.com.', 'PTR').values).toEqual(['host7.example.com.']);

    const probe = failoverRecord(z, 'dnsprobe.example.com.', 'AAAA');
    expect(probe.ttl).toBe(20);
    expect(probe.failover).toEqual({
      check: {
        protocol: 'dns',
        port: 53,
        query: 'dnsprobe.example.com.',
        queryType: 'AAAA',
        expectRcode: 'NXDOMAIN',
        expectAnswer: '2001:db8::53',
        intervalMs: 500,
        timeoutMs: 250,
        fall: 1,
        rise: 20,
      },
      pools: [{ name: 'a', values: ['2001:db8::53'] }],
      whenAllDown: 'keep-last',
      holdDownMs: 3_600_000,
      maxWritesPerHour: 1,
    });

    const cdn = failoverRecord(z, 'cdn.example.com.', 'CNAME');
    expect(cdn.failover.check).toEqual({
      protocol: 'https',
      port: 8443,
      path: '/',
      expect: [204],
      bodyMatch: '^ok$',
      host: 'cdn.example.com',
      sni: 'origin.example.net',
      tlsVerify: false,
      intervalMs: 10_000,
      timeoutMs: 2_000,
      fall: 3,
      rise: 3,
    });
    expect(cdn.failover.pools).toEqual([
      { name: 'one', values: ['one.cdn.example.net.'] },
      { name: 'two', values: ['two.cdn.example.net.'] },
    ]);
    expect(cdn.failover.whenAllDown).toBe('fail-closed');
  });

  it('keeps records in the order they are written', async () => {
    const config = await loadConfigFile(`${dir}valid-everything.yaml`, env);
    expect(zone(config, 'example.com.').records.map((r) => `${r.name} ${r.type}`)).toEqual([
      'example.com. NS',
      'example.com. MX',
      'example.com. CAA',
      'v6.example.com. AAAA',
      '*.dev.example.com. A',
      'a.b.example.com. TXT',
      '_sip._tcp.example.com. SRV',
      '7.example.com. PTR',
      'dnsprobe.example.com. AAAA',
      'cdn.example.com. CNAME',
    ]);
  });
});

describe('region and cluster', () => {
  const base = 'region: us-east\n';

  it('lets DNSQUORUM_REGION override the file and stand in for a missing region', () => {
    expect(parseConfigText(base, '/x/dq.yaml', { DNSQUORUM_REGION: 'eu-west' }).region).toBe('eu-west');
    expect(parseConfigText('stateDir: /s\n', '/x/dq.yaml', { DNSQUORUM_REGION: 'ap-south' }).region).toBe('ap-south');
    expect(issuesOf(base, { DNSQUORUM_REGION: 'not a region' })).toEqual([
      '/etc/dnsquorum/dq.yaml:1:9: DNSQUORUM_REGION: "not a region" is not a valid region name (letters, digits, . _ -; at most 63)',
    ]);
  });

  it('refuses a peer that repeats the region DNSQUORUM_REGION sets', () => {
    const text = `${base}cluster:\n  peers: [{ region: eu-west, url: "https://x.example.net" }]\n  secret: \${S}\n`;
    expect(issuesOf(text, { S: 's', DNSQUORUM_REGION: 'eu-west' })).toEqual([
      "/etc/dnsquorum/dq.yaml:3:21: cluster.peers[0].region: eu-west is this replica's own region; list only the other regions as peers",
    ]);
  });

  function peers(n: number): string {
    if (n === 0) return ' []\n';
    return `\n${Array.from({ length: n }, (_, i) => `    - { region: r${i}, url: "https://r${i}.example.net" }\n`).join('')}`;
  }

  it.each([
    [0, 'majority', 1],
    [1, 'majority', 2],
    [2, 'majority', 2],
    [3, 'majority', 3],
    [4, 'majority', 3],
    [0, '1', 1],
    [1, '2', 2],
    [2, '2', 2],
    [2, '3', 3],
    [0, '"${Q}"', 1],
  ])('with %i peers, quorum %s resolves to %i', (n, quorum, expected) => {
    const text = `${base}cluster:\n  peers:${peers(n)}  secret: \${S}\n  quorum: ${quorum}\n`;
    expect(parseConfigText(text, '/x/dq.yaml', { S: 's', Q: '1' }).cluster.quorum).toBe(expected);
  });

  it.each([
    [0, '0', 'quorum 0 must be between 1 and the 1 region (us-east)'],
    [0, '2', 'quorum 2 must be between 1 and the 1 region (us-east)'],
    [1, '1', 'quorum 1 would let one region alone fail an endpoint over; with 2 regions (us-east, r0) it must be at least 2'],
    [2, '4', 'quorum 4 must be between 1 and the 3 regions'],
    [1, '1.5', 'expected an integer, found the number 1.5'],
  ])('with %i peers, quorum %s is refused', (n, quorum, reason) => {
    const text = `${base}cluster:\n  peers:${peers(n)}  secret: \${S}\n  quorum: ${quorum}\n`;
    const issues = issuesOf(text, { S: 's' });
    expect(issues).toHaveLength(1);
    expect(issues[0]).toContain(reason);
  });
});

describe('cluster writer and exchangeInterval', () => {
  it.each([
    ['{ writer: false }', { writer: false, exchangeIntervalMs: 2_000 }],
    ['{ exchangeInterval: 200ms, staleAfter: 2s }', { writer: true, exchangeIntervalMs: 200 }],
  ])('cluster: %s resolves to %j', (cluster, expected) => {
    expect(parseConfigText(`region: r\ncluster: ${cluster}\n`, '/x/dq.yaml', {}).cluster).toMatchObject(expected);
  });

  it.each([
    ['{ writer: maybe }', 'cluster.writer'],
    ['{ exchangeInterval: 30s }', 'exchangeInterval (30s) must be shorter than staleAfter (30s)'],
    ['{ exchangeInterval: 5ms }', 'cluster.exchangeInterval: must be at least 10ms'],
  ])('cluster: %s is refused, naming %s', (cluster, expected) => {
    const issues = issuesOf(`region: r\ncluster: ${cluster}\n`);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toContain(expected);
  });
});

describe('sync timing', () => {
  it.each([
    ['{ interval: 30s }', { intervalMs: 30_000, readIntervalMs: 900_000, visibleTimeoutMs: 300_000 }],
    // The default readInterval follows a longer interval, so setting interval alone is never an error.
    ['{ interval: 30m }', { intervalMs: 1_800_000, readIntervalMs: 1_800_000, visibleTimeoutMs: 300_000 }],
    ['{ interval: 1m, readInterval: 1m, visibleTimeout: 1s }', { intervalMs: 60_000, readIntervalMs: 60_000, visibleTimeoutMs: 1_000 }],
    ['{ readInterval: 1h, visibleTimeout: 10m }', { intervalMs: 60_000, readIntervalMs: 3_600_000, visibleTimeoutMs: 600_000 }],
    ['{ readInterval: "${R}" }', { intervalMs: 60_000, readIntervalMs: 120_000, visibleTimeoutMs: 300_000 }],
  ])('sync: %s resolves to %j', (sync, expected) => {
    expect(parseConfigText(`region: r\nsync: ${sync}\n`, '/x/dq.yaml', { R: '2m' }).sync).toEqual(expected);
  });

  it.each([
    ['{ readInterval: 30s }', '2:23: sync.readInterval: 30s must not be shorter than sync.interval (1m)'],
    ['{ interval: 10m, readInterval: 9m59s }', '2:38: sync.readInterval: 9m59s must not be shorter than sync.interval (10m)'],
    ['{ readInterval: 999ms }', '2:23: sync.readInterval: must be at least 1s'],
    ['{ readInterval: 15 }', '2:23: sync.readInterval: duration needs a unit, e.g. 15s'],
    ['{ visibleTimeout: 0s }', '2:25: sync.visibleTimeout: must be at least 1s'],
    ['{ visibleTimeout: soon }', '2:25: sync.visibleTimeout: "soon" is not a duration'],
    ['{ readIntreval: 1h }', '2:9: sync.readIntreval: unknown key; did you mean readInterval?'],
  ])('sync: %s is refused at %s', (sync, expected) => {
    const issues = issuesOf(`region: r\nsync: ${sync}\n`);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toContain(`/etc/dnsquorum/dq.yaml:${expected}`);
  });
});

describe('zone drift and maxChangeShare', () => {
  const zoneText = (keys: string): string =>
    `region: r\nproviders: { lab: { type: local, listen: "127.0.0.1:5301", nameserver: ns.example.com } }\nzones:\n  example.com:\n    providers: [lab]\n${keys}`;

  it.each([
    ['drift: report', { drift: 'report', maxChangeShare: 0.3 }],
    ['drift: repair', { drift: 'repair', maxChangeShare: 0.3 }],
    ['maxChangeShare: 30%', { drift: 'repair', maxChangeShare: 0.3 }],
    ['maxChangeShare: 12.5%', { drift: 'repair', maxChangeShare: 0.125 }],
    ['maxChangeShare: 100%', { drift: 'repair', maxChangeShare: 1 }],
    ['maxChangeShare: 0.05', { drift: 'repair', maxChangeShare: 0.05 }],
    ['maxChangeShare: 1', { drift: 'repair', maxChangeShare: 1 }],
    ['maxChangeShare: "${SHARE}"', { drift: 'repair', maxChangeShare: 0.9 }],
    ['maxChangeShare: "${PERCENT}"', { drift: 'repair', maxChangeShare: 0.45 }],
  ])('%s resolves to %j', (keys, expected) => {
    const config = parseConfigText(zoneText(`    ${keys}\n`), '/x/dq.yaml', { SHARE: '0.9', PERCENT: '45%' });
    expect(zone(config, 'example.com.')).toMatchObject(expected);
  });

  it.each([
    ['drift: fix', 'drift: expected one of repair, report, found the string "fix"'],
    ['maxChangeShare: 0%', 'maxChangeShare: 0% is out of range (more than 0%, at most 100%; 100% means no limit)'],
    ['maxChangeShare: 0', 'maxChangeShare: 0 is out of range'],
    ['maxChangeShare: 150%', 'maxChangeShare: 150% is out of range'],
    ['maxChangeShare: 1.5', 'maxChangeShare: 1.5 is out of range (more than 0%, at most 100%; 100% means no limit) (for 1.5% write "1.5%")'],
    ['maxChangeShare: 30', 'maxChangeShare: 30 is out of range (more than 0%, at most 100%; 100% means no limit) (for 30% write "30%")'],
    ['maxChangeShare: -10%', 'maxChangeShare: expected a share, found the string "-10%"'],
    ['maxChangeShare: "0.3"', 'maxChangeShare: expected a share, found the string "0.3"; write a percentage such as 30% or a fraction such as 0.3'],
    ['maxChangeShare: true', 'maxChangeShare: expected a share, found the boolean true'],
    ['maxChangeShare: [30%]', 'maxChangeShare: expected a share, found a list'],
    ['maxChangeShare:', 'maxChangeShare: needs a value (or leave the key out for the default)'],
  ])('%s is refused', (keys, reason) => {
    const issues = issuesOf(zoneText(`    ${keys}\n`));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toContain(`/etc/dnsquorum/dq.yaml:6:`);
    expect(issues[0]).toContain(`zones[example.com].${reason}`);
  });
});

describe('secrets', () => {
  it('reads secrets from files next to the config, trimming the trailing newline', async () => {
    const config = await loadConfigFile(`${dir}valid-secrets.yaml`, env);
    expect(config.api.tokens.get('api')).toBe('ns1-key-from-file');
    expect(config.cluster.secret).toBe('cluster-secret-value');
    const ns1 = config.providers.get('ns1');
    expect(ns1).toEqual({ type: 'ns1', name: 'ns1', apiKey: 'ns1-key-from-file', endpoint: 'http://127.0.0.1:9999/v1/' });
  });

  it('resolves a relative secret file against the config file and uses the injected reader', () => {
    const asked: string[] = [];
    const config = parseConfigText('region: r\napi: { token: { file: tok.txt } }\n', '/etc/dq/dq.yaml', {}, (path) => {
      asked.push(path);
      return 'from-reader\r\n';
    });
    expect(asked).toEqual(['/etc/dq/tok.txt']);
    expect(config.api.tokens.get('api')).toBe('from-reader');
  });

  it.each([
    ['api: { token: { file: /secrets/empty } }', () => '\n', '2:23: api.token.file: secret file /secrets/empty is empty'],
    ['api: { token: "${EMPTY}" }', () => 'x', '2:15: api.token: environment variable EMPTY is empty'],
    ['api: { token: "Bearer ${TOKEN}" }', () => 'x', '2:15: api.token: must be exactly one ${VAR} reference'],
    ['api: { token: 123456 }', () => 'x', '2:15: api.token must come from an ${ENV} reference or { file: ... }, not the YAML itself'],
    ['api: { token: [a] }', () => 'x', '2:15: api.token: expected a ${VAR} reference or { file: ... }, found a list'],
    ['api: { token: { file: /x, path: /y } }', () => 'x', '2:27: api.token.path: unknown key; expected one of: file'],
    [
      'cluster: { secret: { file: /nope } }',
      () => {
        throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
      },
      '2:28: cluster.secret.file: cannot read secret file /nope: permission denied',
    ],
  ])('refuses %s', (line, reader, expected) => {
    let issues: string[] = [];
    try {
      parseConfigText(`region: r\n${line}\n`, '/c/dq.yaml', { EMPTY: '', TOKEN: 'tok-value' }, reader);
    } catch (err: unknown) {
      if (!(err instanceof ConfigError)) throw err;
      issues = err.issues.map((i) => `${i.line}:${i.col}: ${i.message}`);
    }
    expect(issues).toHaveLength(1);
    expect(issues[0]).toContain(expected);
    expect(issues[0]).not.toContain('tok-value');
  });
});

describe('environment references', () => {
  it('expands ${VAR} and ${VAR:-default} everywhere, typing numbers and booleans from the environment', async () => {
    const config = await loadConfigFile(`${dir}valid-env.yaml`, {
      DQ_TEST_PORT: '5333',
      DQ_TEST_TTL: '42',
      DQ_TEST_TLS_VERIFY: 'false',
      DQ_TEST_SYNC: '',
    });
    expect(config.region).toBe('eu-west');
    expect(config.stateDir).toBe(join(dir, 'relative/state'));
    expect(config.sync.intervalMs).toBe(90_000);
    expect(config.providers.get('lab')).toMatchObject({ listen: { host: '127.0.0.1', port: 5333 } });
    const z = zone(config, 'example.com.');
    expect(staticRecord(z, 'www.example.com.', 'A').ttl).toBe(42);
    expect(staticRecord(z, 'note.example.com.', 'TXT').values).toEqual(['cost ${HOME} and $$5']);
    expect(failoverRecord(z, 'api.example.com.', 'A').failover.check).toMatchObject({ tlsVerify: false, host: 'api.example.com' });
  });

  it('takes the variable over the default when it is set', async () => {
    const config = await loadConfigFile(`${dir}valid-env.yaml`, {
      DQ_TEST_REGION: 'ap-south',
      DQ_TEST_PORT: '5333',
      DQ_TEST_TTL: '42',
      DQ_TEST_TLS_VERIFY: 'true',
      DQ_TEST_HOST: 'v2.',
    });
    expect(config.region).toBe('ap-south');
    const check = failoverRecord(zone(config, 'example.com.'), 'api.example.com.', 'A').failover.check;
    expect(check).toMatchObject({ tlsVerify: true, host: 'v2.api.example.com' });
  });

  it('points an unquoted ${VAR} in flow style at the cause', () => {
    const issues = issuesOf('region: r\napi: { token: ${T} }\n', { T: 't' });
    expect(issues[0]).toBe('/etc/dnsquorum/dq.yaml:2:16: YAML syntax: Unexpected flow-map-start at node end (quote values holding ${VAR} inside { } or [ ])');
  });
});

describe('the result', () => {
  it('is frozen all the way down, maps included', async () => {
    const config = await loadConfigFile(`${dir}valid-everything.yaml`, env);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.cluster.peers)).toBe(true);
    expect(Object.isFrozen(config.cluster.peers[0])).toBe(true);
    expect(Object.isFrozen(config.zones[0]?.records[0])).toBe(true);
    const r53 = config.providers.get('r53');
    expect(r53 !== undefined && Object.isFrozen(r53)).toBe(true);
    expect(r53?.type === 'route53' && Object.isFrozen(r53.hostedZoneIds)).toBe(true);
    expect(Object.isFrozen(config.resolve.get('ns1.example.net'))).toBe(true);
    expect(() => {
      (config as { region: string }).region = 'elsewhere';
    }).toThrow(TypeError);
    expect('set' in config.providers).toBe(false);
    expect('delete' in config.resolve).toBe(false);
    expect(new Map(config.providers).size).toBe(2);
  });
});

describe('files', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'dq-config-'));
  afterAll(() => {
    rmSync(tmp, { recursive: true, force: true });
  });

  it('reports a file that cannot be read as an issue at 1:1', async () => {
    const missing = join(tmp, 'nope.yaml');
    const err = await loadConfigFile(missing, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('DQ_CONFIG_INVALID');
    expect((err as ConfigError).issues).toEqual([{ file: missing, line: 1, col: 1, message: 'cannot read the config file: no such file' }]);
  });

  it('reports a directory given as the config file', async () => {
    const err = await loadConfigFile(tmp, {}).catch((e: unknown) => e);
    expect((err as ConfigError).issues[0]?.message).toBe('cannot read the config file: is a directory, not a file');
  });

  it('names the file as given in issues and resolves stateDir against its directory', async () => {
    const file = join(tmp, 'dq.yaml');
    writeFileSync(file, 'region: r\nstateDir: data\n');
    const config = await loadConfigFile(file, {});
    expect(config.stateDir).toBe(join(tmp, 'data'));
    expect(config.source).toBe(file);
  });

  it('refuses several YAML documents in one file', () => {
    expect(issuesOf('region: a\n---\nregion: b\n')).toEqual([
      '/etc/dnsquorum/dq.yaml:2:1: the file holds several YAML documents (---); dnsquorum reads exactly one',
    ]);
  });

  it('stops a syntax error cascade after a few lines', () => {
    const text = `zones:\n  a: {${'\n  b: ]'.repeat(30)}\n`;
    const issues = issuesOf(text);
    expect(issues.length).toBeLessThanOrEqual(11);
    expect(issues.at(-1)).toMatch(/more errors after this one/);
  });
});

describe('syntax errors', () => {
  it('do not quote the offending token, which may be a pasted secret', () => {
    const issues = issuesOf('region: r\napi: {token: ${X},\n  supersecret: 1}\n', { X: 'x' });
    expect(issues).toContain('/etc/dnsquorum/dq.yaml:3:3: YAML syntax: Unexpected scalar token in YAML stream');
    expect(issues.join('\n')).not.toContain('supersecret');
  });
});
