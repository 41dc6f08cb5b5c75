import { createSocket } from 'node:dgram';
import type { Socket as UdpSocket } from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import type { Server as TcpServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import type { Answer, Packet, RecordType as PacketType } from 'dns-packet';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostPort, LocalProviderConfig } from '../../src/config/types.js';
import type { RecordSet, RecordType } from '../../src/domain/record.js';
import { DnsQuorumError } from '../../src/lib/errors.js';
import { queryDns } from '../../src/lib/dns-query.js';
import { ManualClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/logger.js';
import { LocalProvider } from '../../src/providers/local/provider.js';
import { LocalDnsServer } from '../../src/providers/local/server.js';
import { compareAnswer, servedAnswer } from '../../src/verify/compare.js';
import type { Expectation } from '../../src/verify/compare.js';
import { TcpDnsConnection, buildQuery, decodeResponse } from '../helpers/dns-client.js';
import { memoryLogger } from '../helpers/memory-logger.js';
import type { LogLine } from '../helpers/memory-logger.js';
import { faultCases, recordFault } from './fault-table.js';
import { bounded, describeError, runProperty } from './hostile-common.js';

/**
 * Fault "DNS packets": random and truncated packets, and mutations of valid queries, sent over
 * UDP and TCP to the local provider's DNS server (LocalDnsServer): it never crashes, every
 * answer it sends is a well-formed response to the message's id, and after each case (and at
 * the end) it still answers a valid query correctly. The verifier's side: random and mutated
 * replies fed to dns-query's decoding (queryDns against a server that answers garbage, over UDP
 * and TCP) and to compare.ts (servedAnswer, compareAnswer) never throw anything but a typed error.
 */

const ZONE = 'hostile.example.';
const T0 = 1_700_000_000_000;
const ZONE_DATA: RecordSet[] = [
  { name: `www.${ZONE}`, type: 'A', ttl: 60, values: ['192.0.2.1', '192.0.2.2'] },
  { name: `v6.${ZONE}`, type: 'AAAA', ttl: 60, values: ['2001:db8::1'] },
  { name: ZONE, type: 'MX', ttl: 300, values: ['10 mail.hostile.example.'] },
  { name: `txt.${ZONE}`, type: 'TXT', ttl: 300, values: ['v=spf1 -all'] },
  { name: `big.${ZONE}`, type: 'TXT', ttl: 300, values: Array.from({ length: 12 }, (_, i) => `${String(i).padStart(2, '0')} ${'x'.repeat(90)}`) },
  { name: `alias.${ZONE}`, type: 'CNAME', ttl: 300, values: [`www.${ZONE}`] },
  { name: `sub.${ZONE}`, type: 'NS', ttl: 300, values: ['ns1.elsewhere.example.'] },
  { name: `_sip._tcp.${ZONE}`, type: 'SRV', ttl: 300, values: ['10 5 5060 sip.hostile.example.'] },
  { name: ZONE, type: 'CAA', ttl: 300, values: ['0 issue "letsencrypt.org"'] },
];

let dir = '';
let server: LocalDnsServer | undefined;
let address: HostPort = { host: '127.0.0.1', port: 0 };
let logs: readonly LogLine[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dq-hostile-dns-'));
  const config: LocalProviderConfig = { type: 'local', name: 'lab', listen: { host: '127.0.0.1', port: 0 }, nameserver: `ns1.${ZONE}` };
  const statePath = join(dir, 'lab.json');
  const provider = new LocalProvider({ config, statePath, clock: new ManualClock(T0), logger: silentLogger() });
  const signal = AbortSignal.timeout(10_000);
  await provider.ensureZone(ZONE, signal);
  await provider.applyChanges({ zone: ZONE, creates: ZONE_DATA, updates: [], deletes: [] }, signal);
  const memory = memoryLogger();
  logs = memory.lines;
  server = new LocalDnsServer({ config, statePath, logger: memory.logger });
  await server.start();
  address = server.address();
});

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Packets

