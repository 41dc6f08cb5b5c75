import dnsPacket from 'dns-packet';
import type { Answer, OptAnswer } from 'dns-packet';
import type { RecordType } from '../domain/record.js';
import { QTYPE_DS, findZone, resolveQuestion, zoneForDs } from './authority.js';
import type { Placed, QueryType, ServedZones } from './authority.js';
import { encodeName, presentLabel } from './names.js';
import { toAnswer } from './rdata.js';

/**
 * One DNS message in, one DNS message out (or nothing, for messages that must not be answered).
 * Pure: no sockets and no storage; the server hands in the zones it currently serves.
 */

export type Transport = 'udp' | 'tcp';

const HEADER_BYTES = 12;
/** RFC 1035 4.2.1: a UDP answer without EDNS fits 512 bytes. */
export const CLASSIC_UDP_LIMIT = 512;
/** The largest UDP answer we send even if the client advertises more (RFC 6891 6.2.5 guidance). */
export const MAX_UDP_LIMIT = 4096;
/** What we advertise in our own OPT record: the 2020 DNS flag day's fragmentation-safe size. */
export const ADVERTISED_UDP_SIZE = 1232;
const TCP_LIMIT = 65_535;

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, BADVERS: 16 } as const;
type Rcode = (typeof RCODE)[keyof typeof RCODE];

const TYPE_BY_NUMBER: ReadonlyMap<number, RecordType> = new Map<number, RecordType>([
  [1, 'A'],
  [2, 'NS'],
  [5, 'CNAME'],
  [6, 'SOA'],
  [12, 'PTR'],
  [15, 'MX'],
  [16, 'TXT'],
  [28, 'AAAA'],
  [33, 'SRV'],
  [257, 'CAA'],
]);
const QTYPE_OPT = 41;
const QTYPE_IXFR = 251;
const QTYPE_AXFR = 252;
const QTYPE_ANY = 255;
const CLASS_IN = 1;
const CLASS_ANY = 255;

const FLAG_QR = 0x8000;
const FLAG_RD = 0x0100;
const FLAG_CD = 0x0010;
const EDNS_FLAG_DO = 0x8000;

interface WireQuestion {
  /** Presentation form for matching (see names.ts), ASCII letters lowercased (RFC 4343). */
  readonly name: string;
  /** The same name with the case of its letters as sent: the owner of answers at the query name. */
  readonly spelling: string;
  readonly type: number;
  readonly klass: number;
  /** The question section exactly as received, echoed back byte for byte. */
  readonly bytes: Buffer;
}

/** RFC 4343: only ASCII letters fold; every other byte compares exactly. */
function foldCase(label: string): string {
  return label.replace(/[A-Z]/g, (ch) => ch.toLowerCase());
}

/**
 * Reads the first question straight from the wire, so that it can be echoed exactly as sent and
 * so that no label byte is misread (dns-packet decodes labels as UTF-8 and cannot tell a "." in
 * a label from a separator). Compression pointers are refused: nothing precedes the first
 * question that a pointer could usefully point at.
 */
function parseQuestion(msg: Buffer): WireQuestion | string {
  let offset = HEADER_BYTES;
  let wireLength = 1;
  const spelled: string[] = [];
  for (;;) {
    const length = msg[offset];
    if (length === undefined) return 'question name runs past the end of the message';
    offset += 1;
    if (length === 0) break;
    if ((length & 0xc0) !== 0) return 'compressed or extended label in the question';
    if (offset + length > msg.length) return 'question label runs past the end of the message';
    wireLength += length + 1;
    if (wireLength > 255) return 'question name longer than 255 bytes';
    spelled.push(presentLabel(msg.subarray(offset, offset + length)));
    offset += length;
  }
  if (offset + 4 > msg.length) return 'question type and class run past the end of the message';
  const type = msg.readUInt16BE(offset);
  const klass = msg.readUInt16BE(offset + 2);
  const spelling = spelled.length === 0 ? '.' : `${spelled.join('.')}.`;
  return {
    name: foldCase(spelling),
    spelling,
    type,
    klass,
    bytes: msg.subarray(HEADER_BYTES, offset + 4),
  };
}

