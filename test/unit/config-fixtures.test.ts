import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/load.js';
import { ConfigError } from '../../src/lib/errors.js';
import type { ConfigIssue } from '../../src/lib/errors.js';

const dir = fileURLToPath(new URL('../fixtures/config/', import.meta.url));
const env = { DQ_TEST_CLUSTER_SECRET: 'cluster-secret-value', DQ_TEST_NS1_KEY: 'ns1-key-value' };

async function issuesOf(file: string, environment: NodeJS.ProcessEnv = env): Promise<readonly ConfigIssue[]> {
  try {
    await loadConfigFile(`${dir}${file}`, environment);
  } catch (err: unknown) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  return [];
}

/** One fixture per failure mode: where the loader must point, and what it must say. */
const badFixtures: readonly (readonly [file: string, line: number, col: number, reason: string])[] = [
  ['bad-apex-ns-sync.yaml', 8, 12, 'apex NS record is managed by nameservers: sync'],
  ['bad-body-match.yaml', 11, 47, 'bodyMatch: is not a valid regular expression'],
  ['bad-check-key-protocol.yaml', 11, 46, 'check.path: does not apply to tcp checks'],
  ['bad-check-protocol.yaml', 11, 30, 'expected one of http, https, tcp, dns, found the string "icmp"'],
  ['bad-check-unknown-key.yaml', 11, 36, 'check.retries: unknown key'],
  ['bad-cname-apex.yaml', 8, 12, 'a CNAME cannot be at the zone apex (example.com.)'],
  ['bad-cname-beside-other.yaml', 9, 11, 'www.example.com. has a CNAME and also TXT'],
  ['bad-cname-pool-values.yaml', 13, 38, 'a CNAME pool has exactly one value'],
  ['bad-cname-two-values.yaml', 8, 35, 'a CNAME has exactly one value, found 2'],
  ['bad-cname-when-all-down.yaml', 15, 24, 'whenAllDown: all is refused for a CNAME'],
  ['bad-duplicate-key.yaml', 2, 1, 'Map keys must be unique'],
  ['bad-duplicate-pool-name.yaml', 14, 23, 'pool name primary is used twice in this record (first at line 13)'],
  ['bad-duplicate-record.yaml', 9, 25, 'www.example.com. A is declared twice (first at line 8)'],
  ['bad-drift.yaml', 7, 12, 'zones[example.com].drift: expected one of repair, report, found the string "ignore"'],
  ['bad-duplicate-value.yaml', 8, 43, '192.0.2.1 is listed twice'],
  ['bad-duration.yaml', 5, 13, 'sync.interval: duration needs a unit, e.g. 60s'],
  ['bad-empty-pool.yaml', 14, 42, 'pool secondary has no values'],
  ['bad-empty.yaml', 1, 1, 'the file is empty'],
  ['bad-expect.yaml', 11, 50, 'expect[1]: 99 is out of range 100..599'],
  ['bad-failover-type.yaml', 10, 9, 'failover needs type A, AAAA, CNAME, not MX'],
  ['bad-failover-value.yaml', 10, 9, 'value does not apply to a failover record'],
  ['bad-fall-range.yaml', 11, 42, 'check.fall: 0 is out of range 1..20'],
  ['bad-hosted-zone.yaml', 6, 7, 'example.org. is not a zone of this config'],
  ['bad-listen.yaml', 3, 11, 'api.listen: "8053" is not host:port'],
  ['bad-literal-secret.yaml', 4, 10, 'api.token must come from an ${ENV} reference or { file: ... }, not the YAML itself'],
  ['bad-local-nameserver.yaml', 3, 59, '"ns1" is not a fully qualified host name'],
  ['bad-missing-env.yaml', 2, 11, 'stateDir: environment variable DQ_TEST_STATE_DIR is not set'],
  ['bad-missing-provider.yaml', 6, 22, 'provider "r53" is not defined under providers'],
  ['bad-missing-region.yaml', 1, 1, 'region is required'],
  ['bad-max-change-share.yaml', 7, 21, 'zones[example.com].maxChangeShare: 30 is out of range (more than 0%, at most 100%; 100% means no limit) (for 30% write "30%")'],
  ['bad-mx-value.yaml', 8, 31, 'must be "preference host"'],
  ['bad-name-outside-zone.yaml', 8, 7, '"www.example.org." is outside zone example.com.'],
  ['bad-no-pools.yaml', 12, 18, 'failover.pools: needs at least one pool'],
  ['bad-no-value.yaml', 8, 12, 'needs value, values or failover'],
  ['bad-ns1-no-apikey.yaml', 3, 8, 'providers.ns1: apiKey is required'],
  ['bad-occluded-name.yaml', 10, 16, 'www.sub.example.com. A is below the delegation sub.example.com. (NS at line 8)'],
  ['bad-peer-duplicate-region.yaml', 5, 17, 'region eu-west is listed twice'],
  ['bad-peer-own-region.yaml', 4, 17, "us-east is this replica's own region"],
  ['bad-peer-url.yaml', 4, 31, 'must be an http:// or https:// URL'],
  ['bad-peers-no-secret.yaml', 3, 3, 'cluster: secret is required when peers are set'],
  ['bad-port-range.yaml', 11, 42, 'check.port: port 70000 is out of range 1..65535'],
  ['bad-provider-key.yaml', 5, 5, 'providers.r53.apiKey: does not apply to route53 providers'],
  ['bad-provider-type.yaml', 3, 15, 'expected one of local, route53, ns1, powerdns, found the string "cloudflare"'],
  ['bad-quorum-range.yaml', 6, 11, 'quorum 3 must be between 1 and the 2 regions (us-east, eu-west)'],
  ['bad-quorum-word.yaml', 3, 11, 'expected majority or a number of regions, found "most"'],
  ['bad-quorum.yaml', 7, 11, 'quorum 1 would let one region alone fail an endpoint over'],
  ['bad-read-interval.yaml', 6, 17, 'sync.readInterval: 1m must not be shorter than sync.interval (5m)'],
  ['bad-record-name.yaml', 8, 7, '"bad_name-.x" is not a valid record name'],
  ['bad-record-type.yaml', 8, 20, 'unknown record type "ALIAS"'],
  ['bad-region-name.yaml', 1, 9, '"us east" is not a valid region name'],
  ['bad-resolve.yaml', 3, 20, 'localhost is not an IP address'],
  ['bad-rise-range.yaml', 11, 42, 'check.rise: 21 is out of range 1..20'],
  ['bad-secret-default.yaml', 3, 29, 'must be exactly one ${VAR} reference'],
  ['bad-secret-file.yaml', 5, 21, 'secrets/does-not-exist.key: no such file'],
  ['bad-soa.yaml', 8, 20, 'SOA cannot be declared'],
  ['bad-stale-interval.yaml', 11, 46, 'interval (45s) must be shorter than cluster.staleAfter (30s)'],
  ['bad-string-type.yaml', 1, 9, 'expected a string, found the number 42'],
  ['bad-tcp-no-port.yaml', 11, 18, 'port is required for tcp checks'],
  ['bad-timeout-ge-interval.yaml', 11, 69, 'timeout (2s) must be shorter than interval (2s)'],
  ['bad-top-level-list.yaml', 1, 1, 'expected a mapping, found a list'],
  ['bad-ttl-range.yaml', 8, 28, 'records.www.ttl: 700000 is out of range 1..604800'],
  ['bad-unknown-key.yaml', 8, 23, 'records.www.tll: unknown key; did you mean ttl?'],
  ['bad-unresolved-alias.yaml', 1, 9, 'alias *home has no anchor &home'],
  ['bad-value-and-values.yaml', 8, 41, 'give either value or values, not both'],
  ['bad-value-type.yaml', 8, 30, '"2001:db8::1" is not an IPv4 address'],
  ['bad-visible-timeout.yaml', 5, 19, 'sync.visibleTimeout: must be at least 1s'],
  ['bad-yaml-syntax.yaml', 4, 1, 'YAML syntax: Flow map in block collection'],
  ['bad-zone-no-providers.yaml', 4, 16, 'providers: needs at least one provider'],
];