// ANY and AXFR are not in dns-packet's type list, but it encodes them.
const QUESTION_TYPES = ['A', 'AAAA', 'MX', 'TXT', 'CNAME', 'NS', 'SOA', 'SRV', 'CAA', 'PTR', 'OPT', 'DS', 'ANY', 'AXFR'] as readonly PacketType[];
const QUESTION_NAMES = [`www.${ZONE}`, `v6.${ZONE}`, ZONE, `big.${ZONE}`, `alias.${ZONE}`, `x.sub.${ZONE}`, `nope.${ZONE}`, `*.${ZONE}`, 'elsewhere.example.', '.', `${'a'.repeat(63)}.${ZONE}`];

/** A valid query: a name and type of the zone (or not), with or without EDNS, any id and flags. */
const validQuery: fc.Arbitrary<Buffer> = fc
  .record({
    id: fc.integer({ min: 0, max: 65535 }),
    name: fc.constantFrom(...QUESTION_NAMES),
    type: fc.constantFrom(...QUESTION_TYPES),
    edns: fc.option(fc.record({ size: fc.integer({ min: 0, max: 65535 }), version: fc.integer({ min: 0, max: 255 }), flags: fc.integer({ min: 0, max: 65535 }) }), { nil: undefined }),
    klass: fc.constantFrom<'IN' | 'CH' | 'ANY' | 'HS'>('IN', 'CH', 'ANY', 'HS'),
    flags: fc.integer({ min: 0, max: 0xffff }),
  })
  .map(({ id, name, type, edns, klass, flags }) => {
    const packet: Packet = { type: 'query', id, flags: flags & ~0x8000, questions: [{ name, type, class: klass }] };
    if (edns !== undefined) {
      packet.additionals = [{ type: 'OPT', name: '.', udpPayloadSize: edns.size, extendedRcode: 0, ednsVersion: edns.version, flags: edns.flags, flag_do: false, options: [] }];
    }
    return dnsPacket.encode(packet);
  });

type Mutation =
  | { readonly kind: 'flip'; readonly at: number; readonly bit: number }
  | { readonly kind: 'set'; readonly at: number; readonly byte: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: 'count'; readonly field: 0 | 1 | 2 | 3; readonly value: number }
  | { readonly kind: 'pointer'; readonly at: number; readonly target: number };

const fraction = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fraction, fc.integer({ min: 0, max: 7 })).map(([at, bit]): Mutation => ({ kind: 'flip', at, bit })),
  fc.tuple(fraction, fc.integer({ min: 0, max: 255 })).map(([at, byte]): Mutation => ({ kind: 'set', at, byte })),
  fraction.map((at): Mutation => ({ kind: 'truncate', at })),
  fc.tuple(fraction, fc.uint8Array({ minLength: 1, maxLength: 32 })).map(([at, bytes]): Mutation => ({ kind: 'insert', at, bytes })),
  fc.tuple(fc.constantFrom(0 as const, 1 as const, 2 as const, 3 as const), fc.oneof(fc.constantFrom(0, 1, 2, 255, 65535), fc.integer({ min: 0, max: 65535 }))).map(([field, value]): Mutation => ({ kind: 'count', field, value })),
  // A compression pointer: to itself, backwards, forwards, past the end (loops and overruns).
  fc.tuple(fraction, fc.integer({ min: 0, max: 0x3fff })).map(([at, target]): Mutation => ({ kind: 'pointer', at, target })),
);

function mutate(packet: Buffer, m: Mutation): Buffer {
  const at = 'at' in m ? Math.floor(m.at * packet.length) : 0;
  switch (m.kind) {
    case 'flip': {
      const out = Buffer.from(packet);
      if (out.length > 0) out[at] = (out[at] ?? 0) ^ (1 << m.bit);
      return out;
    }
    case 'set': {
      const out = Buffer.from(packet);
      if (out.length > 0) out[at] = m.byte;
      return out;
    }
    case 'truncate':
      return packet.subarray(0, at);
    case 'insert':
      return Buffer.concat([packet.subarray(0, at), Buffer.from(m.bytes), packet.subarray(at)]);
    case 'count': {
      const out = Buffer.from(packet);
      if (out.length >= 12) out.writeUInt16BE(m.value, 4 + 2 * m.field);
      return out;
    }
    case 'pointer': {
      const out = Buffer.from(packet);
      if (out.length >= 2) out.writeUInt16BE(0xc000 | m.target, Math.min(at, out.length - 2));
      return out;
    }
  }
}

