import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostPort } from '../../src/config/types.js';
import { fqdn, normalizeRecordSet } from '../../src/domain/record.js';
import type { RecordSet, RecordType } from '../../src/domain/record.js';
import { FakeNs1 } from '../../fakes/ns1/server.js';
import { FakeRoute53 } from '../../fakes/route53/server.js';

/**
 * What the CLI acceptance tests of issue 5 share: the fake Route53 and the fake NS1 in the test
 * process, each serving its zones over DNS on loopback with 4 name servers, a zone created at both
 * (so its 8 name server names are known for `resolve:`), and configs written to a temporary
 * directory for the built CLI to read.
 */

/** NS1's default limits would pace a 200-record sync over minutes; these never get in the way. */
const GENEROUS = { limit: 100_000, periodSeconds: 1 };

/** A record as the config writes it (relative name) and as every provider must end up holding it. */
export interface TestRecord {
  readonly name: string;
  readonly type: Extract<RecordType, 'A' | 'AAAA' | 'CNAME' | 'MX'>;
  readonly ttl: number;
  readonly values: readonly string[];
}

/** `count` static records: A hosts, then one each of CNAME, AAAA and MX. */
export function testRecords(count: number): TestRecord[] {
  const extra: TestRecord[] = [
    { name: 'www', type: 'CNAME', ttl: 300, values: ['edge.example.net.'] },
    { name: 'v6', type: 'AAAA', ttl: 600, values: ['2001:db8::1', '2001:db8::2'] },
    { name: 'mail', type: 'MX', ttl: 900, values: ['10 mx1.example.net.', '20 mx2.example.net.'] },
  ];
  const hosts = Array.from({ length: count - extra.length }, (_, i): TestRecord => ({
    name: `host${i}`,
    type: 'A',
    ttl: 60 + (i % 5) * 60,
    values: [`192.0.2.${(i % 250) + 1}`, `198.51.${Math.floor(i / 250)}.${(i % 250) + 1}`],
  }));
  return [...hosts, ...extra];
}

export function recordYaml(r: TestRecord): string {
  return `      ${r.name}: { type: ${r.type}, ttl: ${r.ttl}, values: [${r.values.map((v) => JSON.stringify(v)).join(', ')}] }`;
}

/** The record set a provider must hold for a test record. */
export function recordSetOf(zone: string, r: TestRecord): RecordSet {
  return normalizeRecordSet({ name: `${r.name}.${fqdn(zone)}`, type: r.type, ttl: r.ttl, values: [...r.values] });
}

export interface TwoFakes {
  readonly zone: string;
  readonly route53: FakeRoute53;
  readonly ns1: FakeNs1;
  /** The zone's name servers at each fake (FQDNs). */
  readonly r53Servers: readonly string[];
  readonly ns1Servers: readonly string[];
  /** Environment for the CLI: AWS credentials for the SDK, the NS1 API key. */
  readonly env: NodeJS.ProcessEnv;
  readonly dir: string;
  /** Writes a config of `zones` (YAML under zones:), every name server mapped by `resolve:`; `moved` sends some elsewhere. */
  writeConfig(name: string, zones: string, moved?: ReadonlyMap<string, HostPort>): Promise<string>;
  close(): Promise<void>;
}

export async function startTwoFakes(zone: string): Promise<TwoFakes> {
  const [route53, ns1] = await Promise.all([
    FakeRoute53.start(),
    FakeNs1.start({ rateLimits: { GET: GENEROUS, PUT: GENEROUS, POST: GENEROUS, DELETE: GENEROUS } }),
  ]);
  const r53Servers = route53.createZone(zone).nameservers.map(fqdn);
  const ns1Servers = ns1.createZone(zone).dnsServers.map(fqdn);
  const dir = await mkdtemp(join(tmpdir(), 'dq-two-fakes-'));
  const address = (a: HostPort): string => `${a.host}:${a.port}`;
  const resolveLines = (moved: ReadonlyMap<string, HostPort>): string =>
    [...r53Servers.map((s) => [s, route53.dnsAddress] as const), ...ns1Servers.map((s) => [s, ns1.dnsAddress] as const)]
      .map(([server, at]) => `  ${server.slice(0, -1)}: ${address(moved.get(server) ?? at)}`)
      .join('\n');
  return {
    zone: fqdn(zone),
    route53,
    ns1,
    r53Servers,
    ns1Servers,
    dir,
    env: {
      AWS_ACCESS_KEY_ID: 'AKIDDNSQUORUMTEST',
      AWS_SECRET_ACCESS_KEY: 'dnsquorum-test-secret',
      AWS_SESSION_TOKEN: '',
      AWS_REGION: '',
      AWS_PROFILE: '',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      NS1_API_KEY: ns1.apiKey,
    },
    async writeConfig(name, zones, moved = new Map()) {
      const file = join(dir, name);
      await writeFile(
        file,
        `region: test
stateDir: ${join(dir, 'state')}
resolve:
${resolveLines(moved)}
providers:
  r53: { type: route53, endpoint: ${route53.endpoint}, rateLimit: 500, insyncPollInterval: 10ms, requestTimeout: 10s }
  ns1: { type: ns1, apiKey: "\${NS1_API_KEY}", endpoint: ${ns1.endpoint}, requestTimeout: 10s }
zones:
${zones}
`,
      );
      return file;
    },
    async close() {
      await Promise.all([route53.close(), ns1.close()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** What the fake Route53 holds, as record sets (apex SOA left out: it is the provider's own). */
export function route53Holds(fakes: TwoFakes): RecordSet[] {
  return fakes.route53
    .zoneRecords(fakes.zone)
    .filter((r) => r.type !== 'SOA')
    .map((r) => normalizeRecordSet({ name: r.name, type: r.type as RecordType, ttl: r.ttl, values: [...r.values] }));
}

/** What the fake NS1 holds, as record sets. MX answers are [preference, host] there. */
export function ns1Holds(fakes: TwoFakes): RecordSet[] {
  return fakes.ns1.zoneRecords(fakes.zone).map((r) =>
    normalizeRecordSet({ name: r.domain, type: r.type as RecordType, ttl: r.ttl, values: r.answers.map((a) => a.answer.map(String).join(' ')) }),
  );
}
