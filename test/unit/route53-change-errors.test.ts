import { describe, expect, it } from 'vitest';
import { parseInvalidChangeBatch } from '../../src/providers/route53/change-errors.js';

describe('InvalidChangeBatch message parsing', () => {
  it('splits bracketed, comma-joined reasons without splitting inside [name=..., type=...]', () => {
    const message =
      "[Tried to create resource record set [name='a.example.com.', type='A'] but it already exists, " +
      "Tried to delete resource record set [name='\\052.b.example.com.', type='TXT'] but it was not found, " +
      "Tried to delete resource record set [name='c.example.com.', type='MX'] but the values provided do not match the current values]";
    expect(parseInvalidChangeBatch(message)).toEqual([
      { text: "Tried to create resource record set [name='a.example.com.', type='A'] but it already exists", problem: 'already-exists', action: 'CREATE', name: 'a.example.com.', type: 'A' },
      { text: "Tried to delete resource record set [name='\\052.b.example.com.', type='TXT'] but it was not found", problem: 'not-found', action: 'DELETE', name: '*.b.example.com.', type: 'TXT' },
      {
        text: "Tried to delete resource record set [name='c.example.com.', type='MX'] but the values provided do not match the current values",
        problem: 'values-mismatch',
        action: 'DELETE',
        name: 'c.example.com.',
        type: 'MX',
      },
    ]);
  });

  it.each([
    [
      'a single bracketed reason',
      "[Tried to create resource record set [name='x.example.com.', type='CNAME'] but it already exists]",
      { problem: 'already-exists', action: 'CREATE', name: 'x.example.com.', type: 'CNAME' },
    ],
    [
      'the old form without outer brackets',
      "Tried to delete resource record set [name='k.bestwestdays.net.', type='A'] but it was not found",
      { problem: 'not-found', action: 'DELETE', name: 'k.bestwestdays.net.', type: 'A' },
    ],
    [
      'a set identifier',
      "[Tried to create resource record set [name='geo.d.com.', type='A', set-identifier='Default'] but it already exists]",
      { problem: 'already-exists', action: 'CREATE', name: 'geo.d.com.', type: 'A', setIdentifier: 'Default' },
    ],
    [
      'a CNAME conflict',
      '[RRSet of type CNAME with DNS name x.example.com. is not permitted as it conflicts with other records with the same DNS name in zone example.com.]',
      { problem: 'other' },
    ],
    ['an out-of-zone name', '[RRSet with DNS name a.other. is not permitted in zone example.com.]', { problem: 'other' }],
    ['the record limit', 'Number of records limit of 1000 exceeded.', { problem: 'other' }],
  ])('reads %s', (_case, message, expected) => {
    const reasons = parseInvalidChangeBatch(message);
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatchObject(expected);
  });

  it('keeps an apostrophe in free text from swallowing the next reason', () => {
    const message = "[The record's value is invalid, Tried to create resource record set [name='y.example.com.', type='A'] but it already exists]";
    const reasons = parseInvalidChangeBatch(message);
    expect(reasons.map((r) => r.problem)).toEqual(['other', 'already-exists']);
  });

  it('gives nothing for an empty message', () => {
    expect(parseInvalidChangeBatch('  ')).toEqual([]);
  });
});
