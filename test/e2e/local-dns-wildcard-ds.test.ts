import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalProviderConfig } from '../../src/config/types.js';
import type { RecordSet } from '../../src/domain/record.js';
import { answerPresentation } from '../../src/lib/dns-query.js';
import { ManualClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/logger.js';
import { LocalProvider } from '../../src/providers/local/provider.js';
import { LocalDnsServer } from '../../src/providers/local/server.js';
import { TcpDnsConnection, decodeResponse, queryUdp, udpExchange } from '../helpers/dns-client.js';
import type { DnsAddress, DnsResponse } from '../helpers/dns-client.js';

/**
 * The built-in server over real sockets: wildcard synthesis for query names whose labels hold any
 * bytes (RFC 4592), and DS questions at a delegation answered from the parent side (RFC 4035
 * 3.1.4.1). dns-packet splits names on every "." and cannot write or read a label such as "a.b",
 * so these queries are built byte by byte and the owner names of answers are read from the wire.
 */

const never = new AbortController().signal;
const ZONE = 'example.test.';
const CHILD = 'child.example.test.';
const QTYPE = { A: 1, TXT: 16, DS: 43 } as const;

function rs(name: string, type: RecordSet['type'], values: string[], ttl = 300): RecordSet {
  return { name, type, ttl, values };
}

const RECORDS: RecordSet[] = [
  rs(`ns1.${ZONE}`, 'A', ['192.0.2.53']),
  rs(`*.w.${ZONE}`, 'A', ['192.0.2.77']),
  rs(`*.w.${ZONE}`, 'TXT', ['wild']),
  // A real name that the one label "a.b" must not be mistaken for.
  rs(`b.w.${ZONE}`, 'A', ['192.0.2.78']),
  rs(`sub.${ZONE}`, 'NS', ['ns.sub.example.test.', 'ns.elsewhere.net.']),
  rs(`ns.sub.${ZONE}`, 'A', ['192.0.2.80']),
  rs(CHILD, 'NS', ['ns1.example.test.']),
];

/** A query for a name given as raw labels, so that a label can hold "." or any other byte. */
function rawQuery(labels: readonly Buffer[], qtype: number, id: number): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(1, 4);
  const name = Buffer.concat([...labels.flatMap((l) => [Buffer.from([l.length]), l]), Buffer.from([0])]);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(qtype, 0);
  tail.writeUInt16BE(1, 2);
  return Buffer.concat([header, name, tail]);
}

function labelsOf(name: string): Buffer[] {
  return name.replace(/\.$/, '').split('.').map((l) => Buffer.from(l, 'latin1'));
}

/** The labels of the name at `offset`, following compression pointers. */
function readName(message: Buffer, offset: number): Buffer[] {
  const labels: Buffer[] = [];
  for (let at = offset, jumps = 0; ; ) {
    const length = message[at];
    if (length === undefined) throw new Error('name runs past the end of the message');
    if (length === 0) return labels;
    if ((length & 0xc0) === 0xc0) {
      if (++jumps > 20) throw new Error('compression loop');
      at = message.readUInt16BE(at) & 0x3fff;
      continue;
    }
    labels.push(message.subarray(at + 1, at + 1 + length));
    at += 1 + length;
  }
}

/** Owner of the first answer record: it follows the question, which ends 4 bytes after the question name. */
function firstAnswerOwner(message: Buffer): Buffer[] {
  let at = 12;
  while (message[at] !== 0) at += 1 + (message[at] ?? 0);
  return readName(message, at + 1 + 4);
}

