import { once } from 'node:events';
import { createServer, request } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { PeerVerifier, signPeerRequest } from '../../src/cluster/auth.js';
import type { PeerMessage } from '../../src/cluster/messages.js';
import { PEER_PATH } from '../../src/cluster/messages.js';
import { PeerSender } from '../../src/cluster/peer-client.js';
import type { PeerSendStatus } from '../../src/cluster/peer-client.js';
import { peerRoute } from '../../src/cluster/peer-route.js';
import type { PeerConfig } from '../../src/config/types.js';
import { AdminApi, MAX_BODY_BYTES } from '../../src/control/api/server.js';
import { ManualClock, systemClock } from '../../src/lib/clock.js';
import { createLogger, silentLogger } from '../../src/lib/logger.js';
import { exposedGc } from '../helpers/gc.js';

/**
 * The peer exchange over real loopback HTTP: a real AdminApi carrying the peer route, real
 * PeerSenders posting to it. Clocks are ManualClocks so skew is exact; pacing is real time, and
 * every wait is for a condition with a bounded deadline.
 */

const SECRET = 'shared-cluster-secret';
const NOW = 1_700_000_000_000;
const WAIT_MS = 10_000;

const MESSAGE: PeerMessage = {
  v: 1,
  region: 'eu-west',
  writer: true,
  seesQuorum: true,
  verdicts: [
    { endpointId: 'api.example.com. A 192.0.2.10', state: 'down', ageMs: 1500, reason: 'HTTP 503' },
    { endpointId: 'api.example.com. A 192.0.2.11', state: 'up', ageMs: 200, reason: 'HTTP 200' },
  ],
  overrides: [],
};

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function until(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${WAIT_MS} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

interface Receiver {
  readonly url: string;
  readonly received: { message: PeerMessage; receivedAt: number }[];
  rejected(): Record<string, number>;
}

async function startReceiver(clock: ManualClock, peers: readonly string[] = ['eu-west']): Promise<Receiver> {
  const received: { message: PeerMessage; receivedAt: number }[] = [];
  const peer = peerRoute({
    verifier: new PeerVerifier({ secret: SECRET, clock }),
    peers,
    clock,
    logger: silentLogger(),
    onMessage: (message, receivedAt) => received.push({ message, receivedAt }),
  });
  const api = new AdminApi({ listen: { host: '127.0.0.1', port: 0 }, tokens: new Map([['api', 'admin-token']]), routes: [peer.route], logger: silentLogger() });
  await api.start();
  cleanups.push(() => api.close());
  const { port } = api.address();
  return { url: `http://127.0.0.1:${port}/`, received, rejected: () => peer.rejected() };
}

function startSender(options: { peers: readonly PeerConfig[]; clock: ManualClock; secret?: string; intervalMs?: number; requestTimeoutMs?: number; message?: PeerMessage; fetch?: typeof fetch }): { sender: PeerSender; status: (region: string) => PeerSendStatus } {
  const sender = new PeerSender({
    self: options.message?.region ?? MESSAGE.region,
    peers: options.peers,
    secret: options.secret ?? SECRET,
    // The test sets the time the sender reads; its rounds and timeouts run on real time, since the
    // posts cross real sockets (a timeout lost to garbage collection is one of the cases here).
    clock: { now: () => options.clock.now(), sleep: (ms, signal) => systemClock.sleep(ms, signal) },
    logger: silentLogger(),
    intervalMs: options.intervalMs ?? 25,
    requestTimeoutMs: options.requestTimeoutMs ?? 60_000,
    message: () => options.message ?? MESSAGE,
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  });
  const stop = new AbortController();
  const running = sender.run(stop.signal);
  cleanups.push(async () => {
    stop.abort();
    await running;
  });
  const status = (region: string): PeerSendStatus => {
    const found = sender.status().find((s) => s.region === region);
    if (found === undefined) throw new Error(`no status for ${region}`);
    return found;
  };
  return { sender, status };
}

/** Posts exactly these bytes and headers, as an attacker who captured a request would. */
async function rawPost(url: string, headers: Record<string, string>, body: string): Promise<{ status: number; body: string; contentLength: string | undefined }> {
  const target = new URL(PEER_PATH, url);
  const req = request(target, { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } });
  req.end(body);
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return { status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), contentLength: res.headers['content-length'] };
}

