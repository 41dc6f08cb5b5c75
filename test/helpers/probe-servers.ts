import { createSocket } from 'node:dgram';
import type { RemoteInfo } from 'node:dgram';
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import dnsPacket from 'dns-packet';
import type { DecodedPacket } from 'dns-packet';

/** Loopback servers that the probe tests point real probes at. All listen on 127.0.0.1, port 0. */

async function listen(server: NetServer): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** What the server saw of one request. */
export interface SeenRequest {
  readonly host: string | undefined;
  readonly path: string | undefined;
  /** The SNI the client sent (https only); undefined when it sent none. */
  readonly servername: string | undefined;
}

export interface TestHttpServer {
  readonly port: number;
  readonly requests: SeenRequest[];
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** An http server, or an https one when given a key and certificate. */
export async function startHttpServer(handler: Handler, tls?: { readonly key: string; readonly cert: string }): Promise<TestHttpServer> {
  const requests: SeenRequest[] = [];
  const onRequest: Handler = (req, res) => {
    const servername = req.socket instanceof TLSSocket && typeof req.socket.servername === 'string' ? req.socket.servername : undefined;
    requests.push({ host: req.headers.host, path: req.url, servername });
    handler(req, res);
  };
  const server: HttpServer = tls === undefined ? createHttpServer(onRequest) : createHttpsServer({ key: tls.key, cert: tls.cert }, onRequest);
  // A probe that fails the handshake makes the server side emit this; it is the expected case here.
  server.on('tlsClientError', () => undefined);
  const port = await listen(server);
  return {
    port,
    requests,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** Accepts TCP connections and never says a word. Counts what it accepted and what got closed. */
export interface SilentServer {
  readonly port: number;
  readonly accepted: () => number;
  readonly closed: () => number;
  close(): Promise<void>;
}

export async function startSilentServer(): Promise<SilentServer> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  let closed = 0;
  const server = createNetServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.resume(); // read (and drop) what the client sends, so its hang-up is noticed
    socket.on('close', () => {
      closed++;
      sockets.delete(socket);
    });
  });
  const port = await listen(server);
  return {
    port,
    accepted: () => accepted,
    closed: () => closed,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

/** A loopback port nothing listens on (listened on, then closed): connecting is refused. */
export async function refusedPort(): Promise<number> {
  const server = createNetServer();
  const port = await listen(server);
  server.close();
  await once(server, 'close');
  return port;
}

export interface TestDnsServer {
  readonly port: number;
  readonly queries: () => number;
  close(): Promise<void>;
}

/**
 * A UDP DNS server: `reply` gets each decoded query and returns the bytes to send back, or
 * undefined to stay silent.
 */
export async function startDnsServer(reply: (query: DecodedPacket) => Buffer | undefined): Promise<TestDnsServer> {
  const socket = createSocket('udp4');
  let queries = 0;
  socket.on('message', (message: Buffer, from: RemoteInfo) => {
    queries++;
    const answer = reply(dnsPacket.decode(message));
    if (answer !== undefined) socket.send(answer, from.port, from.address);
  });
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return {
    port: socket.address().port,
    queries: () => queries,
    close: async () => {
      socket.close();
      await once(socket, 'close');
    },
  };
}
