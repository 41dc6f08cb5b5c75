import { describe, expect, it } from 'vitest';
import { encodeName, presentLabel } from '../../src/dns/names.js';

const wire = (...labels: (string | number[])[]): Buffer =>
  Buffer.concat([...labels.flatMap((l) => {
    const bytes = typeof l === 'string' ? Buffer.from(l, 'latin1') : Buffer.from(l);
    return [Buffer.from([bytes.length]), bytes];
  }), Buffer.from([0])]);

describe('domain names between wire and presentation form', () => {
  it.each([
    ['a plain name', [Buffer.from('www')], 'www'],
    ['a dot inside a label', [Buffer.from('a.b')], 'a\\046b'],
    ['a byte above 0x7f, case kept', [Buffer.from([0x41, 0x80, 0x62])], 'A\\128b'],
    ['a backslash, a space and a zero byte', [Buffer.from([0x5c, 0x20, 0x00])], '\\092\\032\\000'],
    ['the wildcard label', [Buffer.from('*')], '*'],
  ])('writes %s as presentation form that encodes back to the same bytes', (_case, [label], text) => {
    if (label === undefined) throw new Error('no label');
    expect(presentLabel(label)).toBe(text);
    expect(encodeName(`${text}.example.test.`)).toEqual(Buffer.concat([Buffer.from([label.length]), label, wire('example', 'test')]));
  });

  it('reads the escapes of zone files: \\DDD is one byte, \\X is X, an escaped dot is no separator', () => {
    expect(encodeName('a\\.b.w.example.test.')).toEqual(wire('a.b', 'w', 'example', 'test'));
    expect(encodeName('x\\\\y.test')).toEqual(wire('x\\y', 'test'));
    expect(encodeName('\\255\\000.test.')).toEqual(wire([255, 0], 'test'));
    expect(encodeName('.')).toEqual(Buffer.from([0]));
  });

  it('refuses what cannot go on the wire', () => {
    expect(() => encodeName('a..b.')).toThrow('label of 0 bytes');
    expect(() => encodeName(`${'x'.repeat(64)}.test.`)).toThrow('label of 64 bytes');
    expect(() => encodeName(`${Array.from({ length: 9 }, () => 'y'.repeat(30)).join('.')}.`)).toThrow('longer than 255 bytes');
    expect(() => encodeName('trailing\\')).toThrow('lone backslash');
  });
});
