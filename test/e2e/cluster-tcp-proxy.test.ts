import { once } from 'node:events';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import type { TcpProxy } from '../helpers/tcp-proxy.js';

/** The proxy the cluster tests break the network with: forwards, records request lines, cuts and restores. */

describe('tcp proxy', () => {
  let server: Server;
  let proxy: TcpProxy;

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200).end(`${req.method ?? ''} ${req.url ?? ''}`));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    proxy = await startTcpProxy();
  });

  afterAll(async () => {
    await proxy.close();
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  });

  const get = async (path: string, timeoutMs = 3000): Promise<string> => {
    const response = await fetch(`http://${proxy.address}${path}`, { method: 'POST', body: 'x'.repeat(10_000), signal: AbortSignal.timeout(timeoutMs) });
    return response.text();
  };

  it('resets connections until it has a target', async () => {
    await expect(get('/early')).rejects.toThrow();
    expect(proxy.forwarded).toBe(0);
  });

  it('forwards and records every request line once, keep-alive included', async () => {
    proxy.retarget({ host: '127.0.0.1', port: (server.address() as AddressInfo).port });
    expect(await get('/one')).toBe('POST /one');
    expect(await get('/two?x=1')).toBe('POST /two?x=1');
    expect(proxy.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /one', 'POST /two?x=1']);
  });

  it.each(['reset', 'blackhole'] as const)('cut (%s) makes requests fail, restore makes them pass again', async (mode) => {
    proxy.cut(mode);
    expect(proxy.isCut).toBe(true);
    await expect(get('/cut', 500)).rejects.toThrow();
    proxy.restore();
    expect(await get('/back')).toBe('POST /back');
  });
});
