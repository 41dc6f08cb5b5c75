import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCharacterStrings, quoteCharacterStrings } from '../../src/dns/presentation.js';
import { valueFromPdns, valueToPdns } from '../../src/providers/powerdns/provider.js';

describe('TXT character-strings in presentation form', () => {
  it('reads quoted strings with \\DDD decimal escapes (RFC 1035) and with \\ooo octal ones (Route53)', () => {
    expect(parseCharacterStrings('"a \\"q\\" b" "second"', 'decimal').map(String)).toEqual(['a "q" b', 'second']);
    expect(Buffer.concat(parseCharacterStrings('"caf\\195\\169"', 'decimal')).toString('utf8')).toBe('café');
    expect(Buffer.concat(parseCharacterStrings('"caf\\303\\251"', 'octal')).toString('utf8')).toBe('café');
    // An unquoted string ends at white space.
    expect(parseCharacterStrings('one two', 'decimal').map(String)).toEqual(['one', 'two']);
  });

  it('cuts a long value into strings of at most 255 bytes and writes "" for an empty one', () => {
    const long = 'x'.repeat(600);
    const strings = parseCharacterStrings(quoteCharacterStrings(long, 'decimal'), 'decimal');
    expect(strings.map((s) => s.length)).toEqual([255, 255, 90]);
    expect(quoteCharacterStrings('', 'decimal')).toBe('""');
  });

  it('round-trips any value, either escape style', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 600 }), fc.constantFrom('decimal' as const, 'octal' as const), (value, escapes) => {
        const text = quoteCharacterStrings(value, escapes);
        expect(Buffer.concat(parseCharacterStrings(text, escapes)).toString('utf8')).toBe(Buffer.from(value, 'utf8').toString('utf8'));
        expect(/^[\x20-\x7e]*$/.test(text)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('PowerDNS content converts both ways for TXT and passes other types through the canonical form', () => {
    expect(valueToPdns('TXT', 'v=spf1 "x" \\ y')).toBe('"v=spf1 \\"x\\" \\\\ y"');
    expect(valueFromPdns('TXT', '"v=spf1 \\"x\\" \\\\ y"')).toBe('v=spf1 "x" \\ y');
    expect(valueFromPdns('MX', '010 Mail.Example.NET.')).toBe('10 mail.example.net.');
    expect(valueFromPdns('AAAA', '2001:0db8::0001')).toBe('2001:db8::1');
  });
});