/** Random bytes, or a valid query mutated one to five times. */
const hostilePacket: fc.Arbitrary<Buffer> = fc.oneof(
  fc.uint8Array({ minLength: 0, maxLength: 600 }).map((b) => Buffer.from(b)),
  // A header that passes the first checks (a query, one question) followed by junk.
  fc.tuple(fc.integer({ min: 0, max: 65535 }), fc.uint8Array({ minLength: 0, maxLength: 300 })).map(([id, rest]) => {
    const header = Buffer.alloc(12);
    header.writeUInt16BE(id, 0);
    header.writeUInt16BE(1, 4);
    return Buffer.concat([header, Buffer.from(rest)]);
  }),
  { arbitrary: fc.tuple(validQuery, fc.array(mutation, { minLength: 1, maxLength: 5 })).map(([query, ms]) => ms.reduce<Buffer>(mutate, query)), weight: 4 },
);

function hex(b: Buffer): string {
  return b.length > 200 ? `${b.subarray(0, 200).toString('hex')}...(${String(b.length)} bytes)` : b.toString('hex');
}

// ---------------------------------------------------------------------------------------------
// The probe: a valid query the server must answer correctly after every case.

const PROBE_NAME = `www.${ZONE}`;
const PROBE_VALUES = ['192.0.2.1', '192.0.2.2'];

function probeProblem(reply: Buffer, id: number): string | undefined {
  let decoded;
  try {
    decoded = decodeResponse(reply);
  } catch (err) {
    return `the probe's answer does not decode: ${describeError(err)}`;
  }
  if (decoded.id !== id) return `the probe's answer has id ${String(decoded.id)}, not ${String(id)}`;
  if (decoded.rcode !== 'NOERROR' || ((decoded.flags ?? 0) & dnsPacket.AUTHORITATIVE_ANSWER) === 0) return `the probe was answered ${decoded.rcode}`;
  const values = decoded.answers.flatMap((a) => (a.type === 'A' && a.name === PROBE_NAME.slice(0, -1) ? [a.data] : [])).sort();
  if (values.join(',') !== PROBE_VALUES.join(',')) return `the probe was answered ${values.join(',')}, not ${PROBE_VALUES.join(',')}`;
  return undefined;
}

/** Undefined when a reply the server sent to a hostile message is a well-formed response to it. */
function replyProblem(reply: Buffer, sent: Buffer): string | undefined {
  if (sent.length < 12) return `answered a ${String(sent.length)}-byte message, shorter than a header`;
  let decoded;
  try {
    decoded = decodeResponse(reply);
  } catch (err) {
    return `sent a reply dns-packet cannot decode (${describeError(err)}): ${hex(reply)}`;
  }
  if (decoded.type !== 'response') return 'sent a reply without QR';
  if (decoded.id !== sent.readUInt16BE(0)) return `sent a reply with id ${String(decoded.id)} to a message with id ${String(sent.readUInt16BE(0))}`;
  return undefined;
}

function openUdp(): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

let probeId = 1;

/** Sends the hostile datagram, then the probe; undefined when the probe is answered right and every earlier reply is well-formed. */
async function udpCase(packet: Buffer): Promise<string | undefined> {
  const socket = await openUdp();
  const id = (probeId = (probeId % 65535) + 1);
  const probe = buildQuery(PROBE_NAME, 'A', { id });
  try {
    return await bounded(
      new Promise<string | undefined>((resolve) => {
        socket.on('message', (reply) => {
          const isProbe = (() => {
            try {
              const d = decodeResponse(reply);
              return d.id === id && d.questions[0]?.name === PROBE_NAME.slice(0, -1) && d.questions[0].type === 'A';
            } catch {
              return false;
            }
          })();
          if (isProbe) resolve(probeProblem(reply, id));
          else {
            const problem = replyProblem(reply, packet);
            if (problem !== undefined) resolve(problem);
          }
        });
        socket.send(packet, address.port, address.host, () => {
          socket.send(probe, address.port, address.host);
        });
      }),
      10_000,
      'the probe over UDP',
    );
  } finally {
    socket.close();
  }
}

