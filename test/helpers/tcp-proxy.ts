import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy on loopback, so tests can break the network between two processes without touching
 * either: everything one process sends to the proxy's address is forwarded to a target. `cut()`
 * drops the connections in flight and then refuses (reset) or swallows (blackhole) new ones,
 * `restore()` forwards again. The target may be set after the proxy listens, so a process can be
 * told the proxy's address before the process the proxy leads to has started.
 */

export interface ProxyTarget {
  readonly host: string;
  readonly port: number;
}

/** reset: new connections are accepted and reset at once (like a refused port); blackhole: accepted and never answered. */
export type CutMode = 'reset' | 'blackhole';

/** One HTTP request line seen going from the client to the target (method, path, when). */
export interface ProxiedRequest {
  readonly method: string;
  readonly path: string;
  readonly at: number;
}

export interface TcpProxy {
  /** 127.0.0.1 */
  readonly host: string;
  readonly port: number;
  /** "127.0.0.1:PORT" */
  readonly address: string;
  /** Where connections go from now on; until set, new connections are reset. */
  retarget(target: ProxyTarget): void;
  /** Drops every connection in flight and refuses or swallows new ones until restore(). */
  cut(mode?: CutMode): void;
  restore(): void;
  readonly isCut: boolean;
  /** Connections forwarded to the target so far. */
  readonly forwarded: number;
  /** HTTP/1.x request lines the clients sent through the proxy (only what was forwarded). */
  readonly requests: readonly ProxiedRequest[];
  close(): Promise<void>;
}

/**
 * Not anchored to a line start: on a keep-alive connection the next request line follows the
 * previous request's body directly (a JSON or XML body ends without CRLF).
 */
const REQUEST_LINE = /(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) (\S+) HTTP\/1\.[01]\r\n/g;
/** Only the tail of what a connection sent is kept for finding request lines split across chunks. */
const SCAN_TAIL = 4096;

export async function startTcpProxy(initialTarget?: ProxyTarget): Promise<TcpProxy> {
  let target: ProxyTarget | undefined = initialTarget;
  let cutMode: CutMode | null = null;
  let forwarded = 0;
  const requests: ProxiedRequest[] = [];
  /** Every socket the proxy holds (both sides of forwarded pairs, and blackholed clients). */
  const sockets = new Set<Socket>();

  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    // A peer resetting its side is what a cut does; it is not a test failure.
    socket.on('error', () => socket.destroy());
  };

  const dropAll = (): void => {
    for (const socket of sockets) socket.resetAndDestroy();
    sockets.clear();
  };

  const server: Server = createServer({ pauseOnConnect: true }, (client) => {
    track(client);
    if (cutMode === 'blackhole') return; // held, unread and unanswered, until restore() or close()
    if (cutMode === 'reset' || target === undefined) {
      client.resetAndDestroy();
      return;
    }
    forwarded++;
    const upstream = connect(target.port, target.host);
    track(upstream);
    let scanned = '';
    client.on('data', (chunk: Buffer) => {
      scanned += chunk.toString('latin1');
      let consumed = -1;
      for (const match of scanned.matchAll(REQUEST_LINE)) {
        requests.push({ method: match[1] ?? '', path: match[2] ?? '', at: Date.now() });
        consumed = match.index + match[0].length;
      }
      // Drop what was scanned up to the end of the last request line found (so none is counted twice); keep a bounded tail.
      if (consumed >= 0) scanned = scanned.slice(consumed);
      if (scanned.length > SCAN_TAIL) scanned = scanned.slice(-SCAN_TAIL);
    });
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.resume();
  });


  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;

  return {
    host: '127.0.0.1',
    port,
    address: `127.0.0.1:${port}`,
    retarget(next) {
      target = next;
    },
    cut(mode = 'reset') {
      cutMode = mode;
      dropAll();
    },
    restore() {
      cutMode = null;
      // Blackholed clients never got an answer; end them so they retry through the restored path.
      dropAll();
    },
    get isCut() {
      return cutMode !== null;
    },
    get forwarded() {
      return forwarded;
    },
    get requests() {
      return requests;
    },
    async close() {
      dropAll();
      if (!server.listening) return;
      server.close();
      await once(server, 'close');
    },
  };
}
