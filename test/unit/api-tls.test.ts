import { once } from 'node:events';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:tls';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AdminApi } from '../../src/control/api/server.js';
import type { Route } from '../../src/control/api/server.js';
import { caFetch } from '../../src/lib/ca-fetch.js';
import type { CaFetch } from '../../src/lib/ca-fetch.js';
import { DnsQuorumError } from '../../src/lib/errors.js';
import { memoryLogger } from '../helpers/memory-logger.js';
import { createTestCa, replaceFile } from '../helpers/tls-ca.js';
import type { IssuedCert, TestCa } from '../helpers/tls-ca.js';

/**
 * The admin API over TLS (api.tls), on real sockets on loopback, with certificates from a test CA
 * made by the openssl CLI: it answers over https with the configured certificate, takes a new
 * pair when the files change or on reloadTls() (SIGHUP, POST /v1/reload) without closing its
 * listener, and keeps serving the previous pair when the new files are not a pair.
 */

const TOKEN = 'tls-test-token-7d1e';
const routes: Route[] = [{ method: 'GET', path: '/v1/status', auth: 'read', handle: () => Promise.resolve({ status: 200, body: { ok: true } }) }];
/** Bounded: the file watch polls every 20 ms here. */
const WAIT = { timeout: 10_000, interval: 20 };

/** The certificate a new TLS connection to the port is given, checked against `ca`. */
function servedFingerprint(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fingerprint);
    });
    socket.once('error', reject);
  });
}