describe('bad config fixtures', () => {
  it('covers every bad-*.yaml fixture in the table (bad-several.yaml has its own test)', () => {
    const onDisk = readdirSync(dir).filter((f) => f.startsWith('bad-') && f !== 'bad-several.yaml').sort();
    expect(badFixtures.map(([file]) => file).sort()).toEqual(onDisk);
  });

  it.each(badFixtures)('%s -> %i:%i %s', async (file, line, col, reason) => {
    const issues = await issuesOf(file);
    expect(issues).toHaveLength(1);
    const [issue] = issues;
    expect(issue).toMatchObject({ file: `${dir}${file}`, line, col });
    expect(issue?.message).toContain(reason);
  });

  it('never puts a secret value into a message', async () => {
    const all = await Promise.all(badFixtures.map(([file]) => issuesOf(file)));
    const text = all.flat().map((i) => i.message).join('\n');
    for (const secret of ['hunter2-literal-token', 'fallback-key', 'cluster-secret-value', 'ns1-key-value']) {
      expect(text).not.toContain(secret);
    }
  });
});

describe('a file with several mistakes', () => {
  it('reports every one of them, in file order', async () => {
    const issues = await issuesOf('bad-several.yaml');
    expect(issues.map((i) => [i.line, i.col, i.message])).toEqual([
      [2, 1, 'colour: unknown key; expected one of: region, stateDir, resolve, api, cluster, sync, overrides, notifications, providers, zones'],
      [4, 10, 'api.token must come from an ${ENV} reference or { file: ... }, not the YAML itself'],
      [5, 19, 'sync.interval: duration needs a unit, e.g. 10s'],
      [10, 22, 'zones[example.com].providers[1]: provider "missing" is not defined under providers (lab)'],
      [12, 12, 'zones[example.com].records[@]: a CNAME cannot be at the zone apex (example.com.), which must hold SOA and NS records'],
      [13, 28, 'zones[example.com].records.www.ttl: 0 is out of range 1..604800'],
      [13, 38, 'zones[example.com].records.www.value: "192.0.2.300" is not an IPv4 address (A record)'],
      [17, 46, 'zones[example.com].records.api.failover.check.path: does not apply to tcp checks (only to http, https)'],
      [17, 78, 'zones[example.com].records.api.failover.check.timeout: timeout (5s) must be shorter than interval (1s)'],
      [19, 40, 'zones[example.com].records.api.failover.pools[0].values: pool primary has no values; it needs at least one'],
    ]);
    expect(issues.every((i) => i.file === `${dir}bad-several.yaml`)).toBe(true);
  });

  it('lists every missing environment variable, each at its own scalar', async () => {
    const issues = await issuesOf('valid-env.yaml', {});
    expect(issues.map((i) => `${i.line}:${i.col} ${i.message}`)).toEqual([
      '7:31 providers.lab.listen: environment variable DQ_TEST_PORT is not set',
      '12:28 zones[example.com].records.www.ttl: environment variable DQ_TEST_TTL is not set',
      '17:48 zones[example.com].records.api.failover.check.tlsVerify: environment variable DQ_TEST_TLS_VERIFY is not set',
    ]);
  });
});
