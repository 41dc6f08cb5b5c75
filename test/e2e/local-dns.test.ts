import { answerPresentation } from '../../src/lib/dns-query.js';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import type { Answer, RecordType as PacketType } from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalProviderConfig } from '../../src/config/types.js';
import type { RecordSet } from '../../src/domain/record.js';
import { ManualClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/logger.js';
import { LocalProvider } from '../../src/providers/local/provider.js';
import { LocalDnsServer } from '../../src/providers/local/server.js';
import {
  TcpDnsConnection,
  buildQuery,
  decodeResponse,
  queryTcp,
  queryUdp,
  soaSerial,
  txtStrings,
  ttlOf,
  txtText,
  udpExchange,
  udpSend,
} from '../helpers/dns-client.js';
import type { DnsAddress, DnsResponse, QueryOptions, QuestionType } from '../helpers/dns-client.js';

const never = new AbortController().signal;
const ZONE = 'example.test.';
const START_SERIAL = 1_700_000_000;

function localConfig(name: string): LocalProviderConfig {
  return { type: 'local', name, listen: { host: '127.0.0.1', port: 0 }, nameserver: `ns1.${ZONE}` };
}

function rs(label: string, type: RecordSet['type'], values: string[], ttl = 300): RecordSet {
  return { name: label === '@' ? ZONE : `${label}.${ZONE}`, type, ttl, values };
}

const LONG_TXT = Array.from({ length: 600 }, (_, i) => String.fromCharCode(65 + (i % 26))).join('');
const BIG_VALUES = Array.from({ length: 30 }, (_, i) => `198.51.100.${i + 1}`);

const ZONE_DATA: RecordSet[] = [
  rs('@', 'MX', ['10 mail.example.test.']),
  rs('@', 'TXT', ['v=spf1 -all']),
  rs('@', 'CAA', ['0 issue "letsencrypt.org"']),
  rs('ns1', 'A', ['192.0.2.53']),
  rs('www', 'A', ['192.0.2.1', '192.0.2.2'], 60),
  rs('v6', 'AAAA', ['2001:db8::1']),
  rs('mail', 'A', ['192.0.2.25']),
  rs('alias', 'CNAME', ['www.example.test.']),
  rs('chain1', 'CNAME', ['chain2.example.test.']),
  rs('chain2', 'CNAME', ['www.example.test.']),
  rs('external', 'CNAME', ['edge.example.net.']),
  rs('loop1', 'CNAME', ['loop2.example.test.']),
  rs('loop2', 'CNAME', ['loop1.example.test.']),
  rs('dangling', 'CNAME', ['missing.example.test.']),
  rs('long', 'TXT', [LONG_TXT]),
  rs('_sip._tcp', 'SRV', ['10 5 5060 sip.example.test.']),
  rs('sip', 'A', ['192.0.2.60']),
  rs('ptr', 'PTR', ['host.example.net.']),
  rs('a.b.c.deep', 'A', ['192.0.2.70']),
  rs('*.wild', 'A', ['192.0.2.77']),
  rs('sub', 'NS', ['ns.sub.example.test.']),
  rs('ns.sub', 'A', ['192.0.2.80']),
  rs('big', 'A', BIG_VALUES),
];

interface Running {
  readonly dir: string;
  readonly statePath: string;
  readonly provider: LocalProvider;
  readonly server: LocalDnsServer;
  readonly address: DnsAddress;
}

async function startServer(name: string, records: RecordSet[]): Promise<Running> {
  const dir = await mkdtemp(join(tmpdir(), 'dq-local-dns-'));
  const statePath = join(dir, 'local', `${name}.json`);
  const provider = new LocalProvider({ config: localConfig(name), statePath, clock: new ManualClock(START_SERIAL * 1000), logger: silentLogger() });
  await provider.ensureZone(ZONE, never);
  if (records.length > 0) await provider.applyChanges({ zone: ZONE, creates: records, updates: [], deletes: [] }, never);
  const server = new LocalDnsServer({ config: localConfig(name), statePath, logger: silentLogger() });
  await server.start();
  return { dir, statePath, provider, server, address: server.address() };
}

async function stopServer(running: Running | undefined): Promise<void> {
  if (running === undefined) return;
  await running.server.close();
  await running.provider.close();
  await rm(running.dir, { recursive: true, force: true });
}

/** An answer's data in presentation form, to compare with what the zone holds. */
function presentation(answer: Answer): string {
  return answerPresentation(answer) ?? `(${answer.type})`;
}

type Ask = (address: DnsAddress, name: string, type: QuestionType, options?: QueryOptions) => Promise<DnsResponse>;
const TRANSPORTS: [string, Ask][] = [
  ['UDP', queryUdp],
  ['TCP', queryTcp],
];

describe('LocalDnsServer answers like an authoritative server', () => {
  let running: Running | undefined;
  const address = (): DnsAddress => {
    if (running === undefined) throw new Error('server not started');
    return running.address;
  };

  beforeAll(async () => {
    running = await startServer('lab', ZONE_DATA);
  });
  afterAll(async () => {
    await stopServer(running);
  });

  it('binds UDP and TCP on 127.0.0.1 with the port it was given', () => {
    expect(address().host).toBe('127.0.0.1');
    expect(address().port).toBeGreaterThan(0);
  });

  describe.each(TRANSPORTS)('over %s', (_transport, ask) => {
    it.each<[PacketType, string, string[]]>([
      ['A', 'www.example.test', ['192.0.2.1', '192.0.2.2']],
      ['AAAA', 'v6.example.test', ['2001:db8::1']],
      ['CNAME', 'alias.example.test', ['www.example.test']],
      ['MX', 'example.test', ['10 mail.example.test']],
      ['SRV', '_sip._tcp.example.test', ['10 5 5060 sip.example.test']],
      ['CAA', 'example.test', ['0 issue "letsencrypt.org"']],
      ['NS', 'example.test', ['ns1.example.test']],
      ['PTR', 'ptr.example.test', ['host.example.net']],
      ['TXT', 'example.test', ['v=spf1 -all']],
    ])('%s %s: NOERROR, AA, the held values', async (type, name, expected) => {
      const response = await ask(address(), name, type);
      expect(response.rcode).toBe('NOERROR');
      expect(response.flag_aa).toBe(true);
      expect(response.flag_qr).toBe(true);
      expect(response.answers.map((a) => a.type)).toEqual(expected.map(() => type));
      expect(response.answers.map(presentation).sort()).toEqual([...expected].sort());
      expect(response.answers.every((a) => a.name === name)).toBe(true);
    });

    it('echoes the question as sent and matches names case-insensitively', async () => {
      const response = await ask(address(), 'WwW.ExAmPlE.TeSt', 'A', { id: 4242 });
      expect(response.id).toBe(4242);
      expect(response.questions).toEqual([{ name: 'WwW.ExAmPlE.TeSt', type: 'A', class: 'IN' }]);
      expect(response.answers.map(presentation).sort()).toEqual(['192.0.2.1', '192.0.2.2']);
      expect(response.answers[0]?.name).toBe('WwW.ExAmPlE.TeSt');
      expect(ttlOf(response.answers[0])).toBe(60);
    });

    it('answers NXDOMAIN for a name that does not exist, with the SOA (negative TTL) in authority', async () => {
      const response = await ask(address(), 'nope.example.test', 'A');
      expect(response.rcode).toBe('NXDOMAIN');
      expect(response.flag_aa).toBe(true);
      expect(response.answers).toEqual([]);
      expect(response.authorities).toHaveLength(1);
      const soa = response.authorities[0];
      expect(soa?.type).toBe('SOA');
      expect(soa?.name).toBe('example.test');
      // min(SOA TTL 3600, SOA MINIMUM 300)
      expect(ttlOf(soa)).toBe(300);
      expect(soaSerial(soa)).toBeGreaterThanOrEqual(START_SERIAL);
    });

    it.each([
      ['a name that has other types', 'www.example.test', 'AAAA'],
      ['an empty non-terminal', 'c.deep.example.test', 'A'],
      ['a deeper empty non-terminal', 'b.c.deep.example.test', 'TXT'],
      ['the parent of a wildcard', 'wild.example.test', 'A'],
    ] as const)('answers NODATA for %s (NOERROR, no answers, SOA in authority)', async (_case, name, type) => {
      const response = await ask(address(), name, type);
      expect(response.rcode).toBe('NOERROR');
      expect(response.flag_aa).toBe(true);
      expect(response.answers).toEqual([]);
      expect(response.authorities.map((a) => [a.type, a.name, ttlOf(a)])).toEqual([['SOA', 'example.test', 300]]);
    });

    it('follows a CNAME chain inside the zone', async () => {
      const response = await ask(address(), 'chain1.example.test', 'A');
      expect(response.rcode).toBe('NOERROR');
      expect(response.flag_aa).toBe(true);
      expect(response.answers.map((a) => [a.name, a.type, presentation(a)])).toEqual([
        ['chain1.example.test', 'CNAME', 'chain2.example.test'],
        ['chain2.example.test', 'CNAME', 'www.example.test'],
        ['www.example.test', 'A', '192.0.2.1'],
        ['www.example.test', 'A', '192.0.2.2'],
      ]);
    });

    it('stops a chain that leaves the zone after the CNAME', async () => {
      const response = await ask(address(), 'external.example.test', 'A');
      expect(response.rcode).toBe('NOERROR');
      expect(response.answers.map((a) => [a.type, presentation(a)])).toEqual([['CNAME', 'edge.example.net']]);
      expect(response.authorities).toEqual([]);
    });

    it('bounds a CNAME loop', async () => {
      const response = await ask(address(), 'loop1.example.test', 'A');
      expect(response.rcode).toBe('NOERROR');
      expect(response.answers.map((a) => [a.name, presentation(a)])).toEqual([
        ['loop1.example.test', 'loop2.example.test'],
        ['loop2.example.test', 'loop1.example.test'],
      ]);
    });

    it('answers NXDOMAIN with the CNAME when the chain ends at a missing name', async () => {
      const response = await ask(address(), 'dangling.example.test', 'A');
      expect(response.rcode).toBe('NXDOMAIN');
      expect(response.answers.map((a) => [a.type, presentation(a)])).toEqual([['CNAME', 'missing.example.test']]);
      expect(response.authorities.map((a) => a.type)).toEqual(['SOA']);
    });

    it('synthesises answers from a wildcard under the query name', async () => {
      for (const name of ['anything.wild.example.test', 'Two.Levels.wild.example.test']) {
        const response = await ask(address(), name, 'A');
        expect(response.rcode).toBe('NOERROR');
        expect(response.answers.map((a) => [a.name, presentation(a)])).toEqual([[name, '192.0.2.77']]);
      }
    });

    it('refers queries below a delegation to the child servers, with glue and without AA', async () => {
      const response = await ask(address(), 'host.sub.example.test', 'A');
      expect(response.rcode).toBe('NOERROR');
      expect(response.flag_aa).toBe(false);
      expect(response.answers).toEqual([]);
      expect(response.authorities.map((a) => [a.name, a.type, presentation(a)])).toEqual([['sub.example.test', 'NS', 'ns.sub.example.test']]);
      expect(response.additionals.filter((a) => a.type === 'A').map((a) => [a.name, presentation(a)])).toEqual([['ns.sub.example.test', '192.0.2.80']]);
    });

    it('adds the addresses of in-zone MX targets to the additional section', async () => {
      const response = await ask(address(), 'example.test', 'MX');
      expect(response.additionals.map((a) => [a.name, a.type, presentation(a)])).toEqual([['mail.example.test', 'A', '192.0.2.25']]);
    });

    it('answers ANY with every record set of the name', async () => {
      const response = await ask(address(), 'example.test', 'ANY');
      expect(response.rcode).toBe('NOERROR');
      expect(new Set(response.answers.map((a) => a.type))).toEqual(new Set(['CAA', 'MX', 'NS', 'SOA', 'TXT']));
    });

    it.each([
      ['a name outside every zone', 'www.example.org', 'A', 'IN'],
      ['the root', '.', 'NS', 'IN'],
      ['a class other than IN', 'www.example.test', 'TXT', 'CH'],
      ['a zone transfer', 'example.test', 'AXFR', 'IN'],
    ] as const)('answers REFUSED for %s, without AA', async (_case, name, type, klass) => {
      const response = await ask(address(), name, type, { klass });
      expect(response.rcode).toBe('REFUSED');
      expect(response.flag_aa).toBe(false);
      expect(response.answers).toEqual([]);
    });

    it('splits a TXT value longer than 255 bytes into 255-byte strings', async () => {
      const response = await ask(address(), 'long.example.test', 'TXT', { ednsUdpSize: 1232 });
      const answer = response.answers[0];
      expect(answer).toBeDefined();
      if (answer === undefined) return;
      expect(txtStrings(answer).map((s) => s.length)).toEqual([255, 255, 90]);
      expect(txtText(answer)).toBe(LONG_TXT);
    });

    it.each([
      [1, 'IQUERY'],
      [2, 'STATUS'],
      [4, 'NOTIFY'],
      [5, 'UPDATE'],
    ])('answers NOTIMP for opcode %i (%s), echoing the opcode', async (opcode, opcodeName) => {
      const response = await ask(address(), 'www.example.test', 'A', { opcode });
      expect(response.rcode).toBe('NOTIMP');
      expect(response.opcode).toBe(opcodeName);
      expect(response.answers).toEqual([]);
    });

    it('answers BADVERS to an EDNS version it does not speak', async () => {
      const response = await ask(address(), 'www.example.test', 'A', { ednsUdpSize: 1232, ednsVersion: 1 });
      const opt = response.additionals.find((a) => a.type === 'OPT');
      expect(opt?.type === 'OPT' ? opt.extendedRcode : undefined).toBe(1);
      expect(response.answers).toEqual([]);
    });
  });

  describe('answer size', () => {
    it('sets TC over UDP when the answer does not fit 512 bytes, and sends it whole over TCP', async () => {
      const udp = await queryUdp(address(), 'big.example.test', 'A');
      expect(udp.rcode).toBe('NOERROR');
      expect(udp.flag_tc).toBe(true);
      expect(udp.answers).toEqual([]);
      expect(udp.questions).toEqual([{ name: 'big.example.test', type: 'A', class: 'IN' }]);

      const tcp = await queryTcp(address(), 'big.example.test', 'A');
      expect(tcp.flag_tc).toBe(false);
      expect(tcp.answers.map(presentation).sort()).toEqual([...BIG_VALUES].sort());
    });

    it.each([
      [1232, false],
      [4096, false],
      [512, true],
      [100, true],
    ])('with EDNS0 UDP size %i, TC is %s', async (size, truncated) => {
      const response = await queryUdp(address(), 'big.example.test', 'A', { ednsUdpSize: size });
      expect(response.flag_tc).toBe(truncated);
      expect(response.answers).toHaveLength(truncated ? 0 : BIG_VALUES.length);
      const opt = response.additionals.find((a) => a.type === 'OPT');
      expect(opt?.type === 'OPT' ? opt.udpPayloadSize : undefined).toBe(1232);
      const raw = await udpExchange(address(), buildQuery('big.example.test', 'A', { ednsUdpSize: size }));
      expect(raw.length).toBeLessThanOrEqual(Math.min(Math.max(size, 512), 4096));
    });

    it('answers a long TXT over UDP without EDNS with TC rather than a broken packet', async () => {
      const response = await queryUdp(address(), 'long.example.test', 'TXT');
      expect(response.flag_tc).toBe(true);
      expect(response.answers).toEqual([]);
    });
  });

  describe('TCP connections', () => {
    it('answers several pipelined queries on one connection, in order', async () => {
      const connection = await TcpDnsConnection.open(address());
      try {
        const queries = [
          buildQuery('www.example.test', 'A', { id: 101 }),
          buildQuery('nope.example.test', 'A', { id: 102 }),
          buildQuery('big.example.test', 'A', { id: 103 }),
        ];
        connection.sendRaw(
          Buffer.concat(
            queries.map((q) => {
              const framed = Buffer.alloc(2 + q.length);
              framed.writeUInt16BE(q.length, 0);
              q.copy(framed, 2);
              return framed;
            }),
          ),
        );
        const replies = [decodeResponse(await connection.next()), decodeResponse(await connection.next()), decodeResponse(await connection.next())];
        expect(replies.map((r) => [r.id, r.rcode, r.answers.length])).toEqual([
          [101, 'NOERROR', 2],
          [102, 'NXDOMAIN', 0],
          [103, 'NOERROR', BIG_VALUES.length],
        ]);
        // The connection stays usable for more queries.
        const again = decodeResponse(await connection.exchange(buildQuery('v6.example.test', 'AAAA', { id: 104 })));
        expect([again.id, again.answers.map(presentation)]).toEqual([104, ['2001:db8::1']]);
      } finally {
        await connection.close();
      }
    });

    it('answers a malformed frame with FORMERR, drops a runt frame, and keeps the connection', async () => {
      const connection = await TcpDnsConnection.open(address());
      try {
        const headerOnly = Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]);
        connection.send(Buffer.from([1, 2, 3]));
        const formerr = decodeResponse(await connection.exchange(headerOnly));
        expect([formerr.id, formerr.rcode]).toEqual([0x1234, 'FORMERR']);
        const ok = decodeResponse(await connection.exchange(buildQuery('www.example.test', 'A', { id: 7 })));
        expect([ok.id, ok.rcode]).toEqual([7, 'NOERROR']);
      } finally {
        await connection.close();
      }
    });
  });

  describe('malformed input', () => {
    const valid = buildQuery('www.example.test', 'A', { id: 0x0a0b });
    const withQuestionCount = (message: Buffer, count: number): Buffer => {
      const copy = Buffer.from(message);
      copy.writeUInt16BE(count, 4);
      return copy;
    };
    const twoOpts = dnsPacket.encode({
      type: 'query',
      id: 0x0a0b,
      questions: [{ name: 'www.example.test', type: 'A' }],
      additionals: [
        { type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] },
        { type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] },
      ],
    });
    const compressed = Buffer.concat([valid.subarray(0, 12), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])]);
    const longLabel = Buffer.concat([valid.subarray(0, 12), Buffer.from([64]), Buffer.alloc(64, 0x61), Buffer.from([0, 0, 1, 0, 1])]);

    it.each([
      ['a header with no question', withQuestionCount(valid, 0)],
      ['two questions', withQuestionCount(valid, 2)],
      ['a question cut inside its name', valid.subarray(0, 20)],
      ['a question without type and class', valid.subarray(0, valid.length - 3)],
      ['a compression pointer in the question', compressed],
      ['a label longer than 63 bytes', longLabel],
      ['two OPT records', twoOpts],
      ['an answer count that promises records the message lacks', (() => {
        const copy = Buffer.from(valid);
        copy.writeUInt16BE(1, 6);
        return copy;
      })()],
    ])('answers FORMERR to %s, and keeps the id', async (_case, message) => {
      const response = decodeResponse(await udpExchange(address(), message));
      expect(response.id).toBe(0x0a0b);
      expect(response.flag_qr).toBe(true);
      expect(response.rcode).toBe('FORMERR');
    });

    it('drops messages too short for a header and messages that are responses, and still serves', async () => {
      await udpSend(address(), Buffer.from([0x01]));
      await udpSend(address(), Buffer.alloc(11, 0x42));
      const response = Buffer.from(valid);
      response.writeUInt16BE(response.readUInt16BE(2) | 0x8000, 2);
      await udpSend(address(), response);
      const after = await queryUdp(address(), 'www.example.test', 'A', { id: 99 });
      expect([after.id, after.rcode]).toEqual([99, 'NOERROR']);
    });

    it('survives random bytes: answers the ones that look like queries, drops the rest, and still serves', async () => {
      // A fixed-seed generator keeps the run reproducible.
      let seed = 0x2545f491;
      const random = (): number => {
        seed ^= seed << 13;
        seed ^= seed >>> 17;
        seed ^= seed << 5;
        return (seed >>> 0) / 2 ** 32;
      };
      let answered = 0;
      for (let i = 0; i < 300; i++) {
        const packet = Buffer.from(Array.from({ length: Math.floor(random() * 80) }, () => Math.floor(random() * 256)));
        if (packet.length >= 12) packet[2] = (packet[2] ?? 0) & 0x7f;
        if (packet.length < 12) {
          await udpSend(address(), packet);
          continue;
        }
        // Every message that has a header and claims to be a query (QR clear) gets an answer.
        const udp = await udpExchange(address(), packet);
        expect(udp.readUInt16BE(0)).toBe(packet.readUInt16BE(0));
        expect((udp.readUInt16BE(2) & 0x8000) !== 0).toBe(true);
        answered++;
      }
      expect(answered).toBeGreaterThan(100);
      const after = await queryUdp(address(), 'www.example.test', 'A');
      expect(after.rcode).toBe('NOERROR');
    });
  });
});

