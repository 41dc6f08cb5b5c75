import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HostPort } from '../../src/config/types.js';
import { ManualClock, systemClock } from '../../src/lib/clock.js';
import { createProber } from '../../src/probe/prober.js';
import type { ProbeTarget } from '../../src/probe/prober.js';
import { refusedPort, startHttpServer, startSilentServer } from '../helpers/probe-servers.js';
import type { Handler, SilentServer, TestHttpServer } from '../helpers/probe-servers.js';
import { httpTarget } from '../helpers/probe-targets.js';
import { createSelfSignedCert } from '../helpers/tls.js';
import type { SelfSignedCert } from '../helpers/tls.js';

const DAY_MS = 86_400_000;
const noResolve = new Map<string, HostPort>();
const prober = createProber({ clock: systemClock, resolve: noResolve });
const probe = (target: ProbeTarget, signal = new AbortController().signal) => prober.probe(target, signal);

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function serve(handler: Handler, tls?: SelfSignedCert): Promise<TestHttpServer> {
  const server = await startHttpServer(handler, tls);
  open.push(server);
  return server;
}

async function silent(): Promise<SilentServer> {
  const server = await startSilentServer();
  open.push(server);
  return server;
}

const respond =
  (status: number, body = ''): Handler =>
  (_req, res) => {
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(body);
  };

describe('http probe: status', () => {
  it.each([
    { status: 200, expect: [200], ok: true },
    { status: 503, expect: [200], ok: false },
    { status: 204, expect: [200, 204], ok: true },
    { status: 301, expect: [200, 204], ok: false },
    { status: 404, expect: [404], ok: true },
  ])('HTTP $status with expect $expect -> ok $ok', async ({ status, expect: accepted, ok }) => {
    const server = await serve(respond(status));
    const result = await probe(httpTarget('127.0.0.1', server.port, { expect: accepted }));
    expect(result).toMatchObject({ endpointId: 'www.example.com. A 127.0.0.1', ok, detail: `HTTP ${status}` });
    expect(result.certDaysLeft).toBeUndefined();
    expect(server.requests).toEqual([{ host: 'www.example.com', path: '/healthz', servername: undefined }]);
  });
});

describe('http probe: body match', () => {
  const big = 'x'.repeat(70 * 1024);
  it.each([
    { name: 'matching body', body: 'status: ok\n', bodyMatch: 'status: ok', ok: true, detail: 'HTTP 200' },
    { name: 'other body', body: 'status: degraded\n', bodyMatch: 'status: ok', ok: false, detail: 'HTTP 200, body did not match /status: ok/' },
    { name: 'anchored pattern', body: 'OK', bodyMatch: '^OK$', ok: true, detail: 'HTTP 200' },
    { name: 'marker past the 64 KiB read limit', body: `${big}ok`, bodyMatch: 'ok', ok: false, detail: 'HTTP 200, body did not match /ok/' },
    { name: 'invalid pattern', body: 'ok', bodyMatch: '(', ok: false, detail: 'invalid bodyMatch /(/' },
  ])('$name', async ({ body, bodyMatch, ok, detail }) => {
    const server = await serve(respond(200, body));
    const result = await probe(httpTarget('127.0.0.1', server.port, { bodyMatch }));
    expect(result.ok).toBe(ok);
    expect(result.detail).toContain(detail);
  });

  it('does not wait for the end of a body once 64 KiB are read', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200);
      res.write(`ok${'x'.repeat(70 * 1024)}`); // and never ends the response
    });
    const result = await probe(httpTarget('127.0.0.1', server.port, { bodyMatch: '^ok' }));
    expect(result).toMatchObject({ ok: true, detail: 'HTTP 200' });
  });

  it('fails when the connection drops in the middle of the body', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('partial', () => res.socket?.destroy());
    });
    const result = await probe(httpTarget('127.0.0.1', server.port, { bodyMatch: 'never' }));
    expect(result.ok).toBe(false);
    expect(result.detail).toContain('connection lost while reading the body');
  });
});

