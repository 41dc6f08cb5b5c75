import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { answerValues, queryDns } from '../../src/lib/dns-query.js';
import { exited, runCli } from '../helpers/cli.js';
import { announcement, startFakeProcess } from '../helpers/fake-process.js';

/** The compiled CLI, as a real process, with an ns1 provider from YAML against the fake NS1 run as its own process. */

const API_KEY = 'dq-cli-ns1-key-5e0c2a';

const config = (stateDir: string, endpoint: string): string => `
region: test
stateDir: ${stateDir}
providers:
  ns1:
    type: ns1
    apiKey: \${NS1_API_KEY}
    endpoint: ${endpoint}
    requestTimeout: 5s
    maxRetries: 3
zones:
  Example.COM:
    providers: [ns1]
    records:
      www: { type: CNAME, ttl: 300, value: edge.example.net. }
      "@":
        - { type: TXT, value: "v=spf1 -all" }
        - { type: MX, values: ["10 mx1.example.net.", "20 mx2.example.net."] }
        - { type: CAA, value: '0 issue "letsencrypt.org"' }
      "*.apps": { type: A, values: [192.0.2.1, 192.0.2.2, 192.0.2.3] }
      _sip._tcp: { type: SRV, value: "10 5 5060 sip.example.net." }
`;

interface Announcement {
  readonly endpoint: string;
  readonly dns: string;
  readonly apiKey: string;
}

describe('dnsquorum against the standalone fake NS1 (node dist-fakes/fakes/ns1/cli.js)', () => {
  it('sync --apply creates the zone and its records, plan then exits 0, and the key is never printed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dq-ns1-cli-'));
    const fake = startFakeProcess('ns1', ['--port', '0', '--dns-port', '0', '--api-key', API_KEY]);
    try {
      const announced = await announcement<Announcement>(fake);
      expect(announced.apiKey).toBe(API_KEY);
      const file = join(dir, 'dnsquorum.yaml');
      await writeFile(file, config(join(dir, 'state'), announced.endpoint));
      const env = { NS1_API_KEY: API_KEY, DNSQUORUM_LOG_LEVEL: 'debug' };

      const apply = await runCli(['sync', '--apply', '--config', file], { env });
      expect(apply.code, apply.stderr + apply.stdout).toBe(0);
      expect(apply.stdout).toContain('provider ns1:');

      const plan = await runCli(['plan', '--config', file], { env });
      expect(plan.code, plan.stderr + plan.stdout).toBe(0);
      expect(plan.stdout).toContain('provider ns1: in sync');

      const json = await runCli(['plan', '--config', file, '--json'], { env });
      expect(json.code, json.stdout).toBe(0);
      const report = JSON.parse(json.stdout) as { zones: { providers: { provider: string; outcome: string }[] }[] };
      expect(report.zones[0]?.providers.map((p) => `${p.provider}=${p.outcome}`)).toEqual(['ns1=in-sync']);

      for (const output of [apply, plan, json]) expect(output.stdout + output.stderr).not.toContain(API_KEY);

      // What the fake's own name servers answer, over DNS.
      const [host = '', port = ''] = announced.dns.split(/:(?=\d+$)/);
      const server = { host, port: Number(port) };
      expect(answerValues((await queryDns(server, 'www.example.com', 'CNAME')).packet, 'CNAME')).toEqual(['edge.example.net']);
      expect(answerValues((await queryDns(server, 'x.apps.example.com', 'A')).packet, 'A')).toEqual(['192.0.2.1', '192.0.2.2', '192.0.2.3']);
    } finally {
      fake.child.kill('SIGTERM');
      await exited(fake.child);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a refused key fails the sync with exit 1 and a message that names the cause, not the key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dq-ns1-cli-key-'));
    const fake = startFakeProcess('ns1', ['--port', '0', '--dns-port', '0', '--api-key', API_KEY]);
    try {
      const announced = await announcement<Announcement>(fake);
      const file = join(dir, 'dnsquorum.yaml');
      await writeFile(file, config(join(dir, 'state'), announced.endpoint));
      const wrong = 'dq-cli-wrong-key-93ab';
      const apply = await runCli(['sync', '--apply', '--config', file], { env: { NS1_API_KEY: wrong, DNSQUORUM_LOG_LEVEL: 'debug' } });
      expect(apply.code).toBe(1);
      expect(apply.stdout + apply.stderr).toContain('NS1 refused the API key');
      expect(apply.stdout + apply.stderr).not.toContain(wrong);
    } finally {
      fake.child.kill('SIGTERM');
      await exited(fake.child);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
