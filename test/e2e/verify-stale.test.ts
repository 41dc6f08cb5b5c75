import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fqdn, keyOf, normalizeRecordSet } from '../../src/domain/record.js';
import { systemClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/logger.js';
import { LocalProvider } from '../../src/providers/local/provider.js';
import { LocalDnsServer } from '../../src/providers/local/server.js';
import type { VerifyReport } from '../../src/verify/verify.js';
import { runCli } from '../helpers/cli.js';
import { recordSetOf, recordYaml, startTwoFakes, testRecords } from './two-fakes.js';
import type { TestRecord, TwoFakes } from './two-fakes.js';

/**
 * One name server of a provider that answers stale data: one of the fake Route53's name server
 * names is sent (through `resolve:`) to a separate authoritative server here that holds an older
 * copy of the zone, in which one record still has its previous values. verify must name that
 * server and that record, and only them.
 */

const ZONE = 'example.com';
const RECORDS = testRecords(20);
const STALE_NAME = 'host7';
const OLDER: TestRecord = { name: STALE_NAME, type: 'A', ttl: RECORDS[7]?.ttl ?? 300, values: ['203.0.113.7'] };

const zones = `  ${ZONE}:
    providers: [r53, ns1]
    records:
${RECORDS.map(recordYaml).join('\n')}`;

describe('verify names the one name server that answers stale data', () => {
  let fakes: TwoFakes;
  let stale: LocalDnsServer;
  let staleHost: string;
  let file: string;

  beforeAll(async () => {
    fakes = await startTwoFakes(ZONE);
    const current = await fakes.writeConfig('current.yaml', zones);
    const apply = await runCli(['sync', '--apply', '--config', current], { env: fakes.env });
    expect(apply.code, apply.stderr + apply.stdout).toBe(0);

    // The older copy: the same zone and apex NS, with host7 as it was before.
    const statePath = join(fakes.dir, 'stale.json');
    const config = { type: 'local' as const, name: 'stale', listen: { host: '127.0.0.1', port: 0 }, nameserver: 'ns.stale.example.' };
    const older = new LocalProvider({ config, statePath, clock: systemClock, logger: silentLogger() });
    const signal = AbortSignal.timeout(10_000);
    await older.ensureZone(ZONE, signal);
    const ownNs = (await older.listRecords(ZONE, signal)).find((rs) => rs.type === 'NS' && rs.name === fakes.zone);
    if (ownNs === undefined) throw new Error('a new local zone has an apex NS');
    const apexNs = normalizeRecordSet({ name: fakes.zone, type: 'NS', ttl: 3600, values: [...fakes.r53Servers, ...fakes.ns1Servers] });
    const creates = RECORDS.map((r) => recordSetOf(ZONE, r.name === STALE_NAME ? OLDER : r));
    await older.applyChanges({ zone: fakes.zone, creates, updates: [{ before: ownNs, after: apexNs }], deletes: [] }, signal);
    stale = new LocalDnsServer({ config, statePath, logger: silentLogger() });
    await stale.start();

    staleHost = fakes.r53Servers[1] ?? '';
    file = await fakes.writeConfig('one-stale.yaml', zones, new Map([[staleHost, stale.address()]]));
  });
  afterAll(async () => {
    await stale.close();
    await fakes.close();
  });

  it('exits 2; the text report names the server and the record, the other seven are consistent', async () => {
    const result = await runCli(['verify', '--config', file], { env: fakes.env });
    expect(result.code, result.stderr + result.stdout).toBe(2);
    const staleAt = `127.0.0.1:${stale.address().port}`;
    // 20 records and the apex NS.
    expect(result.stdout).toContain(`  r53 ${staleHost} (${staleAt}): 1 difference (21 record sets answered)`);
    const host7 = RECORDS[7];
    expect(result.stdout).toContain(
      `      values: ${STALE_NAME}.${fqdn(ZONE)} A at ${staleHost}: expected ${host7?.values.join(', ')}, got 203.0.113.7`,
    );
    const others = [...fakes.r53Servers, ...fakes.ns1Servers].filter((s) => s !== staleHost);
    expect(others).toHaveLength(7);
    for (const server of others) expect(result.stdout).toMatch(new RegExp(`^ {2}(r53|ns1) ${server.replaceAll('.', '\\.')} \\([0-9.:]+\\): OK, 21 record sets$`, 'm'));
    expect(result.stdout).toContain('INCONSISTENT: 7 of 8 servers answer the desired records (8 answered)');
  });

  it('--json holds the same: one difference, at that server, for that record', async () => {
    const result = await runCli(['verify', '--config', file, '--json'], { env: fakes.env });
    expect(result.code, result.stderr + result.stdout).toBe(2);
    const report = JSON.parse(result.stdout) as VerifyReport;
    expect(report.consistent).toBe(false);
    const servers = report.zones.flatMap((z) => z.providers.flatMap((p) => p.servers.map((s) => ({ provider: p.provider, ...s }))));
    expect(servers).toHaveLength(8);
    const differing = servers.filter((s) => s.differences.length > 0);
    expect(differing.map((s) => [s.provider, s.host, s.address])).toEqual([['r53', staleHost, `127.0.0.1:${stale.address().port}`]]);
    const wanted = recordSetOf(ZONE, RECORDS[7] ?? OLDER);
    expect(differing[0]?.differences).toEqual([
      {
        kind: 'values',
        name: wanted.name,
        type: 'A',
        expected: { ttl: wanted.ttl, values: wanted.values },
        got: { rcode: 'NOERROR', ttls: [OLDER.ttl], values: ['203.0.113.7'] },
        message: expect.stringContaining(`expected ${wanted.values.join(', ')}, got 203.0.113.7`) as unknown,
      },
    ]);
    expect(keyOf(wanted)).toBe(`${STALE_NAME}.${fqdn(ZONE)} A`);
    expect(servers.filter((s) => s.differences.length === 0 && s.checked === 21)).toHaveLength(7);
  });
});