describe('https probe', () => {
  let cert: SelfSignedCert;
  beforeAll(async () => {
    cert = await createSelfSignedCert(['origin.example.net', 'www.example.com'], 30);
  });

  it('sends the Host header and the SNI from the check, each on its own', async () => {
    const server = await serve(respond(200), cert);
    const result = await probe(httpTarget('127.0.0.1', server.port, { protocol: 'https', host: 'www.example.com', sni: 'origin.example.net' }));
    expect(result).toMatchObject({ ok: true, detail: 'HTTP 200' });
    expect(server.requests).toEqual([{ host: 'www.example.com', path: '/healthz', servername: 'origin.example.net' }]);
  });

  it('fails verification of a self-signed certificate when tlsVerify is on', async () => {
    const server = await serve(respond(200), cert);
    const result = await probe(httpTarget('127.0.0.1', server.port, { protocol: 'https', tlsVerify: true }));
    expect(result.ok).toBe(false);
    expect(result.detail).toBe('TLS: self-signed certificate');
    expect(server.requests).toEqual([]);
  });

  it('accepts the same certificate when tlsVerify is off', async () => {
    const server = await serve(respond(200), cert);
    const result = await probe(httpTarget('127.0.0.1', server.port, { protocol: 'https', tlsVerify: false }));
    expect(result).toMatchObject({ ok: true, detail: 'HTTP 200' });
  });

  it('still reports the certificate age on a failing status', async () => {
    const server = await serve(respond(503), cert);
    const result = await probe(httpTarget('127.0.0.1', server.port, { protocol: 'https' }));
    expect(result).toMatchObject({ ok: false, detail: 'HTTP 503' });
    expect(result.certDaysLeft).toBeTypeOf('number');
  });

  it.each([
    { when: 'at issue', offset: (c: SelfSignedCert) => c.validFrom, days: 30 },
    { when: 'one day after issue', offset: (c: SelfSignedCert) => c.validFrom + DAY_MS, days: 29 },
    { when: '36 hours before expiry', offset: (c: SelfSignedCert) => c.validTo - 1.5 * DAY_MS, days: 1 },
    { when: 'one hour before expiry', offset: (c: SelfSignedCert) => c.validTo - 3_600_000, days: 0 },
    { when: 'one hour after expiry', offset: (c: SelfSignedCert) => c.validTo + 3_600_000, days: -1 },
  ])('certDaysLeft $days $when (a 30-day certificate, dated by the injected clock)', async ({ offset, days }) => {
    const server = await serve(respond(200), cert);
    const clock = new ManualClock(offset(cert));
    const result = await createProber({ clock, resolve: noResolve }).probe(httpTarget('127.0.0.1', server.port, { protocol: 'https' }), new AbortController().signal);
    expect(result.certDaysLeft).toBe(days);
  });

  it('reports a timeout when the server accepts but never completes the handshake', async () => {
    const server = await silent();
    const result = await probe(httpTarget('127.0.0.1', server.port, { protocol: 'https', timeoutMs: 200 }));
    expect(result).toMatchObject({ ok: false, detail: 'timeout after 200ms' });
    await expect.poll(() => server.closed()).toBe(1);
  });
});

