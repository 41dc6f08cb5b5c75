import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/lib/logger.js';
import { LocalDnsServer } from '../../src/providers/local/server.js';
import { localStatePath } from '../../src/providers/registry.js';
import type { VerifyReport, ZoneVerification } from '../../src/verify/verify.js';
import { runCli } from '../helpers/cli.js';

/**
 * The delegation check of `dnsquorum verify`, as a real process: a local provider serves the
 * parent zone example.test. (with an NS record delegating child.example.test.), two other local
 * providers serve the child. All three built-in DNS servers run here on ephemeral ports, reached
 * through `resolve:`.
 */

const SERVERS = [
  { name: 'parent', nameserver: 'ns1.parent.example.net.' },
  { name: 'lab-a', nameserver: 'ns1.lab-a.example.net.' },
  { name: 'lab-b', nameserver: 'ns1.lab-b.example.net.' },
] as const;

const CHILD = 'child.example.test.';
const LAB_A = 'ns1.lab-a.example.net.';
const LAB_B = 'ns1.lab-b.example.net.';
const PARENT = 'ns1.parent.example.net.';

const providers = `providers:
  parent: { type: local, listen: 127.0.0.1:1, nameserver: ${PARENT} }
  lab-a: { type: local, listen: 127.0.0.1:2, nameserver: ${LAB_A} }
  lab-b: { type: local, listen: 127.0.0.1:3, nameserver: ${LAB_B} }`;

const childZone = `  child.example.test:
    providers: [lab-a, lab-b]
    records:
      www: { type: A, value: 192.0.2.2 }
      "@": { type: TXT, value: "child" }`;

/** The parent zone in the config, delegating the child to `delegatedTo`. */
const withParent = (stateDir: string, resolve: string, delegatedTo: readonly string[]): string => `
region: test
stateDir: ${stateDir}
resolve:
${resolve}
${providers}
zones:
  example.test:
    providers: [parent]
    records:
      www: { type: A, value: 192.0.2.1 }
      child: { type: NS, ttl: 3600, values: [${delegatedTo.join(', ')}] }
${childZone}
`;

/** Only the child: its parent is found through the resolver given with --parent-resolver. */
const childOnly = (stateDir: string, resolve: string): string => `
region: test
stateDir: ${stateDir}
resolve:
${resolve}
${providers}
zones:
${childZone}
`;

function zoneOf(report: VerifyReport, name: string): ZoneVerification {
  const found = report.zones.find((z) => z.zone === name);
  if (found === undefined) throw new Error(`no zone ${name} in the report`);
  return found;
}

