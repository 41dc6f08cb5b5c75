import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeRoute53 } from '../../fakes/route53/server.js';
import { answerValues, queryDns } from '../../src/lib/dns-query.js';
import { runCli } from '../helpers/cli.js';
import { announcement, closed, startFakeProcess } from '../helpers/fake-process.js';
import { requestsOf } from './route53-harness.js';

/** The compiled CLI, as a real process, with a route53 provider from YAML against the fake. */

const AWS_ENV = { AWS_ACCESS_KEY_ID: 'AKIDDNSQUORUMTEST', AWS_SECRET_ACCESS_KEY: 'dnsquorum-test-secret', AWS_SESSION_TOKEN: '', AWS_REGION: '', AWS_PROFILE: '' };

const config = (stateDir: string, endpoint: string): string => `
region: test
stateDir: ${stateDir}
providers:
  r53:
    type: route53
    endpoint: ${endpoint}
    rateLimit: 200
    insyncPollInterval: 10ms
    requestTimeout: 5s
    maxBatchRecords: 8
zones:
  Example.COM:
    providers: [r53]
    records:
      www: { type: CNAME, ttl: 300, value: edge.example.net. }
      "@": { type: TXT, value: "v=spf1 -all" }
      "example.com.": { type: MX, values: ["10 mx1.example.net.", "20 mx2.example.net."] }
      "*.apps": { type: A, values: [192.0.2.1, 192.0.2.2, 192.0.2.3, 192.0.2.4, 192.0.2.5] }
`;

describe('dnsquorum sync --apply with a route53 provider', () => {
  let dir: string;
  let file: string;
  let fake: FakeRoute53;

  beforeAll(async () => {
    fake = await FakeRoute53.start();
    dir = await mkdtemp(join(tmpdir(), 'dq-r53-cli-'));
    file = join(dir, 'dnsquorum.yaml');
    await writeFile(file, config(join(dir, 'state'), fake.endpoint));
  });
  afterAll(async () => {
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates the hosted zone, writes the records and the apex NS in batches of maxBatchRecords, then plans nothing', async () => {
    const apply = await runCli(['sync', '--apply', '--config', file], { env: AWS_ENV });
    expect(apply.code, apply.stderr + apply.stdout).toBe(0);
    expect(requestsOf(fake, 'CreateHostedZone')).toHaveLength(1);
    // 5 + (1 + 2) + 1 ResourceRecords, and the apex NS UPSERT (4 name servers, counting twice),
    // in requests of at most 8 ResourceRecords, each record set whole.
    expect(requestsOf(fake, 'ChangeResourceRecordSets').map((r) => r.status)).toEqual([200, 200, 200]);
    const held = fake.zoneRecords('example.com.').map((r) => `${r.name} ${r.type} ${r.values.join(',')}`);
    expect(held).toEqual(
      expect.arrayContaining(['example.com. TXT "v=spf1 -all"', 'www.example.com. CNAME edge.example.net.', '*.apps.example.com. A 192.0.2.1,192.0.2.2,192.0.2.3,192.0.2.4,192.0.2.5']),
    );

    // The zone was created before its name servers were asked for, so the apex NS (its TTL set
    // to nameserverTtl) was written in the same pass: a second pass has nothing to change.
    const apexNs = fake.zoneRecords('example.com.').find((r) => r.name === 'example.com.' && r.type === 'NS');
    expect(apexNs?.ttl).toBe(3600);
    fake.clearRequests();
    const again = await runCli(['sync', '--apply', '--config', file], { env: AWS_ENV });
    expect(again.code, again.stderr + again.stdout).toBe(0);
    expect(requestsOf(fake, 'ChangeResourceRecordSets')).toEqual([]);

    const plan = await runCli(['plan', '--config', file, '--json'], { env: AWS_ENV });
    expect(plan.code, plan.stdout).toBe(0);
    const report = JSON.parse(plan.stdout) as { zones: { providers: { provider: string; outcome: string }[] }[] };
    expect(report.zones[0]?.providers.map((p) => `${p.provider}=${p.outcome}`)).toEqual(['r53=in-sync']);
  });
});

describe('dnsquorum against the standalone fake (what `npm run fake:route53` starts)', () => {
  it('sync --apply creates the records, and plan then exits 0', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dq-r53-standalone-'));
    const fakeProcess = startFakeProcess('route53', ['--port', '0', '--dns-port', '0']);
    try {
      const announced = await announcement<{ endpoint: string; dns: string }>(fakeProcess);
      const file = join(dir, 'dnsquorum.yaml');
      await writeFile(file, config(join(dir, 'state'), announced.endpoint));

      const apply = await runCli(['sync', '--apply', '--config', file], { env: AWS_ENV });
      expect(apply.code, apply.stderr + apply.stdout).toBe(0);
      expect(apply.stdout).toContain('provider r53:');
      const plan = await runCli(['plan', '--config', file], { env: AWS_ENV });
      expect(plan.code, plan.stdout).toBe(0);
      expect(plan.stdout).toContain('provider r53: in sync');

      // What the fake's own name servers answer, over DNS.
      const [host = '', port = ''] = announced.dns.split(/:(?=\d+$)/);
      const reply = await queryDns({ host, port: Number(port) }, 'www.example.com', 'CNAME');
      expect(answerValues(reply.packet, 'CNAME')).toEqual(['edge.example.net']);
    } finally {
      fakeProcess.child.kill('SIGTERM');
      await closed(fakeProcess.child);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
