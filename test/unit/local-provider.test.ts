import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChangeSet } from '../../src/domain/change-set.js';
import { CONFIGURABLE_TYPES } from '../../src/domain/record.js';
import type { RecordSet } from '../../src/domain/record.js';
import { ManualClock } from '../../src/lib/clock.js';
import { ProviderError, StateCorruptError } from '../../src/lib/errors.js';
import type { ErrorCode } from '../../src/lib/errors.js';
import { silentLogger } from '../../src/lib/logger.js';
import { LocalProvider } from '../../src/providers/local/provider.js';

const never = new AbortController().signal;
const ZONE = 'example.test.';
const NOW_MS = 1_700_000_000_000;

let dir = '';
let statePath = '';
let provider: LocalProvider;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dq-local-provider-'));
  statePath = join(dir, 'local', 'lab.json');
  provider = new LocalProvider({
    config: { type: 'local', name: 'lab', listen: { host: '127.0.0.1', port: 0 }, nameserver: 'NS1.Lab.Example.com' },
    statePath,
    clock: new ManualClock(NOW_MS),
    logger: silentLogger(),
  });
});
afterEach(async () => {
  await provider.close();
  await rm(dir, { recursive: true, force: true });
});

function rs(label: string, type: RecordSet['type'], values: string[], ttl = 300): RecordSet {
  return { name: label === '@' ? ZONE : `${label}.${ZONE}`, type, ttl, values };
}

function changes(parts: Partial<Omit<ChangeSet, 'zone'>>): ChangeSet {
  return { zone: ZONE, creates: [], updates: [], deletes: [], ...parts };
}

async function failure(promise: Promise<unknown>, code: ErrorCode): Promise<string> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  expect((err as ProviderError).code, (err as ProviderError).message).toBe(code);
  return (err as ProviderError).message;
}

async function serial(): Promise<number> {
  const soa = (await provider.listRecords(ZONE, never)).find((r) => r.type === 'SOA');
  return Number(soa?.values[0]?.split(' ')[2]);
}

