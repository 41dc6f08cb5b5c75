import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, runCli } from '../helpers/cli.js';

const labConfig = (stateDir: string): string => `
region: test
stateDir: ${stateDir}
api: { listen: 127.0.0.1:0 }
providers:
  lab-a: { type: local, listen: 127.0.0.1:1, nameserver: ns1.lab-a.example.net. }
  lab-b: { type: local, listen: 127.0.0.1:2, nameserver: ns1.lab-b.example.net. }
zones:
  example.com:
    providers: [lab-a, lab-b]
    records:
      www: { type: CNAME, ttl: 300, value: api.example.com. }
      "@": { type: TXT, value: "v=spf1 -all" }
      api:
        type: A
        ttl: 30
        failover:
          check: { protocol: tcp, port: 443 }
          pools:
            - { name: primary, values: [192.0.2.10, 192.0.2.11] }
            - { name: secondary, values: [198.51.100.20] }
`;

describe('plan, sync --apply, plan', () => {
  let dir: string;
  let config: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dq-cli-'));
    config = join(dir, 'dnsquorum.yaml');
    await writeFile(config, labConfig(join(dir, 'state')));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('exits 2 with changes pending, then 0 after applying, then 0 with nothing to do', async () => {
    const before = await runCli(['plan', '--config', config]);
    expect(before.stderr).toBe('');
    expect(before.code).toBe(2);
    expect(before.stdout).toContain('provider lab-a: 4 changes pending');
    expect(before.stdout).toContain('+ api.example.com. A 30 192.0.2.10, 192.0.2.11');

    const apply = await runCli(['sync', '--apply', '--config', config]);
    expect(apply.stderr).toBe('');
    expect(apply.code).toBe(0);
    expect(apply.stdout).toContain('provider lab-b: 4 changes applied');

    const after = await runCli(['plan', '--config', config, '--json']);
    expect(after.code).toBe(0);
    const report = JSON.parse(after.stdout) as { zones: { providers: { provider: string; outcome: string }[] }[] };
    expect(report.zones[0]?.providers.map((p) => `${p.provider}=${p.outcome}`)).toEqual(['lab-a=in-sync', 'lab-b=in-sync']);
  });

  it('sync without --apply is a dry run', async () => {
    await writeFile(config, labConfig(join(dir, 'state')).replace('v=spf1 -all', 'v=spf1 mx -all'));
    const dry = await runCli(['sync', '--config', config]);
    expect(dry.code).toBe(2);
    const plan = await runCli(['plan', '--config', config]);
    expect(plan.code).toBe(2);
    expect(plan.stdout).toContain('~ example.com. TXT 300 v=spf1 -all');
  });

  it('an unknown zone is an error naming the zones there are', async () => {
    const result = await runCli(['plan', '--config', config, '--zone', 'nope.example.org']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('--zone nope.example.org: no such zone');
    expect(result.stderr).toContain('example.com.');
  });
});

describe('validate', () => {
  it('exits 0 on every shipped config', async () => {
    const shipped = (await readdir(join(REPO, 'config'))).filter((f) => f.endsWith('.yaml'));
    expect(shipped).toContain('demo.yaml');
    for (const file of shipped) {
      const result = await runCli(['validate', '--config', join('config', file)], {
        env: { NS1_API_KEY: 'k', DNSQUORUM_API_TOKEN: 't', DNSQUORUM_CLUSTER_SECRET: 's', AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b' },
      });
      expect({ file, code: result.code, stderr: result.stderr }).toEqual({ file, code: 0, stderr: '' });
      expect(result.stdout).toContain('valid');
    }
  });

  it('a missing file is an error, not a crash', async () => {
    const result = await runCli(['validate', '--config', 'no/such/file.yaml']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no/such/file.yaml');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
