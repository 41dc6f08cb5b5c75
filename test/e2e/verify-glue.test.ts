import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalProviderConfig } from '../../src/config/types.js';
import { answerPresentation } from '../../src/lib/dns-query.js';
import { silentLogger } from '../../src/lib/logger.js';
import { LocalDnsServer } from '../../src/providers/local/server.js';
import { localStatePath } from '../../src/providers/registry.js';
import type { VerifyReport } from '../../src/verify/verify.js';
import { runCli } from '../helpers/cli.js';
import { queryUdp } from '../helpers/dns-client.js';

/**
 * A zone with a delegation inside it converges: the config holds the delegation and its glue and
 * nothing else below it (validate refuses occluded names), the built-in server carries the glue in
 * the additional section of its referral, and verify reads it there, so `sync --apply` followed by
 * `verify` is consistent. A record below the delegation is refused at validate with file:line:col.
 */

const NAMESERVER = 'ns1.lab.example.net.';

const config = (stateDir: string, port: number, below: string): string => `region: test
stateDir: ${stateDir}
resolve:
  ${NAMESERVER.slice(0, -1)}: 127.0.0.1:${port}
providers:
  lab: { type: local, listen: 127.0.0.1:1, nameserver: ${NAMESERVER} }
zones:
  example.com:
    providers: [lab]
    records:
      www: { type: A, value: 192.0.2.1 }
      sub: { type: NS, values: [ns1.sub.example.com., ns.elsewhere.net.] }
      ns1.sub:
        - { type: A, value: 192.0.2.53 }
        - { type: AAAA, value: "2001:db8::53" }
${below}`;

describe('a delegation with glue: validate, sync, serve, verify', () => {
  let dir: string;
  let stateDir: string;
  let server: LocalDnsServer;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dq-verify-glue-'));
    stateDir = join(dir, 'state');
    const local: LocalProviderConfig = { type: 'local', name: 'lab', listen: { host: '127.0.0.1', port: 0 }, nameserver: NAMESERVER };
    server = new LocalDnsServer({ config: local, statePath: localStatePath(stateDir, 'lab'), logger: silentLogger() });
    await server.start();
  });
  afterAll(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a record below the delegation at validate, with file:line:col and the delegation named', async () => {
    const file = join(dir, 'occluded.yaml');
    await writeFile(file, config(stateDir, server.address().port, '      www.sub: { type: A, value: 192.0.2.80 }\n'));
    const result = await runCli(['validate', '--config', file]);
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(result.stdout + result.stderr).toContain(`${file}:16:16: zones[example.com].records[www.sub]: www.sub.example.com. A is below the delegation sub.example.com. (NS at line 12)`);
  });

  it('syncs the glue, serves it in the referral and verifies consistent', async () => {
    const file = join(dir, 'glue.yaml');
    await writeFile(file, config(stateDir, server.address().port, ''));
    const validate = await runCli(['validate', '--config', file]);
    expect(validate.code, validate.stdout + validate.stderr).toBe(0);
    const apply = await runCli(['sync', '--apply', '--config', file]);
    expect(apply.code, apply.stdout + apply.stderr).toBe(0);

    for (const type of ['A', 'AAAA'] as const) {
      const referral = await queryUdp(server.address(), 'ns1.sub.example.com', type);
      expect([referral.rcode, referral.flag_aa, referral.answers]).toEqual(['NOERROR', false, []]);
      expect(referral.authorities.map((a) => [a.name, a.type, answerPresentation(a)]).sort()).toEqual([
        ['sub.example.com', 'NS', 'ns.elsewhere.net'],
        ['sub.example.com', 'NS', 'ns1.sub.example.com'],
      ]);
      expect(referral.additionals.map((a) => [a.name, a.type, answerPresentation(a)])).toEqual([
        ['ns1.sub.example.com', 'A', '192.0.2.53'],
        ['ns1.sub.example.com', 'AAAA', '2001:db8::53'],
      ]);
    }

    const verify = await runCli(['verify', '--config', file, '--json']);
    const report = JSON.parse(verify.stdout) as VerifyReport;
    const differences = report.zones.flatMap((z) => z.providers.flatMap((p) => p.servers.flatMap((s) => s.differences.map((d) => `${d.name} ${d.type}: ${d.message}`))));
    expect(differences).toEqual([]);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect(report.consistent).toBe(true);
  });
});
