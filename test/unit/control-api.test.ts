import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AdminApi, ApiError, MAX_BODY_BYTES } from '../../src/control/api/server.js';
import type { ApiRequest, Route } from '../../src/control/api/server.js';
import { DnsQuorumError } from '../../src/lib/errors.js';
import { memoryLogger } from '../helpers/memory-logger.js';

const TOKEN = 'test-token-5d1f0c';


/** Every request a route saw, so tests can check what a handler was given. */
const seen: ApiRequest[] = [];

const routes: Route[] = [
  { method: 'GET', path: '/v1/hello', auth: true, handle: (req) => { seen.push(req); return Promise.resolve({ status: 200, body: { hello: req.actor ?? 'anonymous' } }); } },
  { method: 'POST', path: '/v1/echo', auth: true, handle: (req) => { seen.push(req); return Promise.resolve({ status: 201, body: { got: req.body } }); } },
  { method: 'DELETE', path: '/v1/things/:id', auth: true, handle: (req) => { seen.push(req); return Promise.resolve({ status: 200, body: { deleted: req.params.id } }); } },
  { method: 'GET', path: '/v1/things/:id', auth: true, handle: (req) => Promise.resolve({ status: 200, body: { id: req.params.id } }) },
  { method: 'GET', path: '/metrics', auth: false, handle: () => Promise.resolve({ status: 200, text: 'up 1\n', contentType: 'text/plain; version=0.0.4' }) },
  { method: 'GET', path: '/v1/boom', auth: true, handle: () => Promise.reject(new Error('secret internal detail /var/lib/x')) },
  { method: 'GET', path: '/v1/conflict', auth: true, handle: () => Promise.reject(new ApiError(409, 'DQ_PLAN_UNSAFE', 'it would leave nothing in service')) },
];

async function json(res: Response): Promise<unknown> {
  return JSON.parse(await res.text()) as unknown;
}

/** Sends raw bytes and returns everything the server answered until it closed the connection. */
function rawRequest(port: number, bytes: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString()));
    socket.on('error', reject);
    socket.on('close', () => { resolve(answer); });
  });
}

