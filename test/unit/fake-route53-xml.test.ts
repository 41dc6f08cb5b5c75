import { describe, expect, it } from 'vitest';
import { compareNames, escapeName, normalizeName, reversedName } from '../../fakes/route53/names.js';
import { parseCharacterStrings } from '../../fakes/route53/records.js';
import { XmlSyntaxError, escapeXml, parseXml } from '../../fakes/route53/xml.js';

describe('the fake Route53 XML reader', () => {
  it('reads the SDK request shape: declaration, default namespace, no whitespace', () => {
    const root = parseXml(
      '<?xml version="1.0" encoding="UTF-8"?><ChangeResourceRecordSetsRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ChangeBatch><Changes/><Comment>c &amp; &lt;x&gt;</Comment></ChangeBatch></ChangeResourceRecordSetsRequest>',
    );
    expect(root.name).toBe('ChangeResourceRecordSetsRequest');
    const batch = root.children[0];
    expect(batch?.children.map((c) => c.name)).toEqual(['Changes', 'Comment']);
    expect(batch?.children[1]?.text).toBe('c & <x>');
  });

  it('drops namespace prefixes and keeps pretty-printing whitespace as text', () => {
    const root = parseXml('<r53:A xmlns:r53="urn:x">\n  <r53:B attr=\'1\'>v</r53:B>\n</r53:A>');
    expect(root.name).toBe('A');
    expect(root.children[0]).toEqual({ name: 'B', children: [], text: 'v' });
    expect(root.text.trim()).toBe('');
  });

  it.each([
    ['&quot;v=spf1&quot; &apos;x&apos;', '"v=spf1" \'x\''],
    ['&#65;&#x42;&#x1F600;', 'AB😀'],
    ['<![CDATA[<raw> & stuff]]>', '<raw> & stuff'],
    ['a<!-- note -->b<?pi ignored?>c', 'abc'],
  ])('unescapes %j', (content, text) => {
    expect(parseXml(`<V>${content}</V>`).text).toBe(text);
  });

  it.each([
    ['<A><B></A></B>', /does not match/],
    ['<A>', /not closed/],
    ['<A/><B/>', /more than one root/],
    ['text<A/>', /outside the root/],
    ['<A>&bogus;</A>', /entity/],
    ['<A>a & b</A>', /entity/],
    ['<A>&#0;</A>', /not allowed in XML/],
    ['<!DOCTYPE A [<!ENTITY x "y">]><A>&x;</A>', /DOCTYPE/],
    ['<A x="1" x="2"/>', /repeated/],
    ['<?xml version="1.0" encoding="UTF-16"?><A/>', /UTF-8/],
    ['', /no root element/],
    [`${'<A>'.repeat(70)}${'</A>'.repeat(70)}`, /nested deeper/],
  ])('refuses %j', (doc, message) => {
    expect(() => parseXml(doc)).toThrow(XmlSyntaxError);
    expect(() => parseXml(doc)).toThrow(message);
  });

  it('escapes what would end or confuse element content', () => {
    expect(escapeXml('a & <b> "c"')).toBe('a &amp; &lt;b&gt; "c"');
  });
});

describe('the fake Route53 name rules', () => {
  it.each([
    ['WWW.Example.COM', 'www.example.com.'],
    ['www.example.com.', 'www.example.com.'],
    ['\\052.example.com', '*.example.com.'],
    ['*.Example.com', '*.example.com.'],
  ])('stores %j as %j', (input, stored) => {
    expect(normalizeName(input)).toBe(stored);
  });

  it.each([
    ['a..example.com', 'DomainLabelEmpty'],
    [`${'x'.repeat(64)}.example.com`, 'DomainLabelTooLong'],
    [`${'abcdefghi.'.repeat(26)}com`, 'DomainNameTooLong'],
    ['caf\u00e9.example.com', 'UnsupportedCharacter'],
  ])('refuses %j with %s', (input, code) => {
    expect(normalizeName(input)).toMatchObject({ code });
  });

  it('returns special characters as three-digit octal escapes', () => {
    expect(escapeName('*.example.com.')).toBe('\\052.example.com.');
    expect(escapeName('a b@c_d-e.example.com.')).toBe('a\\040b\\100c_d-e.example.com.');
  });

  it('orders names by reversed labels with the trailing dot, as ASCII', () => {
    expect(reversedName('www.example.com.')).toBe('com.example.www.');
    const names = ['z.a.example.com.', 'a.example.com.', 'example.com.', '*.example.com.', 'a-b.example.com.', 'b.example.com.', 'example.net.'];
    expect([...names].sort(compareNames)).toEqual(['example.com.', '*.example.com.', 'a-b.example.com.', 'a.example.com.', 'z.a.example.com.', 'b.example.com.', 'example.net.']);
  });
});

describe('TXT values in Route53 form', () => {
  it.each([
    ['"v=spf1 -all"', ['v=spf1 -all']],
    ['"a" "b"', ['a', 'b']],
    ['  "a"\t"b"  ', ['a', 'b']],
    ['"a""b"', ['a', 'b']],
    ['"say \\"hi\\" \\\\ ok"', ['say "hi" \\ ok']],
    ['"\\101\\102"', ['AB']],
    ['""', ['']],
  ])('reads %j', (value, strings) => {
    expect(parseCharacterStrings(value)?.map((b) => b.toString('utf8'))).toEqual(strings);
  });

  it.each(['no quotes', '"unterminated', '"a" b', 'a "b"', '', '   '])('refuses %j', (value) => {
    expect(parseCharacterStrings(value)).toBeUndefined();
  });
});