interface Edns {
  readonly udpPayloadSize: number;
  readonly version: number;
  readonly dnssecOk: boolean;
}

interface ResponseParts {
  readonly id: number;
  readonly opcode: number;
  readonly requestFlags: number;
  readonly rcode: Rcode;
  readonly authoritative: boolean;
  readonly truncated: boolean;
  readonly question: Buffer | undefined;
  readonly answers: readonly Answer[];
  readonly authorities: readonly Answer[];
  readonly additionals: readonly Answer[];
  readonly edns: Edns | undefined;
}

/**
 * One resource record on the wire. dns-packet writes type, class, TTL and RDATA (whose names are
 * zone data, plain host names); the owner is written here, because it may be the query name with
 * any bytes in its labels (a wildcard answer, RFC 4592).
 */
function encodeRecord(record: Answer): Buffer {
  const alone = dnsPacket.encode({ type: 'response', id: 0, flags: 0, answers: [{ ...record, name: '.' }] });
  // After the header comes the root owner name, one zero byte; everything after it is kept.
  return Buffer.concat([encodeName(record.name), alone.subarray(HEADER_BYTES + 1)]);
}

function encodeResponse(parts: ResponseParts): Buffer {
  const flags =
    FLAG_QR |
    (parts.opcode << 11) |
    (parts.authoritative ? dnsPacket.AUTHORITATIVE_ANSWER : 0) |
    (parts.truncated ? dnsPacket.TRUNCATED_RESPONSE : 0) |
    (parts.requestFlags & (FLAG_RD | FLAG_CD)) |
    (parts.rcode & 0xf);
  const additionals: Answer[] = [...parts.additionals];
  if (parts.edns !== undefined) {
    const opt: OptAnswer = {
      type: 'OPT',
      name: '.',
      udpPayloadSize: ADVERTISED_UDP_SIZE,
      // RFC 6891 6.1.3: the upper eight bits of the 12-bit rcode.
      extendedRcode: parts.rcode >> 4,
      ednsVersion: 0,
      // RFC 3225 3: the DO bit is copied into the response.
      flags: parts.edns.dnssecOk ? EDNS_FLAG_DO : 0,
      flag_do: parts.edns.dnssecOk,
      options: [],
    };
    additionals.push(opt);
  }
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt16BE(parts.id, 0);
  header.writeUInt16BE(flags, 2);
  header.writeUInt16BE(parts.question === undefined ? 0 : 1, 4);
  header.writeUInt16BE(parts.answers.length, 6);
  header.writeUInt16BE(parts.authorities.length, 8);
  header.writeUInt16BE(additionals.length, 10);
  // The question goes in as received. No record is compressed, so no pointer depends on its offset.
  return Buffer.concat([
    header,
    ...(parts.question === undefined ? [] : [parts.question]),
    ...[...parts.answers, ...parts.authorities, ...additionals].map(encodeRecord),
  ]);
}

function toAnswers(placed: readonly Placed[]): Answer[] {
  return placed.flatMap(({ owner, rs, ttl }) => rs.values.map((value) => toAnswer(rs.type, owner, ttl ?? rs.ttl, value)));
}

function queryType(type: number): QueryType {
  if (type === QTYPE_ANY) return 'ANY';
  return TYPE_BY_NUMBER.get(type) ?? type;
}

function readEdns(msg: Buffer): Edns | undefined | 'malformed' {
  const decoded = dnsPacket.decode(msg);
  const opts = (decoded.additionals ?? []).filter((a): a is OptAnswer => a.type === 'OPT');
  if (opts.length === 0) return undefined;
  const [opt] = opts;
  // RFC 6891 6.1.1: more than one OPT, or one not owned by the root, is a FORMERR.
  if (opts.length > 1 || opt === undefined || opt.name !== '.') return 'malformed';
  return { udpPayloadSize: opt.udpPayloadSize, version: opt.ednsVersion, dnssecOk: (opt.flags & EDNS_FLAG_DO) !== 0 };
}

/**
 * The answer to one DNS message received over `transport`, or undefined when it must be dropped
 * (shorter than a header, or itself a response: answering those invites reflection loops).
 */
