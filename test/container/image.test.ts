import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { GenericContainer, Wait, getContainerRuntimeClient } from 'testcontainers';
import type { StartedTestContainer } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestContext } from 'vitest';
import { z } from 'zod';
import { answerValues } from '../../src/lib/dns-query.js';
import { errorMessage } from '../../src/lib/errors.js';
import { REPO, runCli } from '../helpers/cli.js';
import { queryUdp } from '../helpers/dns-client.js';

/**
 * Issue 8, item 7: the image built from the repository's Dockerfile, started the way the docs say
 * to run it (read-only root filesystem, no capabilities, no privilege escalation, config on a
 * volume), becomes ready, answers DNS from its built-in `local` provider, reports healthy through
 * its own HEALTHCHECK and exits 0 on SIGTERM. Without a reachable container engine every test
 * that needs one is skipped, saying so; finding that out takes at most ENGINE_CHECK_MS.
 */

const ENGINE_CHECK_MS = 5_000;
/** Building the image runs `npm ci` twice; a cold build cache on a slow line takes minutes. */
const BUILD_TIMEOUT_MS = 15 * 60_000;
const API_PORT = 8053;
const DNS_PORT = 53;

/** One replica, one region; a `local` provider answers DNS itself; the API listens for the host. */
const CONFIG = `region: container-test
stateDir: /var/lib/dnsquorum
api:
  listen: 0.0.0.0:${API_PORT}
providers:
  lab:
    type: local
    listen: 0.0.0.0:${DNS_PORT}
    nameserver: ns1.container.example.
zones:
  container.example:
    providers: [lab]
    records:
      www: { type: A, ttl: 60, value: 192.0.2.80 }
      api:
        type: A
        ttl: 5
        failover:
          # The daemon's own /healthz, on two loopback addresses: probing works inside the container.
          check: { protocol: http, port: ${API_PORT}, path: /healthz, interval: 1s, timeout: 500ms, fall: 1, rise: 1 }
          pools:
            - { name: primary, values: [127.0.0.1] }
            - { name: secondary, values: [127.0.0.2] }
`;

