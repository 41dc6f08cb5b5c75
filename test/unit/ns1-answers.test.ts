import { describe, expect, it } from 'vitest';
import { canonicalValue, normalizeRecordSet } from '../../src/domain/record.js';
import type { RecordSet, RecordType } from '../../src/domain/record.js';
import { hostToNs1, valueFromNs1, valueFromShortAnswer, valueToNs1 } from '../../src/providers/ns1/answers.js';
import { orderWrites } from '../../src/providers/ns1/provider.js';
import type { Write } from '../../src/providers/ns1/provider.js';

const longText = 'k='.padEnd(700, 'x');

describe('NS1 answers', () => {
  it.each<[RecordType, string, (string | number)[], string]>([
    ['A', '192.0.2.1', ['192.0.2.1'], '192.0.2.1'],
    ['AAAA', '2001:db8::1', ['2001:db8::1'], '2001:db8::1'],
    ['CNAME', 'edge.example.net.', ['edge.example.net'], 'edge.example.net'],
    ['NS', 'dns1.p01.nsone.net.', ['dns1.p01.nsone.net'], 'dns1.p01.nsone.net'],
    ['PTR', 'host.example.com.', ['host.example.com'], 'host.example.com'],
    ['MX', '10 mx1.example.net.', [10, 'mx1.example.net'], '10 mx1.example.net'],
    ['MX', '0 .', [0, '.'], '0 .'],
    ['SRV', '10 5 5060 sip.example.net.', [10, 5, 5060, 'sip.example.net'], '10 5 5060 sip.example.net'],
    ['CAA', '0 issue "letsencrypt.org"', [0, 'issue', 'letsencrypt.org'], '0 issue letsencrypt.org'],
    ['CAA', '0 iodef "mailto:sec@example.com"', [0, 'iodef', 'mailto:sec@example.com'], '0 iodef mailto:sec@example.com'],
    ['TXT', 'v=spf1 include:example.net -all', ['v=spf1 include:example.net -all'], 'v=spf1 include:example.net -all'],
    ['TXT', longText, [longText], longText],
  ])('%s %s <-> NS1 %j (short answer %s)', (type, value, rdata, short) => {
    expect(valueToNs1(type, value)).toEqual(rdata);
    expect(canonicalValue(type, valueFromNs1(type, rdata))).toBe(value);
    expect(canonicalValue(type, valueFromShortAnswer(type, short))).toBe(value);
  });

  it('sends a long TXT value whole, as one field (NS1 splits it into 255-byte strings itself)', () => {
    const rdata = valueToNs1('TXT', longText);
    expect(rdata).toHaveLength(1);
    expect(rdata[0]).toBe(longText);
  });

  it('reads a TXT answer of several fields (another tool) as their concatenation', () => {
    expect(valueFromNs1('TXT', ['part one ', 'part two'])).toBe('part one part two');
  });

  it('reads numbers and digit strings alike (ns1-go sends "10", octoDNS 10)', () => {
    expect(canonicalValue('MX', valueFromNs1('MX', ['10', 'MX.Example.NET']))).toBe('10 mx.example.net.');
    expect(canonicalValue('SRV', valueFromNs1('SRV', ['1', 2, '03', 'sip.example.net.']))).toBe('1 2 3 sip.example.net.');
  });

  it('reads a CAA answer kept as one string', () => {
    expect(canonicalValue('CAA', valueFromNs1('CAA', ['0 issue letsencrypt.org']))).toBe('0 issue "letsencrypt.org"');
    expect(canonicalValue('CAA', valueFromShortAnswer('CAA', '128 issuewild "ca.example.net"'))).toBe('128 issuewild "ca.example.net"');
  });

  it.each([
    ['edge.example.net.', 'edge.example.net'],
    ['edge.example.net', 'edge.example.net'],
    ['.', '.'],
  ])('host %s is written %s', (host, written) => {
    expect(hostToNs1(host)).toBe(written);
  });
});

describe('NS1 write order', () => {
  const rs = (name: string, type: RecordType, values: string[]): RecordSet => normalizeRecordSet({ name, type, ttl: 300, values });
  const label = (w: Write): string => `${w.kind} ${w.record.name} ${w.record.type}`;

  it('writes creates and updates before deletes', () => {
    const writes: Write[] = [
      { kind: 'delete', record: rs('old.example.com.', 'A', ['192.0.2.1']) },
      { kind: 'create', record: rs('new.example.com.', 'A', ['192.0.2.2']) },
      { kind: 'update', record: rs('www.example.com.', 'A', ['192.0.2.3']) },
      { kind: 'delete', record: rs('www.example.com.', 'TXT', ['gone']) },
    ];
    expect(orderWrites(writes).map(label)).toEqual([
      'create new.example.com. A',
      'update www.example.com. A',
      'delete old.example.com. A',
      'delete www.example.com. TXT',
    ]);
  });

  it.each([
    ['a CNAME replaced by an A', [{ kind: 'delete', type: 'CNAME' }, { kind: 'create', type: 'A' }], ['delete CNAME', 'create A']],
    [
      'records replaced by a CNAME',
      [{ kind: 'delete', type: 'A' }, { kind: 'delete', type: 'TXT' }, { kind: 'create', type: 'CNAME' }],
      ['delete A', 'delete TXT', 'create CNAME'],
    ],
    ['an A added beside a TXT that goes', [{ kind: 'delete', type: 'TXT' }, { kind: 'create', type: 'A' }], ['create A', 'delete TXT']],
  ] as const)('%s: the delete that makes room goes right before the create', (_case, input, expected) => {
    const writes: Write[] = input.map((w) => ({ kind: w.kind, record: rs('x.example.com.', w.type, w.type === 'CNAME' ? ['t.example.net.'] : w.type === 'TXT' ? ['t'] : ['192.0.2.9']) }));
    expect(orderWrites(writes).map((w) => `${w.kind} ${w.record.type}`)).toEqual(expected);
  });
});
