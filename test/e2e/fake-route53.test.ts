import {
  ChangeResourceRecordSetsCommand,
  CreateHostedZoneCommand,
  GetChangeCommand,
  GetHostedZoneCommand,
  ListHostedZonesByNameCommand,
  ListHostedZonesCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import type { Change, ListResourceRecordSetsCommandOutput, ResourceRecordSet } from '@aws-sdk/client-route-53';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../src/lib/clock.js';
import { answerPresentation, answerValues, queryDns, rcodeName } from '../../src/lib/dns-query.js';
import { FakeRoute53 } from '../../fakes/route53/server.js';
import type { FakeRoute53Options } from '../../fakes/route53/server.js';

/**
 * The fake Route53 driven by the real AWS SDK over loopback HTTP, and its zones asked over real
 * DNS. Every assertion is on what a client sees: SDK results and errors, DNS answers.
 */

const fakes: FakeRoute53[] = [];

async function startFake(options: FakeRoute53Options = {}): Promise<FakeRoute53> {
  const fake = await FakeRoute53.start(options);
  fakes.push(fake);
  return fake;
}

function clientFor(fake: FakeRoute53, maxAttempts = 1): Route53Client {
  return new Route53Client({
    endpoint: fake.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts,
  });
}

afterAll(async () => {
  await Promise.all(fakes.map((f) => f.close()));
});

function a(name: string, values: string[], ttl = 300): ResourceRecordSet {
  return { Name: name, Type: 'A', TTL: ttl, ResourceRecords: values.map((Value) => ({ Value })) };
}

function rrset(name: string, type: ResourceRecordSet['Type'], values: string[], ttl = 300, extra: Partial<ResourceRecordSet> = {}): ResourceRecordSet {
  return { Name: name, Type: type, TTL: ttl, ResourceRecords: values.map((Value) => ({ Value })), ...extra };
}

function send(client: Route53Client, zoneId: string, changes: Change[], signal?: AbortSignal) {
  return client.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: zoneId, ChangeBatch: { Changes: changes } }), signal === undefined ? {} : { abortSignal: signal });
}

async function listAll(client: Route53Client, zoneId: string, maxItems?: number): Promise<{ sets: ResourceRecordSet[]; pages: ListResourceRecordSetsCommandOutput[] }> {
  const sets: ResourceRecordSet[] = [];
  const pages: ListResourceRecordSetsCommandOutput[] = [];
  let start: { StartRecordName?: string; StartRecordType?: ResourceRecordSet['Type']; StartRecordIdentifier?: string } = {};
  for (let i = 0; i < 100; i++) {
    const page = await client.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, ...start, ...(maxItems === undefined ? {} : { MaxItems: maxItems }) }));
    pages.push(page);
    sets.push(...(page.ResourceRecordSets ?? []));
    if (page.IsTruncated !== true) return { sets, pages };
    start = {
      ...(page.NextRecordName === undefined ? {} : { StartRecordName: page.NextRecordName }),
      ...(page.NextRecordType === undefined ? {} : { StartRecordType: page.NextRecordType }),
      ...(page.NextRecordIdentifier === undefined ? {} : { StartRecordIdentifier: page.NextRecordIdentifier }),
    };
  }
  throw new Error('listing did not end within 100 pages');
}

const keyOf = (rs: ResourceRecordSet): string => `${rs.Name ?? ''} ${rs.Type ?? ''}${rs.SetIdentifier === undefined ? '' : ` ${rs.SetIdentifier}`}`;