type TcpHostile =
  | { readonly kind: 'framed'; readonly packets: readonly Buffer[] }
  | { readonly kind: 'lying-length'; readonly length: number; readonly packet: Buffer }
  | { readonly kind: 'split'; readonly packet: Buffer; readonly cuts: readonly number[] }
  | { readonly kind: 'raw'; readonly bytes: Buffer };

const tcpHostile: fc.Arbitrary<TcpHostile> = fc.oneof(
  { arbitrary: fc.array(hostilePacket, { minLength: 1, maxLength: 4 }).map((packets): TcpHostile => ({ kind: 'framed', packets })), weight: 3 },
  fc.tuple(fc.integer({ min: 0, max: 65535 }), hostilePacket).map(([length, packet]): TcpHostile => ({ kind: 'lying-length', length, packet })),
  fc.tuple(hostilePacket, fc.array(fraction, { maxLength: 6 })).map(([packet, cuts]): TcpHostile => ({ kind: 'split', packet, cuts })),
  fc.uint8Array({ minLength: 1, maxLength: 2000 }).map((b): TcpHostile => ({ kind: 'raw', bytes: Buffer.from(b) })),
);

function frame(packet: Buffer, length = packet.length): Buffer {
  const out = Buffer.alloc(2 + packet.length);
  out.writeUInt16BE(length & 0xffff, 0);
  packet.copy(out, 2);
  return out;
}

function describeTcp(h: TcpHostile): string {
  switch (h.kind) {
    case 'framed':
      return `framed ${h.packets.map(hex).join(' | ')}`;
    case 'lying-length':
      return `length ${String(h.length)} before ${hex(h.packet)}`;
    case 'split':
      return `split at ${h.cuts.join(',')}: ${hex(h.packet)}`;
    case 'raw':
      return `raw ${hex(h.bytes)}`;
  }
}

/** Sends the hostile bytes on one connection and the probe on another; checks every frame that came back. */
async function tcpCase(h: TcpHostile): Promise<string | undefined> {
  const hostile = connect({ host: address.host, port: address.port });
  const frames: Buffer[] = [];
  let pending = Buffer.alloc(0);
  hostile.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
      frames.push(pending.subarray(2, 2 + pending.readUInt16BE(0)));
      pending = pending.subarray(2 + pending.readUInt16BE(0));
    }
  });
  hostile.on('error', () => undefined);
  try {
    await bounded(new Promise<void>((resolve, reject) => {
      hostile.once('connect', resolve);
      hostile.once('error', reject);
    }), 10_000, 'connecting over TCP');
    const sent: Buffer[] = [];
    switch (h.kind) {
      case 'framed':
        for (const p of h.packets) {
          const clipped = p.subarray(0, 65535);
          sent.push(clipped);
          hostile.write(frame(clipped));
        }
        break;
      case 'lying-length':
        hostile.write(frame(h.packet.subarray(0, 65535), h.length));
        break;
      case 'split': {
        const bytes = frame(h.packet.subarray(0, 65535));
        sent.push(h.packet.subarray(0, 65535));
        const cuts = [...new Set(h.cuts.map((c) => Math.floor(c * bytes.length)))].sort((a, b) => a - b);
        let from = 0;
        for (const cut of [...cuts, bytes.length]) {
          if (cut > from) hostile.write(bytes.subarray(from, cut));
          from = cut;
        }
        break;
      }
      case 'raw':
        hostile.write(h.bytes);
        break;
    }
    const id = (probeId = (probeId % 65535) + 1);
    const connection = await TcpDnsConnection.open(address);
    let probeAnswer: Buffer;
    try {
      connection.send(buildQuery(PROBE_NAME, 'A', { id }));
      probeAnswer = await connection.next(10_000);
    } finally {
      await connection.close();
    }
    const problem = probeProblem(probeAnswer, id);
    if (problem !== undefined) return problem;
    // Bytes read as frames other than those sent (a lying length, raw bytes): every reply is a well-formed response.
    if (h.kind === 'lying-length' || h.kind === 'raw') {
      for (const reply of frames) {
        try {
          if (decodeResponse(reply).type !== 'response') return 'sent a reply without QR';
        } catch (err) {
          return `sent a reply dns-packet cannot decode (${describeError(err)}): ${hex(reply)}`;
        }
      }
      return undefined;
    }
    // Frames on the hostile connection answer well-framed messages (short ones are dropped, so not one for one).
    const answerable = sent.filter((m) => m.length >= 12);
    if (frames.length > answerable.length) return `sent ${String(frames.length)} frames for ${String(answerable.length)} framed messages of a header or more`;
    for (const reply of frames) {
      const problems = answerable.map((to) => replyProblem(reply, to));
      if (!problems.includes(undefined)) return problems[0] ?? 'a reply to nothing sent';
    }
    return undefined;
  } finally {
    hostile.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// The verifier: replies it must read without throwing anything but a typed error.

/** A valid reply to (name, type) with answers of many types, to be mutated. */
const validReply: fc.Arbitrary<{ reply: Buffer; name: string; type: PacketType }> = fc
  .record({
    id: fc.integer({ min: 0, max: 65535 }),
    name: fc.constantFrom(...QUESTION_NAMES.filter((n) => n !== '.')),
    type: fc.constantFrom<PacketType>('A', 'AAAA', 'MX', 'TXT', 'CAA', 'SRV', 'NS', 'CNAME', 'SOA', 'PTR'),
    flags: fc.integer({ min: 0, max: 0xffff }),
    extra: fc.array(fc.constantFrom<PacketType>('A', 'AAAA', 'MX', 'TXT', 'CAA', 'SRV', 'NS', 'CNAME', 'SOA'), { maxLength: 6 }),
  })
  .map(({ id, name, type, flags, extra }) => {
    const owner = name.replace(/\.$/, '');
    const answers: Answer[] = [type, ...extra].map((t) => sampleAnswer(owner, t));
    const reply = dnsPacket.encode({
      type: 'response',
      id,
      flags: flags | 0x8000,
      questions: [{ name: owner, type, class: 'IN' }],
      answers,
      authorities: [sampleAnswer(owner, 'NS')],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }],
    });
    return { reply, name, type };
  });

