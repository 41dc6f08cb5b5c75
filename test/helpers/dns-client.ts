import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, Packet, RecordType } from 'dns-packet';

/**
 * A small DNS client for tests, built on dns-packet: raw UDP exchanges, TCP connections with
 * several queries each, and queries that can be bent (opcode, EDNS size, extra questions).
 * Every wait is bounded; a server that stays silent fails the test with a clear message.
 */

export interface DnsAddress {
  readonly host: string;
  readonly port: number;
}

/** dns-packet's decoded packet; its types omit the rcode and opcode it decodes. */
export interface DnsResponse extends DecodedPacket {
  readonly rcode: string;
  readonly opcode: string;
  readonly id: number;
  readonly questions: NonNullable<DecodedPacket['questions']>;
  readonly answers: NonNullable<DecodedPacket['answers']>;
  readonly authorities: NonNullable<DecodedPacket['authorities']>;
  readonly additionals: NonNullable<DecodedPacket['additionals']>;
}

export interface QueryOptions {
  readonly id?: number;
  /** Advertise EDNS0 with this UDP payload size. */
  readonly ednsUdpSize?: number;
  readonly ednsVersion?: number;
  /** 0 QUERY, 1 IQUERY, 2 STATUS, 4 NOTIFY, 5 UPDATE. */
  readonly opcode?: number;
  readonly recursionDesired?: boolean;
  /** Defaults to 'IN'. */
  readonly klass?: 'IN' | 'CH' | 'ANY';
  readonly timeoutMs?: number;
}

/** A question type: dns-packet's record types plus ANY (255), which it encodes but does not type. */
export type QuestionType = RecordType | 'ANY';

const DEFAULT_TIMEOUT_MS = 5000;
let nextId = 1;

export function buildQuery(name: string, type: QuestionType, options: QueryOptions = {}): Buffer {
  const packet: Packet = {
    type: 'query',
    id: options.id ?? nextId++ % 65536,
    flags: ((options.opcode ?? 0) << 11) | (options.recursionDesired === false ? 0 : dnsPacket.RECURSION_DESIRED),
    questions: [{ name, type: type as RecordType, class: options.klass ?? 'IN' }],
  };
  if (options.ednsUdpSize !== undefined) {
    packet.additionals = [
      { type: 'OPT', name: '.', udpPayloadSize: options.ednsUdpSize, extendedRcode: 0, ednsVersion: options.ednsVersion ?? 0, flags: 0, flag_do: false, options: [] },
    ];
  }
  return dnsPacket.encode(packet);
}

export function decodeResponse(message: Buffer): DnsResponse {
  return dnsPacket.decode(message) as DnsResponse;
}

/** Sends one datagram and resolves with the first datagram that comes back. */
export function udpExchange(address: DnsAddress, message: Buffer, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(address.host.includes(':') ? 'udp6' : 'udp4');
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no UDP answer from ${address.host}:${address.port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('message', (reply) => {
      clearTimeout(timer);
      socket.close();
      resolve(reply);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.close();
      reject(err);
    });
    socket.send(message, address.port, address.host);
  });
}

/** Sends one datagram and expects nothing back (for messages a server must drop). */
export function udpSend(address: DnsAddress, message: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(address.host.includes(':') ? 'udp6' : 'udp4');
    socket.send(message, address.port, address.host, (err) => {
      socket.close();
      if (err) reject(err);
      else resolve();
    });
  });
}

export async function queryUdp(address: DnsAddress, name: string, type: QuestionType, options: QueryOptions = {}): Promise<DnsResponse> {
  return decodeResponse(await udpExchange(address, buildQuery(name, type, options), options.timeoutMs));
}

export async function queryTcp(address: DnsAddress, name: string, type: QuestionType, options: QueryOptions = {}): Promise<DnsResponse> {
  const connection = await TcpDnsConnection.open(address);
  try {
    return decodeResponse(await connection.exchange(buildQuery(name, type, options), options.timeoutMs));
  } finally {
    await connection.close();
  }
}

/** One TCP connection: framed messages out, framed messages in, in order. */
export class TcpDnsConnection {
  private pending = Buffer.alloc(0);
  private readonly frames: Buffer[] = [];
  private readonly waiters: { resolve: (frame: Buffer) => void; reject: (err: Error) => void }[] = [];
  private ended: Error | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk) => {
      this.pending = Buffer.concat([this.pending, chunk]);
      while (this.pending.length >= 2) {
        const length = this.pending.readUInt16BE(0);
        if (this.pending.length < 2 + length) break;
        const frame = this.pending.subarray(2, 2 + length);
        this.pending = this.pending.subarray(2 + length);
        const waiter = this.waiters.shift();
        if (waiter === undefined) this.frames.push(frame);
        else waiter.resolve(frame);
      }
    });
    const finish = (err: Error): void => {
      this.ended ??= err;
      for (const waiter of this.waiters.splice(0)) waiter.reject(err);
    };
    socket.on('error', finish);
    socket.on('close', () => {
      finish(new Error('TCP connection closed by the server'));
    });
  }

  static open(address: DnsAddress, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<TcpDnsConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: address.host, port: address.port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no TCP connection to ${address.host}:${address.port} within ${timeoutMs} ms`));
      }, timeoutMs);
      const onError = (err: Error): void => {
        clearTimeout(timer);
        reject(err);
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        resolve(new TcpDnsConnection(socket));
      });
    });
  }

  /** Sends one message with its two-byte length prefix. */
  send(message: Buffer): void {
    const framed = Buffer.alloc(2 + message.length);
    framed.writeUInt16BE(message.length, 0);
    message.copy(framed, 2);
    this.socket.write(framed);
  }

  /** Sends bytes as they are, without framing. */
  sendRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The next framed message from the server. */
  next(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Buffer> {
    const ready = this.frames.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.ended !== undefined) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        reject(new Error(`no TCP answer within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = {
        resolve: (frame: Buffer) => {
          clearTimeout(timer);
          resolve(frame);
        },
        reject: (err: Error) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      this.waiters.push(waiter);
    });
  }

  async exchange(message: Buffer, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Buffer> {
    this.send(message);
    return this.next(timeoutMs);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) {
        resolve();
        return;
      }
      this.socket.once('close', () => {
        resolve();
      });
      this.socket.destroy();
    });
  }
}

/** The TXT strings of an answer, joined into the record's whole text. */
export function txtText(answer: Answer): string {
  if (answer.type !== 'TXT') throw new Error(`not a TXT answer: ${answer.type}`);
  const data = answer.data;
  const parts = Array.isArray(data) ? data : [data];
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p))).toString('utf8');
}

/** The TXT character-strings of an answer, each as bytes. */
export function txtStrings(answer: Answer): Buffer[] {
  if (answer.type !== 'TXT') throw new Error(`not a TXT answer: ${answer.type}`);
  const data = answer.data;
  const parts = Array.isArray(data) ? data : [data];
  return parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p));
}

/** The TTL of a record (undefined for the OPT pseudo-record, which has none). */
export function ttlOf(answer: Answer | undefined): number | undefined {
  return answer === undefined || answer.type === 'OPT' ? undefined : answer.ttl;
}

/** The SOA serial in an answer or authority record. */
export function soaSerial(answer: Answer | undefined): number {
  if (answer?.type !== 'SOA') throw new Error(`not an SOA record: ${answer?.type ?? 'none'}`);
  return answer.data.serial ?? -1;
}
