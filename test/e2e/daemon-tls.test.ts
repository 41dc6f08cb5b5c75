import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PeerVerifier } from '../../src/cluster/auth.js';
import type { PeerMessage } from '../../src/cluster/messages.js';
import { PeerSender } from '../../src/cluster/peer-client.js';
import { peerRoute } from '../../src/cluster/peer-route.js';
import { loadConfigFile } from '../../src/config/load.js';
import { AdminApi } from '../../src/control/api/server.js';
import type { Daemon } from '../../src/daemon.js';
import { caFetch } from '../../src/lib/ca-fetch.js';
import type { CaFetch } from '../../src/lib/ca-fetch.js';
import { systemClock } from '../../src/lib/clock.js';
import { buildDaemon } from '../../src/main.js';
import { runCli } from '../helpers/cli.js';
import { memoryLogger } from '../helpers/memory-logger.js';
import type { LogLine } from '../helpers/memory-logger.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import type { TcpProxy } from '../helpers/tcp-proxy.js';
import { createTestCa, replaceFile } from '../helpers/tls-ca.js';
import type { IssuedCert, TestCa } from '../helpers/tls-ca.js';

/**
 * Two daemons (us-east and eu-west) built by the real composition root in this process, each
 * serving its admin API over https with a certificate from one private CA, and reaching the other
 * over https checked against cluster.ca. Each peer link goes through a TCP proxy, so each config
 * can name its peer's address before that peer listens. What is shown: the peers exchange over
 * https; a read token reads status but is refused (403) the override an operate token makes; a
 * reload (SIGHUP) serves a renewed certificate without a restart and the peers go on; the CLI
 * talks to an https API given --ca; and the plain-http warnings at start.
 */

const ENV = { OPS_TOKEN: 'ops-token-2c6a', VIEWER_TOKEN: 'viewer-token-81fe', CLUSTER_SECRET: 'tls-cluster-secret-55d0' };
const REGIONS = ['us-east', 'eu-west'] as const;
type Region = (typeof REGIONS)[number];
const WAIT = { timeout: 20_000, interval: 50 };

interface Replica {
  readonly region: Region;
  readonly dir: string;
  readonly daemon: Daemon;
  readonly lines: LogLine[];
  readonly stop: AbortController;
  readonly running: Promise<void>;
  port: number;
}

let root: string;
let ca: TestCa;
let certs: Record<Region, IssuedCert>;
let renewed: IssuedCert;
let client: CaFetch;
let probeTarget: Server;
const proxies = new Map<Region, TcpProxy>();
const replicas = new Map<Region, Replica>();

function replicaConfig(region: Region, peer: Region, probePort: number): string {
  return `region: ${region}
stateDir: state
api:
  listen: 127.0.0.1:0
  tls: { cert: tls.crt, key: tls.key }
  tokens:
    ops: \${OPS_TOKEN}
    grafana: { token: "\${VIEWER_TOKEN}", scope: read }
cluster:
  peers: [ { region: ${peer}, url: "https://127.0.0.1:${proxies.get(peer)?.port ?? 0}" } ]
  secret: \${CLUSTER_SECRET}
  ca: ../ca.pem
  staleAfter: 5s
  warmup: 0s
  exchangeInterval: 100ms
providers:
  lab: { type: local, listen: 127.0.0.1:0, nameserver: ns1.lab.example.net. }
zones:
  example.com:
    providers: [lab]
    records:
      api:
        type: A
        ttl: 30
        failover:
          check: { protocol: tcp, port: ${probePort}, interval: 200ms, timeout: 100ms, fall: 2, rise: 2 }
          pools:
            - { name: primary, values: [127.0.0.1] }
            - { name: secondary, values: [127.0.0.2] }
`;
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`no ${what}`);
  return value;
}

function replica(region: Region): Replica {
  return need(replicas.get(region), `replica ${region}`);
}

async function startReplica(region: Region, peer: Region, probePort: number): Promise<Replica> {
  const dir = join(root, region);
  await mkdir(dir, { recursive: true });
  await Promise.all([writeFile(join(dir, 'tls.crt'), certs[region].cert), writeFile(join(dir, 'tls.key'), certs[region].key)]);
  const configFile = join(dir, 'dnsquorum.yaml');
  await writeFile(configFile, replicaConfig(region, peer, probePort));
  const log = memoryLogger();
  const daemon = await buildDaemon(await loadConfigFile(configFile, ENV), { logger: log.logger, clock: systemClock, loadConfig: () => loadConfigFile(configFile, ENV) });
  const stop = new AbortController();
  const running = daemon.run(stop.signal);
  const port = await vi.waitFor(() => {
    const line = log.lines.find((l) => l.msg === 'admin API listening');
    if (typeof line?.listen !== 'string') throw new Error(`${region}: the admin API is not listening yet`);
    return Number(line.listen.split(':').at(-1));
  }, WAIT);
  need(proxies.get(region), `proxy ${region}`).retarget({ host: '127.0.0.1', port });
  return { region, dir, daemon, lines: log.lines, stop, running, port };
}

