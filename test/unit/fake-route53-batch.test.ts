import { describe, expect, it } from 'vitest';
import { ApiError } from '../../fakes/route53/api-error.js';
import { applyBatch, readChangeRequest } from '../../fakes/route53/batch.js';
import type { ChangeAction, RequestedBatch } from '../../fakes/route53/batch.js';
import { identityOf } from '../../fakes/route53/records.js';
import type { FakeRecordSet } from '../../fakes/route53/records.js';
import { parseXml } from '../../fakes/route53/xml.js';

const ZONE = 'example.com.';
const apex: FakeRecordSet[] = [
  { name: ZONE, type: 'SOA', ttl: 900, values: ['ns-1.awsdns-00.com. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400'] },
  { name: ZONE, type: 'NS', ttl: 172800, values: ['ns-1.awsdns-00.com.'] },
];

function zone(...extra: FakeRecordSet[]): Map<string, FakeRecordSet> {
  return new Map([...apex, ...extra].map((rs) => [identityOf(rs), rs]));
}

function change(action: ChangeAction, rawName: string, rest: Omit<FakeRecordSet, 'name'>): RequestedBatch['changes'][number] {
  return { action, rawName, rrset: { name: '', ...rest } };
}

function failure(run: () => unknown): ApiError {
  try {
    run();
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected an ApiError');
}

describe('applyBatch (the fake Route53 change semantics)', () => {
  it('applies changes in order on a copy and leaves the input untouched', () => {
    const sets = zone({ name: 'www.example.com.', type: 'A', ttl: 60, values: ['192.0.2.1'] });
    const after = applyBatch({ zoneName: ZONE, sets }, {
      changes: [
        change('DELETE', 'www.example.com', { type: 'A', ttl: 60, values: ['192.0.2.1'] }),
        change('CREATE', 'WWW.example.com.', { type: 'A', ttl: 60, values: ['192.0.2.2'] }),
        change('UPSERT', 'new.example.com', { type: 'TXT', ttl: 5, values: ['"x"'] }),
      ],
    });
    expect([...after.values()].map((rs) => `${rs.name} ${rs.type} ${rs.values.join(',')}`)).toContain('www.example.com. A 192.0.2.2');
    expect(after.size).toBe(4);
    expect(sets.size).toBe(3);
  });

  it.each<{ title: string; held: FakeRecordSet[]; changes: RequestedBatch['changes']; message: string }>([
    {
      title: 'a duplicate value',
      held: [],
      changes: [change('CREATE', 'd.example.com', { type: 'A', ttl: 1, values: ['192.0.2.1', '192.0.2.1'] })],
      message: "[Duplicate Resource Record: '192.0.2.1']",
    },
    {
      title: 'an IPv4 value with spaces',
      held: [],
      changes: [change('CREATE', 'd.example.com', { type: 'A', ttl: 1, values: ['192.0.2.1, 192.0.2.2'] })],
      message: "[Invalid Resource Record: 'FATAL problem: ARRDATANotSingleField (Value contains spaces) encountered with '192.0.2.1, 192.0.2.2'']",
    },
    {
      title: 'a bad IPv6 address',
      held: [],
      changes: [change('CREATE', 'd.example.com', { type: 'AAAA', ttl: 1, values: ['2001:db8::g'] })],
      message: "[Invalid Resource Record: 'FATAL problem: AAAARRDATAIllegalIPv6Address (Value is not a valid IPv6 address) encountered with '2001:db8::g'']",
    },
    {
      title: 'a TXT string over 255 bytes',
      held: [],
      changes: [change('CREATE', 't.example.com', { type: 'TXT', ttl: 1, values: [`"${'x'.repeat(256)}"`] })],
      message: `[Invalid Resource Record: 'FATAL problem: CharacterStringTooLong (Value is too long) encountered with '"${'x'.repeat(256)}"'']`,
    },
    {
      title: 'a CNAME with two values',
      held: [],
      changes: [change('CREATE', 'c.example.com', { type: 'CNAME', ttl: 1, values: ['a.example.net', 'b.example.net'] })],
      message: "[The request contains an invalid set of changes for a resource record set 'CNAME c.example.com.']",
    },
    {
      title: 'an empty label',
      held: [],
      changes: [change('CREATE', 'a..example.com', { type: 'A', ttl: 1, values: ['192.0.2.1'] })],
      message: "[FATAL problem: DomainLabelEmpty (Domain label is empty) encountered with 'a..example.com']",
    },
    {
      title: 'a simple set beside weighted ones',
      held: [{ name: 'w.example.com.', type: 'A', ttl: 60, values: ['192.0.2.1'], setIdentifier: 'one', weight: 1 }],
      changes: [change('CREATE', 'w.example.com', { type: 'A', ttl: 60, values: ['192.0.2.2'] })],
      message: '[RRSet with DNS name w.example.com., type A cannot be created as other RRSets exist with the same name and type.]',
    },
    {
      title: 'a weighted set beside a simple one',
      held: [{ name: 'w.example.com.', type: 'A', ttl: 60, values: ['192.0.2.1'] }],
      changes: [change('CREATE', 'w.example.com', { type: 'A', ttl: 60, values: ['192.0.2.2'], setIdentifier: 'two', weight: 1 })],
      message: '[RRSet with DNS name w.example.com., type A, SetIdentifier two cannot be created as a non-weighted set exists with the same name and type.]',
    },
    {
      title: 'a multivalue set beside a simple one',
      held: [{ name: 'm.example.com.', type: 'TXT', ttl: 60, values: ['"a"'] }],
      changes: [change('CREATE', 'm.example.com', { type: 'TXT', ttl: 60, values: ['"b"'], setIdentifier: 'x', multiValueAnswer: true })],
      message: '[RRSet with DNS name m.example.com., type TXT, SetIdentifier "x" cannot be created because a non multivalue answer rrset exists with the same name and type.]',
    },
    {
      title: 'weighted sets with different TTLs',
      held: [{ name: 'w.example.com.', type: 'A', ttl: 60, values: ['192.0.2.1'], setIdentifier: 'one', weight: 1 }],
      changes: [change('CREATE', 'w.example.com', { type: 'A', ttl: 30, values: ['192.0.2.2'], setIdentifier: 'two', weight: 1 })],
      message: '[RRSet with DNS name w.example.com. and type A, SetIdentifier two cannot be created as weighted sets must contain the same TTL.]',
    },
    {
      title: 'deleting one set twice',
      held: [{ name: 'x.example.com.', type: 'A', ttl: 60, values: ['192.0.2.1'] }],
      changes: [
        change('DELETE', 'x.example.com', { type: 'A', ttl: 60, values: ['192.0.2.1'] }),
        change('DELETE', 'x.example.com', { type: 'A', ttl: 60, values: ['192.0.2.1'] }),
      ],
      message: "[Tried to delete resource record set [name='x.example.com.', type='A'] but it was not found]",
    },
  ])('refuses $title', ({ held, changes, message }) => {
    const error = failure(() => applyBatch({ zoneName: ZONE, sets: zone(...held) }, { changes }));
    expect(error).toMatchObject({ status: 400, code: 'InvalidChangeBatch', message });
  });

  it('checks the request limits before anything else', () => {
    const values = Array.from({ length: 600 }, (_, i) => `10.0.${Math.floor(i / 250)}.${i % 250}`);
    const error = failure(() =>
      applyBatch({ zoneName: ZONE, sets: zone() }, { changes: [change('UPSERT', 'outside.example.org', { type: 'A', ttl: 1, values })] }),
    );
    expect(error.message).toBe('[Number of records limit of 1000 exceeded.]');
  });
});

describe('readChangeRequest', () => {
  const request = (rrset: string, action = 'CREATE'): string =>
    `<ChangeResourceRecordSetsRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ChangeBatch><Changes><Change><Action>${action}</Action><ResourceRecordSet>${rrset}</ResourceRecordSet></Change></Changes><Comment>hi</Comment></ChangeBatch></ChangeResourceRecordSetsRequest>`;

  it('reads a failover alias set with every routing field', () => {
    const batch = readChangeRequest(
      parseXml(
        request(
          '<Name>Alias.Example.com</Name><Type>A</Type><SetIdentifier>p</SetIdentifier><Failover>PRIMARY</Failover><AliasTarget><HostedZoneId>/hostedzone/Z2FDTNDATAQYW2</HostedZoneId><DNSName>D111.cloudfront.net</DNSName><EvaluateTargetHealth>true</EvaluateTargetHealth></AliasTarget><HealthCheckId>hc-1</HealthCheckId>',
          'UPSERT',
        ),
      ),
    );
    expect(batch.comment).toBe('hi');
    expect(batch.changes).toEqual([
      {
        action: 'UPSERT',
        rawName: 'Alias.Example.com',
        rrset: {
          name: '',
          type: 'A',
          ttl: 0,
          values: [],
          setIdentifier: 'p',
          failover: 'PRIMARY',
          aliasTarget: { hostedZoneId: 'Z2FDTNDATAQYW2', dnsName: 'd111.cloudfront.net.', evaluateTargetHealth: true },
          healthCheckId: 'hc-1',
        },
      },
    ]);
  });

  it.each([
    ['<Name>a.example.com</Name><Type>A</Type><SetIdentifier>x</SetIdentifier><TTL>1</TTL><ResourceRecords><ResourceRecord><Value>192.0.2.1</Value></ResourceRecord></ResourceRecords>', 'but found none in Change with [Action=CREATE, Name=a.example.com, Type=A, SetIdentifier=x]'],
    ['<Name>a.example.com</Name><Type>A</Type><Weight>1</Weight><TTL>1</TTL><ResourceRecords><ResourceRecord><Value>192.0.2.1</Value></ResourceRecord></ResourceRecords>', "Missing field 'SetIdentifier'"],
    ['<Name>a.example.com</Name><Type>A</Type><TTL>-1</TTL><ResourceRecords><ResourceRecord><Value>192.0.2.1</Value></ResourceRecord></ResourceRecords>', "minInclusive '0'"],
    ['<Name>a.example.com</Name><Type>A</Type><TTL>1</TTL><ResourceRecords/>', "The content of element 'ResourceRecords' is not complete"],
    ['<Name>a.example.com</Name><Type>X25</Type><TTL>1</TTL><ResourceRecords><ResourceRecord><Value>1</Value></ResourceRecord></ResourceRecords>', "Value 'X25' is not facet-valid"],
    ['<Name>a.example.com</Name><Type>A</Type><TTL>1</TTL><Unknown/><ResourceRecords><ResourceRecord><Value>1</Value></ResourceRecord></ResourceRecords>', "Invalid content was found starting with element 'Unknown'"],
    ['<Name>a.example.com</Name><Type>A</Type><TrafficPolicyInstanceId>t</TrafficPolicyInstanceId>', 'does not support TrafficPolicyInstanceId'],
  ])('refuses a record set with InvalidInput: %#', (rrset, fragment) => {
    const error = failure(() => readChangeRequest(parseXml(request(rrset))));
    expect(error.code).toBe('InvalidInput');
    expect(error.message).toContain(fragment);
  });
});
