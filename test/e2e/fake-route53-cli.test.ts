import { ChangeResourceRecordSetsCommand, GetChangeCommand, Route53Client } from '@aws-sdk/client-route-53';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { answerValues, queryDns } from '../../src/lib/dns-query.js';
import { announcement, closed, killFakeProcesses, startFakeProcess } from '../helpers/fake-process.js';

afterEach(killFakeProcesses);

interface Announcement {
  endpoint: string;
  dns: string;
  zones: { name: string; id: string; nameservers: string[] }[];
}

describe('the standalone fake Route53 (npm run fake:route53)', () => {
  it('prints one JSON line once listening, serves API and DNS, and stops on SIGTERM', async () => {
    const started = startFakeProcess('route53', ['--zone', 'example.com', '--zone', 'Other.Example.org.', '--change-delay', '50ms']);
    const announced = await announcement<Announcement>(started);
    expect(announced.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(announced.dns).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(announced.zones.map((z) => z.name)).toEqual(['example.com.', 'other.example.org.']);
    expect(announced.zones[0]?.id).toMatch(/^Z[A-Z0-9]{20}$/);
    expect(announced.zones[0]?.nameservers).toHaveLength(4);
    expect(announced.zones[0]?.nameservers[0]).toMatch(/^ns-\d+\.awsdns-\d\d\.com\.$/);

    const client = new Route53Client({ endpoint: announced.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
    const { ChangeInfo } = await client.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: announced.zones[0]?.id,
        ChangeBatch: { Changes: [{ Action: 'CREATE', ResourceRecordSet: { Name: 'www.example.com', Type: 'A', TTL: 60, ResourceRecords: [{ Value: '192.0.2.1' }] } }] },
      }),
    );
    expect(ChangeInfo?.Status).toBe('PENDING');
    await vi.waitFor(
      async () => {
        expect((await client.send(new GetChangeCommand({ Id: ChangeInfo?.Id }))).ChangeInfo?.Status).toBe('INSYNC');
      },
      { timeout: 5_000, interval: 20 },
    );
    const [host = '', port = ''] = announced.dns.split(':');
    const reply = await queryDns({ host, port: Number(port) }, 'www.example.com', 'A');
    expect(answerValues(reply.packet, 'A')).toEqual(['192.0.2.1']);

    started.child.kill('SIGTERM');
    expect(await closed(started.child)).toBe(0);
    expect(started.stdout.join('').trim().split('\n')).toHaveLength(1);
  });

  it('gives every zone the --delegation-set name servers, and serves the zone under them', async () => {
    const set = ['ns-1.awsdns-01.org', 'ns-2.awsdns-02.net', 'ns-3.awsdns-03.com', 'ns-4.awsdns-04.co.uk'];
    const started = startFakeProcess('route53', ['--delegation-set', set.join(',').toUpperCase(), '--zone', 'example.com', '--zone', 'example.org']);
    const announced = await announcement<Announcement>(started);
    for (const zone of announced.zones) expect(zone.nameservers).toEqual(set.map((h) => `${h}.`));
    const [host = '', port = ''] = announced.dns.split(':');
    const reply = await queryDns({ host, port: Number(port) }, 'example.org.', 'NS');
    expect(answerValues(reply.packet, 'NS').sort()).toEqual([...set].sort());
    started.child.kill('SIGTERM');
    expect(await closed(started.child)).toBe(0);
  });

  it('stops on SIGINT as well', async () => {
    const started = startFakeProcess('route53', []);
    await vi.waitFor(
      () => {
        expect(started.stdout.join('')).toContain('"endpoint"');
      },
      { timeout: 15_000, interval: 20 },
    );
    started.child.kill('SIGINT');
    expect(await closed(started.child)).toBe(0);
  });

  it.each([
    [['--port', 'abc'], '--port: "abc" is not a port number (0-65535)'],
    [['--dns-port', '70000'], '--dns-port: "70000" is not a port number (0-65535)'],
    [['--change-delay', '5'], '--change-delay: duration needs a unit, e.g. 5s'],
    [['--host', 'localhost'], '--host: "localhost" is not an IP address'],
    [['--zone', 'a..example.com'], '--zone: a..example.com is not a valid domain name'],
    [['--delegation-set', 'ns-1.awsdns-01.org,not a host'], '--delegation-set: "not a host" is not a host name'],
    [['--bogus'], "Unknown option '--bogus'"],
    [['stray'], 'stray'],
  ])('refuses %j with exit code 2 and a clear message', async (args, message) => {
    const started = startFakeProcess('route53', args);
    expect(await closed(started.child)).toBe(2);
    expect(started.stderr.join('')).toContain(message);
    expect(started.stdout.join('')).toBe('');
  });

  it('answers --help on stdout', async () => {
    const started = startFakeProcess('route53', ['--help']);
    expect(await closed(started.child)).toBe(0);
    expect(started.stdout.join('')).toContain('--change-delay');
  });
});