describe('the built-in server: wildcards for any label bytes, DS at a delegation', () => {
  let dir: string;
  let provider: LocalProvider;
  let server: LocalDnsServer;
  let address: DnsAddress;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dq-wild-ds-'));
    const config: LocalProviderConfig = { type: 'local', name: 'lab', listen: { host: '127.0.0.1', port: 0 }, nameserver: `ns1.${ZONE}` };
    const statePath = join(dir, 'local', 'lab.json');
    provider = new LocalProvider({ config, statePath, clock: new ManualClock(1_700_000_000_000), logger: silentLogger() });
    await provider.ensureZone(ZONE, never);
    await provider.ensureZone(CHILD, never);
    await provider.applyChanges({ zone: ZONE, creates: RECORDS, updates: [], deletes: [] }, never);
    server = new LocalDnsServer({ config, statePath, logger: silentLogger() });
    await server.start();
    address = server.address();
  });
  afterAll(async () => {
    await server.close();
    await provider.close();
    await rm(dir, { recursive: true, force: true });
  });

  const oddNames: readonly [string, Buffer[]][] = [
    ['a\\.b.w (one label holding a dot)', [Buffer.from('a.b'), ...labelsOf(`w.${ZONE}`)]],
    ['x.a\\.b.w (two labels below the wildcard)', [Buffer.from('x'), Buffer.from('a.b'), ...labelsOf(`w.${ZONE}`)]],
    ['A\\200b.w (a byte above 0x7f, a capital letter)', [Buffer.from([0x41, 0x80, 0x62]), ...labelsOf(`w.${ZONE}`)]],
    ['sp\\032ace.w (a space)', [Buffer.from('sp ace'), ...labelsOf(`w.${ZONE}`)]],
    ['back\\\\slash.w', [Buffer.from('back\\slash'), ...labelsOf(`w.${ZONE}`)]],
  ];

  it.each(oddNames)('synthesises %s from *.w over UDP, owner written byte for byte as asked', async (_case, labels) => {
    const query = rawQuery(labels, QTYPE.A, 901);
    const reply = await udpExchange(address, query);
    const packet = decodeResponse(reply);
    expect(packet.rcode).toBe('NOERROR');
    expect(packet.flag_aa).toBe(true);
    expect(packet.answers.map((a) => [a.type, answerPresentation(a)])).toEqual([['A', '192.0.2.77']]);
    expect(packet.authorities).toEqual([]);
    expect(firstAnswerOwner(reply)).toEqual(labels);
    // The question comes back as sent.
    expect(reply.subarray(12, query.length)).toEqual(query.subarray(12));
  });

  it('synthesises the same answer over TCP', async () => {
    const labels = [Buffer.from('a.b'), ...labelsOf(`w.${ZONE}`)];
    const connection = await TcpDnsConnection.open(address);
    try {
      const reply = await connection.exchange(rawQuery(labels, QTYPE.TXT, 902));
      const packet = decodeResponse(reply);
      expect([packet.rcode, packet.flag_aa]).toEqual(['NOERROR', true]);
      expect(packet.answers.map((a) => [a.type, answerPresentation(a)])).toEqual([['TXT', 'wild']]);
      expect(firstAnswerOwner(reply)).toEqual(labels);
    } finally {
      await connection.close();
    }
  });

  it('does not take the label "a.b" for the two labels of the real name b.w', async () => {
    const real = await queryUdp(address, `b.w.${ZONE}`, 'A');
    expect(real.answers.map((a) => answerPresentation(a))).toEqual(['192.0.2.78']);
    const odd = decodeResponse(await udpExchange(address, rawQuery([Buffer.from('a.b'), ...labelsOf(`w.${ZONE}`)], QTYPE.A, 903)));
    expect(odd.answers.map((a) => answerPresentation(a))).toEqual(['192.0.2.77']);
  });

  it('still answers NXDOMAIN for an odd name where no wildcard applies', async () => {
    const packet = decodeResponse(await udpExchange(address, rawQuery([Buffer.from('a.b'), ...labelsOf(ZONE)], QTYPE.A, 904)));
    expect(packet.rcode).toBe('NXDOMAIN');
    expect(packet.authorities.map((a) => a.type)).toEqual(['SOA']);
  });

  function negativeSoa(packet: DnsResponse): [string, string, string | undefined][] {
    return packet.authorities.map((a) => [a.type, a.name, answerPresentation(a)?.split(' ')[0]]);
  }

  it('answers DS at a delegation from the parent side: NODATA, AA, the SOA in authority, no referral', async () => {
    const packet = await queryUdp(address, `sub.${ZONE}`, 'DS');
    expect(packet.rcode).toBe('NOERROR');
    expect(packet.flag_aa).toBe(true);
    expect(packet.answers).toEqual([]);
    expect(negativeSoa(packet)).toEqual([['SOA', 'example.test', 'ns1.example.test']]);
    expect(packet.additionals).toEqual([]);
  });

  it('refers a DS question below the delegation, and every other type at it, to the child, with glue', async () => {
    for (const [name, type] of [[`x.sub.${ZONE}`, 'DS'], [`sub.${ZONE}`, 'A'], [`ns.sub.${ZONE}`, 'A']] as const) {
      const packet = await queryUdp(address, name, type);
      expect(packet.rcode).toBe('NOERROR');
      expect(packet.flag_aa).toBe(false);
      expect(packet.answers).toEqual([]);
      expect(packet.authorities.map((a) => [a.name, a.type, answerPresentation(a)]).sort()).toEqual([
        ['sub.example.test', 'NS', 'ns.elsewhere.net'],
        ['sub.example.test', 'NS', 'ns.sub.example.test'],
      ]);
      expect(packet.additionals.map((a) => [a.name, a.type, answerPresentation(a)])).toEqual([['ns.sub.example.test', 'A', '192.0.2.80']]);
    }
  });

  it('answers DS for a child zone it also serves from the parent zone, and other types from the child', async () => {
    const ds = await queryUdp(address, CHILD, 'DS');
    expect([ds.rcode, ds.flag_aa, ds.answers]).toEqual(['NOERROR', true, []]);
    expect(negativeSoa(ds)).toEqual([['SOA', 'example.test', 'ns1.example.test']]);
    const soa = await queryUdp(address, CHILD, 'SOA');
    expect([soa.rcode, soa.flag_aa]).toEqual(['NOERROR', true]);
    expect(soa.answers.map((a) => [a.name, a.type])).toEqual([['child.example.test', 'SOA']]);
  });
});
