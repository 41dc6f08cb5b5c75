import { createSocket } from 'node:dgram';
import type { RemoteInfo, Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv6 } from 'node:net';
import type { Server as TcpServer, Socket as TcpSocket } from 'node:net';
import type { HostPort } from '../config/types.js';
import { DnsQuorumError, errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { ServedZones } from './authority.js';
import { respond, serverFailure } from './responder.js';
import type { Transport } from './responder.js';

/**
 * An authoritative DNS server: UDP and TCP on one address, answering from whatever zones its
 * source hands out at the moment of each query. Where the zones come from (a state file, a fake
 * provider's memory) is the source's business.
 */

/** The zones to answer from, asked for on every query; a source caches as it sees fit. */
export type ZoneSource = () => Promise<ServedZones> | ServedZones;

export interface AuthoritativeDnsServerOptions {
  /** Where to listen; port 0 picks one ephemeral port free for both UDP and TCP. */
  readonly listen: HostPort;
  readonly zones: ZoneSource;
  readonly logger: Logger;
  /** Names the server in messages, e.g. the provider it serves. */
  readonly name: string;
}

/** RFC 7766 6.2.3: servers close idle TCP connections; a few seconds keeps pipelining clients served. */
const TCP_IDLE_TIMEOUT_MS = 10_000;
/** Attempts to find a port free for both UDP and TCP when listening on port 0. */
const EPHEMERAL_PORT_ATTEMPTS = 10;

export class AuthoritativeDnsServer {
  private readonly options: AuthoritativeDnsServerOptions;
  private udp: UdpSocket | undefined;
  private tcp: TcpServer | undefined;
  private bound: HostPort | undefined;
  private readonly connections = new Set<TcpSocket>();

  constructor(options: AuthoritativeDnsServerOptions) {
    this.options = options;
  }

  /**
   * Binds UDP and TCP (port 0: one ephemeral port free for both). A failure to listen is a
   * DnsQuorumError DQ_PROVIDER_UNAVAILABLE naming the address.
   */
  async start(): Promise<void> {
    if (this.udp !== undefined) throw new Error(`DNS server ${this.options.name} is already started`);
    const { host, port } = this.options.listen;
    const { logger } = this.options;
    for (let attempt = 1; ; attempt++) {
      const udp = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
      try {
        await bindUdp(udp, port, host);
      } catch (err) {
        throw listenError(host, port, err);
      }
      const boundPort = udp.address().port;
      try {
        this.tcp = await listenTcp(boundPort, host, (socket) => {
          this.onConnection(socket);
        });
      } catch (err) {
        await closeUdp(udp);
        if (port === 0 && hasErrorCode(err, 'EADDRINUSE') && attempt < EPHEMERAL_PORT_ATTEMPTS) continue;
        throw listenError(host, boundPort, err);
      }
      udp.on('error', (err) => {
        logger.error({ err }, 'UDP socket error');
      });
      this.tcp.on('error', (err) => {
        logger.error({ err }, 'TCP server error');
      });
      udp.on('message', (msg, remote) => {
        this.answerUdp(udp, msg, remote).catch((err: unknown) => {
          logger.error({ err }, 'UDP answer failed');
        });
      });
      this.udp = udp;
      this.bound = { host, port: boundPort };
      return;
    }
  }

  /** Where the server listens; with port 0 asked for, the port it was given. */
  address(): HostPort {
    if (this.bound === undefined) throw new Error(`DNS server ${this.options.name} is not started`);
    return this.bound;
  }

  /** Stops listening and drops open TCP connections. Safe to call twice. */
  async close(): Promise<void> {
    const { udp, tcp } = this;
    this.udp = undefined;
    this.tcp = undefined;
    this.bound = undefined;
    for (const socket of this.connections) socket.destroy();
    this.connections.clear();
    await Promise.all([udp === undefined ? undefined : closeUdp(udp), tcp === undefined ? undefined : closeTcp(tcp)]);
  }

  private async answer(msg: Buffer, transport: Transport): Promise<Buffer | undefined> {
    try {
      return respond(msg, await this.options.zones(), transport);
    } catch (err) {
      this.options.logger.error({ err, transport }, 'query handling failed; answering SERVFAIL');
      return serverFailure(msg);
    }
  }

  private async answerUdp(udp: UdpSocket, msg: Buffer, remote: RemoteInfo): Promise<void> {
    const response = await this.answer(msg, 'udp');
    if (response === undefined || this.udp !== udp) return;
    udp.send(response, remote.port, remote.address, (err) => {
      if (err) this.options.logger.debug({ err, to: `${remote.address}:${remote.port}` }, 'UDP send failed');
    });
  }

  /** RFC 1035 4.2.2 / RFC 7766: two-byte length framing, several queries per connection, answered in order. */
  private onConnection(socket: TcpSocket): void {
    const { logger } = this.options;
    this.connections.add(socket);
    let pending = Buffer.alloc(0);
    let queue = Promise.resolve();
    socket.setTimeout(TCP_IDLE_TIMEOUT_MS, () => socket.destroy());
    socket.on('error', (err) => {
      logger.debug({ err }, 'TCP connection error');
    });
    socket.on('close', () => this.connections.delete(socket));
    socket.on('data', (chunk) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 2) {
        const length = pending.readUInt16BE(0);
        if (pending.length < 2 + length) break;
        const frame = pending.subarray(2, 2 + length);
        pending = pending.subarray(2 + length);
        queue = queue
          .then(async () => {
            const response = await this.answer(frame, 'tcp');
            if (response === undefined || socket.destroyed) return;
            const framed = Buffer.alloc(2 + response.length);
            framed.writeUInt16BE(response.length, 0);
            response.copy(framed, 2);
            socket.write(framed);
          })
          .catch((err: unknown) => {
            logger.error({ err }, 'TCP answer failed');
          });
      }
    });
  }
}

function listenError(host: string, port: number, err: unknown): DnsQuorumError {
  return new DnsQuorumError('DQ_PROVIDER_UNAVAILABLE', `cannot listen for DNS on ${host}:${port} (UDP and TCP): ${errorMessage(err)}`, { cause: err });
}

function hasErrorCode(err: unknown, code: string): boolean {
  return err instanceof Error && 'code' in err && err.code === code;
}

function bindUdp(socket: UdpSocket, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      socket.close();
      reject(err);
    };
    socket.once('error', onError);
    socket.bind(port, host, () => {
      socket.off('error', onError);
      resolve();
    });
  });
}

function listenTcp(port: number, host: string, onConnection: (socket: TcpSocket) => void): Promise<TcpServer> {
  return new Promise((resolve, reject) => {
    const server = createServer(onConnection);
    const onError = (err: Error): void => {
      server.close();
      reject(err);
    };
    server.once('error', onError);
    server.listen({ port, host, exclusive: true }, () => {
      server.off('error', onError);
      resolve(server);
    });
  });
}

function closeUdp(socket: UdpSocket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => {
        resolve();
      });
    } catch {
      // Already closed.
      resolve();
    }
  });
}

function closeTcp(server: TcpServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => {
      resolve();
    });
  });
}
