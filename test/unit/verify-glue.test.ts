import dnsPacket from 'dns-packet';
import type { Answer, Packet } from 'dns-packet';
import { describe, expect, it } from 'vitest';
import type { RecordSpec, ZoneSpec } from '../../src/domain/zone.js';
import { desiredZone } from '../../src/plan/desired.js';
import { desiredExpectations } from '../../src/plan/expectations.js';
import type { Expectation } from '../../src/plan/expectations.js';
import { compareAnswer } from '../../src/verify/compare.js';

/**
 * Glue (addresses of a delegation's name servers, below the delegation) is served in the
 * additional section of the referral, never as an answer: verify must read it there, or a zone
 * with glue is reported inconsistent forever.
 */

const stat = (name: string, type: RecordSpec['type'], values: string[], ttl = 300): RecordSpec => ({ kind: 'static', name, type, ttl, values });

const spec: ZoneSpec = {
  name: 'example.test.',
  providers: ['p'],
  nameservers: 'sync',
  nameserverTtl: 3600,
  unmanaged: 'keep',
  drift: 'repair',
  maxChangeShare: 0.3,
  records: [
    stat('sub.example.test.', 'NS', ['ns1.sub.example.test.', 'ns.elsewhere.net.']),
    stat('ns1.sub.example.test.', 'A', ['192.0.2.53']),
    stat('ns1.sub.example.test.', 'AAAA', ['2001:db8::53']),
    stat('subway.example.test.', 'A', ['192.0.2.80']),
  ],
};

const a = (name: string, ip: string, ttl = 300): Answer => ({ type: 'A', name, ttl, class: 'IN', data: ip });
const ns = (host: string): Answer => ({ type: 'NS', name: 'sub.example.test', ttl: 300, class: 'IN', data: host });

function referral(additionals: Answer[]): Packet {
  const buf = dnsPacket.encode({
    type: 'response',
    id: 7,
    flags: 0,
    questions: [{ name: 'ns1.sub.example.test', type: 'A', class: 'IN' }],
    authorities: [ns('ns1.sub.example.test'), ns('ns.elsewhere.net')],
    additionals,
  });
  return dnsPacket.decode(buf);
}

describe('glue in verify', () => {
  const desired = desiredZone({ zone: spec, health: new Map(), overrides: [], lastServed: new Map(), recentWrites: new Map(), apexNameservers: ['ns.p.example.'], now: 1 });
  const questions = desiredExpectations(spec, desired, []);
  const glueA = questions.find((q) => q.name === 'ns1.sub.example.test.' && q.type === 'A');

  it('marks the address records below a delegation as glue, and nothing else', () => {
    expect(questions.map((q) => [q.name, q.type, q.referral ?? false, q.glue ?? false])).toEqual([
      ['example.test.', 'NS', false, false],
      ['ns1.sub.example.test.', 'A', false, true],
      ['ns1.sub.example.test.', 'AAAA', false, true],
      ['sub.example.test.', 'NS', true, false],
      ['subway.example.test.', 'A', false, false],
    ]);
  });

  it.each([
    ['the referral carries the glue', referral([a('ns1.sub.example.test', '192.0.2.53')]), []],
    ['the referral lacks the glue', referral([]), ['missing']],
    ['the referral carries other glue', referral([a('ns1.sub.example.test', '192.0.2.99')]), ['values']],
  ] as const)('reads glue from the additional section: %s', (_case, packet, kinds) => {
    if (glueA === undefined) throw new Error('no glue question');
    expect(compareAnswer(glueA, packet).map((d) => d.kind)).toEqual(kinds);
  });

  it('reads an authoritative answer (a server that serves the child zone too) from the answer section', () => {
    if (glueA === undefined) throw new Error('no glue question');
    const buf = dnsPacket.encode({
      type: 'response',
      id: 7,
      flags: dnsPacket.AUTHORITATIVE_ANSWER,
      questions: [{ name: 'ns1.sub.example.test', type: 'A', class: 'IN' }],
      answers: [a('ns1.sub.example.test', '192.0.2.53')],
    });
    expect(compareAnswer(glueA, dnsPacket.decode(buf))).toEqual([]);
  });

  it('still calls a referral for a record that is not glue not authoritative', () => {
    const notGlue: Expectation = { name: 'ns1.sub.example.test.', type: 'A', expected: { name: 'ns1.sub.example.test.', type: 'A', ttl: 300, values: ['192.0.2.53'] } };
    expect(compareAnswer(notGlue, referral([a('ns1.sub.example.test', '192.0.2.53')])).map((d) => d.kind)).toEqual(['not-authoritative']);
  });
});