describe('hosted zones', () => {
  let fake: FakeRoute53;
  let client: Route53Client;

  beforeAll(async () => {
    fake = await startFake();
    client = clientFor(fake);
  });

  it('creates a zone with SOA, NS and a four-server delegation set that GetHostedZone repeats', async () => {
    const created = await client.send(new CreateHostedZoneCommand({ Name: 'Create.Example.com', CallerReference: 'ref-1' }));
    expect(created.HostedZone?.Id).toMatch(/^\/hostedzone\/Z[A-Z0-9]{20}$/);
    expect(created.HostedZone?.Name).toBe('create.example.com.');
    expect(created.ChangeInfo?.Status).toBe('PENDING');
    expect(created.Location).toBe(`https://route53.amazonaws.com/2013-04-01${created.HostedZone?.Id ?? ''}`);
    const servers = created.DelegationSet?.NameServers ?? [];
    expect(servers).toHaveLength(4);
    for (const [i, tld] of ['com', 'net', 'org', 'co.uk'].entries()) {
      expect(servers[i]).toMatch(new RegExp(`^ns-\\d{1,4}\\.awsdns-\\d\\d\\.${tld.replace('.', '\\.')}$`));
    }

    const got = await client.send(new GetHostedZoneCommand({ Id: created.HostedZone?.Id ?? '' }));
    expect(got.DelegationSet?.NameServers).toEqual(servers);
    expect(got.HostedZone).toMatchObject({ Name: 'create.example.com.', CallerReference: 'ref-1', ResourceRecordSetCount: 2, Config: { PrivateZone: false } });

    const { sets } = await listAll(client, got.HostedZone?.Id ?? '');
    expect(sets.map(keyOf)).toEqual(['create.example.com. NS', 'create.example.com. SOA']);
    expect(sets[0]).toMatchObject({ TTL: 172800, ResourceRecords: servers.map((s) => ({ Value: `${s}.` })) });
    expect(sets[1]?.TTL).toBe(900);
    expect(sets[1]?.ResourceRecords?.[0]?.Value).toBe(`${servers[0] ?? ''}. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400`);
  });

  it('refuses a second zone with the same caller reference', async () => {
    await client.send(new CreateHostedZoneCommand({ Name: 'dup.example.com', CallerReference: 'ref-dup' }));
    await expect(client.send(new CreateHostedZoneCommand({ Name: 'dup2.example.com', CallerReference: 'ref-dup' }))).rejects.toMatchObject({
      name: 'HostedZoneAlreadyExists',
      $metadata: { httpStatusCode: 409 },
    });
  });

  it('answers NoSuchHostedZone with 404 for an unknown id, with or without the /hostedzone/ prefix', async () => {
    for (const id of ['ZNOPE', '/hostedzone/ZNOPE']) {
      await expect(client.send(new GetHostedZoneCommand({ Id: id }))).rejects.toMatchObject({
        name: 'NoSuchHostedZone',
        message: 'No hosted zone found with ID: ZNOPE',
        $metadata: { httpStatusCode: 404 },
      });
    }
  });

  it('lists zones by reversed name and pages both zone listings', async () => {
    const local = await startFake();
    const c = clientFor(local);
    for (const name of ['b.example.org', 'example.com', 'a.example.com', 'example.net']) local.createZone(name);
    const names: string[] = [];
    let page = await c.send(new ListHostedZonesByNameCommand({ MaxItems: 3 }));
    names.push(...(page.HostedZones ?? []).map((z) => z.Name ?? ''));
    expect(page).toMatchObject({ IsTruncated: true, NextDNSName: expect.any(String) as string, NextHostedZoneId: expect.any(String) as string });
    page = await c.send(new ListHostedZonesByNameCommand({ DNSName: page.NextDNSName, HostedZoneId: page.NextHostedZoneId, MaxItems: 3 }));
    names.push(...(page.HostedZones ?? []).map((z) => z.Name ?? ''));
    expect(page.IsTruncated).toBe(false);
    expect(page.NextDNSName).toBeUndefined();
    expect(names).toEqual(['example.com.', 'a.example.com.', 'example.net.', 'b.example.org.']);

    const first = await c.send(new ListHostedZonesCommand({ MaxItems: 3 }));
    expect(first.HostedZones).toHaveLength(3);
    expect(first.IsTruncated).toBe(true);
    const second = await c.send(new ListHostedZonesCommand({ Marker: first.NextMarker }));
    expect(second.HostedZones).toHaveLength(1);
    expect(second.IsTruncated).toBe(false);
  });
});

