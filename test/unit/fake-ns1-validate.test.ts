import { describe, expect, it } from 'vitest';
import { Ns1ApiError } from '../../fakes/ns1/api-error.js';
import type { JsonValue } from '../../fakes/ns1/api-error.js';
import { presentation, servedAnswers } from '../../fakes/ns1/dns-view.js';
import type { StoredRecord } from '../../fakes/ns1/state.js';
import { checkRdata, nameProblem, parseBody, parseRecordBody } from '../../fakes/ns1/validate.js';
import type { Ns1RecordType } from '../../fakes/ns1/validate.js';
import { tierOf } from '../../fakes/ns1/wire.js';

/** The fake NS1's checks of request bodies and its DNS view of records, without sockets. */

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    if (err instanceof Ns1ApiError) return `${err.status} ${err.message}`;
    throw err;
  }
  return 'no error';
}

describe('checkRdata', () => {
  it.each<[Ns1RecordType, JsonValue[], (string | number)[]]>([
    ['A', ['192.0.2.1'], ['192.0.2.1']],
    ['AAAA', ['2001:db8::1'], ['2001:db8::1']],
    ['CNAME', ['Target.Example.net.'], ['Target.Example.net']],
    ['NS', ['ns1.example.net'], ['ns1.example.net']],
    ['PTR', ['host.example.com.'], ['host.example.com']],
    ['TXT', ['any text; even "quotes"'], ['any text; even "quotes"']],
    ['TXT', [''], ['']],
    ['MX', [10, 'mx.example.com.'], [10, 'mx.example.com']],
    ['MX', ['10', 'mx.example.com'], ['10', 'mx.example.com']],
    ['MX', [0, '.'], [0, '.']],
    ['SRV', [10, 5, 443, 'svc.example.com.'], [10, 5, 443, 'svc.example.com']],
    ['SRV', ['0', '0', '0', '.'], ['0', '0', '0', '.']],
    ['CAA', [0, 'issue', 'letsencrypt.org'], [0, 'issue', 'letsencrypt.org']],
    ['CAA', ['128', 'iodef', 'mailto:a@example.com'], ['128', 'iodef', 'mailto:a@example.com']],
  ])('accepts %s %j and stores %j', (type, rdata, stored) => {
    expect(checkRdata(type, rdata, 'r')).toEqual(stored);
  });

  it.each<[Ns1RecordType, JsonValue[], string]>([
    ['A', ['192.0.2'], "Value '192.0.2' for field 'r[0]' is not a valid IPv4 address"],
    ['A', [3232235521], "Value 3232235521 for field 'r[0]' is not a valid IPv4 address"],
    ['A', ['192.0.2.1', '192.0.2.2'], 'Value ["192.0.2.1","192.0.2.2"] for field \'r\' does not fit type A: expected [address]'],
    ['AAAA', ['2001:db8::g'], "Value '2001:db8::g' for field 'r[0]' is not a valid IPv6 address"],
    ['CNAME', ['.'], "Value '.' for field 'r[0]' is not a valid host name"],
    ['CNAME', [null], "Value None for field 'r[0]' is not of type string"],
    ['TXT', [42], "Value 42 for field 'r[0]' is not of type string"],
    ['MX', ['x', 'mx.example.com'], "Value 'x' for field 'r[0]' is not an integer from 0 to 65535"],
    ['MX', [-1, 'mx.example.com'], "Value -1 for field 'r[0]' is not an integer from 0 to 65535"],
    ['MX', [10, 'bad host'], "Value 'bad host' for field 'r[1]' is not a valid host name"],
    ['SRV', [1, 2, 3], "Value [1,2,3] for field 'r' does not fit type SRV: expected [priority, weight, port, target]"],
    ['CAA', [0, 'is-sue', 'x'], "Value 'is-sue' for field 'r[1]' is not a CAA tag (letters and digits)"],
    ['CAA', [0, 'issue', 5], "Value 5 for field 'r[2]' is not of type string"],
  ])('refuses %s %j: %s', (type, rdata, detail) => {
    expect(messageOf(() => checkRdata(type, rdata, 'r'))).toBe(`400 Input validation failed (${detail})`);
  });
});

