import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/config/duration.js';
import { expandReferences, isWholeReference } from '../../src/config/env.js';
import { FrozenMap, deepFreeze } from '../../src/config/freeze.js';
import { formatPath } from '../../src/config/reader.js';
import { checkHostName, checkHostPort, checkRecordName, checkRecordValue } from '../../src/config/values.js';
import type { RecordType } from '../../src/domain/record.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['5s', 5_000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
    ['1m30s', 90_000],
    ['1h2m3s4ms', 3_723_004],
    ['1.5s', 1_500],
    ['0s', 0],
    [' 10s ', 10_000],
  ])('%s is %i ms', (text, ms) => {
    expect(parseDuration(text)).toEqual({ ok: true, ms });
  });

  it.each([
    ['5', 'duration needs a unit, e.g. 5s'],
    ['2.5', 'duration needs a unit, e.g. 2.5s'],
    ['', 'duration is empty'],
    ['5 s', 'is not a duration'],
    ['5sec', 'is not a duration'],
    ['-5s', 'is not a duration'],
    ['s', 'is not a duration'],
    ['1m30', 'is not a duration'],
  ])('%j is refused: %s', (text, reason) => {
    const result = parseDuration(text);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.reason).toContain(reason);
  });

  it.each([
    [0, '0s'],
    [500, '500ms'],
    [90_000, '1m30s'],
    [3_723_004, '1h2m3s4ms'],
  ])('formats %i ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('expandReferences', () => {
  const env = { A: 'alpha', EMPTY: '', NUM: '7' };

  it.each([
    ['plain', 'plain'],
    ['${A}', 'alpha'],
    ['x-${A}-${NUM}', 'x-alpha-7'],
    ['${MISSING:-fallback}', 'fallback'],
    ['${EMPTY:-fallback}', 'fallback'],
    ['${A:-fallback}', 'alpha'],
    ['${MISSING:-}', ''],
    ['${EMPTY}', ''],
    ['$${A}', '${A}'],
    ['$A and $', '$A and $'],
    ['${MISSING:-a:-b}', 'a:-b'],
  ])('%s -> %j', (text, value) => {
    const result = expandReferences(text, env);
    expect(result.ok && result.value).toBe(value);
  });

  it('names every missing variable', () => {
    expect(expandReferences('${NOPE}/${A}/${ALSO_NOPE}', env)).toEqual({
      ok: false,
      errors: ['environment variable NOPE is not set', 'environment variable ALSO_NOPE is not set'],
    });
  });

  it.each([
    ['${A', 'unclosed ${ reference'],
    ['${1A}', '${1A} is not a valid reference'],
    ['${}', '${} is not a valid reference'],
    ['${A B}', '${A B} is not a valid reference'],
  ])('refuses %s', (text, reason) => {
    const result = expandReferences(text, env);
    expect(result.ok ? [] : result.errors).toEqual([expect.stringContaining(reason)]);
  });

  it.each([
    ['${TOKEN}', true],
    ['${TOKEN:-x}', false],
    ['x${TOKEN}', false],
    ['${A}${B}', false],
    ['TOKEN', false],
  ])('isWholeReference(%s) is %s', (text, whole) => {
    expect(isWholeReference(text)).toBe(whole);
  });
});