describe('ChangeResourceRecordSets', () => {
  let fake: FakeRoute53;
  let client: Route53Client;
  let zoneId: string;

  beforeAll(async () => {
    fake = await startFake();
    client = clientFor(fake);
    zoneId = fake.createZone('example.com').id;
  });

  it('applies CREATE, UPSERT and DELETE and returns the result through ListResourceRecordSets', async () => {
    const created = await send(client, zoneId, [
      { Action: 'CREATE', ResourceRecordSet: a('www.example.com', ['192.0.2.1', '192.0.2.2']) },
      { Action: 'CREATE', ResourceRecordSet: rrset('txt.example.com', 'TXT', ['"v=spf1 -all"', '"a & b <c>" "second string"']) },
      { Action: 'CREATE', ResourceRecordSet: rrset('mail.example.com', 'MX', ['10 mx1.example.net.']) },
    ]);
    expect(created.ChangeInfo).toMatchObject({ Status: 'PENDING', Id: expect.stringMatching(/^\/change\/C[A-Z0-9]{20}$/) as string });
    expect(created.ChangeInfo?.SubmittedAt).toBeInstanceOf(Date);

    await send(client, zoneId, [
      { Action: 'UPSERT', ResourceRecordSet: a('WWW.example.com.', ['198.51.100.7'], 60) },
      { Action: 'DELETE', ResourceRecordSet: rrset('mail.example.com', 'MX', ['10 mx1.example.net.']) },
    ]);
    const { sets } = await listAll(client, zoneId);
    expect(sets.map(keyOf)).toEqual(['example.com. NS', 'example.com. SOA', 'txt.example.com. TXT', 'www.example.com. A']);
    expect(sets.find((s) => s.Name === 'www.example.com.')).toMatchObject({ TTL: 60, ResourceRecords: [{ Value: '198.51.100.7' }] });
    expect(sets.find((s) => s.Type === 'TXT')?.ResourceRecords).toEqual([{ Value: '"v=spf1 -all"' }, { Value: '"a & b <c>" "second string"' }]);
  });

  it('applies nothing of a batch with one bad change, and says why in the bracketed message', async () => {
    const before = fake.zoneRecords(zoneId);
    const failing = send(client, zoneId, [
      { Action: 'CREATE', ResourceRecordSet: a('new.example.com', ['192.0.2.9']) },
      { Action: 'DELETE', ResourceRecordSet: a('gone.example.com', ['192.0.2.10']) },
    ]);
    await expect(failing).rejects.toMatchObject({
      name: 'InvalidChangeBatch',
      message: "[Tried to delete resource record set [name='gone.example.com.', type='A'] but it was not found]",
      $metadata: { httpStatusCode: 400 },
    });
    expect(fake.zoneRecords(zoneId)).toEqual(before);
  });

  it.each<{ title: string; changes: Change[]; message: string }>([
    {
      title: 'CREATE of an existing set',
      changes: [{ Action: 'CREATE', ResourceRecordSet: a('www.example.com', ['192.0.2.1']) }],
      message: "[Tried to create resource record set [name='www.example.com.', type='A'] but it already exists]",
    },
    {
      title: 'DELETE of a missing set',
      changes: [{ Action: 'DELETE', ResourceRecordSet: a('x.example.com', ['192.0.2.1']) }],
      message: "[Tried to delete resource record set [name='x.example.com.', type='A'] but it was not found]",
    },
    {
      title: 'DELETE with other values',
      changes: [{ Action: 'DELETE', ResourceRecordSet: a('www.example.com', ['192.0.2.99'], 60) }],
      message: "[Tried to delete resource record set [name='www.example.com.', type='A'] but the values provided do not match the current values]",
    },
    {
      title: 'DELETE with another TTL',
      changes: [{ Action: 'DELETE', ResourceRecordSet: a('www.example.com', ['198.51.100.7'], 61) }],
      message: "[Tried to delete resource record set [name='www.example.com.', type='A'] but the values provided do not match the current values]",
    },
    {
      title: 'CNAME beside other data',
      changes: [{ Action: 'CREATE', ResourceRecordSet: rrset('www.example.com', 'CNAME', ['edge.example.net']) }],
      message: '[RRSet of type CNAME with DNS name www.example.com. is not permitted as it conflicts with other records with the same DNS name in zone example.com.]',
    },
    {
      title: 'other data beside a CNAME',
      changes: [
        { Action: 'CREATE', ResourceRecordSet: rrset('alias.example.com', 'CNAME', ['edge.example.net']) },
        { Action: 'CREATE', ResourceRecordSet: rrset('alias.example.com', 'TXT', ['"x"']) },
      ],
      message: '[RRSet of type TXT with DNS name alias.example.com. is not permitted because a conflicting RRSet of type CNAME with the same DNS name already exists in zone example.com.]',
    },
    {
      title: 'CNAME at the apex',
      changes: [{ Action: 'UPSERT', ResourceRecordSet: rrset('example.com', 'CNAME', ['edge.example.net']) }],
      message: '[RRSet of type CNAME with DNS name example.com. is not permitted at apex in zone example.com.]',
    },
    {
      title: 'a name outside the zone',
      changes: [{ Action: 'CREATE', ResourceRecordSet: a('www.example.org', ['192.0.2.1']) }],
      message: '[RRSet with DNS name www.example.org. is not permitted in zone example.com.]',
    },
    {
      title: 'a set identifier in the description',
      changes: [{ Action: 'DELETE', ResourceRecordSet: { ...a('geo.example.com', ['192.0.2.1']), SetIdentifier: 'Default', Weight: 10 } }],
      message: "[Tried to delete resource record set [name='geo.example.com.', type='A', set-identifier='Default'] but it was not found]",
    },
    {
      title: 'several problems at once',
      changes: [
        { Action: 'CREATE', ResourceRecordSet: a('www.example.com', ['192.0.2.1']) },
        { Action: 'DELETE', ResourceRecordSet: a('x.example.com', ['192.0.2.1']) },
      ],
      message:
        "[Tried to create resource record set [name='www.example.com.', type='A'] but it already exists, Tried to delete resource record set [name='x.example.com.', type='A'] but it was not found]",
    },
    {
      title: 'an address that is not IPv4',
      changes: [{ Action: 'UPSERT', ResourceRecordSet: a('bad.example.com', ['192.0.2.300']) }],
      message: "[Invalid Resource Record: 'FATAL problem: ARRDATAIllegalIPv4Address (Value is not a valid IPv4 address) encountered with '192.0.2.300'']",
    },
    {
      title: 'a TXT value without quotes',
      changes: [{ Action: 'UPSERT', ResourceRecordSet: rrset('t.example.com', 'TXT', ['no quotes']) }],
      message: "[Invalid Resource Record: 'FATAL problem: InvalidCharacterString (Value should be enclosed in quotation marks) encountered with 'no quotes'']",
    },
  ])('refuses $title with InvalidChangeBatch', async ({ changes, message }) => {
    const before = fake.zoneRecords(zoneId);
    await expect(send(client, zoneId, changes)).rejects.toMatchObject({ name: 'InvalidChangeBatch', message });
    expect(fake.zoneRecords(zoneId)).toEqual(before);
  });

  it('refuses to delete the apex SOA or NS', async () => {
    for (const [type, message] of [
      ['SOA', '[A HostedZone must contain exactly one SOA record.]'],
      ['NS', '[A HostedZone must contain at least one NS record for the zone itself.]'],
    ] as const) {
      const held = fake.zoneRecords(zoneId).find((rs) => rs.name === 'example.com.' && rs.type === type);
      const change: Change = { Action: 'DELETE', ResourceRecordSet: rrset('example.com', type, [...(held?.values ?? [])], held?.ttl) };
      await expect(send(client, zoneId, [change])).rejects.toMatchObject({ name: 'InvalidChangeBatch', message });
    }
  });

  it('allows DELETE then CREATE of one set in one batch, in order', async () => {
    await send(client, zoneId, [
      { Action: 'DELETE', ResourceRecordSet: a('www.example.com', ['198.51.100.7'], 60) },
      { Action: 'CREATE', ResourceRecordSet: a('www.example.com', ['198.51.100.8'], 60) },
    ]);
    expect(fake.zoneRecords(zoneId).find((rs) => rs.name === 'www.example.com.')?.values).toEqual(['198.51.100.8']);
  });

  it('counts ResourceRecord elements against the 1,000 limit, UPSERT twice', async () => {
    const values = (n: number): string[] => Array.from({ length: n }, (_, i) => `10.${Math.floor(i / 250)}.${i % 250}.1`);
    await expect(send(client, zoneId, [{ Action: 'CREATE', ResourceRecordSet: a('big.example.com', values(1001)) }])).rejects.toMatchObject({
      name: 'InvalidChangeBatch',
      message: '[Number of records limit of 1000 exceeded.]',
    });
    await expect(send(client, zoneId, [{ Action: 'UPSERT', ResourceRecordSet: a('big.example.com', values(501)) }])).rejects.toMatchObject({
      message: '[Number of records limit of 1000 exceeded.]',
    });
    await send(client, zoneId, [{ Action: 'UPSERT', ResourceRecordSet: a('big.example.com', values(500)) }]);
    expect(fake.zoneRecords(zoneId).find((rs) => rs.name === 'big.example.com.')?.values).toHaveLength(500);
  });

  it('counts value characters against the 32,000 limit', async () => {
    const long = (i: number): string => `"${String(i).padStart(3, '0')}${'x'.repeat(250)}"`;
    const values = Array.from({ length: 130 }, (_, i) => long(i));
    await expect(send(client, zoneId, [{ Action: 'CREATE', ResourceRecordSet: rrset('chars.example.com', 'TXT', values) }])).rejects.toMatchObject({
      name: 'InvalidChangeBatch',
      message: '[RDATA character limit of 32000 exceeded.]',
    });
  });

  it('refuses XML the schema does not allow with InvalidInput', async () => {
    const post = (body: string): Promise<Response> =>
      fetch(`${fake.endpoint}/2013-04-01/hostedzone/${zoneId}/rrset`, { method: 'POST', headers: { authorization: 'AWS4-HMAC-SHA256 test' }, body });
    const cases = [
      ['<ChangeResourceRecordSetsRequest><ChangeBatch><Changes><Change>', 'is not closed'],
      ['<!DOCTYPE x><ChangeResourceRecordSetsRequest/>', 'DOCTYPE'],
      [
        '<ChangeResourceRecordSetsRequest><ChangeBatch><Changes><Change><Action>RENAME</Action><ResourceRecordSet><Name>a.example.com</Name><Type>A</Type><TTL>1</TTL><ResourceRecords><ResourceRecord><Value>192.0.2.1</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>',
        "Value 'RENAME' is not facet-valid with respect to enumeration '[CREATE, DELETE, UPSERT]'",
      ],
      [
        '<ChangeResourceRecordSetsRequest><ChangeBatch><Changes><Change><Action>CREATE</Action><ResourceRecordSet><Type>A</Type><Name>a.example.com</Name></ResourceRecordSet></Change></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>',
        "Invalid content was found starting with element 'Type'",
      ],
      [
        '<ChangeResourceRecordSetsRequest><ChangeBatch><Changes><Change><Action>CREATE</Action><ResourceRecordSet><Name>a.example.com</Name><Type>A</Type></ResourceRecordSet></Change></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>',
        'Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found none in Change with [Action=CREATE, Name=a.example.com, Type=A, SetIdentifier=null]',
      ],
    ] as const;
    for (const [body, fragment] of cases) {
      const res = await post(body);
      const text = await res.text();
      expect(res.status).toBe(400);
      expect(text).toContain('<Code>InvalidInput</Code>');
      expect(text).toContain(fragment);
    }
    const wrongRoot = await post('<ChangeBatch/>');
    expect(await wrongRoot.text()).toContain('<Code>MalformedInput</Code><Message>ChangeBatch is not valid, expected ChangeResourceRecordSetsRequest</Message>');
  });

  it('answers 403 MissingAuthenticationToken to an unsigned request', async () => {
    const res = await fetch(`${fake.endpoint}/2013-04-01/hostedzone/${zoneId}`);
    expect(res.status).toBe(403);
    expect(res.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
    expect(await res.text()).toMatch(/^<\?xml version="1.0"\?>\n<ErrorResponse xmlns="https:\/\/route53.amazonaws.com\/doc\/2013-04-01\/"><Error><Type>Sender<\/Type><Code>MissingAuthenticationToken<\/Code>/);
  });
});

describe('ListResourceRecordSets', () => {
  let fake: FakeRoute53;
  let client: Route53Client;
  let zoneId: string;

  beforeAll(async () => {
    fake = await startFake();
    client = clientFor(fake);
    zoneId = fake.createZone('example.com').id;
    const changes: Change[] = [
      { Action: 'CREATE', ResourceRecordSet: a('a.example.com', ['192.0.2.1']) },
      { Action: 'CREATE', ResourceRecordSet: a('*.example.com', ['192.0.2.2']) },
      { Action: 'CREATE', ResourceRecordSet: a('z.a.example.com', ['192.0.2.3']) },
      { Action: 'CREATE', ResourceRecordSet: a('a-b.example.com', ['192.0.2.4']) },
      { Action: 'CREATE', ResourceRecordSet: rrset('a.example.com', 'TXT', ['"t"']) },
      { Action: 'CREATE', ResourceRecordSet: rrset('a.example.com', 'AAAA', ['2001:db8::1']) },
    ];
    for (let i = 0; i < 694; i++) changes.push({ Action: 'CREATE', ResourceRecordSet: a(`h${String(i).padStart(3, '0')}.bulk.example.com`, ['192.0.2.50']) });
    await send(client, zoneId, changes);
  });

  it('sorts by reversed labels with the trailing dot, then type, and escapes the wildcard', async () => {
    const { sets } = await listAll(client, zoneId);
    const interesting = sets.map(keyOf).filter((k) => !k.includes('.bulk.'));
    expect(interesting).toEqual([
      'example.com. NS',
      'example.com. SOA',
      '\\052.example.com. A',
      'a-b.example.com. A',
      'a.example.com. A',
      'a.example.com. AAAA',
      'a.example.com. TXT',
      'z.a.example.com. A',
    ]);
    const bulk = sets.map((s) => s.Name ?? '').filter((n) => n.includes('.bulk.'));
    expect(bulk).toEqual([...bulk].sort());
    expect(sets).toHaveLength(702);
  });

  it('pages 702 record sets by 300 with Next* only while truncated', async () => {
    const { sets, pages } = await listAll(client, zoneId);
    expect(pages.map((p) => p.ResourceRecordSets?.length)).toEqual([300, 300, 102]);
    expect(pages.map((p) => p.IsTruncated)).toEqual([true, true, false]);
    expect(pages[2]?.NextRecordName).toBeUndefined();
    expect(pages[2]?.NextRecordType).toBeUndefined();
    expect(pages[0]?.MaxItems).toBe(300);
    expect(new Set(sets.map(keyOf)).size).toBe(702);
    const { sets: small } = await listAll(client, zoneId, 25);
    expect(small.map(keyOf)).toEqual(sets.map(keyOf));
    // More than 300 asked for: the page stays at 300, MaxItems echoes the request.
    const big = await client.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, MaxItems: 1000 }));
    expect(big.ResourceRecordSets).toHaveLength(300);
    expect(big.MaxItems).toBe(1000);
  });

  it('starts at a name, a name and type, or the wildcard written either way', async () => {
    const atName = await client.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, StartRecordName: 'A.example.com', MaxItems: 2 }));
    expect(atName.ResourceRecordSets?.map(keyOf)).toEqual(['a.example.com. A', 'a.example.com. AAAA']);
    expect(atName).toMatchObject({ IsTruncated: true, NextRecordName: 'a.example.com.', NextRecordType: 'TXT' });
    const atType = await client.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, StartRecordName: 'a.example.com.', StartRecordType: 'TXT', MaxItems: 1 }));
    expect(atType.ResourceRecordSets?.map(keyOf)).toEqual(['a.example.com. TXT']);
    for (const name of ['*.example.com', '\\052.example.com.']) {
      const wildcard = await client.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, StartRecordName: name, MaxItems: 1 }));
      expect(wildcard.ResourceRecordSets?.[0]?.Name).toBe('\\052.example.com.');
    }
    await expect(client.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, StartRecordType: 'A' }))).rejects.toMatchObject({ name: 'InvalidInput' });
  });

  it('splits a group of weighted sets between pages with NextRecordIdentifier', async () => {
    const local = await startFake();
    const c = clientFor(local);
    const id = local.createZone('example.com').id;
    await send(
      c,
      id,
      ['one', 'two', 'three'].map((SetIdentifier, i) => ({ Action: 'CREATE', ResourceRecordSet: { ...a('w.example.com', [`192.0.2.${i + 1}`], 60), SetIdentifier, Weight: 10 } })),
    );
    const first = await c.send(new ListResourceRecordSetsCommand({ HostedZoneId: id, StartRecordName: 'w.example.com', MaxItems: 2 }));
    expect(first.ResourceRecordSets?.map((s) => s.SetIdentifier)).toEqual(['one', 'three']);
    expect(first).toMatchObject({ IsTruncated: true, NextRecordName: 'w.example.com.', NextRecordType: 'A', NextRecordIdentifier: 'two' });
    const rest = await c.send(
      new ListResourceRecordSetsCommand({ HostedZoneId: id, StartRecordName: first.NextRecordName, StartRecordType: first.NextRecordType, StartRecordIdentifier: first.NextRecordIdentifier }),
    );
    expect(rest.ResourceRecordSets?.map((s) => [s.SetIdentifier, s.Weight])).toEqual([['two', 10]]);
    expect(rest.NextRecordIdentifier).toBeUndefined();
  });
});