describe('AdminApi with a token', () => {
  const log = memoryLogger();
  const api = new AdminApi({ listen: { host: '127.0.0.1', port: 0 }, tokens: new Map([['api', TOKEN]]), routes, logger: log.logger });
  let base: string;
  const auth = { authorization: `Bearer ${TOKEN}` };

  beforeAll(async () => {
    await api.start();
    base = `http://127.0.0.1:${api.address().port}`;
  });
  afterAll(async () => {
    await api.close();
  });
  afterEach(() => {
    seen.length = 0;
  });

  it('binds an ephemeral port when asked for port 0', () => {
    expect(api.address().host).toBe('127.0.0.1');
    expect(api.address().port).toBeGreaterThan(0);
  });

  it('answers 200 with the right token, and passes the actor header through', async () => {
    const res = await fetch(`${base}/v1/hello`, { headers: { ...auth, 'x-dnsquorum-actor': 'alice@laptop' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await json(res)).toEqual({ hello: 'alice@laptop' });
  });

  it('accepts the scheme in any case', async () => {
    const res = await fetch(`${base}/v1/hello`, { headers: { authorization: `bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
  });

  it.each([
    ['no Authorization header', undefined, 'needs an Authorization: Bearer'],
    ['a wrong token', `Bearer ${TOKEN}x`, 'the bearer token is wrong'],
    ['a prefix of the token', `Bearer ${TOKEN.slice(0, 5)}`, 'the bearer token is wrong'],
    ['the Basic scheme', `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`, 'must be "Bearer <token>"'],
    ['Bearer without a token', 'Bearer ', 'must be "Bearer <token>"'],
  ])('answers 401 for %s', async (_name, header, message) => {
    const res = await fetch(`${base}/v1/hello`, { headers: header === undefined ? {} : { authorization: header } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const body = (await json(res)) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('DQ_API_UNAUTHORIZED');
    expect(body.error.message).toContain(message);
    expect(seen).toHaveLength(0);
  });

  it('serves routes with auth: false without a token', async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4');
    expect(await res.text()).toBe('up 1\n');
  });

  it('answers 404 with a JSON error for an unknown path', async () => {
    const res = await fetch(`${base}/v1/nope`, { headers: auth });
    expect(res.status).toBe(404);
    expect(await json(res)).toEqual({ error: { code: 'DQ_API_NOT_FOUND', message: 'no route /v1/nope' } });
  });

  it.each([
    ['PUT', '/v1/hello', 'GET'],
    ['POST', '/v1/things/42', 'DELETE, GET'],
    ['GET', '/v1/echo', 'POST'],
  ])('answers 405 to %s %s with Allow: %s', async (method, path, allow) => {
    const res = await fetch(`${base}${path}`, { method, headers: auth });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe(allow);
    const body = (await json(res)) as { error: { code: string } };
    expect(body.error.code).toBe('DQ_API_METHOD');
  });

  it('matches :param segments and decodes them', async () => {
    const res = await fetch(`${base}/v1/things/api.example.com.%2FA`, { method: 'DELETE', headers: auth });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ deleted: 'api.example.com./A' });
    expect(seen[0]?.method).toBe('DELETE');
    expect(seen[0]?.path).toBe('/v1/things/api.example.com.%2FA');
  });

  it('passes a JSON body and the query to the handler', async () => {
    const res = await fetch(`${base}/v1/echo?dry=1&zone=example.com`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ to: 'secondary', n: [1, 2] }) });
    expect(res.status).toBe(201);
    expect(await json(res)).toEqual({ got: { to: 'secondary', n: [1, 2] } });
    expect(seen[0]?.query.get('zone')).toBe('example.com');
    expect(seen[0]?.query.get('dry')).toBe('1');
    expect(seen[0]?.actor).toBeNull();
  });

  it('gives the handler a null body when there is none', async () => {
    const res = await fetch(`${base}/v1/echo`, { method: 'POST', headers: auth });
    expect(res.status).toBe(201);
    expect(await json(res)).toEqual({ got: null });
  });

  it('answers 400 on a body that is not JSON, without calling the handler', async () => {
    const res = await fetch(`${base}/v1/echo`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"to": secondary}' });
    expect(res.status).toBe(400);
    const body = (await json(res)) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('DQ_API_BAD_REQUEST');
    expect(body.error.message).toContain('not valid JSON');
    expect(seen).toHaveLength(0);
  });

  it('answers 413 on a body over the limit, and keeps serving', async () => {
    const big = JSON.stringify({ pad: 'x'.repeat(MAX_BODY_BYTES) });
    const res = await fetch(`${base}/v1/echo`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: big });
    expect(res.status).toBe(413);
    const body = (await json(res)) as { error: { code: string } };
    expect(body.error.code).toBe('DQ_API_TOO_LARGE');
    expect(seen).toHaveLength(0);
    expect((await fetch(`${base}/v1/hello`, { headers: auth })).status).toBe(200);
  });

  it('answers 413 at once when the declared length is far over the limit', async () => {
    const answer = await rawRequest(
      api.address().port,
      `POST /v1/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 50000000\r\n\r\n{"a":`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toContain('"DQ_API_TOO_LARGE"');
  });

  it('a handler that throws gives a 500 that does not leak, is logged, and the server keeps serving', async () => {
    const res = await fetch(`${base}/v1/boom`, { headers: auth });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: { code: 'DQ_API_INTERNAL', message: expect.any(String) as string } });
    expect(text).not.toContain('secret internal detail');
    const logged = log.lines.find((l) => l.msg === 'admin API handler failed');
    expect(JSON.stringify(logged)).toContain('secret internal detail');
    expect((await fetch(`${base}/v1/hello`, { headers: auth })).status).toBe(200);
  });

  it('a handler throwing an ApiError answers with its status and code', async () => {
    const res = await fetch(`${base}/v1/conflict`, { headers: auth });
    expect(res.status).toBe(409);
    expect(await json(res)).toEqual({ error: { code: 'DQ_PLAN_UNSAFE', message: 'it would leave nothing in service' } });
  });

  it('answers malformed HTTP with a JSON 400 and keeps serving', async () => {
    const answer = await rawRequest(api.address().port, 'THIS IS NOT HTTP\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toContain('"DQ_API_BAD_REQUEST"');
    expect((await fetch(`${base}/v1/hello`, { headers: auth })).status).toBe(200);
  });

  it('answers a request target that does not decode with 400', async () => {
    const answer = await rawRequest(api.address().port, `GET /v1/things/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toContain('"DQ_API_BAD_REQUEST"');
  });

  it('logs each request at debug with method, path, status and ms, and never the token', () => {
    const requests = log.lines.filter((l) => l.msg === 'admin API request');
    expect(requests.length).toBeGreaterThan(5);
    expect(requests).toContainEqual(expect.objectContaining({ method: 'GET', path: '/v1/hello', status: 200, ms: expect.any(Number) as number }));
    expect(requests).toContainEqual(expect.objectContaining({ method: 'GET', path: '/v1/nope', status: 404 }));
    expect(log.raw.join('')).not.toContain(TOKEN.slice(0, 10));
  });
});

describe('AdminApi without a token', () => {
  const api = new AdminApi({ listen: { host: '127.0.0.1', port: 0 }, tokens: new Map(), routes, logger: memoryLogger().logger });
  let base: string;

  beforeAll(async () => {
    await api.start();
    base = `http://127.0.0.1:${api.address().port}`;
  });
  afterAll(async () => {
    await api.close();
  });

  it.each([undefined, `Bearer ${TOKEN}`])('answers 403 DQ_API_DISABLED on auth routes (Authorization: %s)', async (header) => {
    const res = await fetch(`${base}/v1/hello`, { headers: header === undefined ? {} : { authorization: header } });
    expect(res.status).toBe(403);
    const body = (await json(res)) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('DQ_API_DISABLED');
    expect(body.error.message).toContain('set api.token in the config to use the admin API');
  });

  it('still serves routes with auth: false', async () => {
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
  });
});

describe('AdminApi lifecycle', () => {
  it('rejects start() with DQ_API_LISTEN naming the address when the port is taken', async () => {
    const first = new AdminApi({ listen: { host: '127.0.0.1', port: 0 }, tokens: new Map([['api', TOKEN]]), routes, logger: memoryLogger().logger });
    await first.start();
    const port = first.address().port;
    const second = new AdminApi({ listen: { host: '127.0.0.1', port }, tokens: new Map([['api', TOKEN]]), routes, logger: memoryLogger().logger });
    try {
      const err: unknown = await second.start().then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(DnsQuorumError);
      expect((err as DnsQuorumError).code).toBe('DQ_API_LISTEN');
      expect((err as DnsQuorumError).message).toContain(`127.0.0.1:${port}`);
      expect((err as DnsQuorumError).message).toContain('already in use');
    } finally {
      await second.close();
      await first.close();
    }
  });

  it('close() resolves with an idle keep-alive connection open, and stops accepting', async () => {
    const api = new AdminApi({ listen: { host: '127.0.0.1', port: 0 }, tokens: new Map([['api', TOKEN]]), routes, logger: memoryLogger().logger });
    await api.start();
    const port = api.address().port;
    // fetch keeps the connection alive in its pool after this answer.
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(200);
    await api.close();
    const err: unknown = await fetch(`http://127.0.0.1:${port}/metrics`).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
  });
});