describe('LocalDnsServer follows the state file', () => {
  let running: Running | undefined;
  beforeAll(async () => {
    running = await startServer('follow', [rs('www', 'A', ['192.0.2.1'])]);
  });
  afterAll(async () => {
    await stopServer(running);
  });
  const get = (): Running => {
    if (running === undefined) throw new Error('server not started');
    return running;
  };

  it('serves what another LocalProvider instance wrote, and the SOA serial rises by one per change', async () => {
    const { address, statePath } = get();
    const other = new LocalProvider({ config: localConfig('follow'), statePath, clock: new ManualClock(0), logger: silentLogger() });
    const serialBefore = soaSerial((await queryUdp(address, 'example.test', 'SOA')).answers[0]);
    expect((await queryUdp(address, 'fresh.example.test', 'A')).rcode).toBe('NXDOMAIN');

    const fresh = rs('fresh', 'A', ['192.0.2.200']);
    await other.applyChanges({ zone: ZONE, creates: [fresh], updates: [], deletes: [] }, never);
    const created = await queryUdp(address, 'fresh.example.test', 'A');
    expect([created.rcode, created.answers.map(presentation)]).toEqual(['NOERROR', ['192.0.2.200']]);
    expect(soaSerial((await queryTcp(address, 'example.test', 'SOA')).answers[0])).toBe(serialBefore + 1);

    const moved = rs('fresh', 'A', ['192.0.2.201']);
    await other.applyChanges({ zone: ZONE, creates: [], updates: [{ before: fresh, after: moved }], deletes: [] }, never);
    expect((await queryTcp(address, 'fresh.example.test', 'A')).answers.map(presentation)).toEqual(['192.0.2.201']);
    expect(soaSerial((await queryUdp(address, 'example.test', 'SOA')).answers[0])).toBe(serialBefore + 2);
    // The negative answer carries the new serial too.
    expect(soaSerial((await queryUdp(address, 'nothing.example.test', 'A')).authorities[0])).toBe(serialBefore + 2);
  });

  it('keeps serving the last good zones when the file is replaced by something that does not parse', async () => {
    const { address, statePath, dir } = get();
    const before = await queryUdp(address, 'www.example.test', 'A');
    const garbage = join(dir, 'garbage');
    await writeFile(garbage, '{ "version": 1, "zones": ');
    await rename(garbage, statePath);
    const during = await queryUdp(address, 'www.example.test', 'A');
    expect([during.rcode, during.answers.map(presentation)]).toEqual([before.rcode, before.answers.map(presentation)]);
  });
});

