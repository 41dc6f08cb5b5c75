import { once } from 'node:events';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import type { Listener, TargetsReady } from './ipc.js';

/**
 * Forked by bench.ts: the HTTP targets of the probe bench, in a process of their own so that their
 * CPU never counts as the prober's. Answers GET /healthz with 200 "ok" (404 elsewhere), keeps the
 * connection open unless the client asks to close it. A bare HTTP/1.1 responder on raw sockets
 * rather than node:http: it shares two cores with the prober under measurement, so the less CPU
 * it burns per request, the less it disturbs the figures.
 */

const ADDRESSES = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];
const PORTS_PER_ADDRESS = 4;
/** Requests are a request line and a few headers; more than this without an end is not a client of ours. */
const MAX_HEAD_BYTES = 16 * 1024;

const OK_BODY = 'ok';
const reply = (status: string, body: string, close: boolean): string =>
  `HTTP/1.1 ${status}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: ${close ? 'close' : 'keep-alive'}\r\n\r\n${body}`;
const RESPONSES = {
  okClose: reply('200 OK', OK_BODY, true),
  okKeep: reply('200 OK', OK_BODY, false),
  notFoundClose: reply('404 Not Found', 'not found', true),
  notFoundKeep: reply('404 Not Found', 'not found', false),
};

function serve(socket: Socket): void {
  let pending = '';
  socket.setEncoding('latin1');
  // Probes give up mid-exchange (timeout, abort, a client that closes as soon as it has the status
  // line): resets are normal here.
  socket.on('error', () => undefined);
  socket.on('data', (chunk: string) => {
    pending += chunk;
    for (;;) {
      const end = pending.indexOf('\r\n\r\n');
      if (end < 0) break;
      const head = pending.slice(0, end);
      pending = pending.slice(end + 4);
      const lineEnd = head.indexOf('\r\n');
      const requestLine = lineEnd < 0 ? head : head.slice(0, lineEnd);
      const found = requestLine.startsWith('GET /healthz ');
      const close = /\r\nconnection:\s*close/i.test(head) || requestLine.endsWith('HTTP/1.0');
      if (close) {
        socket.end(found ? RESPONSES.okClose : RESPONSES.notFoundClose);
        return;
      }
      socket.write(found ? RESPONSES.okKeep : RESPONSES.notFoundKeep);
    }
    if (pending.length > MAX_HEAD_BYTES) socket.destroy();
  });
}

async function main(): Promise<void> {
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  const listeners: Listener[] = [];
  for (const host of ADDRESSES) {
    for (let i = 0; i < PORTS_PER_ADDRESS; i++) {
      const server = createServer({ noDelay: true }, (socket) => {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
        serve(socket);
      });
      server.listen({ host, port: 0, backlog: 4096 });
      await once(server, 'listening');
      servers.push(server);
      listeners.push({ host, port: (server.address() as AddressInfo).port });
    }
  }
  const stop = (): void => {
    for (const server of servers) server.close();
    for (const socket of sockets) socket.destroy();
    process.disconnect();
  };
  process.on('message', (message) => {
    if (message === 'stop') stop();
  });
  // The bench died without telling us: do not outlive it.
  process.on('disconnect', () => {
    process.exit(0);
  });
  const ready: TargetsReady = { kind: 'targets-ready', listeners };
  process.send?.(ready);
}

await main();