describe('checkRecordValue', () => {
  it.each<[RecordType, string, string]>([
    ['A', '192.0.2.1', '192.0.2.1'],
    ['AAAA', '2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['AAAA', '::1', '::1'],
    ['CNAME', 'Edge.Example.NET', 'edge.example.net.'],
    ['NS', 'ns1.example.com.', 'ns1.example.com.'],
    ['PTR', 'host.example.com', 'host.example.com.'],
    ['MX', '10  Mail.example.com', '10 mail.example.com.'],
    ['MX', '0 .', '0 .'],
    ['SRV', '10 5 443 sip.example.com.', '10 5 443 sip.example.com.'],
    ['CAA', '0 issue "letsencrypt.org"', '0 issue "letsencrypt.org"'],
    ['CAA', '128 IODEF "mailto:sec@example.com"', '128 iodef "mailto:sec@example.com"'],
    ['TXT', 'v=spf1 -all', 'v=spf1 -all'],
    ['TXT', 'anything "goes" here', 'anything "goes" here'],
  ])('%s %s -> %s', (type, text, canonical) => {
    expect(checkRecordValue(type, text)).toEqual({ ok: true, value: canonical });
  });

  it.each<[RecordType, string, string]>([
    ['A', '192.0.2.256', 'is not an IPv4 address'],
    ['A', '010.0.0.1', 'is not an IPv4 address'],
    ['A', 'example.com', 'is not an IPv4 address'],
    ['AAAA', '192.0.2.1', 'is not an IPv6 address'],
    ['AAAA', '::ffff:192.0.2.1', 'is not an IPv6 address in hex form'],
    ['AAAA', 'fe80::1%eth0', 'is not an IPv6 address'],
    ['CNAME', 'www', 'is not a fully qualified host name'],
    ['CNAME', 'bad..example.com', 'is not a valid host name'],
    ['CNAME', '-x.example.com', 'is not a valid host name'],
    ['NS', '192.0.2.1', 'is an address, not a host name'],
    ['MX', 'mail.example.com', 'must be "preference host"'],
    ['MX', '70000 mail.example.com', 'MX preference "70000" must be an integer 0..65535'],
    ['SRV', '10 5 sip.example.com.', 'must be "priority weight port target"'],
    ['SRV', '10 5 99999 sip.example.com.', 'SRV port "99999"'],
    ['CAA', 'issue letsencrypt.org', `must be 'flags tag "value"'`],
    ['CAA', '256 issue "x"', 'CAA flags "256"'],
    ['SOA', 'a b 1 2 3 4 5', 'SOA records belong to the provider'],
  ])('%s %s is refused: %s', (type, text, reason) => {
    const result = checkRecordValue(type, text);
    expect(result.ok ? '' : result.reason).toContain(reason);
  });
});

describe('addresses and names', () => {
  it.each([
    ['127.0.0.1:53', {}, { host: '127.0.0.1', port: 53 }],
    ['[::1]:53', {}, { host: '::1', port: 53 }],
    ['[2001:DB8::0:1]:8053', {}, { host: '2001:db8::1', port: 8053 }],
    ['LocalHost:8053', {}, { host: 'localhost', port: 8053 }],
    ['127.0.0.1:0', { allowPortZero: true }, { host: '127.0.0.1', port: 0 }],
  ])('host:port %s', (text, rules, value) => {
    expect(checkHostPort(text, rules)).toEqual({ ok: true, value });
  });

  it.each([
    ['127.0.0.1', {}, 'is not host:port'],
    ['::1:53', {}, 'is not host:port'],
    ['127.0.0.1:0', {}, 'port 0 is out of range 1..65535'],
    ['127.0.0.1:65536', {}, 'port 65536 is out of range'],
    ['[192.0.2.1]:53', {}, 'is not an IPv6 address'],
    ['localhost:53', { ipOnly: true }, 'localhost is not an IP address'],
    ['bad_host-:53', {}, 'is not a valid host name'],
  ])('host:port %s is refused', (text, rules, reason) => {
    const result = checkHostPort(text, rules);
    expect(result.ok ? '' : result.reason).toContain(reason);
  });

  it.each([
    ['@', 'example.com.'],
    ['www', 'www.example.com.'],
    ['WWW', 'www.example.com.'],
    ['a.b', 'a.b.example.com.'],
    ['*.dev', '*.dev.example.com.'],
    ['_dmarc', '_dmarc.example.com.'],
    ['example.com.', 'example.com.'],
    ['Api.Example.COM.', 'api.example.com.'],
  ])('record name %s in example.com.', (text, name) => {
    expect(checkRecordName(text, 'example.com.')).toEqual({ ok: true, value: name });
  });

  it.each([
    ['www.example.org.', 'is outside zone example.com.'],
    ['badexample.com.', 'is outside zone example.com.'],
    ['a..b', 'is not a valid record name'],
    ['a.*', 'is not a valid record name'],
    ['with space', 'is not a valid record name'],
    ['x'.repeat(64), 'is not a valid record name'],
  ])('record name %s is refused', (text, reason) => {
    const result = checkRecordName(text, 'example.com.');
    expect(result.ok ? '' : result.reason).toContain(reason);
  });

  it('lowercases host names and adds the trailing dot', () => {
    expect(checkHostName('NS1.Example.com')).toEqual({ ok: true, value: 'ns1.example.com.' });
  });
});

describe('formatPath', () => {
  it.each([
    [['api', 'listen'], 'api.listen'],
    [['zones', 'example.com', 'records', 'www', 1, 'ttl'], 'zones[example.com].records.www[1].ttl'],
    [['zones', 'example.com', 'records', '@'], 'zones[example.com].records[@]'],
    [[], ''],
  ])('%j -> %s', (path, text) => {
    expect(formatPath(path)).toBe(text);
  });
});

describe('deepFreeze', () => {
  it('freezes nested objects and arrays and turns maps into read-only maps', () => {
    const frozen = deepFreeze({ list: [{ a: 1 }], map: new Map([['k', { v: [1] }]]) });
    expect(Object.isFrozen(frozen.list[0])).toBe(true);
    expect(frozen.map).toBeInstanceOf(FrozenMap);
    expect(Object.isFrozen(frozen.map.get('k')?.v)).toBe(true);
    expect([...frozen.map.keys()]).toEqual(['k']);
    const seen: string[] = [];
    frozen.map.forEach((_v, k, m) => seen.push(`${k}:${m.size}`));
    expect(seen).toEqual(['k:1']);
  });

  it('keeps a "__proto__" key as a plain key', () => {
    const input = JSON.parse('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
    const frozen = deepFreeze(input);
    expect(Object.keys(frozen)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
