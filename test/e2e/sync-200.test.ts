import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyOf, normalizeRecordSet } from '../../src/domain/record.js';
import type { RecordSet } from '../../src/domain/record.js';
import { answerValues, queryDns } from '../../src/lib/dns-query.js';
import type { VerifyReport } from '../../src/verify/verify.js';
import { runCli } from '../helpers/cli.js';
import { ns1Holds, recordSetOf, recordYaml, route53Holds, startTwoFakes, testRecords } from './two-fakes.js';
import type { TwoFakes } from './two-fakes.js';

/**
 * Issue 5, end to end through the built CLI: a zone of 200 records (two of them failover records)
 * listed with `providers: [r53, ns1]` ends up served identically by all eight name servers of the
 * fake Route53 and the fake NS1, and each provider's apex NS names both providers' servers.
 */

const ZONE = 'example.com';
const STATIC = testRecords(198);

const FAILOVER = `      api:
        type: A
        ttl: 30
        failover:
          check: { protocol: tcp, port: 443 }
          pools:
            - { name: primary, values: [192.0.2.100, 192.0.2.101] }
            - { name: secondary, values: [198.51.100.20] }
      cdn:
        type: CNAME
        ttl: 60
        failover:
          check: { protocol: tcp, port: 443 }
          pools:
            - { name: first, values: [first.cdn.example.net.] }
            - { name: second, values: [second.cdn.example.net.] }`;

const zones = `  ${ZONE}:
    providers: [r53, ns1]
    nameservers: sync
    unmanaged: delete
    records:
${STATIC.map(recordYaml).join('\n')}
${FAILOVER}`;

function byKey(sets: readonly RecordSet[]): Map<string, RecordSet> {
  return new Map(sets.map((rs) => [keyOf(rs), rs]));
}

describe('sync --apply of a 200-record zone to Route53 and NS1, then verify and plan', () => {
  let fakes: TwoFakes;
  let file: string;

  beforeAll(async () => {
    fakes = await startTwoFakes(ZONE);
    file = await fakes.writeConfig('dnsquorum.yaml', zones);
  });
  afterAll(async () => {
    await fakes.close();
  });

  it('serves the same 200 records from all eight name servers, each apex NS naming all eight', async () => {
    const apply = await runCli(['sync', '--apply', '--config', file], { env: fakes.env });
    expect(apply.code, apply.stderr + apply.stdout).toBe(0);

    // The fakes' own state: every record, at both providers.
    const all = [...fakes.r53Servers, ...fakes.ns1Servers].sort();
    expect(all).toHaveLength(8);
    const wanted = [
      ...STATIC.map((r) => recordSetOf(ZONE, r)),
      normalizeRecordSet({ name: `api.${fakes.zone}`, type: 'A', ttl: 30, values: ['192.0.2.100', '192.0.2.101'] }),
      normalizeRecordSet({ name: `cdn.${fakes.zone}`, type: 'CNAME', ttl: 60, values: ['first.cdn.example.net.'] }),
      normalizeRecordSet({ name: fakes.zone, type: 'NS', ttl: 3600, values: all }),
    ];
    for (const [provider, held] of [['r53', byKey(route53Holds(fakes))], ['ns1', byKey(ns1Holds(fakes))]] as const) {
      expect(held.size, provider).toBe(201);
      for (const rs of wanted) expect(held.get(keyOf(rs)), `${provider} ${keyOf(rs)}`).toEqual(rs);
    }

    // The apex NS over DNS, from every name server of each provider.
    for (const [servers, at] of [[fakes.r53Servers, fakes.route53.dnsAddress], [fakes.ns1Servers, fakes.ns1.dnsAddress]] as const) {
      for (const server of servers) {
        const { packet } = await queryDns(at, fakes.zone, 'NS', { tcp: true });
        expect(answerValues(packet, 'NS').map((ns) => `${ns}.`).sort(), server).toEqual(all);
      }
    }

    const verify = await runCli(['verify', '--config', file, '--json'], { env: fakes.env });
    expect(verify.code, verify.stderr + verify.stdout).toBe(0);
    const report = JSON.parse(verify.stdout) as VerifyReport;
    expect(report.consistent).toBe(true);
    expect(report.serversChecked).toBe(8);
    const servers = report.zones.flatMap((z) => z.providers.flatMap((p) => p.servers.map((s) => `${p.provider} ${s.host} ${s.checked} ${s.differences.length}`)));
    // 200 records and the apex NS: 201 questions each, every one answered as desired.
    expect(servers.sort()).toEqual([...fakes.r53Servers.map((s) => `r53 ${s} 201 0`), ...fakes.ns1Servers.map((s) => `ns1 ${s} 201 0`)].sort());

    const plan = await runCli(['plan', '--config', file], { env: fakes.env });
    expect(plan.code, plan.stderr + plan.stdout).toBe(0);
    expect(plan.stdout).toContain('provider r53: in sync');
    expect(plan.stdout).toContain('provider ns1: in sync');
  });
});