function sampleAnswer(name: string, type: PacketType): Answer {
  switch (type) {
    case 'A':
      return { type, name, ttl: 60, data: '192.0.2.1' };
    case 'AAAA':
      return { type, name, ttl: 60, data: '2001:db8::1' };
    case 'MX':
      return { type, name, ttl: 60, data: { preference: 10, exchange: 'mail.hostile.example' } };
    case 'TXT':
      return { type, name, ttl: 60, data: ['v=spf1', ' -all'] };
    case 'CAA':
      return { type, name, ttl: 60, data: { flags: 0, tag: 'issue', value: 'letsencrypt.org' } };
    case 'SRV':
      return { type, name, ttl: 60, data: { priority: 10, weight: 5, port: 5060, target: 'sip.hostile.example' } };
    case 'SOA':
      return { type, name, ttl: 60, data: { mname: 'ns1.hostile.example', rname: 'hostmaster.hostile.example', serial: 1, refresh: 7200, retry: 900, expire: 1209600, minimum: 300 } };
    default:
      return { type: type as 'NS', name, ttl: 60, data: 'ns1.hostile.example' };
  }
}

/** Names as a hostile server could spell them: case, escapes, unicode, empty labels, the root. */
const oddName: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...QUESTION_NAMES.map((n) => n.replace(/\.$/, ''))),
  fc.constantFrom('WWW.HOSTILE.EXAMPLE', 'www.hostile.example.', '', '.', 'a..b', 'ж.hostile.example', 'www\\.hostile.example', '\u0000.hostile.example'),
  fc.string({ maxLength: 40 }),
);

