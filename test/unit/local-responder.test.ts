import { describe, expect, it } from 'vitest';
import type { RecordSet } from '../../src/domain/record.js';
import { indexZones } from '../../src/dns/authority.js';
import { newZoneState } from '../../src/providers/local/apply.js';
import { respond, serverFailure } from '../../src/dns/responder.js';
import type { LocalState } from '../../src/providers/local/state.js';
import { buildQuery, decodeResponse } from '../helpers/dns-client.js';

const ZONE = 'example.test.';

function stateWith(records: RecordSet[]): LocalState {
  const base = newZoneState(ZONE, 'ns1.example.test.', 42);
  return { zones: { [ZONE]: { serial: 42, records: [...base.records, ...records] } } };
}

function ask(state: LocalState, name: string, type: Parameters<typeof buildQuery>[1], transport: 'udp' | 'tcp' = 'udp', ednsUdpSize?: number) {
  const { zones } = indexZones(state);
  const reply = respond(buildQuery(name, type, ednsUdpSize === undefined ? {} : { ednsUdpSize }), zones, transport);
  if (reply === undefined) throw new Error('no reply');
  return { reply, packet: decodeResponse(reply) };
}

describe('respond', () => {
  it('drops additional data before truncating: the answer fits 512 bytes, its MX targets’ addresses do not', () => {
    const hosts = Array.from({ length: 8 }, (_, i) => `mx${i}.example.test.`);
    const state = stateWith([
      { name: ZONE, type: 'MX', ttl: 300, values: hosts.map((h, i) => `${i} ${h}`) },
      ...hosts.map((h, i): RecordSet => ({ name: h, type: 'AAAA', ttl: 300, values: [`2001:db8::${i + 1}`, `2001:db8::1:${i + 1}`] })),
    ]);
    const udp = ask(state, 'example.test', 'MX');
    expect(udp.packet.flag_tc).toBe(false);
    expect(udp.packet.answers).toHaveLength(8);
    expect(udp.packet.additionals).toEqual([]);
    expect(udp.reply.length).toBeLessThanOrEqual(512);

    const tcp = ask(state, 'example.test', 'MX', 'tcp');
    expect(tcp.packet.additionals).toHaveLength(16);
  });

  it('truncates an answer that does not fit a TCP message (65,535 bytes)', () => {
    const values = Array.from({ length: 6 }, (_, i) => String.fromCharCode(97 + i).repeat(15_000));
    const { packet } = ask(stateWith([{ name: `huge.${ZONE}`, type: 'TXT', ttl: 300, values }]), 'huge.example.test', 'TXT', 'tcp');
    expect(packet.flag_tc).toBe(true);
    expect(packet.answers).toEqual([]);
  });

  it('echoes the DO bit and advertises its own UDP size when the query used EDNS', () => {
    const { packet } = ask(stateWith([]), 'example.test', 'SOA', 'udp', 4096);
    const opt = packet.additionals.find((a) => a.type === 'OPT');
    expect(opt?.type === 'OPT' ? [opt.udpPayloadSize, opt.ednsVersion] : undefined).toEqual([1232, 0]);
  });

  it('answers names with bytes outside host-name characters without confusing them with real names', () => {
    // One label "a.b" (its middle byte is 0x2e) below example.test is not the two labels of a.b.example.test.
    const state = stateWith([{ name: `a.b.${ZONE}`, type: 'A', ttl: 300, values: ['192.0.2.1'] }]);
    const { zones } = indexZones(state);
    const query = Buffer.from(buildQuery('x.example.test', 'A', { id: 5 }));
    // Replace the first label "x" (length 1) by the 3-byte label "a.b".
    const patched = Buffer.concat([query.subarray(0, 12), Buffer.from([3, 0x61, 0x2e, 0x62]), query.subarray(14)]);
    const reply = respond(patched, zones, 'udp');
    expect(reply).toBeDefined();
    if (reply === undefined) return;
    const packet = decodeResponse(reply);
    expect(packet.rcode).toBe('NXDOMAIN');
    // The question comes back byte for byte.
    expect(reply.subarray(12, 12 + patched.length - 12)).toEqual(patched.subarray(12));
  });

  it('drops a message that is itself a response, and one shorter than a header', () => {
    const query = buildQuery('example.test', 'SOA');
    const response = Buffer.from(query);
    response.writeUInt16BE(response.readUInt16BE(2) | 0x8000, 2);
    const { zones } = indexZones(stateWith([]));
    expect(respond(response, zones, 'udp')).toBeUndefined();
    expect(respond(query.subarray(0, 11), zones, 'udp')).toBeUndefined();
  });

  it('builds a SERVFAIL with the query id for failures inside the server', () => {
    const query = buildQuery('example.test', 'SOA', { id: 777 });
    const failure = serverFailure(query);
    expect(failure).toBeDefined();
    if (failure === undefined) return;
    const packet = decodeResponse(failure);
    expect([packet.id, packet.rcode, packet.flag_qr]).toEqual([777, 'SERVFAIL', true]);
  });
});

describe('indexZones on a hand-edited state', () => {
  it('leaves out what it cannot serve and says why', () => {
    const state: LocalState = {
      zones: {
        [ZONE]: {
          serial: 1,
          records: [
            ...newZoneState(ZONE, 'ns1.example.test.', 1).records,
            { name: 'www.example.org.', type: 'A', ttl: 60, values: ['192.0.2.1'] },
            { name: `bad.${ZONE}`, type: 'A', ttl: 60, values: ['not an address'] },
            { name: `WWW.${ZONE.toUpperCase()}`, type: 'A', ttl: 60, values: ['192.0.2.2'] },
          ],
        },
        'nosoa.test.': { serial: 1, records: [{ name: 'nosoa.test.', type: 'NS', ttl: 60, values: ['ns1.example.test.'] }] },
      },
    };
    const { zones, problems } = indexZones(state);
    expect([...zones.keys()]).toEqual([ZONE]);
    expect(problems).toEqual([
      expect.stringContaining('www.example.org. A is outside the zone'),
      expect.stringContaining('bad.example.test. A: cannot serve "not an address" is not an IPv4 address'),
      expect.stringContaining('zone nosoa.test.: no valid apex SOA'),
    ]);
    const www = zones.get(ZONE)?.nodes.get(`www.${ZONE}`)?.get('A');
    expect(www?.values).toEqual(['192.0.2.2']);
  });
});
