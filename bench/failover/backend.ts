import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A failover record's backend: an HTTP server on one loopback address that answers 200 while up.
 * `cut()` closes the listener and every open connection, so the next probe is refused at once,
 * as a crashed process on a live host would; `restore()` listens again on the same port.
 */
export class Backend {
  private server: Server | undefined;

  private constructor(
    readonly host: string,
    readonly port: number,
  ) {}

  /** Listens on host:port (0: an ephemeral port, found out here). */
  static async start(host: string, port: number): Promise<Backend> {
    const server = await listenOn(host, port);
    const backend = new Backend(host, (server.address() as AddressInfo).port);
    backend.server = server;
    return backend;
  }

  get up(): boolean {
    return this.server !== undefined;
  }

  /** Stops answering: new connections are refused, open ones are cut. */
  async cut(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => { resolve(); }));
    server.closeAllConnections();
    await closed;
  }

  /** Answers again on the same address and port. */
  async restore(): Promise<void> {
    if (this.server !== undefined) return;
    this.server = await listenOn(this.host, this.port);
  }

  close(): Promise<void> {
    return this.cut();
  }
}

function listenOn(host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    res.writeHead(req.url === '/healthz' ? 200 : 404, { 'content-type': 'text/plain' }).end('ok\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