/** Odd rdata of each type, as dns-packet can write it. */
const oddAnswer: fc.Arbitrary<Answer> = fc
  .tuple(oddName, fc.oneof(fc.constantFrom(0, 1, 2_147_483_647, 4_294_967_295), fc.nat()), fc.string({ maxLength: 30 }), fc.integer({ min: 0, max: 65535 }), fc.uint8Array({ maxLength: 40 }))
  .chain(([name, ttl, text, n, bytes]) =>
    fc.constantFrom<Answer>(
      { type: 'A', name, ttl, data: `${String(n % 256)}.0.2.${String(n >> 8)}` },
      { type: 'AAAA', name, ttl, data: '::' },
      { type: 'AAAA', name, ttl, data: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff' },
      { type: 'CNAME', name, ttl, data: text },
      { type: 'NS', name, ttl, data: text },
      { type: 'PTR', name, ttl, data: text },
      { type: 'MX', name, ttl, data: { preference: n, exchange: text } },
      { type: 'SRV', name, ttl, data: { priority: n, weight: n, port: n, target: text } },
      { type: 'TXT', name, ttl, data: [Buffer.from(bytes), text] },
      { type: 'TXT', name, ttl, data: [] },
      // dns-packet types the tag as issue | issuewild | iodef; on the wire it is any text.
      { type: 'CAA', name, ttl, data: { flags: n % 256, tag: (text.replace(/[^A-Za-z0-9]/g, '') || 'x') as 'issue', value: text } },
      { type: 'SOA', name, ttl, data: { mname: text, rname: text, serial: n, refresh: n, retry: n, expire: n, minimum: n } },
      { type: 'DS', name, ttl, data: { keyTag: n, algorithm: 8, digestType: 2, digest: Buffer.from(bytes) } },
    ),
  );

/** A well-formed reply with odd contents: other names, huge TTLs, empty and binary data, any flags and rcode. */
const oddReply: fc.Arbitrary<{ reply: Buffer; name: string; type: PacketType }> = fc
  .tuple(fc.constantFrom(...QUESTION_NAMES.filter((n) => n !== '.')), fc.integer({ min: 0, max: 0xffff }), fc.array(oddAnswer, { maxLength: 8 }), fc.array(oddAnswer, { maxLength: 3 }))
  .map(([name, flags, answers, authorities]) => {
    const reply = dnsPacket.encode({ type: 'response', id: 1, flags: flags | 0x8000, questions: [{ name: name.replace(/\.$/, ''), type: 'A', class: 'IN' }], answers, authorities });
    const type: PacketType = 'A';
    return { reply, name, type };
  });

/** Random bytes, a reply with odd contents, or a valid reply mutated a few times (and which question it answers). */
const hostileReply: fc.Arbitrary<{ reply: Buffer; name: string; type: PacketType }> = fc.oneof(
  fc.tuple(fc.uint8Array({ minLength: 0, maxLength: 600 }), fc.constantFrom(...QUESTION_NAMES.filter((n) => n !== '.')), fc.constantFrom<PacketType>('A', 'MX', 'TXT')).map(([b, name, type]) => ({ reply: Buffer.from(b), name, type })),
  { arbitrary: oddReply, weight: 3 },
  { arbitrary: fc.tuple(validReply, fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([r, ms]) => ({ ...r, reply: ms.reduce<Buffer>(mutate, r.reply) })), weight: 3 },
);

const EXPECTATION_TYPES: readonly RecordType[] = ['A', 'AAAA', 'MX', 'TXT', 'CAA', 'SRV', 'NS', 'CNAME', 'SOA', 'PTR'];

/** Every way compare.ts reads a packet: each type's answers, with a record set expected or absence, as a referral or not. */
function readPacket(packet: Packet, name: string): void {
  for (const type of EXPECTATION_TYPES) {
    servedAnswer(packet, name, type);
    servedAnswer(packet, name, type, 'authorities');
    for (const referral of [false, true]) {
      const expectations: Expectation[] = [
        { name, type, expected: null, referral },
        { name, type, expected: { name, type, ttl: 60, values: ['192.0.2.1'] }, referral },
      ];
      for (const e of expectations) compareAnswer(e, packet);
    }
  }
}

/**
 * A DNS server on loopback (UDP and TCP, one port) that answers every query with `answer(query)`:
 * the bytes to send (UDP datagram, or TCP stream as it is), or undefined to stay silent.
 */
class GarbageDnsServer {
  answer: (query: Buffer, transport: 'udp' | 'tcp') => Buffer | undefined = () => undefined;

  private constructor(
    private readonly udp: UdpSocket,
    private readonly tcp: TcpServer,
    readonly address: HostPort,
    private readonly sockets: Set<Socket>,
  ) {}

  static async start(): Promise<GarbageDnsServer> {
    const sockets = new Set<Socket>();
    // The handlers below answer through the server once it exists.
    const ref: { self?: GarbageDnsServer } = {};
    const tcp = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
      let pending = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk]);
        if (pending.length < 2 || pending.length < 2 + pending.readUInt16BE(0)) return;
        const query = pending.subarray(2, 2 + pending.readUInt16BE(0));
        const out = ref.self?.answer(query, 'tcp');
        // Whatever was sent, the connection ends: the client must not wait for more.
        if (out === undefined) socket.end();
        else socket.end(out);
      });
    });
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    const info = tcp.address();
    if (info === null || typeof info === 'string') throw new Error('not listening');
    const udp = createSocket('udp4');
    await new Promise<void>((resolve) => udp.bind(info.port, '127.0.0.1', resolve));
    udp.on('message', (query, remote) => {
      const out = ref.self?.answer(query, 'udp');
      if (out !== undefined) udp.send(out, remote.port, remote.address);
    });
    ref.self = new GarbageDnsServer(udp, tcp, { host: '127.0.0.1', port: info.port }, sockets);
    return ref.self;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => {
      this.udp.close(() => {
        resolve();
      });
    });
    await new Promise<void>((resolve) => {
      this.tcp.close(() => {
        resolve();
      });
    });
  }
}

