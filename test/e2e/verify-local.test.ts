import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalProviderConfig } from '../../src/config/types.js';
import { normalizeRecordSet } from '../../src/domain/record.js';
import { systemClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/logger.js';
import { LocalProvider } from '../../src/providers/local/provider.js';
import { LocalDnsServer } from '../../src/providers/local/server.js';
import { localStatePath } from '../../src/providers/registry.js';
import type { VerifyReport } from '../../src/verify/verify.js';
import { runCli } from '../helpers/cli.js';

/**
 * `dnsquorum verify` as a real process against two local providers whose built-in DNS servers run
 * here, on ephemeral ports that the config's `resolve:` points their name server names at.
 */

const LABS = [
  { name: 'lab-a', nameserver: 'ns1.lab-a.example.net.' },
  { name: 'lab-b', nameserver: 'ns1.lab-b.example.net.' },
] as const;

const labConfig = (stateDir: string, resolve: string): string => `
region: test
stateDir: ${stateDir}
resolve:
${resolve}
providers:
  lab-a: { type: local, listen: 127.0.0.1:1, nameserver: ns1.lab-a.example.net. }
  lab-b: { type: local, listen: 127.0.0.1:2, nameserver: ns1.lab-b.example.net. }
zones:
  example.com:
    providers: [lab-a, lab-b]
    records:
      www: { type: CNAME, ttl: 300, value: api.example.com. }
      "@":
        - { type: TXT, value: "v=spf1 -all" }
        - { type: MX, values: ["10 mx1.example.net.", "20 mx2.example.net."] }
      v6: { type: AAAA, ttl: 60, values: ["2001:db8::1", "2001:db8::2"] }
      api:
        type: A
        ttl: 30
        failover:
          check: { protocol: tcp, port: 443 }
          pools:
            - { name: primary, values: [192.0.2.10, 192.0.2.11] }
            - { name: secondary, values: [198.51.100.20] }
`;

describe('dnsquorum verify with two local providers', () => {
  let dir: string;
  let file: string;
  let stateDir: string;
  const servers: LocalDnsServer[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dq-verify-local-'));
    stateDir = join(dir, 'state');
    const resolve: string[] = [];
    for (const lab of LABS) {
      const config: LocalProviderConfig = { type: 'local', name: lab.name, listen: { host: '127.0.0.1', port: 0 }, nameserver: lab.nameserver };
      const server = new LocalDnsServer({ config, statePath: localStatePath(stateDir, lab.name), logger: silentLogger() });
      await server.start();
      servers.push(server);
      resolve.push(`  ${lab.nameserver.slice(0, -1)}: 127.0.0.1:${server.address().port}`);
    }
    file = join(dir, 'dnsquorum.yaml');
    await writeFile(file, labConfig(stateDir, resolve.join('\n')));
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await rm(dir, { recursive: true, force: true });
  });

  it('exits 0 after sync --apply, then 2 naming the server and the record changed behind its back', async () => {
    const apply = await runCli(['sync', '--apply', '--config', file]);
    expect(apply.code, apply.stderr + apply.stdout).toBe(0);

    const human = await runCli(['verify', '--config', file]);
    expect(human.code, human.stderr + human.stdout).toBe(0);
    expect(human.stderr).toBe('');
    expect(human.stdout).toMatch(/^ {2}lab-a ns1\.lab-a\.example\.net\. \(127\.0\.0\.1:\d+\): OK, 6 record sets$/m);
    expect(human.stdout).toContain('consistent: 2 of 2 servers answer the desired records');

    const json = await runCli(['verify', '--config', file, '--json']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as VerifyReport;
    expect(report.consistent).toBe(true);
    expect(report.serversChecked).toBe(2);
    const servers = report.zones.flatMap((z) => z.providers.flatMap((p) => p.servers.map((s) => ({ provider: p.provider, host: s.host, checked: s.checked, differences: s.differences.length }))));
    expect(servers).toEqual([
      { provider: 'lab-a', host: 'ns1.lab-a.example.net.', checked: 6, differences: 0 },
      { provider: 'lab-b', host: 'ns1.lab-b.example.net.', checked: 6, differences: 0 },
    ]);

    // An out-of-band change at lab-b only: its state file is written directly, not through sync.
    const labB = new LocalProvider({
      config: { type: 'local', name: 'lab-b', listen: { host: '127.0.0.1', port: 0 }, nameserver: 'ns1.lab-b.example.net.' },
      statePath: localStatePath(stateDir, 'lab-b'),
      clock: systemClock,
      logger: silentLogger(),
    });
    const before = normalizeRecordSet({ name: 'www.example.com.', type: 'CNAME', ttl: 300, values: ['api.example.com.'] });
    const after = normalizeRecordSet({ name: 'www.example.com.', type: 'CNAME', ttl: 300, values: ['rogue.example.org.'] });
    await labB.applyChanges({ zone: 'example.com.', creates: [], updates: [{ before, after }], deletes: [] }, AbortSignal.timeout(10_000));

    const drifted = await runCli(['verify', '--config', file]);
    expect(drifted.code, drifted.stderr + drifted.stdout).toBe(2);
    expect(drifted.stdout).toMatch(/^ {2}lab-a ns1\.lab-a\.example\.net\. .*: OK, 6 record sets$/m);
    expect(drifted.stdout).toMatch(/^ {2}lab-b ns1\.lab-b\.example\.net\. .*: 1 difference \(6 record sets answered\)$/m);
    expect(drifted.stdout).toContain('values: www.example.com. CNAME at ns1.lab-b.example.net.: expected api.example.com., got rogue.example.org.');
    expect(drifted.stdout).toContain('INCONSISTENT: 1 of 2 servers answer the desired records');

    const driftedJson = JSON.parse((await runCli(['verify', '--config', file, '--json'])).stdout) as VerifyReport;
    expect(driftedJson.consistent).toBe(false);
    const differences = driftedJson.zones.flatMap((z) => z.providers.flatMap((p) => p.servers.flatMap((s) => s.differences.map((d) => ({ server: s.host, kind: d.kind, name: d.name, got: d.got?.values })))));
    expect(differences).toEqual([{ server: 'ns1.lab-b.example.net.', kind: 'values', name: 'www.example.com.', got: ['rogue.example.org.'] }]);
  });

  it('a server that does not answer is a difference of its own (exit 2)', async () => {
    const silent = join(dir, 'silent.yaml');
    // lab-b's name server now points at a port where nothing listens: one a server of our own
    // was given and has just given back.
    const spare = new LocalDnsServer({
      config: { type: 'local', name: 'spare', listen: { host: '127.0.0.1', port: 0 }, nameserver: 'ns.spare.example.' },
      statePath: join(dir, 'spare.json'),
      logger: silentLogger(),
    });
    await spare.start();
    const freed = spare.address().port;
    await spare.close();
    const labA = servers[0]?.address().port ?? 0;
    await writeFile(silent, labConfig(stateDir, `  ns1.lab-a.example.net: 127.0.0.1:${labA}\n  ns1.lab-b.example.net: 127.0.0.1:${freed}`));

    const result = await runCli(['verify', '--config', silent, '--json']);
    expect(result.code, result.stderr + result.stdout).toBe(2);
    const report = JSON.parse(result.stdout) as VerifyReport;
    const labB = report.zones[0]?.providers.find((p) => p.provider === 'lab-b')?.servers[0];
    expect(labB?.checked).toBe(0);
    expect(labB?.differences.map((d) => d.kind)).toEqual([expect.stringMatching(/^(unreachable|timeout)$/)]);
  });

  it('a provider that cannot be read is reported, and with none readable verify exits 1', async () => {
    const empty = join(dir, 'empty.yaml');
    await writeFile(empty, labConfig(join(dir, 'no-state-here'), '  ns1.lab-a.example.net: 127.0.0.1:1'));
    const result = await runCli(['verify', '--config', empty]);
    expect(result.code, result.stderr + result.stdout).toBe(1);
    expect(result.stdout).toContain('provider lab-a: not checked: DQ_ZONE_NOT_FOUND');
    expect(result.stdout).toContain('provider lab-b: not checked: DQ_ZONE_NOT_FOUND');
  });

  it('answers --help, and an unknown zone is a usage error', async () => {
    const help = await runCli(['verify', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: dnsquorum verify');
    expect(help.stdout).toContain('--zone ZONE');
    expect(help.stdout).toContain('--json');
    const bad = await runCli(['verify', '--config', file, '--zone', 'nope.example.org']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--zone nope.example.org: no such zone');
  });
});