describe('changes and their status', () => {
  it('stays PENDING until changeDelayMs has passed, then GetChange says INSYNC', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const fake = await startFake({ changeDelayMs: 2_000, clock });
    const client = clientFor(fake);
    const zoneId = fake.createZone('example.com').id;
    const { ChangeInfo } = await send(client, zoneId, [{ Action: 'CREATE', ResourceRecordSet: a('www.example.com', ['192.0.2.1']) }]);
    expect(ChangeInfo?.SubmittedAt?.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    const id = ChangeInfo?.Id ?? '';
    expect((await client.send(new GetChangeCommand({ Id: id }))).ChangeInfo?.Status).toBe('PENDING');
    clock.advance(1_999);
    expect((await client.send(new GetChangeCommand({ Id: id }))).ChangeInfo?.Status).toBe('PENDING');
    clock.advance(1);
    expect((await client.send(new GetChangeCommand({ Id: id.replace('/change/', '') }))).ChangeInfo).toMatchObject({ Status: 'INSYNC', Id: id });
  });

  it('turns INSYNC on the real clock after a small delay (polled, bounded)', async () => {
    const fake = await startFake({ changeDelayMs: 20 });
    const client = clientFor(fake);
    const zoneId = fake.createZone('example.com').id;
    const { ChangeInfo } = await send(client, zoneId, [{ Action: 'CREATE', ResourceRecordSet: a('www.example.com', ['192.0.2.1']) }]);
    expect(ChangeInfo?.Status).toBe('PENDING');
    await vi.waitFor(
      async () => {
        expect((await client.send(new GetChangeCommand({ Id: ChangeInfo?.Id ?? '' }))).ChangeInfo?.Status).toBe('INSYNC');
      },
      { timeout: 5_000, interval: 10 },
    );
  });

  it('answers an unknown change id with 404 NoSuchChange', async () => {
    const fake = await startFake();
    await expect(clientFor(fake).send(new GetChangeCommand({ Id: '/change/CNOPE' }))).rejects.toMatchObject({
      name: 'NoSuchChange',
      message: 'Could not find resource with ID: CNOPE',
      $metadata: { httpStatusCode: 404 },
    });
  });

  it('refuses a change with PriorRequestNotComplete while the previous one on the zone is PENDING', async () => {
    const clock = new ManualClock(1_000_000);
    const fake = await startFake({ changeDelayMs: 500, clock, faults: { priorRequestNotComplete: true } });
    const client = clientFor(fake);
    const zoneId = fake.createZone('example.com').id;
    const otherZone = fake.createZone('example.org').id;
    await send(client, zoneId, [{ Action: 'CREATE', ResourceRecordSet: a('one.example.com', ['192.0.2.1']) }]);
    await expect(send(client, zoneId, [{ Action: 'CREATE', ResourceRecordSet: a('two.example.com', ['192.0.2.2']) }])).rejects.toMatchObject({
      name: 'PriorRequestNotComplete',
      $metadata: { httpStatusCode: 400 },
    });
    // Other zones are not held up.
    await send(client, otherZone, [{ Action: 'CREATE', ResourceRecordSet: a('x.example.org', ['192.0.2.3']) }]);
    clock.advance(500);
    await send(client, zoneId, [{ Action: 'CREATE', ResourceRecordSet: a('two.example.com', ['192.0.2.2']) }]);
    expect(fake.zoneRecords('example.com').map((rs) => rs.name)).toContain('two.example.com.');
  });
});