/** How the garbage server answers one query (built from the query, so id and question can match). */
type Garbage =
  | { readonly kind: 'mutated'; readonly mutations: readonly Mutation[]; readonly tc: boolean; readonly tcpToo: boolean }
  | { readonly kind: 'random'; readonly bytes: Uint8Array }
  | { readonly kind: 'tcp-bad-frame'; readonly length: number };

const garbage: fc.Arbitrary<Garbage> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('mutated' as const), mutations: fc.array(mutation, { minLength: 0, maxLength: 4 }), tc: fc.boolean(), tcpToo: fc.boolean() }), weight: 4 },
  fc.uint8Array({ minLength: 0, maxLength: 300 }).map((bytes): Garbage => ({ kind: 'random', bytes })),
  fc.integer({ min: 0, max: 65535 }).map((length): Garbage => ({ kind: 'tcp-bad-frame', length })),
);

function answerFor(query: Buffer, transport: 'udp' | 'tcp', g: Garbage): Buffer | undefined {
  let decoded: Packet;
  try {
    decoded = dnsPacket.decode(query);
  } catch {
    return undefined;
  }
  const question = decoded.questions?.[0];
  const valid = dnsPacket.encode({
    type: 'response',
    id: decoded.id ?? 0,
    flags: 0x8000 | dnsPacket.AUTHORITATIVE_ANSWER | (g.kind === 'mutated' && g.tc && transport === 'udp' ? dnsPacket.TRUNCATED_RESPONSE : 0),
    questions: question === undefined ? [] : [question],
    answers: question === undefined ? [] : EXPECTATION_TYPES.map((t) => sampleAnswer(question.name, t as PacketType)),
  });
  let body: Buffer;
  switch (g.kind) {
    case 'mutated':
      body = transport === 'tcp' && !g.tcpToo ? valid : g.mutations.reduce<Buffer>(mutate, valid);
      break;
    case 'random':
      body = Buffer.from(g.bytes);
      break;
    case 'tcp-bad-frame':
      if (transport === 'tcp') return frame(valid, g.length);
      body = Buffer.from(valid);
      body.writeUInt16BE(0x8200, 2);
      break;
  }
  return transport === 'tcp' ? frame(body) : body;
}

// ---------------------------------------------------------------------------------------------

function errorLogs(): LogLine[] {
  return logs.filter((l) => l.level >= 50);
}