async function api(region: Region, method: 'GET' | 'POST', path: string, token: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await client.fetch(`https://127.0.0.1:${replica(region).port}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-dnsquorum-actor': 'tls-test' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: await res.json() };
}

interface PeerView {
  readonly region: string;
  readonly lastHeardAt: number | null;
  readonly lastSentAt: number | null;
  readonly lastSendError: string | null;
}

async function peerView(region: Region): Promise<PeerView> {
  const { json } = await api(region, 'GET', '/v1/status', ENV.VIEWER_TOKEN);
  const peers = (json as { cluster: { peers: PeerView[] } }).cluster.peers;
  return need(peers[0], `${region}'s peer`);
}

function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca: ca.cert, servername: 'localhost' }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fingerprint);
    });
    socket.once('error', reject);
  });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'dq-daemon-tls-'));
  ca = await createTestCa('dnsquorum cluster CA');
  const [east, west, next] = await Promise.all([ca.issue('dq-us-east'), ca.issue('dq-eu-west'), ca.issue('dq-us-east-renewed')]);
  certs = { 'us-east': east, 'eu-west': west };
  renewed = next;
  await writeFile(join(root, 'ca.pem'), ca.cert);
  client = caFetch(ca.cert);
  probeTarget = createServer((socket) => socket.end());
  probeTarget.listen(0, '127.0.0.1');
  await once(probeTarget, 'listening');
  const probePort = (probeTarget.address() as AddressInfo).port;
  for (const region of REGIONS) proxies.set(region, await startTcpProxy());
  replicas.set('us-east', await startReplica('us-east', 'eu-west', probePort));
  replicas.set('eu-west', await startReplica('eu-west', 'us-east', probePort));
}, 60_000);

afterAll(async () => {
  for (const r of replicas.values()) r.stop.abort();
  await Promise.all([...replicas.values()].map((r) => r.running));
  await Promise.all([...proxies.values()].map((p) => p.close()));
  probeTarget.close();
  client.close();
  await ca.dispose();
  await rm(root, { recursive: true, force: true });
});

describe('daemons over https', { timeout: 60_000 }, () => {
  it('peers exchange over https, their certificates checked against cluster.ca', async () => {
    for (const region of REGIONS) {
      await vi.waitFor(async () => {
        const peer = await peerView(region);
        expect(peer).toMatchObject({ lastSendError: null });
        expect(peer.lastSentAt).not.toBeNull();
        expect(peer.lastHeardAt).not.toBeNull();
      }, WAIT);
    }
    // Through the proxies went TLS, not HTTP: no request line could be read on the way.
    for (const proxy of proxies.values()) {
      expect(proxy.forwarded).toBeGreaterThan(0);
      expect(proxy.requests).toEqual([]);
    }
    expect(await servedFingerprint(replica('us-east').port)).toBe(certs['us-east'].fingerprint256);
  });

  it('a read token reads status and audit but is refused the override; an operate token makes it', async () => {
    expect((await api('us-east', 'GET', '/v1/status', ENV.VIEWER_TOKEN)).status).toBe(200);
    expect((await api('us-east', 'GET', '/v1/audit', ENV.VIEWER_TOKEN)).status).toBe(200);
    const override = { record: 'api.example.com', action: { kind: 'force-pool', pool: 'secondary' }, reason: 'TLS test', for: '10m', force: true };
    expect(await api('us-east', 'POST', '/v1/overrides', ENV.VIEWER_TOKEN, override)).toEqual({
      status: 403,
      json: { error: { code: 'DQ_API_FORBIDDEN', message: 'token "grafana" has scope read; POST /v1/overrides needs a token of scope operate' } },
    });
    const made = await api('us-east', 'POST', '/v1/overrides', ENV.OPS_TOKEN, override);
    expect(made.status).toBe(201);
    expect(made.json).toMatchObject({ override: { token: 'ops', actor: 'tls-test', action: { kind: 'force-pool', pool: 'secondary' } } });
    // The override reaches the other replica over the https exchange.
    await vi.waitFor(async () => {
      const { json } = await api('eu-west', 'GET', '/v1/overrides', ENV.VIEWER_TOKEN);
      expect((json as { overrides: { reason: string }[] }).overrides.map((o) => o.reason)).toEqual(['TLS test']);
    }, WAIT);
  });

  it('a reload (SIGHUP) serves a renewed certificate on the same listener, and the peers go on', async () => {
    const east = replica('us-east');
    await replaceFile(join(east.dir, 'tls.key'), renewed.key);
    await replaceFile(join(east.dir, 'tls.crt'), renewed.cert);
    const outcome = await east.daemon.reload('SIGHUP');
    expect(outcome.result).toBe('unchanged');
    expect(await servedFingerprint(east.port)).toBe(renewed.fingerprint256);
    // eu-west opens new connections to us-east from now on and trusts the renewed certificate too.
    const since = Date.now();
    await vi.waitFor(async () => {
      const peer = await peerView('eu-west');
      expect(peer.lastSendError).toBeNull();
      expect(peer.lastSentAt ?? 0).toBeGreaterThan(since);
    }, WAIT);
  });

  it('the CLI reads status from an https API with --ca, and says what is missing without it', async () => {
    const url = `https://127.0.0.1:${replica('eu-west').port}`;
    const env = { DNSQUORUM_API_TOKEN: ENV.VIEWER_TOKEN, DNSQUORUM_API_URL: '', DNSQUORUM_CA: '' };
    const ok = await runCli(['status', '--api', url, '--ca', join(root, 'ca.pem'), '--json'], { env });
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ region: 'eu-west' });
    const viaEnv = await runCli(['status', '--api', url, '--json'], { env: { ...env, DNSQUORUM_CA: join(root, 'ca.pem') } });
    expect(viaEnv.code).toBe(0);
    const untrusted = await runCli(['status', '--api', url], { env });
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toContain("the API's certificate does not chain to a trusted CA (pass --ca FILE or set DNSQUORUM_CA to its CA bundle)");
  });
});