describe('injected faults', () => {
  let fake: FakeRoute53;
  let client: Route53Client;
  let zoneId: string;

  beforeAll(async () => {
    fake = await startFake();
    client = clientFor(fake);
    zoneId = fake.createZone('example.com').id;
  });

  afterEach(() => {
    fake.setFaults({ throttleRate: 0, serverErrorRate: 0, serverErrorsNext: 0, dropRate: 0, delayMs: 0, tokenBucket: undefined });
    fake.clearRequests();
  });

  const list = (c = client) => c.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }));

  it('throttles with 400 Throttling "Rate exceeded", which the SDK names Throttling', async () => {
    fake.setFaults({ throttleRate: 1 });
    await expect(list()).rejects.toMatchObject({ name: 'Throttling', message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } });
    expect(fake.requests.at(-1)).toMatchObject({ operation: 'ListResourceRecordSets', status: 400, errorCode: 'Throttling', zoneId });
  });

  it('answers 500 InternalFailure for the next N requests, which the SDK retries', async () => {
    fake.setFaults({ serverErrorsNext: 1 });
    await expect(list()).rejects.toMatchObject({ name: 'InternalFailure', $fault: 'server', $metadata: { httpStatusCode: 500 } });
    fake.setFaults({ serverErrorsNext: 2 });
    const retried = await list(clientFor(fake, 3));
    expect(retried.$metadata.attempts).toBe(3);
    expect(fake.requests.map((r) => r.status)).toEqual([500, 500, 500, 200]);
  });

  it('answers a share of requests with InternalFailure, the same share each run with the same seed', async () => {
    const outcomes = async (target: FakeRoute53): Promise<string[]> => {
      const c = clientFor(target);
      const id = target.createZone('seeded.example.com').id;
      const seen: string[] = [];
      for (let i = 0; i < 20; i++) {
        seen.push(await c.send(new GetHostedZoneCommand({ Id: id })).then(() => 'ok', (err: unknown) => (err as Error).name));
      }
      return seen;
    };
    const first = await outcomes(await startFake({ random: seeded(11), faults: { serverErrorRate: 0.5 } }));
    const second = await outcomes(await startFake({ random: seeded(11), faults: { serverErrorRate: 0.5 } }));
    expect(first).toContain('InternalFailure');
    expect(first).toContain('ok');
    expect(second).toEqual(first);
  });

  it('drops the connection without an answer; the SDK sees a network error', async () => {
    fake.setFaults({ dropRate: 1 });
    const error = await list().then(
      () => undefined,
      (err: unknown) => err as Error & { code?: string; $metadata?: { httpStatusCode?: number } },
    );
    expect(error).toBeDefined();
    expect(error?.$metadata?.httpStatusCode).toBeUndefined();
    expect(`${error?.code ?? ''} ${error?.message ?? ''}`).toMatch(/ECONNRESET|socket hang up/);
    expect(fake.requests.at(-1)).toMatchObject({ operation: 'ListResourceRecordSets', status: 0 });
  });

  it('throttles beyond an account token bucket and refills it with time', async () => {
    const clock = new ManualClock(0);
    const bucketed = await startFake({ clock, faults: { tokenBucket: { capacity: 2, refillPerSecond: 1 } } });
    const c = clientFor(bucketed);
    const id = bucketed.createZone('example.com').id;
    const get = () => c.send(new GetHostedZoneCommand({ Id: id }));
    await get();
    await get();
    await expect(get()).rejects.toMatchObject({ name: 'Throttling' });
    clock.advance(1_000);
    await get();
    await expect(get()).rejects.toMatchObject({ name: 'Throttling' });
  });

  it('delays answers, and a change whose answer the client gave up on is still applied', async () => {
    fake.setFaults({ delayMs: 60_000 });
    const abort = new AbortController();
    const pending = send(client, zoneId, [{ Action: 'CREATE', ResourceRecordSet: a('late.example.com', ['192.0.2.1']) }], abort.signal);
    const settled = pending.then(
      () => 'answered',
      (err: unknown) => (err as Error).name,
    );
    await vi.waitFor(() => {
      expect(fake.zoneRecords(zoneId).some((rs) => rs.name === 'late.example.com.')).toBe(true);
    });
    abort.abort();
    expect(await settled).toBe('AbortError');
  });

  it('keeps a request log with operation, status, zone and number of changes', async () => {
    await send(client, zoneId, [
      { Action: 'UPSERT', ResourceRecordSet: a('log1.example.com', ['192.0.2.1']) },
      { Action: 'UPSERT', ResourceRecordSet: a('log2.example.com', ['192.0.2.2']) },
    ]);
    await expect(send(client, zoneId, [{ Action: 'CREATE', ResourceRecordSet: a('log1.example.com', ['192.0.2.1']) }])).rejects.toThrow();
    await client.send(new GetHostedZoneCommand({ Id: zoneId }));
    expect(fake.requests.map(({ operation, status, errorCode, zoneId: z, changes }) => ({ operation, status, errorCode, zoneId: z, changes }))).toEqual([
      { operation: 'ChangeResourceRecordSets', status: 200, errorCode: undefined, zoneId, changes: 2 },
      { operation: 'ChangeResourceRecordSets', status: 400, errorCode: 'InvalidChangeBatch', zoneId, changes: 1 },
      { operation: 'GetHostedZone', status: 200, errorCode: undefined, zoneId, changes: undefined },
    ]);
    expect(fake.requests.every((r) => typeof r.at === 'number' && r.at > 0)).toBe(true);
    fake.clearRequests();
    expect(fake.requests).toHaveLength(0);
  });

  it('refuses fault values out of range', () => {
    expect(() => {
      fake.setFaults({ throttleRate: 1.5 });
    }).toThrow(/throttleRate/);
    expect(fake.faults.throttleRate).toBe(0);
  });
});