describe('fault: DNS packets', () => {
  it('the local DNS server over UDP: random and mutated packets never stop it answering a valid query right', async (context) => {
    const numRuns = faultCases(300, 3000);
    const outcome = await runProperty(
      fc.asyncProperty(hostilePacket, async (packet) => {
        const problem = await udpCase(packet);
        if (problem !== undefined) throw new Error(`${hex(packet)}: ${problem}`);
        const errors = errorLogs();
        if (errors.length > 0) throw new Error(`${hex(packet)}: the server logged an error: ${JSON.stringify(errors[0])}`);
      }),
      { numRuns },
    );
    recordFault(context, { fault: 'DNS packets', cases: outcome.cases, passed: outcome.passed, lost: 0 });
    expect(outcome.failure).toBeUndefined();
  }, 170_000);

  it('the local DNS server over TCP: random, mis-framed and split packets never stop it answering a valid query right', async (context) => {
    const numRuns = faultCases(150, 1500);
    const outcome = await runProperty(
      fc.asyncProperty(tcpHostile, async (h) => {
        const problem = await tcpCase(h);
        if (problem !== undefined) throw new Error(`${describeTcp(h)}: ${problem}`);
        const errors = errorLogs();
        if (errors.length > 0) throw new Error(`${describeTcp(h)}: the server logged an error: ${JSON.stringify(errors[0])}`);
      }),
      { numRuns },
    );
    recordFault(context, { fault: 'DNS packets', cases: outcome.cases, passed: outcome.passed, lost: 0 });
    expect(outcome.failure).toBeUndefined();
    // Still up at the end, over both transports.
    expect(await udpCase(buildQuery(`nope.${ZONE}`, 'A'))).toBeUndefined();
    expect(await tcpCase({ kind: 'framed', packets: [buildQuery(`www.${ZONE}`, 'A')] })).toBeUndefined();
  }, 170_000);

  it('the verifier reads random and mutated replies (servedAnswer, compareAnswer) without throwing', (context) => {
    const numRuns = faultCases(2000, 20_000);
    let decoded = 0;
    const outcomePromise = runProperty(
      fc.property(hostileReply, ({ reply, name }) => {
        let packet: Packet;
        try {
          packet = dnsPacket.decode(reply);
        } catch {
          // dns-packet refuses it: queryDns turns that into a typed error (the next test).
          return;
        }
        decoded++;
        try {
          readPacket(packet, name);
        } catch (err) {
          throw new Error(`${hex(reply)}: compare.ts threw ${describeError(err)}`);
        }
      }),
      { numRuns },
    );
    return outcomePromise.then((outcome) => {
      recordFault(context, { fault: 'DNS packets', cases: outcome.cases, passed: outcome.passed, lost: 0 });
      expect(outcome.failure).toBeUndefined();
      // Most mutated replies still decode: the comparison itself was exercised.
      expect(decoded).toBeGreaterThan(numRuns / 4);
    });
  }, 170_000);

  it('queryDns against a server that answers garbage over UDP and TCP rejects only with a typed error', async (context) => {
    const garbageServer = await GarbageDnsServer.start();
    try {
      const numRuns = faultCases(200, 2000);
      const outcome = await runProperty(
        fc.asyncProperty(garbage, fc.constantFrom(...QUESTION_NAMES.filter((n) => n !== '.')), fc.constantFrom<PacketType>('A', 'AAAA', 'MX', 'TXT', 'CAA', 'SRV', 'SOA'), fc.boolean(), async (g, name, type, tcp) => {
          garbageServer.answer = (query, transport) => answerFor(query, transport, g);
          const settled = await bounded(
            queryDns(garbageServer.address, name, type, { timeoutMs: 2000, tcp }).then(
              (reply) => ({ ok: true as const, reply }),
              (error: unknown) => ({ ok: false as const, error }),
            ),
            10_000,
            'queryDns',
          );
          if (!settled.ok) {
            if (!(settled.error instanceof DnsQuorumError)) throw new Error(`${JSON.stringify(g)}: queryDns rejected with ${describeError(settled.error)}`);
            return;
          }
          try {
            readPacket(settled.reply.packet, name);
          } catch (err) {
            throw new Error(`${JSON.stringify(g)}: compare.ts threw ${describeError(err)} on a reply queryDns accepted`);
          }
        }),
        { numRuns },
      );
      recordFault(context, { fault: 'DNS packets', cases: outcome.cases, passed: outcome.passed, lost: 0 });
      expect(outcome.failure).toBeUndefined();
    } finally {
      await garbageServer.close();
    }
  }, 170_000);
});
