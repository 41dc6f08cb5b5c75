import { afterEach, describe, expect, it } from 'vitest';
import { answerValues, queryDns } from '../../src/lib/dns-query.js';
import { announcement, closed, killFakeProcesses, startFakeProcess } from '../helpers/fake-process.js';

afterEach(killFakeProcesses);

interface Announcement {
  endpoint: string;
  dns: string;
  apiKey: string;
  zones: { name: string; dnsServers: string[] }[];
}

describe('the standalone fake NS1 (npm run fake:ns1)', () => {
  it('prints one JSON line once listening, serves API and DNS, and stops on SIGTERM', async () => {
    const started = startFakeProcess('ns1', ['--zone', 'example.com', '--zone', 'Other.Example.org', '--api-key', 'cli-key', '--rate-limit', 'put=5/10']);
    const announced = await announcement<Announcement>(started);
    expect(announced.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1\/$/);
    expect(announced.dns).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(announced.apiKey).toBe('cli-key');
    expect(announced.zones).toEqual([
      { name: 'example.com', dnsServers: ['dns1.p01.nsone.net', 'dns2.p01.nsone.net', 'dns3.p01.nsone.net', 'dns4.p01.nsone.net'] },
      { name: 'other.example.org', dnsServers: ['dns1.p01.nsone.net', 'dns2.p01.nsone.net', 'dns3.p01.nsone.net', 'dns4.p01.nsone.net'] },
    ]);

    const unauthorized = await fetch(`${announced.endpoint}zones/example.com`);
    expect(unauthorized.status).toBe(401);
    await unauthorized.body?.cancel();
    const created = await fetch(`${announced.endpoint}zones/example.com/www.example.com/A`, {
      method: 'PUT',
      headers: { 'X-NSONE-Key': 'cli-key' },
      body: JSON.stringify({ ttl: 60, answers: [{ answer: ['192.0.2.1'] }] }),
    });
    expect(created.status).toBe(200);
    expect(created.headers.get('x-ratelimit-limit')).toBe('5');
    expect(created.headers.get('x-ratelimit-remaining')).toBe('4');
    expect(await created.json()).toMatchObject({ domain: 'www.example.com', ttl: 60 });

    const [host = '', port = ''] = announced.dns.split(':');
    const reply = await queryDns({ host, port: Number(port) }, 'www.example.com', 'A');
    expect(answerValues(reply.packet, 'A')).toEqual(['192.0.2.1']);

    started.child.kill('SIGTERM');
    expect(await closed(started.child)).toBe(0);
    expect(started.stdout.join('').trim().split('\n')).toHaveLength(1);
    expect(started.stderr.join('')).toContain('fake NS1 listening');
  });

  it('stops on SIGINT as well', async () => {
    const started = startFakeProcess('ns1', ['--page-size', '10']);
    expect((await announcement<Announcement>(started)).zones).toEqual([]);
    started.child.kill('SIGINT');
    expect(await closed(started.child)).toBe(0);
  });

  it.each([
    [['--port', 'abc'], '--port: "abc" is not a port number (0-65535)'],
    [['--dns-port', '70000'], '--dns-port: "70000" is not a port number (0-65535)'],
    [['--host', 'localhost'], '--host: "localhost" is not an IP address'],
    [['--api-key', ''], '--api-key: the key must not be empty'],
    [['--page-size', '0'], '--page-size: "0" is not a whole number from 1 to 9999999'],
    [['--rate-limit', 'PATCH=1/1'], '--rate-limit: "PATCH=1/1" is not METHOD=LIMIT/SECONDS (e.g. PUT=100/200)'],
    [['--rate-limit', 'GET=1/0'], '--rate-limit: "GET=1/0": the period must be at least 1 second'],
    [['--zone', 'a..example.com'], '--zone: cannot create zone "a..example.com": Input validation failed'],
    [['--zone', 'example.com', '--zone', 'example.com'], '--zone: cannot create zone "example.com": zone already exists'],
    [['--bogus'], "Unknown option '--bogus'"],
    [['stray'], 'stray'],
  ])('refuses %j with exit code 2 and a clear message', async (args, message) => {
    const started = startFakeProcess('ns1', args);
    expect(await closed(started.child)).toBe(2);
    expect(started.stderr.join('')).toContain(message);
    expect(started.stdout.join('')).toBe('');
  });

  it('answers --help on stdout', async () => {
    const started = startFakeProcess('ns1', ['--help']);
    expect(await closed(started.child)).toBe(0);
    expect(started.stdout.join('')).toContain('--rate-limit');
  });
});