describe('LocalProvider', () => {
  it('declares atomic batches and every configurable type plus SOA', () => {
    expect(provider.type).toBe('local');
    expect(provider.name).toBe('lab');
    expect(provider.capabilities.atomicBatch).toBe(true);
    expect(provider.capabilities.maxBatchSize).toBeGreaterThanOrEqual(10_000);
    expect([...provider.capabilities.recordTypes].sort()).toEqual([...CONFIGURABLE_TYPES, 'SOA'].sort());
  });

  it('creates a zone with the documented SOA and an NS naming its own server; serial from the clock', async () => {
    await provider.ensureZone('Example.TEST', never);
    expect(await provider.listRecords(ZONE, never)).toEqual([
      { name: ZONE, type: 'NS', ttl: 3600, values: ['ns1.lab.example.com.'] },
      { name: ZONE, type: 'SOA', ttl: 3600, values: ['ns1.lab.example.com. hostmaster.example.test. 1700000000 7200 3600 1209600 300'] },
    ]);
    expect(await provider.nameservers(ZONE, never)).toEqual(['ns1.lab.example.com.']);
  });

  it('refuses to create a zone with an invalid name', async () => {
    expect(await failure(provider.ensureZone('bad zone.test', never), 'DQ_PROVIDER_REJECTED')).toContain('bad zone');
  });

  it('raises the serial by one per applied change set, and writes nothing when nothing changes', async () => {
    await provider.ensureZone(ZONE, never);
    const first = await serial();
    const www = rs('www', 'A', ['192.0.2.1']);
    const cs = changes({ creates: [www, rs('api', 'A', ['192.0.2.2'])] });
    await provider.applyChanges(cs, never);
    expect(await serial()).toBe(first + 1);

    const written = await stat(statePath);
    await provider.applyChanges(cs, never);
    await provider.applyChanges(changes({}), never);
    await provider.applyChanges(changes({ updates: [{ before: rs('www', 'A', ['192.0.2.9']), after: www }] }), never);
    await provider.applyChanges(changes({ deletes: [rs('gone', 'A', ['192.0.2.3'])] }), never);
    const after = await stat(statePath);
    expect([after.ino, after.mtimeMs]).toEqual([written.ino, written.mtimeMs]);
    expect(await serial()).toBe(first + 1);

    await provider.applyChanges(changes({ updates: [{ before: www, after: rs('www', 'A', ['192.0.2.5']) }] }), never);
    expect(await serial()).toBe(first + 2);
  });

  it('replaces a CNAME by an A record in one change set', async () => {
    await provider.ensureZone(ZONE, never);
    const cname = rs('www', 'CNAME', ['edge.example.net.']);
    await provider.applyChanges(changes({ creates: [cname] }), never);
    await provider.applyChanges(changes({ creates: [rs('www', 'A', ['192.0.2.1'])], deletes: [cname] }), never);
    const www = (await provider.listRecords(ZONE, never)).filter((r) => r.name === `www.${ZONE}`);
    expect(www).toEqual([rs('www', 'A', ['192.0.2.1'])]);
  });

  it('a create over a different record set is a conflict naming both', async () => {
    await provider.ensureZone(ZONE, never);
    await provider.applyChanges(changes({ creates: [rs('www', 'A', ['192.0.2.1'])] }), never);
    const message = await failure(provider.applyChanges(changes({ creates: [rs('www', 'A', ['192.0.2.2'])] }), never), 'DQ_PROVIDER_CONFLICT');
    expect(message).toContain('www.example.test. A ttl 300 [192.0.2.2]');
    expect(message).toContain('holds www.example.test. A ttl 300 [192.0.2.1]');
  });

  it('names every conflict of a change set in one error', async () => {
    await provider.ensureZone(ZONE, never);
    await provider.applyChanges(changes({ creates: [rs('a', 'A', ['192.0.2.1']), rs('b', 'A', ['192.0.2.2'])] }), never);
    const message = await failure(
      provider.applyChanges(
        changes({ deletes: [rs('a', 'A', ['192.0.2.9'])], updates: [{ before: rs('b', 'A', ['192.0.2.9']), after: rs('b', 'A', ['192.0.2.3']) }] }),
        never,
      ),
      'DQ_PROVIDER_CONFLICT',
    );
    expect(message).toContain('delete a.example.test.');
    expect(message).toContain('update b.example.test.');
  });

  const existing = rs('held', 'A', ['192.0.2.10']);
  it.each<[string, ChangeSet, string]>([
    ['a name outside the zone', changes({ creates: [{ name: 'www.example.org.', type: 'A', ttl: 300, values: ['192.0.2.1'] }] }), 'not in zone example.test.'],
    ['an invalid IPv4 address', changes({ creates: [rs('x', 'A', ['192.0.2.300'])] }), 'not an IPv4 address'],
    ['an IPv6 address in an A record', changes({ creates: [rs('x', 'A', ['2001:db8::1'])] }), 'not an IPv4 address'],
    ['an invalid IPv6 address', changes({ creates: [rs('x', 'AAAA', ['2001:db8::g'])] }), 'not an IPv6 address'],
    ['a CNAME with two values', changes({ creates: [rs('x', 'CNAME', ['a.example.net.', 'b.example.net.'])] }), 'exactly one value'],
    ['a CNAME next to other data', changes({ creates: [rs('held', 'CNAME', ['a.example.net.'])] }), 'CNAME cannot share its name'],
    ['a CNAME at the apex', changes({ creates: [rs('@', 'CNAME', ['a.example.net.'])] }), 'CNAME cannot share its name'],
    ['an empty record set', changes({ creates: [rs('x', 'A', [])] }), 'at least one value'],
    ['a negative TTL', changes({ creates: [rs('x', 'A', ['192.0.2.1'], -1)] }), 'TTL -1'],
    ['a fractional TTL', changes({ creates: [rs('x', 'A', ['192.0.2.1'], 1.5)] }), 'TTL 1.5'],
    ['an MX without preference', changes({ creates: [rs('@', 'MX', ['mail.example.test.'])] }), '<preference 0-65535> <host>'],
    ['an SRV port out of range', changes({ creates: [rs('_s._tcp', 'SRV', ['1 1 70000 t.example.test.'])] }), 'numbers 0-65535'],
    ['a CAA without a tag', changes({ creates: [rs('@', 'CAA', ['0 "x"'])] }), 'CAA'],
    ['a label longer than 63 characters', changes({ creates: [rs('a'.repeat(64), 'A', ['192.0.2.1'])] }), 'label'],
    ['a host name with a space', changes({ creates: [rs('x', 'CNAME', ['bad host.example.net.'])] }), 'not a host name'],
    ['a wildcard that is not leftmost', changes({ creates: [rs('a.*', 'A', ['192.0.2.1'])] }), 'leftmost label'],
    ['an update that changes the type', changes({ updates: [{ before: existing, after: rs('held', 'AAAA', ['2001:db8::1']) }] }), 'cannot change name or type'],
    ['a record set named twice', changes({ creates: [rs('x', 'A', ['192.0.2.1'])], deletes: [rs('x', 'A', ['192.0.2.1'])] }), 'more than once'],
    ['deleting the apex NS', changes({ deletes: [rs('@', 'NS', ['ns1.lab.example.com.'], 3600)] }), 'apex NS cannot be deleted'],
    ['creating an SOA', changes({ creates: [rs('x', 'SOA', ['a.example.test. b.example.test. 1 2 3 4 5'])] }), 'SOA belongs to the provider'],
    ['a TXT value over 60,000 bytes', changes({ creates: [rs('x', 'TXT', ['x'.repeat(60_001)])] }), 'longer than 60000'],
  ])('refuses %s with DQ_PROVIDER_REJECTED and changes nothing', async (_case, cs, hint) => {
    await provider.ensureZone(ZONE, never);
    await provider.applyChanges(changes({ creates: [existing] }), never);
    const before = await readFile(statePath, 'utf8');
    expect(await failure(provider.applyChanges(cs, never), 'DQ_PROVIDER_REJECTED')).toContain(hint);
    expect(await readFile(statePath, 'utf8')).toBe(before);
  });

  it('lists every problem of a change set in one error', async () => {
    await provider.ensureZone(ZONE, never);
    const message = await failure(
      provider.applyChanges(changes({ creates: [rs('a', 'A', ['nope']), rs('b', 'AAAA', ['nope']), rs('c', 'MX', ['nope'])] }), never),
      'DQ_PROVIDER_REJECTED',
    );
    expect(message.split('\n').filter((line) => line.trim().startsWith('create'))).toHaveLength(3);
  });

  it('accepts the null MX and a SRV "no service" target, and canonical spellings', async () => {
    await provider.ensureZone(ZONE, never);
    await provider.applyChanges(
      changes({ creates: [rs('@', 'MX', ['0 .']), rs('_x._tcp', 'SRV', ['0 0 0 .']), rs('v6', 'AAAA', ['2001:DB8:0:0:0:0:0:1'])] }),
      never,
    );
    const listed = await provider.listRecords(ZONE, never);
    expect(listed.find((r) => r.type === 'MX')?.values).toEqual(['0 .']);
    expect(listed.find((r) => r.type === 'AAAA')?.values).toEqual(['2001:db8::1']);
  });

  it('names a missing zone DQ_ZONE_NOT_FOUND for listRecords and applyChanges', async () => {
    await failure(provider.listRecords(ZONE, never), 'DQ_ZONE_NOT_FOUND');
    await failure(provider.applyChanges(changes({ creates: [rs('www', 'A', ['192.0.2.1'])] }), never), 'DQ_ZONE_NOT_FOUND');
  });

  it('reports a corrupt state file as StateCorruptError and never overwrites it', async () => {
    await mkdir(dirname(statePath), { recursive: true });
    await writeFile(statePath, 'not json');
    for (const call of [
      () => provider.listRecords(ZONE, never),
      () => provider.ensureZone(ZONE, never),
      () => provider.applyChanges(changes({ creates: [rs('www', 'A', ['192.0.2.1'])] }), never),
    ]) {
      const err = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StateCorruptError);
      expect((err as StateCorruptError).path).toBe(statePath);
    }
    expect(await readFile(statePath, 'utf8')).toBe('not json');
  });

  it('does nothing once the signal has aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(provider.ensureZone(ZONE, controller.signal)).rejects.toThrow('stop');
    await expect(provider.listRecords(ZONE, controller.signal)).rejects.toThrow('stop');
    await expect(provider.applyChanges(changes({ creates: [rs('www', 'A', ['192.0.2.1'])] }), controller.signal)).rejects.toThrow('stop');
    await expect(stat(statePath)).rejects.toThrow();
  });
});
