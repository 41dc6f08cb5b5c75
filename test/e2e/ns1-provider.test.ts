import { connect, createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ChangeSet } from '../../src/domain/change-set.js';
import type { RecordSet } from '../../src/domain/record.js';
import { advancingSleep } from '../../src/lib/backoff.js';
import { ManualClock } from '../../src/lib/clock.js';
import { ProviderError } from '../../src/lib/errors.js';
import type { ErrorCode } from '../../src/lib/errors.js';
import { createLogger } from '../../src/lib/logger.js';
import { Ns1Provider } from '../../src/providers/ns1/provider.js';
import { hostRecords, never, outcomeOf, pass, rs, seeded, startNs1Harness, zoneSpec } from './ns1-harness.js';
import type { Ns1Harness, Ns1HarnessOptions } from './ns1-harness.js';

let harness: Ns1Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function start(options: Ns1HarnessOptions = {}): Promise<Ns1Harness> {
  harness = await startNs1Harness(options);
  return harness;
}

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const err = await promise.then(
    () => new Error('expected a rejection, but the call succeeded'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

function creates(zone: string, ...records: RecordSet[]): ChangeSet {
  return { zone, creates: records, updates: [], deletes: [] };
}

/** Every message of an error and of its causes. */
function messagesOf(err: unknown): string[] {
  const out: string[] = [];
  for (let e: unknown = err; e instanceof Error; e = e.cause) out.push(e.message, e.stack ?? '');
  return out;
}

describe('ns1 errors', () => {
  it('a refused API key is DQ_PROVIDER_REJECTED, not transient, and says so without the key', async () => {
    const h = await start({ fake: { apiKey: 'the-right-key' }, config: { apiKey: 'wrong-key-8f2c41' } });
    const err = await failure(h.provider.listRecords(h.zone, never));
    expect(err.code).toBe('DQ_PROVIDER_REJECTED');
    expect(err.transient).toBe(false);
    expect(err.message).toContain('NS1 refused the API key (HTTP 401)');
    expect(messagesOf(err).join('\n')).not.toContain('wrong-key-8f2c41');
    // Not retried: a wrong key stays wrong.
    expect(h.fake.requests).toHaveLength(1);
  });

  it.each<{ name: string; options: Ns1HarnessOptions; code: ErrorCode; requests: number; counted: 'serverErrors' | 'networkErrors' | 'timeouts' }>([
    { name: '5xx on every attempt', options: { fake: { faults: { serverErrorRate: 1 }, random: seeded(1) }, config: { maxRetries: 3 } }, code: 'DQ_PROVIDER_UNAVAILABLE', requests: 4, counted: 'serverErrors' },
    { name: 'dropped connections on every attempt', options: { fake: { faults: { dropRate: 1 } }, config: { maxRetries: 2 } }, code: 'DQ_PROVIDER_UNAVAILABLE', requests: 3, counted: 'networkErrors' },
    {
      name: 'no answer within requestTimeout',
      options: { fake: { faults: { delayMs: 2000 } }, config: { maxRetries: 1, requestTimeoutMs: 100 } },
      code: 'DQ_PROVIDER_UNAVAILABLE',
      requests: 2,
      counted: 'timeouts',
    },
  ])('$name: $code after maxRetries + 1 = $requests requests', async ({ options, code, requests, counted }) => {
    const h = await start(options);
    const err = await failure(h.provider.listRecords(h.zone, never));
    expect(err.code).toBe(code);
    expect(err.transient).toBe(true);
    expect(h.provider.stats.requests).toBe(requests);
    expect(h.provider.stats[counted]).toBe(requests);
    expect(h.provider.stats.retries).toBe(requests - 1);
  });

  it('429s that outlast maxRetries are DQ_PROVIDER_THROTTLED (the bucket never refills: the clock stands still)', async () => {
    const clock = new ManualClock(0);
    const h = await start({ fake: { rateLimits: { GET: { limit: 1, periodSeconds: 300 } } }, config: { maxRetries: 2 } });
    const provider = new Ns1Provider({
      config: { type: 'ns1', name: 'ns1', apiKey: h.fake.apiKey, endpoint: h.fake.endpoint, maxRetries: 2 },
      clock,
      logger: createLogger({ level: 'silent' }),
      sleep: (_ms, signal) => {
        signal.throwIfAborted();
        return Promise.resolve();
      },
    });
    try {
      await provider.listRecords(h.zone, never);
      const err = await failure(provider.listRecords(h.zone, never));
      expect(err.code).toBe('DQ_PROVIDER_THROTTLED');
      expect(err.transient).toBe(true);
      expect(h.fake.requests.map((r) => r.status)).toEqual([200, 429, 429, 429]);
    } finally {
      await provider.close();
    }
  });

  it('a 400 is DQ_PROVIDER_REJECTED with NS1’s message, and the other writes still go out', async () => {
    const h = await start();
    const bad = rs(`bad.${h.zone}`, 'A', 300, ['999.0.2.1']);
    const good = rs(`good.${h.zone}`, 'A', 300, ['192.0.2.1']);
    const err = await failure(h.provider.applyChanges(creates(h.zone, bad, good), never));
    expect(err.code).toBe('DQ_PROVIDER_REJECTED');
    expect(err.message).toContain('Input validation failed');
    expect(err.message).toContain('bad.example.com. A');
    expect((await h.provider.listRecords(h.zone, never)).find((r) => r.name === good.name)?.values).toEqual(['192.0.2.1']);
  });

  it('a caller abort ends a backoff at once, with the caller’s reason', async () => {
    const h = await start({ fake: { faults: { serverErrorRate: 1 }, random: seeded(2) }, provider: { random: () => 0.99, retry: { transientBaseMs: 60_000, capMs: 60_000 } } });
    const controller = new AbortController();
    const listing = h.provider.listRecords(h.zone, controller.signal);
    await vi.waitFor(() => {
      expect(h.fake.requests.length).toBeGreaterThan(0);
    });
    const stop = new Error('shutting down');
    controller.abort(stop);
    await expect(listing).rejects.toBe(stop);
    expect(h.fake.requests).toHaveLength(1);
  });
});

describe('ns1 reads', () => {
  it('follows Link: rel="next" through every page of a zone', async () => {
    const h = await start({ fake: { pageSize: 7 } });
    const records = hostRecords(h.zone, 30).map((r) => rs(r.name, r.type, r.ttl, [...r.values]));
    await h.provider.applyChanges(creates(h.zone, ...records), never);
    h.fake.clearRequests();
    const listed = await h.provider.listRecords(h.zone, never);
    // 30 hosts, the apex NS and the SOA made from the zone.
    expect(listed).toHaveLength(32);
    expect(h.fake.requests.filter((r) => r.route === 'zone' && r.method === 'GET')).toHaveLength(Math.ceil(31 / 7));
  });

  it('lists the SOA from the zone’s fields and the name servers from dns_servers, never from the apex NS record', async () => {
    const h = await start();
    h.fake.putRecordDirect({ zone: 'example.com', domain: 'example.com', type: 'NS', ttl: 60, answers: [{ answer: ['ns.elsewhere.example'] }] });
    expect(await h.provider.nameservers(h.zone, never)).toEqual(['dns1.p01.nsone.net.', 'dns2.p01.nsone.net.', 'dns3.p01.nsone.net.', 'dns4.p01.nsone.net.']);
    const soa = (await h.provider.listRecords(h.zone, never)).find((r) => r.type === 'SOA');
    expect(soa?.name).toBe('example.com.');
    expect(soa?.values[0]).toMatch(/^dns1\.p01\.nsone\.net\. hostmaster\.nsone\.net\. \d+ 43200 7200 1209600 3600$/);
  });

  it('reads a record with answer metadata (tier 2) from its full answers, and leaves no metadata of ours', async () => {
    const h = await start();
    h.fake.putRecordDirect({ zone: 'example.com', domain: 'meta.example.com', type: 'A', ttl: 60, answers: [{ answer: ['192.0.2.7'], meta: { note: 'by hand' } }] });
    const listed = await h.provider.listRecords(h.zone, never);
    expect(listed.find((r) => r.name === 'meta.example.com.')).toEqual({ name: 'meta.example.com.', type: 'A', ttl: 60, values: ['192.0.2.7'] });

    await h.provider.applyChanges(creates(h.zone, rs(`plain.${h.zone}`, 'A', 300, ['192.0.2.8'])), never);
    const written = h.fake.zoneRecords('example.com').find((r) => r.domain === 'plain.example.com');
    expect(written?.answers).toEqual([{ answer: ['192.0.2.8'] }]);
  });

  it('lists a record with a filter chain with TTL 0, and refuses to write it (nothing applied)', async () => {
    const h = await start();
    const response = await fetch(`${h.fake.endpoint}zones/example.com/pool.example.com/A`, {
      method: 'PUT',
      headers: { 'X-NSONE-Key': h.fake.apiKey },
      body: JSON.stringify({ answers: [{ answer: ['192.0.2.1'], meta: { up: true } }, { answer: ['192.0.2.2'], meta: { up: false } }], filters: [{ filter: 'up', config: {} }] }),
    });
    expect(response.status, await response.text()).toBe(200);
    const listed = await h.provider.listRecords(h.zone, never);
    const pool = listed.find((r) => r.name === 'pool.example.com.');
    expect(pool).toEqual({ name: 'pool.example.com.', type: 'A', ttl: 0, values: ['192.0.2.1', '192.0.2.2'] });
    if (pool === undefined) return;
    h.fake.clearRequests();
    const err = await failure(
      h.provider.applyChanges({ zone: h.zone, creates: [rs(`other.${h.zone}`, 'A', 300, ['192.0.2.3'])], updates: [{ before: pool, after: rs(pool.name, 'A', 300, ['192.0.2.1']) }], deletes: [] }, never),
    );
    expect(err.code).toBe('DQ_PROVIDER_REJECTED');
    expect(err.message).toContain('filter chain (up)');
    expect(h.fake.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  });
});

describe('ns1 and the API key in logs', () => {
  it('never writes the API key into a log line or an error message, through a sync full of failures', async () => {
    const key = 'dq-ns1-SECRET-4b1d9e77';
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString().split('\n').filter((l) => l !== ''));
        done();
      },
    });
    const logger = createLogger({ level: 'trace', destination });
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const h = await start({
      zone: false,
      fake: { apiKey: key, faults: { serverErrorRate: 0.3, dropRate: 0.1, failWritesAfter: 12 }, random: seeded(9) },
      config: { maxRetries: 2 },
    });
    const provider = new Ns1Provider({
      config: { type: 'ns1', name: 'ns1', apiKey: key, endpoint: h.fake.endpoint, maxRetries: 2 },
      clock,
      logger: logger.child({ provider: 'ns1' }),
      sleep: advancingSleep(clock),
      retry: { throttleBaseMs: 5, transientBaseMs: 2, capMs: 20 },
    });
    const wrongKey = new Ns1Provider({ config: { type: 'ns1', name: 'ns1', apiKey: `${key}-old`, endpoint: h.fake.endpoint }, clock, logger, sleep: advancingSleep(clock) });
    try {
      const zone = zoneSpec('secret.example.com.', hostRecords('secret.example.com.', 30));
      const syncWith = (p: Ns1Provider): ReturnType<typeof pass> => pass({ ...h, provider: p }, zone, false, logger);
      const errors: unknown[] = [];
      const first = await syncWith(provider);
      const failedOnce = outcomeOf(first) ?? '';
      h.fake.setFaults({ failWritesAfter: undefined, serverErrorRate: 0, dropRate: 0 });
      const second = await syncWith(provider);
      const refused = await syncWith(wrongKey);
      errors.push(await provider.listRecords('absent.example.com.', never).catch((e: unknown) => e));
      errors.push(await wrongKey.nameservers('secret.example.com.', never).catch((e: unknown) => e));

      // The run did go through failures, retries, a refused key and a debug log of every retry.
      expect(failedOnce).toMatch(/^failed/);
      expect(outcomeOf(second)).toBe('applied');
      expect(outcomeOf(refused)).toMatch(/^failed \(DQ_PROVIDER_REJECTED: ns1: NS1 refused the API key/);
      expect(lines.some((l) => l.includes('retrying'))).toBe(true);
      expect(lines.length).toBeGreaterThan(10);

      for (const line of lines) expect(line).not.toContain(key);
      for (const report of [first, second, refused]) {
        for (const p of report.zones.flatMap((z) => z.providers)) expect(p.error?.message ?? '').not.toContain(key);
      }
      for (const err of errors) {
        expect(err).toBeInstanceOf(ProviderError);
        for (const message of messagesOf(err)) expect(message).not.toContain(key);
      }
    } finally {
      await provider.close();
      await wrongKey.close();
    }
  });
});

