import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A TCP proxy on loopback in front of an HTTP server, for a server that is slow to take or to
 * answer a request, as a loaded daemon is. A held connection delivers what it holds `ms` late,
 * whether or not its client is still there:
 * - `request`: the client's bytes reach the server late (the daemon takes the request after the
 *   client gave up; it still does what it asks);
 * - `answer`: the server takes the request at once, and its answer reaches the client late
 *   (or never, when the client has gone by then).
 * Connections not held are forwarded as they come.
 */

export interface Hold {
  readonly side: 'request' | 'answer';
  readonly ms: number;
}

export interface LateProxy {
  /** "http://127.0.0.1:PORT" */
  readonly url: string;
  /** Holds the next connection that comes (holds queue up, one per connection, in order). */
  holdNext(hold: Hold): void;
  /** Connections taken so far. */
  readonly connections: number;
  /** The Idempotency-Key of every request seen, in the order they came (null: none sent). */
  readonly keys: readonly (string | null)[];
  /** Resolves once every held connection has delivered what it held and the server closed it. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

const REQUEST_HEAD = /^(?:GET|POST|DELETE) \S+ HTTP\/1\.1\r\n([\s\S]*?)\r\n\r\n/;
const KEY_HEADER = /^idempotency-key: *(.*)$/im;

export async function startLateProxy(target: { readonly host: string; readonly port: number }): Promise<LateProxy> {
  const holds: Hold[] = [];
  const sockets = new Set<Socket>();
  const held: Promise<void>[] = [];
  const keys: (string | null)[] = [];
  let connections = 0;

  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    // A side that gives up (the client timing out) resets its end; that is the point here, not an error.
    socket.on('error', () => socket.destroy());
  };

  /** Forwards `from` to `to`, `delayMs` late: what arrives before then is kept and written then. */
  const forwardLate = (from: Socket, to: Socket, delayMs: number): void => {
    const kept: Buffer[] = [];
    let released = delayMs === 0;
    from.on('data', (chunk: Buffer) => {
      if (released) {
        if (!to.destroyed) to.write(chunk);
      } else kept.push(chunk);
    });
    if (released) return;
    setTimeout(() => {
      released = true;
      if (!to.destroyed) for (const chunk of kept.splice(0)) to.write(chunk);
    }, delayMs);
  };

  const server = createServer({ pauseOnConnect: true }, (client) => {
    connections += 1;
    track(client);
    const hold = holds.shift();
    const upstream = connect(target.port, target.host);
    track(upstream);
    let head = '';
    client.on('data', (chunk: Buffer) => {
      if (head.length > 16_384) return;
      const before = REQUEST_HEAD.test(head);
      head += chunk.toString('latin1');
      const match = REQUEST_HEAD.exec(head);
      if (!before && match !== null) keys.push(KEY_HEADER.exec(match[1] ?? '')?.[1]?.trim() ?? null);
    });
    forwardLate(client, upstream, hold?.side === 'request' ? hold.ms : 0);
    forwardLate(upstream, client, hold?.side === 'answer' ? hold.ms : 0);
    const upstreamClosed = once(upstream, 'close').then(() => undefined);
    if (hold === undefined) {
      client.on('close', () => upstream.destroy());
    } else {
      // The server closes the connection once it has answered (the client asks Connection: close).
      held.push(upstreamClosed);
    }
    upstream.on('close', () => {
      if (hold?.side === 'answer' && !client.destroyed) {
        // What the server said may still be held: the client gets it when the hold ends.
        setTimeout(() => client.end(), hold.ms);
      } else client.destroy();
    });
    client.resume();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    holdNext(hold) {
      holds.push(hold);
    },
    get connections() {
      return connections;
    },
    get keys() {
      return keys;
    },
    async settled() {
      await Promise.all(held);
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