describe('parseRecordBody', () => {
  const target = { zone: 'example.com', domain: 'www.example.com', type: 'A' } as const;

  it('reads the fields a body carries and leaves the others out', () => {
    const input = parseRecordBody(
      { zone: 'Example.com', domain: 'WWW.example.com', type: 'a', name: 'ignored', ttl: 60, answers: [{ answer: ['192.0.2.1'], id: 'x', meta: { up: true }, region: 'east' }], filters: [{ filter: 'up' }], use_client_subnet: false },
      target,
    );
    expect(input).toEqual({ ttl: 60, answers: [{ answer: ['192.0.2.1'], id: 'x', meta: { up: true }, region: 'east' }], filters: [{ filter: 'up', config: {} }], use_client_subnet: false });
    expect(parseRecordBody({}, target)).toEqual({});
  });

  it.each<[string, { [key: string]: JsonValue }, string]>([
    ['null filters', { filters: null }, "Value None for field '<obj>.filters' is not of type array"],
    ['null networks', { networks: null }, "Value None for field '<obj>.networks' is not of type array"],
    ['a string in networks', { networks: ['0'] }, "Value '0' for field '<obj>.networks[0]' is not of type integer"],
    ['a filter without its name', { filters: [{ config: {} }] }, "field '<obj>.filters[0].filter' is required"],
    ['null filter config', { filters: [{ filter: 'up', config: null }] }, "Value None for field '<obj>.filters[0].config' is not of type object"],
    ['null answer meta', { answers: [{ answer: ['192.0.2.1'], meta: null }] }, "Value None for field '<obj>.answers[0].meta' is not of type object"],
    ['an answer without rdata', { answers: [{}] }, "field '<obj>.answers[0].answer' is required"],
    ['a negative TTL', { ttl: -5 }, "Value -5 for field '<obj>.ttl' is not between 0 and 2147483647"],
    ['a fractional TTL', { ttl: 1.5 }, "Value 1.5 for field '<obj>.ttl' is not of type integer"],
    ['a boolean as string', { use_client_subnet: 'yes' }, "Value 'yes' for field '<obj>.use_client_subnet' is not of type boolean"],
    ['another type', { type: 'AAAA' }, "Value 'AAAA' for field '<obj>.type' does not match the type in the URL ('A')"],
    ['another zone', { zone: 'example.org' }, "Value 'example.org' for field '<obj>.zone' does not match the zone in the URL ('example.com')"],
    ['a linked record', { link: 'other.example.com' }, "Value 'other.example.com' for field '<obj>.link' asks for a linked record, which this fake NS1 does not support"],
  ])('refuses %s', (_, body, detail) => {
    expect(messageOf(() => parseRecordBody(body, target))).toBe(`400 Input validation failed (${detail})`);
  });

  it('accepts link: null as NS1 answers it', () => {
    expect(parseRecordBody({ link: null }, target)).toEqual({});
  });
});

describe('parseBody and nameProblem', () => {
  it.each([
    ['', {}],
    ['  ', {}],
    ['{"a":1}', { a: 1 }],
  ])('parses %j', (text, parsed) => {
    expect(parseBody(text)).toEqual(parsed);
  });

  it.each([
    ['[1]', 'the request body must be a JSON object'],
    ['null', 'the request body must be a JSON object'],
    ['{', 'the request body is not valid JSON'],
  ])('refuses %j', (text, detail) => {
    expect(messageOf(() => parseBody(text))).toBe(`400 Input validation failed (${detail})`);
  });

  it.each([
    ['www.example.com', {}, undefined],
    ['*.example.com', { allowWildcard: true }, undefined],
    ['*.example.com', {}, 'is not a valid domain name'],
    ['www.example.com.', {}, 'must be written without a trailing dot'],
    ['a..example.com', {}, 'is not a valid domain name'],
    ['', {}, 'is empty'],
  ])('nameProblem(%j, %j) is %j', (name, options, problem) => {
    expect(nameProblem(name, options)).toBe(problem);
  });
});