describe('http probe: connection failures and deadlines', () => {
  it.each(['http', 'https'] as const)('%s: connection refused, reported as Node words it', async (protocol) => {
    const port = await refusedPort();
    const result = await probe(httpTarget('127.0.0.1', port, { protocol }));
    expect(result).toMatchObject({ ok: false, detail: `connect ECONNREFUSED 127.0.0.1:${port}` });
  });

  it('a server that accepts and never answers ends in a timeout, and the socket is closed', async () => {
    const server = await silent();
    const result = await probe(httpTarget('127.0.0.1', server.port, { timeoutMs: 200 }));
    expect(result).toMatchObject({ ok: false, detail: 'timeout after 200ms' });
    expect(server.accepted()).toBe(1);
    await expect.poll(() => server.closed()).toBe(1);
  });

  it('a caller abort ends the probe as "aborted", not as a timeout', async () => {
    const server = await silent();
    const caller = new AbortController();
    const pending = probe(httpTarget('127.0.0.1', server.port, { timeoutMs: 60_000 }), caller.signal);
    await expect.poll(() => server.accepted()).toBe(1);
    caller.abort();
    await expect(pending).resolves.toMatchObject({ ok: false, detail: 'aborted' });
    await expect.poll(() => server.closed()).toBe(1);
  });

  it('an already aborted signal fails at once without connecting', async () => {
    const server = await silent();
    const caller = new AbortController();
    caller.abort();
    await expect(probe(httpTarget('127.0.0.1', server.port), caller.signal)).resolves.toMatchObject({ ok: false, detail: 'aborted' });
    expect(server.accepted()).toBe(0);
  });

  it('stamps at and latencyMs with the injected clock', async () => {
    const clock = new ManualClock(1_000_000);
    const server = await serve((req, res) => {
      clock.advance(250);
      respond(200)(req, res);
    });
    const result = await createProber({ clock, resolve: noResolve }).probe(httpTarget('127.0.0.1', server.port), new AbortController().signal);
    expect(result).toMatchObject({ ok: true, at: 1_000_250, latencyMs: 250 });
  });
});

describe('address resolution', () => {
  let server: TestHttpServer;
  let closedPort: number;
  beforeAll(async () => {
    server = await startHttpServer(respond(200));
    closedPort = await refusedPort();
  });
  afterAll(async () => {
    await server.close();
  });

  it.each(['cdn-a.test', 'CDN-A.test.'])('a CNAME-style host name %s goes where the resolve map says, port included', async (address) => {
    const resolve = new Map<string, HostPort>([['cdn-a.test', { host: '127.0.0.1', port: server.port }]]);
    const lookups: string[] = [];
    const mapped = createProber({ clock: systemClock, resolve, lookup: (name) => (lookups.push(name), Promise.resolve('127.0.0.2')) });
    const before = server.requests.length;
    const result = await mapped.probe(httpTarget(address, closedPort, { host: 'www.example.com' }), new AbortController().signal);
    expect(result).toMatchObject({ ok: true, detail: 'HTTP 200' });
    expect(server.requests.slice(before)).toEqual([{ host: 'www.example.com', path: '/healthz', servername: undefined }]);
    expect(lookups).toEqual([]);
  });

  it('a host name missing from the map is looked up, and the check port is kept', async () => {
    const lookups: string[] = [];
    const looked = createProber({ clock: systemClock, resolve: noResolve, lookup: (name) => (lookups.push(name), Promise.resolve('127.0.0.1')) });
    const result = await looked.probe(httpTarget('origin.test', server.port), new AbortController().signal);
    expect(result).toMatchObject({ ok: true, detail: 'HTTP 200' });
    expect(lookups).toEqual(['origin.test']);
  });

  it('a failed lookup is a failed probe with the resolver error', async () => {
    const failing = createProber({
      clock: systemClock,
      resolve: noResolve,
      lookup: (name) => Promise.reject(Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' })),
    });
    const result = await failing.probe(httpTarget('gone.test', server.port), new AbortController().signal);
    expect(result).toMatchObject({ ok: false, detail: 'resolve gone.test: getaddrinfo ENOTFOUND gone.test' });
  });

  it('a lookup that never answers is bounded by the probe timeout', async () => {
    const stuck = createProber({ clock: systemClock, resolve: noResolve, lookup: () => new Promise<string>(() => undefined) });
    const result = await stuck.probe(httpTarget('slow.test', server.port, { timeoutMs: 100 }), new AbortController().signal);
    expect(result).toMatchObject({ ok: false, detail: 'timeout after 100ms' });
  });
});