/** Why no container engine can be used, or undefined when one answers. Never waits longer than ENGINE_CHECK_MS. */
async function engineProblem(): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<string>((resolve) => {
    timer = setTimeout(() => {
      resolve(`no answer within ${ENGINE_CHECK_MS} ms`);
    }, ENGINE_CHECK_MS);
  });
  try {
    return await Promise.race([
      getContainerRuntimeClient().then(
        () => undefined,
        (err: unknown) => errorMessage(err),
      ),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A tar archive holding one file, as the engine's archive API takes it: a ustar header, the
 * content padded to 512 bytes, and two empty blocks.
 */
function tarOf(name: string, content: string): Readable {
  const body = Buffer.from(content, 'utf8');
  const header = Buffer.alloc(512);
  const octal = (value: number, width: number): string => `${value.toString(8).padStart(width - 1, '0')}\0`;
  header.write(name, 0, 100, 'utf8');
  header.write(octal(0o644, 8), 100, 'ascii');
  header.write(octal(0, 8), 108, 'ascii');
  header.write(octal(0, 8), 116, 'ascii');
  header.write(octal(body.length, 12), 124, 'ascii');
  header.write(octal(0, 12), 136, 'ascii');
  header.write(' '.repeat(8), 148, 'ascii');
  header.write('0', 156, 'ascii');
  header.write('ustar\u000000', 257, 'ascii');
  const checksum = header.reduce((sum, byte) => sum + byte, 0);
  header.write(`${checksum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  const padding = (512 - (body.length % 512)) % 512;
  return Readable.from([Buffer.concat([header, body, Buffer.alloc(padding), Buffer.alloc(1024)])]);
}

/**
 * The container as docs/container.md runs it. The config goes onto its own volume because the
 * engine refuses to copy files onto a read-only root filesystem; the state directory is a volume
 * already (the image declares it).
 */
class HardenedContainer extends GenericContainer {
  constructor(image: string) {
    super(image);
    this.hostConfig.ReadonlyRootfs = true;
    this.hostConfig.CapDrop = ['ALL'];
    this.hostConfig.SecurityOpt = ['no-new-privileges:true'];
    // Port 53 without CAP_NET_BIND_SERVICE: what Docker sets by default, and Kubernetes needs asked.
    this.hostConfig.Sysctls = { 'net.ipv4.ip_unprivileged_port_start': String(DNS_PORT) };
    this.hostConfig.Mounts = [{ Type: 'volume', Source: '', Target: '/etc/dnsquorum' }]; // no name: an anonymous volume
  }
}

const Readiness = z.object({ ready: z.boolean(), checks: z.array(z.object({ name: z.string(), ok: z.boolean(), detail: z.string() })) });
const Inspection = z.looseObject({
  State: z.looseObject({ Running: z.boolean(), ExitCode: z.number(), Health: z.looseObject({ Status: z.string() }).optional() }),
});

/** Polls `probe` until it returns a value, or fails naming `what` and the last miss once `ms` pass. */
async function eventually<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  let last = 'not tried';
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
      last = 'not yet';
    } catch (err) {
      last = errorMessage(err);
    }
    if (Date.now() > deadline) throw new Error(`${what}: still not so after ${ms} ms (last: ${last})`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('the container image', () => {
  let skipReason: string | undefined;
  let container: StartedTestContainer | undefined;
  let stopped = false;
  const logs: string[] = [];

  beforeAll(async () => {
    const problem = await engineProblem();
    if (problem !== undefined) {
      skipReason = `no container engine reachable (${problem}): the container test is skipped`;
      console.warn(skipReason);
      return;
    }
    const imageTag = `dnsquorum-container-test:${randomUUID().slice(0, 8)}`;
    await GenericContainer.fromDockerfile(REPO).build(imageTag, { deleteOnExit: true });
    try {
      container = await new HardenedContainer(imageTag)
        .withCopyArchivesToContainer([{ tar: tarOf('dnsquorum.yaml', CONFIG), target: '/etc/dnsquorum' }])
        .withExposedPorts(API_PORT, `${DNS_PORT}/udp`)
        .withLogConsumer((stream) => stream.on('data', (chunk: Buffer | string) => logs.push(chunk.toString())))
        .withWaitStrategy(Wait.forHttp('/readyz', API_PORT).forStatusCode(200).withStartupTimeout(120_000))
        .start();
    } catch (err) {
      throw new Error(`the container did not become ready: ${errorMessage(err)}\n--- its output ---\n${logs.join('')}`, { cause: err });
    }
  }, BUILD_TIMEOUT_MS);

  afterAll(async () => {
    if (container !== undefined && !stopped) await container.stop();
  }, 60_000);

  function started(ctx: TestContext): StartedTestContainer {
    if (skipReason !== undefined) ctx.skip(skipReason);
    if (container === undefined) throw new Error('the container did not start');
    return container;
  }

  /** Where the host reaches a port of the container; a local engine's "localhost" is 127.0.0.1. */
  function address(c: StartedTestContainer, port: number, protocol: 'tcp' | 'udp'): { host: string; port: number } {
    const host = c.getHost();
    return { host: host === 'localhost' ? '127.0.0.1' : host, port: c.getMappedPort(port, protocol) };
  }

  it('is ready: /readyz answers 200 with every check passing', async (ctx) => {
    const c = started(ctx);
    const { host, port } = address(c, API_PORT, 'tcp');
    const response = await fetch(`http://${host}:${port}/readyz`, { signal: AbortSignal.timeout(5_000) });
    const body = Readiness.parse(await response.json());
    expect(response.status, JSON.stringify(body)).toBe(200);
    expect(body.checks.filter((check) => !check.ok)).toEqual([]);
  });

  it('answers DNS over UDP from its local provider, static and failover records alike', async (ctx) => {
    const c = started(ctx);
    const dns = address(c, DNS_PORT, 'udp');
    const answers = await eventually('www and api answered', 30_000, async () => {
      const [www, api] = await Promise.all([queryUdp(dns, 'www.container.example', 'A', { timeoutMs: 2_000 }), queryUdp(dns, 'api.container.example', 'A', { timeoutMs: 2_000 })]);
      const values = [www, api].map((r) => answerValues(r, 'A'));
      return values.every((v) => v.length > 0) ? values : undefined;
    });
    expect(answers).toEqual([['192.0.2.80'], ['127.0.0.1']]);
  });

  it('runs node as PID 1 under the non-root UID, writes state only to its volume', async (ctx) => {
    const c = started(ctx);
    const script = `
      const fs = require('node:fs');
      const status = fs.readFileSync('/proc/1/status', 'utf8');
      let rootWrite = 'allowed';
      try { fs.writeFileSync('/app/probe-write', 'x'); } catch (err) { rootWrite = err.code; }
      console.log(JSON.stringify({
        uid: /^Uid:\\s+(\\d+)/m.exec(status)[1],
        cmdline: fs.readFileSync('/proc/1/cmdline', 'utf8').split('\\0').filter(Boolean),
        state: fs.readdirSync('/var/lib/dnsquorum/local').filter((name) => !name.startsWith('.')),
        rootWrite,
      }));`;
    const result = await c.exec(['node', '-e', script]);
    expect(result.exitCode, result.stderr).toBe(0);
    const seen = z.object({ uid: z.string(), cmdline: z.array(z.string()), state: z.array(z.string()), rootWrite: z.string() }).parse(JSON.parse(result.stdout));
    expect(seen).toEqual({
      uid: '10001',
      cmdline: ['node', '/app/dist/cli/index.js', 'run', '--config', '/etc/dnsquorum/dnsquorum.yaml'],
      state: ['lab.json'],
      rootWrite: 'EROFS',
    });
  });

  it("reports healthy through the image's HEALTHCHECK", async (ctx) => {
    const c = started(ctx);
    const client = await getContainerRuntimeClient();
    const handle = client.container.getById(c.getId());
    const status = await eventually('the engine reports the container healthy', 90_000, async () => {
      const health = Inspection.parse(await client.container.inspect(handle)).State.Health?.Status;
      return health === 'healthy' || health === 'unhealthy' ? health : undefined;
    });
    expect(status, logs.join('')).toBe('healthy');
  }, 120_000);

  it('stops on SIGTERM with exit code 0', async (ctx) => {
    const c = started(ctx);
    stopped = true;
    const client = await getContainerRuntimeClient();
    const handle = client.container.getById(c.getId());
    await c.stop({ timeout: 30_000, remove: false });
    try {
      const state = Inspection.parse(await client.container.inspect(handle)).State;
      expect(state.Running).toBe(false);
      expect(state.ExitCode, logs.join('')).toBe(0);
    } finally {
      await client.container.remove(handle, { removeVolumes: true });
    }
  }, 60_000);
});

describe('the container test config', () => {
  it('is valid, so the container test fails only for what the container does', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dq-container-test-'));
    try {
      const file = join(dir, 'dnsquorum.yaml');
      await writeFile(file, CONFIG);
      const result = await runCli(['validate', '--config', file], { env: { DNSQUORUM_REGION: '' } });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