/** A peer that takes every request and never answers; the requests it holds. */
async function startHangingPeer(): Promise<{ port: number; hung: ServerResponse[] }> {
  const hung: ServerResponse[] = [];
  const hanging = createServer((_req, res) => {
    hung.push(res);
  });
  const port = await listen(hanging);
  cleanups.push(async () => {
    hanging.closeAllConnections();
    hanging.close();
    await once(hanging, 'close');
  });
  return { port, hung };
}

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('not listening');
  return address.port;
}

describe('peer exchange over loopback HTTP', () => {
  it('delivers signed messages with their verdicts, each round and at once on notify()', async () => {
    const receiverClock = new ManualClock(NOW);
    const receiver = await startReceiver(receiverClock);
    // A long interval: after the first round, only notify() can cause another message.
    const { sender, status } = startSender({ peers: [{ region: 'us-east', url: receiver.url }], clock: new ManualClock(NOW), intervalMs: 600_000 });
    await until('the first message', () => receiver.received.length === 1);
    expect(receiver.received[0]).toEqual({ message: MESSAGE, receivedAt: NOW });
    await until('the sender to record the delivery', () => status('us-east').lastSentAt !== null);
    expect(status('us-east')).toMatchObject({ lastSentAt: NOW, lastSendError: null });

    receiverClock.advance(1_000);
    sender.notify();
    await until('the notified message', () => receiver.received.length === 2);
    expect(receiver.received[1]).toEqual({ message: MESSAGE, receivedAt: NOW + 1_000 });
    expect(receiver.rejected()).toEqual({});
  });

  it('rejects and counts a sender with the wrong secret; the sender records why', async () => {
    const receiver = await startReceiver(new ManualClock(NOW));
    const { status } = startSender({ peers: [{ region: 'us-east', url: receiver.url }], clock: new ManualClock(NOW), secret: 'not-the-secret' });
    await until('a rejection', () => (receiver.rejected()['bad-signature'] ?? 0) >= 2);
    await until('the sender to record the rejection', () => status('us-east').lastSendError !== null);
    expect(status('us-east').lastSendError).toBe('HTTP 401 DQ_PEER_REJECTED: peer message rejected: bad-signature');
    expect(status('us-east').lastSentAt).toBeNull();
    expect(status('us-east').lastSendError).not.toContain('not-the-secret');
    expect(receiver.received).toEqual([]);
  });

  it('rejects a captured request replayed verbatim, as replayed', async () => {
    const receiver = await startReceiver(new ManualClock(NOW));
    let captured: { headers: Record<string, string>; body: string } | undefined;
    const capturingFetch: typeof fetch = (input, init) => {
      if (captured === undefined && typeof init?.body === 'string') captured = { headers: { ...(init.headers as Record<string, string>) }, body: init.body };
      return fetch(input, init);
    };
    const { sender, status } = startSender({ peers: [{ region: 'us-east', url: receiver.url }], clock: new ManualClock(NOW), intervalMs: 600_000, fetch: capturingFetch });
    await until('the original message', () => receiver.received.length === 1 && status('us-east').lastSentAt !== null);
    if (captured === undefined) throw new Error('nothing captured');

    const replay = await rawPost(receiver.url, captured.headers, captured.body);
    expect(replay.status).toBe(401);
    expect(replay.contentLength).toBe(String(Buffer.byteLength(replay.body)));
    expect(JSON.parse(replay.body)).toEqual({ error: { code: 'DQ_PEER_REJECTED', message: 'peer message rejected: replayed' } });
    expect(receiver.rejected()).toEqual({ replayed: 1 });
    expect(receiver.received).toHaveLength(1);

    // The sender's next message carries a fresh nonce and is accepted.
    sender.notify();
    await until('the next message', () => receiver.received.length === 2);
  });

  it('accepts a sender whose clock is 30 s ahead or behind, and refuses one 10 min ahead as stale', async () => {
    const receiver = await startReceiver(new ManualClock(NOW), ['eu-west', 'ap-south', 'sa-east']);
    startSender({ peers: [{ region: 'us-east', url: receiver.url }], clock: new ManualClock(NOW + 30_000), intervalMs: 600_000 });
    startSender({ peers: [{ region: 'us-east', url: receiver.url }], clock: new ManualClock(NOW - 30_000), intervalMs: 600_000, message: { ...MESSAGE, region: 'ap-south' } });
    const far = startSender({ peers: [{ region: 'us-east', url: receiver.url }], clock: new ManualClock(NOW + 600_000), intervalMs: 600_000, message: { ...MESSAGE, region: 'sa-east' } });
    await until('both skewed messages', () => receiver.received.length === 2);
    await until('the far-off sender to be refused', () => far.status('us-east').lastSendError !== null);
    expect(receiver.received.map((r) => r.message.region).sort()).toEqual(['ap-south', 'eu-west']);
    // Ages travel as ages: the receiver's clock stamps arrival, whatever the sender's clock says.
    expect(receiver.received.every((r) => r.receivedAt === NOW)).toBe(true);
    expect(receiver.rejected()).toEqual({ stale: 1 });
  });

  it('answers an accepted message 204 with no body', async () => {
    const receiver = await startReceiver(new ManualClock(NOW));
    const body = JSON.stringify(MESSAGE);
    const answer = await rawPost(receiver.url, { ...signPeerRequest(SECRET, body, NOW), 'content-type': 'application/json' }, body);
    expect(answer).toEqual({ status: 204, body: '', contentLength: undefined });
    expect(receiver.received).toHaveLength(1);
  });

  it('delivers a message far larger than the admin API\'s usual body limit (3,000 verdicts)', async () => {
    const receiver = await startReceiver(new ManualClock(NOW));
    const verdicts = Array.from({ length: 3_000 }, (_, i) => ({ endpointId: `r${i}.example.com. A 192.0.2.${i % 250}`, state: 'up' as const, ageMs: i, reason: 'HTTP 200 OK from the health endpoint' }));
    const big: PeerMessage = { ...MESSAGE, verdicts };
    expect(JSON.stringify(big).length).toBeGreaterThan(MAX_BODY_BYTES);
    startSender({ peers: [{ region: 'us-east', url: receiver.url }], clock: new ManualClock(NOW), intervalMs: 600_000, message: big });
    await until('the large message', () => receiver.received.length === 1);
    expect(receiver.received[0]?.message.verdicts).toHaveLength(3_000);
  });

  it('clamps an over-long reason and an out-of-range age so the message is still accepted', async () => {
    const receiver = await startReceiver(new ManualClock(NOW));
    const odd: PeerMessage = {
      ...MESSAGE,
      verdicts: [
        { endpointId: 'e1', state: 'down', ageMs: 3 * 86_400_000, reason: 'x'.repeat(2_000) },
        { endpointId: 'e2', state: 'unknown', ageMs: Number.POSITIVE_INFINITY, reason: 'never probed' },
        { endpointId: 'e3', state: 'up', ageMs: -5, reason: 'ok' },
      ],
    };
    startSender({ peers: [{ region: 'us-east', url: receiver.url }], clock: new ManualClock(NOW), intervalMs: 600_000, message: odd });
    await until('the clamped message', () => receiver.received.length === 1);
    const got = receiver.received[0]?.message.verdicts ?? [];
    expect(got.map((v) => v.ageMs)).toEqual([86_400_000 - 1, 86_400_000 - 1, 0]);
    expect(got[0]?.reason).toHaveLength(500);
    expect(receiver.rejected()).toEqual({});
  });

  it('logs refusals at warn at most once per reason per 10 s, saying how many were not logged', async () => {
    const lines: { level: number; msg: string; reason?: string; suppressedSinceLastLine?: number }[] = [];
    const logger = createLogger({ level: 'warn', destination: { write: (line: string) => { lines.push(JSON.parse(line) as (typeof lines)[number]); } } });
    const clock = new ManualClock(NOW);
    const peer = peerRoute({ verifier: new PeerVerifier({ secret: SECRET, clock }), peers: ['eu-west'], clock, logger, onMessage: () => undefined });
    const api = new AdminApi({ listen: { host: '127.0.0.1', port: 0 }, tokens: new Map(), routes: [peer.route], logger: silentLogger() });
    await api.start();
    cleanups.push(() => api.close());
    const url = `http://127.0.0.1:${api.address().port}`;
    const body = JSON.stringify(MESSAGE);
    for (let i = 0; i < 5; i++) expect((await rawPost(url, signPeerRequest('wrong', body, NOW), body)).status).toBe(401);
    expect(lines.map((l) => [l.msg, l.reason])).toEqual([['peer message rejected', 'bad-signature']]);
    expect((await rawPost(url, {}, body)).status).toBe(401);
    expect(lines.map((l) => l.reason)).toEqual(['bad-signature', 'malformed']);
    clock.advance(10_000);
    expect((await rawPost(url, signPeerRequest('wrong', body, NOW), body)).status).toBe(401);
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatchObject({ reason: 'bad-signature', suppressedSinceLastLine: 4 });
    expect(JSON.stringify(lines)).not.toContain(SECRET);
    expect(peer.rejected()).toEqual({ 'bad-signature': 6, malformed: 1 });
  });

  it('rejects a region not in cluster.peers and a signed body that is not a message, counting each', async () => {
    const receiver = await startReceiver(new ManualClock(NOW));
    const stranger = startSender({ peers: [{ region: 'us-east', url: receiver.url }], clock: new ManualClock(NOW), intervalMs: 600_000, message: { ...MESSAGE, region: 'mars-1' } });
    await until('the stranger to be refused', () => stranger.status('us-east').lastSendError !== null);
    expect(stranger.status('us-east').lastSendError).toContain('unknown-peer');

    const body = JSON.stringify({ ...MESSAGE, verdicts: [{ endpointId: 'x', state: 'sideways', ageMs: 1, reason: '' }] });
    const answer = await rawPost(receiver.url, { ...signPeerRequest(SECRET, body, NOW), 'content-type': 'application/json' }, body);
    expect(answer.status).toBe(401);
    const garbage = 'not json at all';
    const garbageAnswer = await rawPost(receiver.url, signPeerRequest(SECRET, garbage, NOW), garbage);
    expect(garbageAnswer.status).toBe(401);
    const unsigned = await rawPost(receiver.url, { 'content-type': 'application/json' }, JSON.stringify(MESSAGE));
    expect(unsigned.status).toBe(401);
    expect(receiver.rejected()).toEqual({ 'unknown-peer': 1, malformed: 3 });
    expect(receiver.received).toEqual([]);
  });

  it('keeps delivering to a live peer every round while one peer is dead and another never answers', async () => {
    const receiver = await startReceiver(new ManualClock(NOW));

    const closed = createServer();
    const deadPort = await listen(closed);
    closed.close();
    await once(closed, 'close');

    const { port: hangingPort, hung } = await startHangingPeer();

    const { status } = startSender({
      peers: [
        { region: 'dead', url: `http://127.0.0.1:${deadPort}` },
        { region: 'hung', url: `http://127.0.0.1:${hangingPort}/prefix/` },
        { region: 'us-east', url: receiver.url },
      ],
      clock: new ManualClock(NOW),
    });
    await until('ten rounds at the live peer and a recorded failure for the dead one', () => receiver.received.length >= 10 && status('dead').lastSendError !== null);
    expect(status('dead').lastSendError).toMatch(/ECONNREFUSED/);
    expect(status('dead').lastSentAt).toBeNull();
    expect(status('us-east')).toMatchObject({ lastSentAt: NOW, lastSendError: null });
    // The hung peer got one post, still pending: later rounds skipped it instead of piling up.
    expect(hung).toHaveLength(1);
    expect(status('hung')).toMatchObject({ lastSentAt: null, lastSendError: null });
  });

  it('times out every post to a peer that never answers, round after round, across garbage collections', async () => {
    // Node 20's AbortSignal.any holds its sources weakly: a timeout signal combined that way could be
    // collected before it fired, leaving the post (and so every later round to that peer) pending for good.
    const collectGarbage = exposedGc();
    const { port: hangingPort, hung } = await startHangingPeer();
    const { status } = startSender({ peers: [{ region: 'hung', url: `http://127.0.0.1:${hangingPort}` }], clock: new ManualClock(NOW), intervalMs: 10, requestTimeoutMs: 50 });
    await until('twenty posts to the peer that never answers', () => {
      collectGarbage();
      return hung.length >= 20;
    });
    expect(status('hung')).toMatchObject({ lastSentAt: null, lastSendError: 'no answer within 50 ms' });
  });

  it('posts under the peer URL path prefix', async () => {
    const paths: string[] = [];
    const server = createServer((req, res) => {
      paths.push(req.url ?? '');
      res.writeHead(204).end();
    });
    const port = await listen(server);
    cleanups.push(async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    });
    startSender({
      peers: [
        { region: 'slash', url: `http://127.0.0.1:${port}/dq/` },
        { region: 'bare', url: `http://127.0.0.1:${port}/dq` },
      ],
      clock: new ManualClock(NOW),
      intervalMs: 600_000,
    });
    await until('both posts', () => paths.length === 2);
    expect(paths).toEqual([`/dq${PEER_PATH}`, `/dq${PEER_PATH}`]);
  });
});