describe('DNS service of the hosted zones', () => {
  let fake: FakeRoute53;
  let client: Route53Client;
  let zoneId: string;
  let nameservers: string[];

  beforeAll(async () => {
    fake = await startFake();
    client = clientFor(fake);
    ({ id: zoneId, nameservers } = fake.createZone('example.com'));
  });

  const serial = async (): Promise<number> => {
    const reply = await queryDns(fake.dnsAddress, 'example.com', 'SOA');
    const soa = reply.packet.answers?.[0];
    return soa?.type === 'SOA' ? (soa.data.serial ?? -1) : -1;
  };

  it('answers over UDP for a record created through the API, authoritatively', async () => {
    await send(client, zoneId, [{ Action: 'CREATE', ResourceRecordSet: a('www.example.com', ['192.0.2.1', '192.0.2.2'], 60) }]);
    const reply = await queryDns(fake.dnsAddress, 'www.example.com', 'A');
    expect(reply.transport).toBe('udp');
    expect(rcodeName(reply.packet)).toBe('NOERROR');
    expect((reply.packet.flags ?? 0) & 0x0400).toBe(0x0400);
    expect(answerValues(reply.packet, 'A')).toEqual(['192.0.2.1', '192.0.2.2']);
    const first = reply.packet.answers?.[0];
    expect(first?.type === 'A' ? first.ttl : undefined).toBe(60);
    const ns = await queryDns(fake.dnsAddress, 'example.com', 'NS');
    expect(answerValues(ns.packet, 'NS')).toEqual(nameservers.map((n) => n.replace(/\.$/, '')).sort());
    const missing = await queryDns(fake.dnsAddress, 'nope.example.com', 'A');
    expect(rcodeName(missing.packet)).toBe('NXDOMAIN');
  });

  it('raises the SOA serial with every change batch', async () => {
    const before = await serial();
    await send(client, zoneId, [{ Action: 'UPSERT', ResourceRecordSet: a('s.example.com', ['192.0.2.9']) }]);
    expect(await serial()).toBe(before + 1);
    fake.putRecordDirect(zoneId, { name: 'direct.example.com.', type: 'A', ttl: 30, values: ['192.0.2.77'] });
    expect(await serial()).toBe(before + 2);
    expect(answerValues((await queryDns(fake.dnsAddress, 'direct.example.com', 'A')).packet, 'A')).toEqual(['192.0.2.77']);
  });

  it('serves TXT values as Route53 stores them, long data in 255-byte strings', async () => {
    const long = 'x'.repeat(300);
    await send(client, zoneId, [{ Action: 'UPSERT', ResourceRecordSet: rrset('txt.example.com', 'TXT', [`"${long.slice(0, 250)}" "${long.slice(250)}"`, '"say \\"hi\\""']) }]);
    const reply = await queryDns(fake.dnsAddress, 'txt.example.com', 'TXT');
    const texts = (reply.packet.answers ?? []).map((ans) => answerPresentation(ans)).sort();
    expect(texts).toEqual(['say "hi"', long].sort());
    const longAnswer = (reply.packet.answers ?? []).find((ans) => answerPresentation(ans) === long);
    expect(longAnswer?.type === 'TXT' && Array.isArray(longAnswer.data) ? longAnswer.data.map((s) => s.length) : []).toEqual([255, 45]);
  });

  it('answers from a wildcard and serves the PRIMARY of a failover pair', async () => {
    await send(client, zoneId, [
      { Action: 'CREATE', ResourceRecordSet: a('*.wild.example.com', ['192.0.2.50']) },
      { Action: 'CREATE', ResourceRecordSet: { ...a('fo.example.com', ['192.0.2.60'], 60), SetIdentifier: 'b', Failover: 'SECONDARY' } },
      { Action: 'CREATE', ResourceRecordSet: { ...a('fo.example.com', ['192.0.2.61'], 60), SetIdentifier: 'a', Failover: 'PRIMARY' } },
    ]);
    expect(answerValues((await queryDns(fake.dnsAddress, 'anything.wild.example.com', 'A')).packet, 'A')).toEqual(['192.0.2.50']);
    expect(answerValues((await queryDns(fake.dnsAddress, 'fo.example.com', 'A')).packet, 'A')).toEqual(['192.0.2.61']);
  });

  it('refuses names outside every hosted zone', async () => {
    expect(rcodeName((await queryDns(fake.dnsAddress, 'www.example.org', 'A')).packet)).toBe('REFUSED');
  });
});

/** mulberry32: a small seeded generator, so fault decisions repeat run after run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
