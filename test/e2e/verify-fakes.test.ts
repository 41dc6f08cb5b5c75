import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeNs1 } from '../../fakes/ns1/server.js';
import { FakeRoute53 } from '../../fakes/route53/server.js';
import type { VerifyReport } from '../../src/verify/verify.js';
import { runCli } from '../helpers/cli.js';

/**
 * `dnsquorum verify` as a real process against the fake Route53 and the fake NS1 (in-process),
 * each serving its zones over DNS; `resolve:` sends every one of their 8 name server names there.
 */

const HOSTS = Array.from({ length: 12 }, (_, i) => `      host${i + 1}: { type: A, ttl: ${60 * (i + 1)}, value: 192.0.2.${i + 1} }`).join('\n');

const config = (stateDir: string, resolve: string, r53: string, ns1: string): string => `
region: test
stateDir: ${stateDir}
resolve:
${resolve}
providers:
  r53: { type: route53, endpoint: ${r53}, rateLimit: 200, insyncPollInterval: 10ms, requestTimeout: 5s }
  ns1: { type: ns1, apiKey: "\${NS1_API_KEY}", endpoint: ${ns1}, requestTimeout: 5s }
zones:
  example.com:
    providers: [r53, ns1]
    nameservers: sync
    records:
${HOSTS}
      www: { type: CNAME, ttl: 300, value: edge.example.net. }
      "@":
        - { type: TXT, value: "v=spf1 -all" }
        - { type: MX, values: ["10 mx1.example.net.", "20 mx2.example.net."] }
        - { type: CAA, value: '0 issue "letsencrypt.org"' }
      v6: { type: AAAA, values: ["2001:db8::1", "2001:db8::2"] }
      _sip._tcp: { type: SRV, value: "10 5 5060 sip.example.net." }
      api:
        type: A
        ttl: 30
        failover:
          check: { protocol: tcp, port: 443 }
          pools:
            - { name: primary, values: [192.0.2.100, 192.0.2.101] }
            - { name: secondary, values: [198.51.100.20] }
`;

describe('dnsquorum verify against the fake Route53 and the fake NS1', () => {
  let dir: string;
  let file: string;
  let route53: FakeRoute53;
  let ns1: FakeNs1;
  let r53Servers: string[];
  let ns1Servers: string[];
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    [route53, ns1] = await Promise.all([FakeRoute53.start(), FakeNs1.start()]);
    // The zones exist before the config is written, so their name servers are known for resolve:.
    r53Servers = route53.createZone('example.com').nameservers;
    ns1Servers = ns1.createZone('example.com').dnsServers.map((s) => `${s}.`);
    const resolve = [
      ...r53Servers.map((s) => `  ${s.slice(0, -1)}: ${route53.dnsAddress.host}:${route53.dnsAddress.port}`),
      ...ns1Servers.map((s) => `  ${s.slice(0, -1)}: ${ns1.dnsAddress.host}:${ns1.dnsAddress.port}`),
    ];
    dir = await mkdtemp(join(tmpdir(), 'dq-verify-fakes-'));
    file = join(dir, 'dnsquorum.yaml');
    await writeFile(file, config(join(dir, 'state'), resolve.join('\n'), route53.endpoint, ns1.endpoint));
    env = {
      AWS_ACCESS_KEY_ID: 'AKIDDNSQUORUMTEST',
      AWS_SECRET_ACCESS_KEY: 'dnsquorum-test-secret',
      AWS_SESSION_TOKEN: '',
      AWS_REGION: '',
      AWS_PROFILE: '',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      NS1_API_KEY: ns1.apiKey,
    };
  });
  afterAll(async () => {
    await Promise.all([route53.close(), ns1.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  it('exits 0 over 8 servers after sync --apply, then 2 naming the ns1 servers and the record changed at NS1', async () => {
    expect(r53Servers).toHaveLength(4);
    expect(ns1Servers).toHaveLength(4);
    const apply = await runCli(['sync', '--apply', '--config', file], { env });
    expect(apply.code, apply.stderr + apply.stdout).toBe(0);

    const all = [...r53Servers, ...ns1Servers].sort();
    const r53ApexNs = route53.zoneRecords('example.com').find((r) => r.name === 'example.com.' && r.type === 'NS');
    expect([...(r53ApexNs?.values ?? [])].sort()).toEqual(all);
    const ns1ApexNs = ns1.zoneRecords('example.com').find((r) => r.domain === 'example.com' && r.type === 'NS');
    expect((ns1ApexNs?.answers ?? []).map((a) => `${String(a.answer[0])}.`).sort()).toEqual(all);

    const verify = await runCli(['verify', '--config', file, '--json'], { env });
    expect(verify.code, verify.stderr + verify.stdout).toBe(0);
    const report = JSON.parse(verify.stdout) as VerifyReport;
    expect(report.consistent).toBe(true);
    expect(report.serversChecked).toBe(8);
    const servers = report.zones.flatMap((z) => z.providers.flatMap((p) => p.servers.map((s) => `${p.provider} ${s.host} ${s.checked} ${s.differences.length}`)));
    // 12 hosts, www, TXT, MX, CAA, v6, SRV, api and the apex NS: 20 questions each.
    expect(servers.sort()).toEqual([...r53Servers.map((s) => `r53 ${s} 20 0`), ...ns1Servers.map((s) => `ns1 ${s} 20 0`)].sort());

    ns1.putRecordDirect({ zone: 'example.com', domain: 'host7.example.com', type: 'A', ttl: 420, answers: [{ answer: ['203.0.113.7'] }] });

    const drifted = await runCli(['verify', '--config', file], { env });
    expect(drifted.code, drifted.stderr + drifted.stdout).toBe(2);
    for (const server of r53Servers) expect(drifted.stdout).toContain(`r53 ${server} (${route53.dnsAddress.host}:${route53.dnsAddress.port}): OK, 20 record sets`);
    for (const server of ns1Servers) {
      expect(drifted.stdout).toContain(`ns1 ${server} (${ns1.dnsAddress.host}:${ns1.dnsAddress.port}): 1 difference (20 record sets answered)`);
      expect(drifted.stdout).toContain(`values: host7.example.com. A at ${server}: expected 192.0.2.7, got 203.0.113.7`);
    }
    expect(drifted.stdout).toContain('INCONSISTENT: 4 of 8 servers answer the desired records');
  });
});
