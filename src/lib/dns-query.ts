import { createSocket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { connect } from 'node:net';
import dnsPacket from 'dns-packet';
import type { Answer, Packet, RecordType as PacketRecordType } from 'dns-packet';
import { withDeadline } from './deadline.js';
import { DnsQuorumError } from './errors.js';

export interface DnsServerAddress {
  readonly host: string;
  readonly port: number;
}

export interface QueryOptions {
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Ask over TCP from the start. Otherwise UDP, and TCP again when the answer comes back truncated. */
  readonly tcp?: boolean;
}

/** The reply to one question, with how it travelled. */
export interface DnsReply {
  readonly packet: Packet;
  readonly transport: 'udp' | 'tcp';
  /** The UDP reply had TC set (the TCP retry's packet is in `packet`). */
  readonly truncatedOverUdp: boolean;
}

/**
 * Asks one server one question with dns-packet, like a resolver would: UDP first, TCP when the
 * UDP answer is truncated. Checks that the reply answers our question (id and name).
 */
export async function queryDns(server: DnsServerAddress, name: string, type: PacketRecordType, options: QueryOptions = {}): Promise<DnsReply> {
  const timeoutMs = options.timeoutMs ?? 2000;
  return withDeadline(options.signal === undefined ? [] : [options.signal], timeoutMs, async (signal) => {
    const id = randomInt(0, 65536);
    const query = dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }] });
    if (options.tcp === true) return { packet: checkReply(await overTcp(server, query, signal), id, name), transport: 'tcp', truncatedOverUdp: false };
    const udp = checkReply(await overUdp(server, query, signal), id, name);
    if ((udp.flags ?? 0) & dnsPacket.TRUNCATED_RESPONSE) {
      return { packet: checkReply(await overTcp(server, query, signal), id, name), transport: 'tcp', truncatedOverUdp: true };
    }
    return { packet: udp, transport: 'udp', truncatedOverUdp: false };
  });
}

function checkReply(packet: Packet, id: number, name: string): Packet {
  const question = packet.questions?.[0];
  if (packet.id !== id || question === undefined || question.name.toLowerCase() !== name.replace(/\.$/, '').toLowerCase()) {
    throw new DnsQuorumError('DQ_PROVIDER_UNAVAILABLE', `DNS reply does not match the question ${name} (id ${packet.id ?? '?'} vs ${id})`);
  }
  return packet;
}

function decode(buf: Buffer, where: string): Packet {
  try {
    return dnsPacket.decode(buf);
  } catch (err) {
    throw new DnsQuorumError('DQ_PROVIDER_UNAVAILABLE', `malformed DNS reply from ${where}`, { cause: err });
  }
}

function aborted(signal: AbortSignal, where: string): DnsQuorumError {
  return new DnsQuorumError('DQ_PROVIDER_UNAVAILABLE', `no DNS answer from ${where}: ${signal.reason instanceof Error ? signal.reason.message : 'aborted'}`, { cause: signal.reason });
}

function overUdp(server: DnsServerAddress, query: Buffer, signal: AbortSignal): Promise<Packet> {
  const where = `${server.host}:${server.port}/udp`;
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(aborted(signal, where));
      return;
    }
    const socket = createSocket(server.host.includes(':') ? 'udp6' : 'udp4');
    const finish = (fn: () => void): void => {
      signal.removeEventListener('abort', onAbort);
      socket.close();
      fn();
    };
    const onAbort = (): void => { finish(() => { reject(aborted(signal, where)); }); };
    signal.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (err) => { finish(() => { reject(new DnsQuorumError('DQ_PROVIDER_UNAVAILABLE', `DNS query to ${where} failed: ${err.message}`, { cause: err })); }); });
    socket.on('message', (msg) => {
      try {
        const packet = decode(msg, where);
        finish(() => { resolve(packet); });
      } catch (err) {
        finish(() => { reject(err instanceof Error ? err : new Error(String(err))); });
      }
    });
    socket.send(query, server.port, server.host);
  });
}

function overTcp(server: DnsServerAddress, query: Buffer, signal: AbortSignal): Promise<Packet> {
  const where = `${server.host}:${server.port}/tcp`;
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(aborted(signal, where));
      return;
    }
    const socket = connect({ host: server.host, port: server.port });
    let buffered = Buffer.alloc(0);
    const finish = (fn: () => void): void => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      fn();
    };
    const onAbort = (): void => { finish(() => { reject(aborted(signal, where)); }); };
    signal.addEventListener('abort', onAbort, { once: true });
    socket.on('connect', () => {
      const framed = Buffer.alloc(2 + query.length);
      framed.writeUInt16BE(query.length, 0);
      query.copy(framed, 2);
      socket.write(framed);
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 2) return;
      const length = buffered.readUInt16BE(0);
      if (buffered.length < 2 + length) return;
      try {
        const packet = decode(buffered.subarray(2, 2 + length), where);
        finish(() => { resolve(packet); });
      } catch (err) {
        finish(() => { reject(err instanceof Error ? err : new Error(String(err))); });
      }
    });
    socket.on('error', (err) => { finish(() => { reject(new DnsQuorumError('DQ_PROVIDER_UNAVAILABLE', `DNS query to ${where} failed: ${err.message}`, { cause: err })); }); });
    socket.on('end', () => { finish(() => { reject(new DnsQuorumError('DQ_PROVIDER_UNAVAILABLE', `${where} closed the connection before answering`)); }); });
  });
}

/** The answer values of one type whose data is a single string (A, AAAA, CNAME, NS, PTR), sorted. */
export function answerValues(packet: Packet, type: PacketRecordType): string[] {
  return (packet.answers ?? [])
    .flatMap((a) => (a.type === type && 'data' in a && typeof a.data === 'string' ? [a.data] : []))
    .sort();
}

const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];

/** The reply's rcode by name ("NXDOMAIN"); dns-packet's types do not carry the one it decodes. */
export function rcodeName(packet: Packet): string {
  const code = (packet.flags ?? 0) & 0xf;
  return RCODE_NAMES[code] ?? `RCODE${code}`;
}

/**
 * An answer's data in zone-file presentation form (MX "10 mail.example.com", CAA '0 issue "ca"',
 * TXT strings joined), to compare with canonical record values; undefined for other types.
 */
export function answerPresentation(answer: Answer): string | undefined {
  switch (answer.type) {
    case 'A':
    case 'AAAA':
    case 'CNAME':
    case 'NS':
    case 'PTR':
      return answer.data;
    case 'MX':
      return `${answer.data.preference ?? 0} ${answer.data.exchange}`;
    case 'SRV':
      return `${answer.data.priority ?? 0} ${answer.data.weight ?? 0} ${answer.data.port} ${answer.data.target}`;
    case 'CAA':
      return `${answer.data.flags ?? 0} ${answer.data.tag} "${answer.data.value}"`;
    case 'TXT': {
      const parts = Array.isArray(answer.data) ? answer.data : [answer.data];
      return parts.map((part) => (typeof part === 'string' ? part : part.toString('utf8'))).join('');
    }
    case 'SOA': {
      const soa = answer.data;
      return [soa.mname, soa.rname, soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum].map((v) => String(v ?? 0)).join(' ');
    }
    default:
      return undefined;
  }
}