describe('admin API over https (api.tls)', () => {
  let ca: TestCa;
  let first: IssuedCert;
  let second: IssuedCert;
  let dir: string;
  let client: CaFetch;
  const opened: AdminApi[] = [];

  beforeAll(async () => {
    ca = await createTestCa('dnsquorum test CA');
    [first, second] = await Promise.all([ca.issue('dq-first'), ca.issue('dq-second')]);
    client = caFetch(ca.cert);
  });

  afterAll(async () => {
    client.close();
    await ca.dispose();
  });

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((api) => api.close()));
    await rm(dir, { recursive: true, force: true });
  });

  async function start(pair: IssuedCert, watchMs: number): Promise<{ api: AdminApi; port: number; files: { cert: string; key: string }; lines: ReturnType<typeof memoryLogger>['lines'] }> {
    dir = await mkdtemp(join(tmpdir(), 'dq-api-tls-'));
    const files = { cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') };
    await Promise.all([writeFile(files.cert, pair.cert), writeFile(files.key, pair.key)]);
    const log = memoryLogger();
    const api = new AdminApi({ listen: { host: '127.0.0.1', port: 0 }, tokens: new Map([['api', TOKEN]]), tls: files, tlsWatchIntervalMs: watchMs, routes, logger: log.logger });
    opened.push(api);
    await api.start();
    return { api, port: api.address().port, files, lines: log.lines };
  }

  it('answers over https with the configured certificate, and refuses plain http on that port', async () => {
    const { port, lines } = await start(first, 60_000);
    expect(await servedFingerprint(port, ca.cert)).toBe(first.fingerprint256);
    const res = await client.fetch(`https://127.0.0.1:${port}/v1/status`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
    const listening = lines.find((l) => l.msg === 'admin API listening');
    expect(listening).toMatchObject({ tls: true, fingerprint256: first.fingerprint256 });
    await expect(fetch(`http://127.0.0.1:${port}/v1/status`)).rejects.toThrow();
  });

  it('a client without the CA is refused by certificate verification, not answered', async () => {
    const { port } = await start(first, 60_000);
    const failure = await fetch(`https://127.0.0.1:${port}/v1/status`).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(TypeError);
    expect((failure as TypeError).cause).toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  });

  it('takes a new pair written over the files, on the same listener, without a restart', async () => {
    const { api, port, files, lines } = await start(first, 20);
    // A connection opened before the rotation stays open and keeps working.
    const before = await client.fetch(`https://127.0.0.1:${port}/v1/status`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(before.status).toBe(200);
    await replaceFile(files.key, second.key);
    await replaceFile(files.cert, second.cert);
    await vi.waitFor(async () => {
      expect(await servedFingerprint(port, ca.cert)).toBe(second.fingerprint256);
    }, WAIT);
    expect(api.address().port).toBe(port);
    const after = await client.fetch(`https://127.0.0.1:${port}/v1/status`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(after.status).toBe(200);
    expect(lines.filter((l) => l.msg.startsWith('admin API: TLS certificate reloaded')).at(-1)).toMatchObject({ fingerprint256: second.fingerprint256 });
  });

  it('reloadTls() (SIGHUP, POST /v1/reload) reads the files again even when no change was noticed', async () => {
    const { api, port, files } = await start(first, 3_600_000);
    await Promise.all([writeFile(files.cert, second.cert), writeFile(files.key, second.key)]);
    expect(await api.reloadTls()).toBe('reloaded');
    expect(await servedFingerprint(port, ca.cert)).toBe(second.fingerprint256);
    expect(await api.reloadTls()).toBe('unchanged');
  });

  it('a new certificate without its key is refused, logged once, and the previous pair goes on serving', async () => {
    const { api, port, files, lines } = await start(first, 3_600_000);
    await writeFile(files.cert, second.cert);
    expect(await api.reloadTls()).toBe('refused');
    expect(await api.reloadTls()).toBe('refused');
    const refusals = lines.filter((l) => l.msg.startsWith('admin API: the TLS pair was not reloaded'));
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatchObject({ code: 'DQ_TLS_INVALID' });
    expect(refusals[0]?.msg).toContain('the key is not the private key of the certificate (CN=dq-second)');
    expect(await servedFingerprint(port, ca.cert)).toBe(first.fingerprint256);
    // The key arrives: the next look takes the pair.
    await writeFile(files.key, second.key);
    expect(await api.reloadTls()).toBe('reloaded');
    expect(await servedFingerprint(port, ca.cert)).toBe(second.fingerprint256);
  });

  it('a key file missing at start stops the start with DQ_TLS_INVALID naming it', async () => {
    dir = await mkdtemp(join(tmpdir(), 'dq-api-tls-'));
    const files = { cert: join(dir, 'tls.crt'), key: join(dir, 'missing.key') };
    await writeFile(files.cert, first.cert);
    const api = new AdminApi({ listen: { host: '127.0.0.1', port: 0 }, tokens: new Map(), tls: files, routes, logger: memoryLogger().logger });
    opened.push(api);
    const failure = await api.start().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(DnsQuorumError);
    expect(failure).toMatchObject({ code: 'DQ_TLS_INVALID', message: `api.tls.key ${files.key}: cannot read it: no such file` });
  });

  it('caFetch: a certificate from another CA fails with its TLS code; an abort rejects with the signal\'s reason', async () => {
    const stranger = await createTestCa('another CA');
    const foreign = await stranger.issue('dq-foreign');
    await stranger.dispose();
    const pending: unknown[] = [];
    const hanging = createHttpsServer({ cert: foreign.cert, key: foreign.key }, (req) => pending.push(req));
    hanging.listen(0, '127.0.0.1');
    await once(hanging, 'listening');
    const url = `https://127.0.0.1:${(hanging.address() as AddressInfo).port}/`;
    try {
      const refused = await client.fetch(url).then(() => undefined, (err: unknown) => err);
      expect(refused).toBeInstanceOf(TypeError);
      expect((refused as TypeError).cause).toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
      const trusting = caFetch(stranger.cert.concat(ca.cert));
      try {
        const stop = new AbortController();
        const answer = trusting.fetch(url, { signal: stop.signal });
        await vi.waitFor(() => { expect(pending).toHaveLength(1); }, WAIT);
        stop.abort(new DOMException('no answer within 50 ms', 'TimeoutError'));
        await expect(answer).rejects.toMatchObject({ name: 'TimeoutError', message: 'no answer within 50 ms' });
      } finally {
        trusting.close();
      }
    } finally {
      hanging.closeAllConnections();
      hanging.close();
    }
  });
});