function record(type: Ns1RecordType, answers: StoredRecord['answers'], extra: Partial<StoredRecord> = {}): StoredRecord {
  return { id: 'r', zone: 'example.com', domain: 'x.example.com', type, ttl: 60, answers, filters: [], regions: {}, meta: {}, use_client_subnet: true, networks: [0], ...extra };
}

describe('the DNS view of a record', () => {
  const a = (ip: string, up?: unknown): StoredRecord['answers'][number] => (up === undefined ? { id: ip, answer: [ip] } : { id: ip, answer: [ip], meta: { up: up as JsonValue } });

  it.each<[string, StoredRecord, string[]]>([
    ['no filters: every answer', record('A', [a('192.0.2.1', false), a('192.0.2.2')]), ['192.0.2.1', '192.0.2.2']],
    ['up: only answers whose meta.up is true', record('A', [a('192.0.2.1', false), a('192.0.2.2', true), a('192.0.2.3')], { filters: [{ filter: 'up', config: {} }] }), ['192.0.2.2']],
    ['up: the record meta.up counts where an answer has none', record('A', [a('192.0.2.1'), a('192.0.2.2', false)], { filters: [{ filter: 'up', config: {} }], meta: { up: true } }), ['192.0.2.1']],
    ['a disabled filter does nothing', record('A', [a('192.0.2.1', false)], { filters: [{ filter: 'up', config: {}, disabled: true }] }), ['192.0.2.1']],
    ['select_first_n with N', record('A', [a('192.0.2.1'), a('192.0.2.2'), a('192.0.2.3')], { filters: [{ filter: 'select_first_n', config: { N: 2 } }] }), ['192.0.2.1', '192.0.2.2']],
    ['filters the fake does not evaluate pass everything', record('A', [a('192.0.2.1'), a('192.0.2.2')], { filters: [{ filter: 'shuffle', config: {} }] }), ['192.0.2.1', '192.0.2.2']],
    ['a CNAME serves one answer', record('CNAME', [{ id: '1', answer: ['a.example.net'] }, { id: '2', answer: ['b.example.net'] }]), ['a.example.net']],
  ])('%s', (_, rec, served) => {
    expect(servedAnswers(rec).map((answer) => presentation(rec, answer))).toEqual(served);
  });

  it.each<[Ns1RecordType, (string | number)[], string]>([
    ['MX', ['10', 'mx.example.com'], '10 mx.example.com'],
    ['SRV', [1, 2, 3, 'svc.example.com'], '1 2 3 svc.example.com'],
    ['CAA', [0, 'issue', 'ca.example'], '0 issue "ca.example"'],
    ['TXT', ['a b c'], 'a b c'],
  ])('writes %s %j as %j', (type, answer, text) => {
    const rec = record(type, [{ id: '1', answer }]);
    expect(presentation(rec, { id: '1', answer })).toBe(text);
  });

  it.each<[string, StoredRecord, number]>([
    ['plain', record('A', [a('192.0.2.1')]), 1],
    ['answer metadata', record('A', [a('192.0.2.1', true)]), 2],
    ['record metadata', record('A', [a('192.0.2.1')], { meta: { note: 'x' } }), 2],
    ['a filter chain', record('A', [a('192.0.2.1', true)], { filters: [{ filter: 'up', config: {} }] }), 3],
  ])('tier of a %s record is %i', (_, rec, tier) => {
    expect(tierOf(rec)).toBe(tier);
  });
});