describe('peers over https without cluster.ca', () => {
  it('fail against a private CA with the certificate error in status; with cluster.ca they deliver', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dq-peer-ca-'));
    const files = { cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') };
    await Promise.all([writeFile(files.cert, certs['eu-west'].cert), writeFile(files.key, certs['eu-west'].key)]);
    const received: PeerMessage[] = [];
    const exchange = peerRoute({ verifier: new PeerVerifier({ secret: ENV.CLUSTER_SECRET, clock: systemClock }), peers: ['us-east'], clock: systemClock, logger: memoryLogger().logger, onMessage: (m) => received.push(m) });
    const receiver = new AdminApi({ listen: { host: '127.0.0.1', port: 0 }, tokens: new Map(), tls: files, routes: [exchange.route], logger: memoryLogger().logger });
    await receiver.start();
    const message: PeerMessage = { v: 1, region: 'us-east', writer: true, seesQuorum: true, verdicts: [], overrides: [] };
    const send = async (fetchOption: { fetch?: typeof fetch }): Promise<string | null> => {
      const sender = new PeerSender({
        self: 'us-east',
        peers: [{ region: 'eu-west', url: `https://127.0.0.1:${receiver.address().port}` }],
        secret: ENV.CLUSTER_SECRET,
        clock: systemClock,
        logger: memoryLogger().logger,
        intervalMs: 50,
        requestTimeoutMs: 2_000,
        message: () => message,
        ...fetchOption,
      });
      const stop = new AbortController();
      const running = sender.run(stop.signal);
      try {
        return await vi.waitFor(() => {
          const [status] = sender.status();
          if (status?.lastSendError === null && status.lastSentAt === null) throw new Error('no post answered yet');
          return status?.lastSendError ?? null;
        }, WAIT);
      } finally {
        stop.abort();
        await running;
      }
    };
    try {
      expect(await send({})).toBe('fetch failed: UNABLE_TO_VERIFY_LEAF_SIGNATURE');
      expect(received).toEqual([]);
      const withCa = caFetch(ca.cert);
      try {
        expect(await send({ fetch: withCa.fetch })).toBeNull();
      } finally {
        withCa.close();
      }
      expect(received.length).toBeGreaterThan(0);
    } finally {
      await receiver.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('plain-http warnings at start', () => {
  it('name the API listen address and each plain-http peer off loopback, and nothing else', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dq-plain-http-'));
    try {
      const configFile = join(dir, 'dnsquorum.yaml');
      await writeFile(
        configFile,
        `region: us-east
stateDir: state
api: { listen: "0.0.0.0:8053", token: "\${OPS_TOKEN}" }
cluster:
  peers:
    - { region: eu-west, url: "http://dq-eu.example.net:8053" }
    - { region: ap-south, url: "https://dq-ap.example.net:8053" }
    - { region: sa-east, url: "http://127.0.0.1:8054" }
  secret: \${CLUSTER_SECRET}
`,
      );
      const log = memoryLogger();
      // Built, not run: the warnings come from wiring, before anything listens.
      await buildDaemon(await loadConfigFile(configFile, ENV), { logger: log.logger, clock: systemClock });
      const warnings = log.lines.filter((l) => l.level === 40 && typeof l.plainHttp === 'string');
      expect(warnings.map((l) => [l.component, l.plainHttp, l.peer ?? null])).toEqual([
        ['api', '0.0.0.0:8053', null],
        ['cluster', 'http://dq-eu.example.net:8053', 'eu-west'],
      ]);
      expect(warnings[0]?.msg).toBe(
        'the admin API listens on plain http at 0.0.0.0:8053, which is not a loopback address: bearer tokens sent to it travel unencrypted; set api.tls, or listen on loopback behind a TLS proxy',
      );
      expect(log.raw.join('')).not.toContain(ENV.OPS_TOKEN);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