/** A TCP pass-through on loopback in front of the fake that counts the connections opened through it. */
async function countingProxy(target: URL): Promise<{ endpoint: string; connections: () => number; close: () => Promise<void> }> {
  let connections = 0;
  const server: Server = createServer((client) => {
    connections++;
    const upstream = connect({ host: target.hostname, port: Number(target.port) });
    client.pipe(upstream).pipe(client);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}${target.pathname}`,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.emit('close');
      }),
  };
}

describe('ns1 connections', () => {
  it('every answer body is read, so keep-alive connections are reused (many requests, few sockets)', async () => {
    const h = await start();
    const proxy = await countingProxy(new URL(h.fake.endpoint));
    const provider = new Ns1Provider({ config: { type: 'ns1', name: 'ns1', apiKey: h.fake.apiKey, endpoint: proxy.endpoint }, clock: h.clock, logger: createLogger({ level: 'silent' }) });
    try {
      const records = hostRecords(h.zone, 40).map((r) => rs(r.name, r.type, r.ttl, [...r.values]));
      await provider.applyChanges(creates(h.zone, ...records), never);
      await provider.applyChanges({ zone: h.zone, creates: [], updates: [], deletes: records }, never);
      // 404s and other error answers have bodies too.
      await provider.listRecords('absent.example.com.', never).catch(() => undefined);
      await provider.applyChanges({ zone: h.zone, creates: [], updates: [], deletes: records }, never);
      expect(h.fake.requests.length).toBeGreaterThan(80);
      expect(proxy.connections()).toBeLessThanOrEqual(2);
    } finally {
      await provider.close();
      await proxy.close();
    }
  });
});