export function respond(msg: Buffer, zones: ServedZones, transport: Transport): Buffer | undefined {
  if (msg.length < HEADER_BYTES) return undefined;
  const id = msg.readUInt16BE(0);
  const requestFlags = msg.readUInt16BE(2);
  if ((requestFlags & FLAG_QR) !== 0) return undefined;
  const opcode = (requestFlags >> 11) & 0xf;
  const questionCount = msg.readUInt16BE(4);
  const parsed = questionCount >= 1 ? parseQuestion(msg) : 'no question';
  const question = typeof parsed === 'string' ? undefined : parsed;

  const reply = (rcode: Rcode, rest: Partial<Omit<ResponseParts, 'id' | 'opcode' | 'requestFlags' | 'rcode'>> = {}): Buffer =>
    encodeResponse({
      id,
      opcode,
      requestFlags,
      rcode,
      authoritative: false,
      truncated: false,
      question: questionCount === 1 ? question?.bytes : undefined,
      answers: [],
      authorities: [],
      additionals: [],
      edns: undefined,
      ...rest,
    });

  // RFC 1035 4.1.1: only standard queries are served.
  if (opcode !== 0) return reply(RCODE.NOTIMP);
  if (questionCount !== 1 || question === undefined) return reply(RCODE.FORMERR);

  let edns: Edns | undefined;
  try {
    const read = readEdns(msg);
    if (read === 'malformed') return reply(RCODE.FORMERR);
    edns = read;
  } catch {
    return reply(RCODE.FORMERR);
  }
  if (edns !== undefined && edns.version !== 0) return reply(RCODE.BADVERS, { edns });
  if (question.type === QTYPE_OPT) return reply(RCODE.FORMERR, { edns });
  if (question.klass !== CLASS_IN && question.klass !== CLASS_ANY) return reply(RCODE.REFUSED, { edns });
  // Zone transfers are not offered.
  if (question.type === QTYPE_AXFR || question.type === QTYPE_IXFR) return reply(RCODE.REFUSED, { edns });

  const zone = question.type === QTYPE_DS ? zoneForDs(zones, question.name) : findZone(zones, question.name);
  if (zone === undefined) return reply(RCODE.REFUSED, { edns });

  const resolution = resolveQuestion(zones, zone, { name: question.name, spelling: question.spelling, type: queryType(question.type) });
  const answers = toAnswers(resolution.answer);
  const authorities = toAnswers(resolution.authority);
  const additionals = toAnswers(resolution.additional);
  const rcode = resolution.rcode === 'NXDOMAIN' ? RCODE.NXDOMAIN : RCODE.NOERROR;
  const authoritative = resolution.authoritative;

  const limit =
    transport === 'tcp' ? TCP_LIMIT : edns === undefined ? CLASSIC_UDP_LIMIT : Math.min(Math.max(edns.udpPayloadSize, CLASSIC_UDP_LIMIT), MAX_UDP_LIMIT);
  const full = reply(rcode, { authoritative, answers, authorities, additionals, edns });
  if (full.length <= limit) return full;
  // Additional data is a courtesy and may go (RFC 2181 9), unless it is glue a referral needs.
  if (additionals.length > 0 && !resolution.additionalRequired) {
    const trimmed = reply(rcode, { authoritative, answers, authorities, edns });
    if (trimmed.length <= limit) return trimmed;
  }
  // RFC 1035 4.2.1 / RFC 2181 9: set TC and let the client retry over TCP.
  return reply(rcode, { authoritative, truncated: true, edns });
}

/** A SERVFAIL for a message whose handling failed unexpectedly, or undefined if it should be dropped anyway. */
export function serverFailure(msg: Buffer): Buffer | undefined {
  if (msg.length < HEADER_BYTES) return undefined;
  const requestFlags = msg.readUInt16BE(2);
  if ((requestFlags & FLAG_QR) !== 0) return undefined;
  return encodeResponse({
    id: msg.readUInt16BE(0),
    opcode: (requestFlags >> 11) & 0xf,
    requestFlags,
    rcode: RCODE.SERVFAIL,
    authoritative: false,
    truncated: false,
    question: undefined,
    answers: [],
    authorities: [],
    additionals: [],
    edns: undefined,
  });
}
