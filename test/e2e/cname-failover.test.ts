import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { answerValues, queryDns } from '../../src/lib/dns-query.js';
import { exited, startCli } from '../helpers/cli.js';

/**
 * A CNAME failover record moves traffic between two CDNs. Each CDN is a local HTTP server reached
 * through the `resolve` map; the daemon probes it with the site's own Host header, as a visitor
 * through that CDN would arrive.
 */
interface Cdn {
  readonly server: Server;
  readonly hosts: string[];
  port: number;
}

async function startCdn(): Promise<Cdn> {
  const hosts: string[] = [];
  const server = createServer((req, res) => {
    hosts.push(req.headers.host ?? '');
    // A CDN answers for the sites it serves, not for any Host.
    res.writeHead(req.headers.host === 'www.example.com' ? 200 : 421).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, hosts, port: (server.address() as AddressInfo).port };
}


/** Bounded polling for a condition the daemon reaches on its own time. */
const WAIT = { timeout: 20_000, interval: 50 };

describe('CNAME failover between two CDNs', () => {
  let dir: string;
  let cdnA: Cdn;
  let cdnB: Cdn;
  let daemon: ReturnType<typeof startCli>;
  let dns: { host: string; port: number };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dq-cname-'));
    cdnA = await startCdn();
    cdnB = await startCdn();
    const config = join(dir, 'dnsquorum.yaml');
    await writeFile(
      config,
      `region: test
stateDir: ${join(dir, 'state')}
api: { listen: 127.0.0.1:0 }
resolve:
  a.cdn.test: 127.0.0.1:${cdnA.port}
  b.cdn.test: 127.0.0.1:${cdnB.port}
providers:
  lab: { type: local, listen: 127.0.0.1:0, nameserver: ns1.lab.example.net. }
zones:
  example.com:
    providers: [lab]
    records:
      www:
        type: CNAME
        ttl: 60
        failover:
          check: { protocol: http, port: 80, path: /, interval: 200ms, timeout: 150ms, fall: 2, rise: 2 }
          pools:
            - { name: cdn-a, values: [a.cdn.test.] }
            - { name: cdn-b, values: [b.cdn.test.] }
`,
    );
    daemon = startCli(['run', '--config', config]);
    const listening = await vi.waitFor(
      () => {
        const line = daemon.lines.map((l) => JSON.parse(l) as { msg?: string; listen?: string }).find((l) => l.msg?.startsWith('DNS server listening') === true);
        if (line?.listen === undefined) throw new Error('the DNS server is not listening yet');
        return line.listen;
      },
      WAIT,
    );
    const [host = '', port = ''] = listening.split(/:(?=\d+$)/);
    dns = { host, port: Number(port) };
  });

  afterAll(async () => {
    daemon.child.kill('SIGKILL');
    cdnA.server.closeAllConnections();
    cdnB.server.closeAllConnections();
    await new Promise((r) => cdnA.server.close(r));
    await new Promise((r) => cdnB.server.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  const cname = async (): Promise<string | undefined> => answerValues((await queryDns(dns, 'www.example.com', 'CNAME')).packet, 'CNAME')[0];

  it('serves the first CDN, probed with the site name as Host', async () => {
    await vi.waitFor(async () => {
      expect(await cname()).toBe('a.cdn.test');
    }, WAIT);
    expect(cdnA.hosts.length).toBeGreaterThan(0);
    expect(new Set(cdnA.hosts)).toEqual(new Set(['www.example.com']));
  });

  it('moves to the second CDN when the first fails, and back when it recovers', async () => {
    cdnA.server.closeAllConnections();
    await new Promise((r) => cdnA.server.close(r));
    await vi.waitFor(async () => {
      expect(await cname()).toBe('b.cdn.test');
    }, WAIT);

    await new Promise<void>((resolve) => cdnA.server.listen(cdnA.port, '127.0.0.1', resolve));
    await vi.waitFor(async () => {
      expect(await cname()).toBe('a.cdn.test');
    }, WAIT);
  });

  it('stops cleanly', async () => {
    daemon.child.kill('SIGTERM');
    expect(await exited(daemon.child)).toBe(0);
  });
});