describe('dnsquorum verify: does the parent delegate the zone to every provider?', () => {
  let dir: string;
  let stateDir: string;
  let resolve: string;
  let parentPort: number;
  const servers: LocalDnsServer[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dq-verify-delegation-'));
    stateDir = join(dir, 'state');
    const lines: string[] = [];
    for (const s of SERVERS) {
      const server = new LocalDnsServer({
        config: { type: 'local', name: s.name, listen: { host: '127.0.0.1', port: 0 }, nameserver: s.nameserver },
        statePath: localStatePath(stateDir, s.name),
        logger: silentLogger(),
      });
      await server.start();
      servers.push(server);
      lines.push(`  ${s.nameserver.slice(0, -1)}: 127.0.0.1:${server.address().port}`);
    }
    parentPort = servers[0]?.address().port ?? 0;
    resolve = lines.join('\n');
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await rm(dir, { recursive: true, force: true });
  });

  let written = 0;
  async function applied(config: string): Promise<string> {
    written += 1;
    const file = join(dir, `dq-${written}.yaml`);
    await writeFile(file, config);
    const apply = await runCli(['sync', '--apply', '--config', file]);
    expect(apply.code, apply.stderr + apply.stdout).toBe(0);
    return file;
  }

  it('a complete delegation from a parent zone of the config: exit 0', async () => {
    const file = await applied(withParent(stateDir, resolve, [LAB_A, LAB_B]));

    const json = await runCli(['verify', '--config', file, '--json']);
    expect(json.code, json.stderr + json.stdout).toBe(0);
    const report = JSON.parse(json.stdout) as VerifyReport;
    const child = zoneOf(report, CHILD);
    expect(child.consistent).toBe(true);
    expect(child.delegation).toMatchObject({ status: 'ok', parent: 'example.test.', source: 'config', expected: [LAB_A, LAB_B], missing: [], extra: [] });
    expect(child.delegation.servers).toEqual([
      { host: PARENT, address: `127.0.0.1:${parentPort}`, nameservers: [LAB_A, LAB_B], error: null, missing: [], extra: [] },
    ]);
    // The parent's own parent (test.) is outside the config, and the suite switches the resolver off.
    expect(zoneOf(report, 'example.test.').delegation.status).toBe('not-checked');
    // The parent's delegation record is answered with a referral, and that is what it should be.
    expect(zoneOf(report, 'example.test.').consistent).toBe(true);

    const human = await runCli(['verify', '--config', file]);
    expect(human.code, human.stderr + human.stdout).toBe(0);
    expect(human.stdout).toContain(`  delegation in example.test.: OK: example.test. delegates ${CHILD} to all 2 name servers`);
    expect(human.stdout).toContain(`      parent ${PARENT} (127.0.0.1:${parentPort}): lists 2`);
  });

  it("one provider's servers missing from the parent: exit 2 naming them and the parent server", async () => {
    const file = await applied(withParent(stateDir, resolve, [LAB_A]));

    const human = await runCli(['verify', '--config', file]);
    expect(human.code, human.stderr + human.stdout).toBe(2);
    expect(human.stdout).toContain(`zone ${CHILD}: INCONSISTENT`);
    expect(human.stdout).toContain(
      `  delegation in example.test.: INCOMPLETE: the delegation of ${CHILD} in example.test. lacks ${LAB_B}: ${PARENT} (127.0.0.1:${parentPort}) leaves out ${LAB_B}`,
    );
    expect(human.stdout).toContain(`      parent ${PARENT} (127.0.0.1:${parentPort}): lists 1; leaves out ${LAB_B}`);
    expect(human.stdout).toContain(`INCOMPLETE delegation: ${CHILD}`);
    // Every name server itself still answers the desired records.
    expect(human.stdout).toMatch(/^ {2}lab-b ns1\.lab-b\.example\.net\. \(127\.0\.0\.1:\d+\): OK, 3 record sets$/m);
    expect(human.stdout).toContain('INCONSISTENT: 3 of 3 servers answer the desired records');

    const json = await runCli(['verify', '--config', file, '--json']);
    expect(json.code).toBe(2);
    const report = JSON.parse(json.stdout) as VerifyReport;
    expect(report.consistent).toBe(false);
    const child = zoneOf(report, CHILD);
    expect(child.delegation).toMatchObject({ status: 'incomplete', parent: 'example.test.', missing: [LAB_B], extra: [] });
    expect(child.delegation.servers.map((s) => [s.host, s.nameservers, s.missing])).toEqual([[PARENT, [LAB_A], [LAB_B]]]);
    expect(child.providers.every((p) => p.servers.every((s) => s.differences.length === 0))).toBe(true);
    expect(zoneOf(report, 'example.test.').consistent).toBe(true);
  });

  it('a parent zone outside the config is found through the resolver; an unreachable resolver does not fail verify', async () => {
    // The parent provider's server still serves example.test. (delegating to lab-a only) from the state written above.
    const file = join(dir, 'child-only.yaml');
    await writeFile(file, childOnly(stateDir, resolve));

    const viaResolver = await runCli(['verify', '--config', file, '--json', '--parent-resolver', `127.0.0.1:${parentPort}`]);
    expect(viaResolver.code, viaResolver.stderr + viaResolver.stdout).toBe(2);
    const found = zoneOf(JSON.parse(viaResolver.stdout) as VerifyReport, CHILD).delegation;
    expect(found).toMatchObject({ status: 'incomplete', parent: 'example.test.', source: 'resolver', missing: [LAB_B] });
    expect(found.servers.map((s) => s.host)).toEqual([PARENT]);

    // A resolver that is not there: nothing can be said about the delegation, and the zone stays consistent.
    const closed = new LocalDnsServer({
      config: { type: 'local', name: 'closed', listen: { host: '127.0.0.1', port: 0 }, nameserver: 'ns.closed.example.' },
      statePath: join(dir, 'closed.json'),
      logger: silentLogger(),
    });
    await closed.start();
    const freed = closed.address().port;
    await closed.close();
    const offline = await runCli(['verify', '--config', file, '--parent-resolver', `127.0.0.1:${freed}`]);
    expect(offline.code, offline.stderr + offline.stdout).toBe(0);
    expect(offline.stdout).toContain(`zone ${CHILD}: consistent`);
    expect(offline.stdout).toContain('  delegation: not verified (parent unreachable): the resolver could not be asked for the name servers of example.test.');

    const none = await runCli(['verify', '--config', file, '--json', '--parent-resolver', 'none']);
    expect(none.code).toBe(0);
    expect(zoneOf(JSON.parse(none.stdout) as VerifyReport, CHILD).delegation.status).toBe('not-checked');

    const bad = await runCli(['verify', '--config', file, '--parent-resolver', 'resolver.example:53']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--parent-resolver (or $DNSQUORUM_PARENT_RESOLVER): "resolver.example:53": resolver.example is not an IP address, or none');
  });
});
