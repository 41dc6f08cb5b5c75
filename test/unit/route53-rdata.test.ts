import { describe, expect, it } from 'vitest';
import { decodeName, encodeName } from '../../src/providers/route53/names.js';
import { parseCharacterStrings } from '../../src/dns/presentation.js';
import { txtFromRoute53, txtToRoute53, valueFromRoute53, valueToRoute53 } from '../../src/providers/route53/rdata.js';

describe('Route53 names', () => {
  it.each([
    ['\\052.example.com.', '*.example.com.'],
    ['\\052.Wild.Example.COM', '*.wild.example.com.'],
    ['www.example.com.', 'www.example.com.'],
    ['WWW.Example.Com', 'www.example.com.'],
    ['a\\100b.example.com.', 'a@b.example.com.'],
    ['_sip._tcp.example.com.', '_sip._tcp.example.com.'],
    ['caf\\303\\251.example.com.', 'café.example.com.'],
    ['x\\.y.example.com.', 'x.y.example.com.'],
  ])('decodes %s as %s', (wire, name) => {
    expect(decodeName(wire)).toBe(name);
  });

  it.each([
    ['*.example.com.', '*.example.com.'],
    ['*.Dev.Example.com', '*.dev.example.com.'],
    ['a*b.example.com.', 'a\\052b.example.com.'],
    ['a@b.example.com.', 'a\\100b.example.com.'],
    ['café.example.com.', 'caf\\303\\251.example.com.'],
    ['_dmarc.example.com', '_dmarc.example.com.'],
  ])('encodes %s as %s', (name, wire) => {
    expect(encodeName(name)).toBe(wire);
  });

  it.each(['*.a.example.com.', 'x@y.example.com.', 'café.example.com.', 'plain-name_1.example.com.'])('%s survives encode then decode', (name) => {
    expect(decodeName(encodeName(name))).toBe(name);
  });
});

describe('Route53 TXT values', () => {
  const long = Array.from({ length: 700 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');

  it('splits a value longer than 255 bytes into quoted strings of at most 255 bytes, and joins them back', () => {
    const wire = txtToRoute53(long);
    const strings = parseCharacterStrings(wire, 'octal');
    expect(strings.map((s) => s.length)).toEqual([255, 255, 190]);
    expect(wire.startsWith('"')).toBe(true);
    expect(wire.split('" "')).toHaveLength(3);
    expect(txtFromRoute53(wire)).toBe(long);
  });

  it.each([
    ['plain', 'v=spf1 -all', '"v=spf1 -all"'],
    ['a double quote', 'say "hi"', '"say \\"hi\\""'],
    ['a backslash', 'a\\b', '"a\\\\b"'],
    ['non-ASCII as octal bytes', 'é', '"\\303\\251"'],
    ['a control character', 'a\tb', '"a\\011b"'],
    ['empty', '', '""'],
  ])('quotes %s', (_case, value, wire) => {
    expect(txtToRoute53(value)).toBe(wire);
    expect(txtFromRoute53(wire)).toBe(value.trim());
  });

  it.each([
    ['strings split elsewhere by another tool', '"abc" "def"', 'abcdef'],
    ['octal escapes Route53 returns', '"caf\\303\\251 \\"x\\""', 'café "x"'],
    ['an unquoted value', 'hello', 'hello'],
    ['a space escaped as octal', '"a\\040b"', 'a b'],
    ['an escaped non-special character', '"a\\;b"', 'a;b'],
  ])('reads %s', (_case, wire, value) => {
    expect(txtFromRoute53(wire)).toBe(value);
  });

  it('cuts at byte boundaries, even inside a multi-byte character, and the join restores it', () => {
    const value = `${'x'.repeat(254)}é${'y'.repeat(10)}`;
    const wire = txtToRoute53(value);
    expect(parseCharacterStrings(wire, 'octal').map((s) => s.length)).toEqual([255, 11]);
    expect(txtFromRoute53(wire)).toBe(value);
  });

  it('quotes and escapes every string of a long value with quotes in it', () => {
    const value = '"'.repeat(300);
    const wire = txtToRoute53(value);
    expect(parseCharacterStrings(wire, 'octal').map((s) => s.length)).toEqual([255, 45]);
    expect(txtFromRoute53(wire)).toBe(value);
  });
});

describe('Route53 values of other types', () => {
  it.each([
    ['A', '192.0.2.1', '192.0.2.1'],
    ['AAAA', '2001:0DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['CNAME', 'Edge.Example.NET', 'edge.example.net.'],
    ['CNAME', '\\052.example.net.', '*.example.net.'],
    ['MX', '10 Mail.Example.com', '10 mail.example.com.'],
    ['MX', '0 .', '0 .'],
    ['SRV', '10 5 443 Sip.Example.com.', '10 5 443 sip.example.com.'],
    ['CAA', '0 issue "letsencrypt.org"', '0 issue "letsencrypt.org"'],
    ['NS', 'ns-1.awsdns-01.org', 'ns-1.awsdns-01.org.'],
    ['SOA', 'ns-1.awsdns-01.org. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400', 'ns-1.awsdns-01.org. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400'],
  ] as const)('%s %s reads as %s', (type, wire, value) => {
    expect(valueFromRoute53(type, wire)).toBe(value);
  });

  it('writes canonical values as they are, except TXT which is quoted', () => {
    expect(valueToRoute53('CNAME', 'edge.example.net.')).toBe('edge.example.net.');
    expect(valueToRoute53('CAA', '0 issue "letsencrypt.org"')).toBe('0 issue "letsencrypt.org"');
    expect(valueToRoute53('TXT', 'v=spf1 -all')).toBe('"v=spf1 -all"');
  });
});