describe('LocalDnsServer without a state file yet', () => {
  let dir = '';
  let server: LocalDnsServer | undefined;
  afterAll(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses everything until a provider creates the zone, then serves it', async () => {
    dir = await mkdtemp(join(tmpdir(), 'dq-local-dns-empty-'));
    const statePath = join(dir, 'local', 'late.json');
    server = new LocalDnsServer({ config: localConfig('late'), statePath, logger: silentLogger() });
    await server.start();
    const address = server.address();
    expect((await queryUdp(address, 'example.test', 'SOA')).rcode).toBe('REFUSED');

    const provider = new LocalProvider({ config: localConfig('late'), statePath, clock: new ManualClock(START_SERIAL * 1000), logger: silentLogger() });
    await provider.ensureZone(ZONE, never);
    const soa = await queryUdp(address, 'example.test', 'SOA');
    expect(soa.rcode).toBe('NOERROR');
    expect(soaSerial(soa.answers[0])).toBe(START_SERIAL);
    const ns = await queryTcp(address, 'example.test', 'NS');
    expect(ns.answers.map(presentation)).toEqual(['ns1.example.test']);
  });

  it('closes cleanly and can be closed twice', async () => {
    if (server === undefined) throw new Error('server not started');
    const { port } = server.address();
    await server.close();
    await server.close();
    expect(() => server?.address()).toThrow(/not started/);
    // The port is free again: a new server can take exactly it.
    const again = new LocalDnsServer({ config: { ...localConfig('late'), listen: { host: '127.0.0.1', port } }, statePath: join(dir, 'local', 'late.json'), logger: silentLogger() });
    await again.start();
    expect(again.address().port).toBe(port);
    expect((await queryUdp(again.address(), 'example.test', 'SOA')).rcode).toBe('NOERROR');
    await again.close();
  });
});
