import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import type { Packet, StringAnswer } from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DemoBackend } from '../../src/cli/demo/backend.js';
import { answerValues, queryDns, rcodeName } from '../../src/lib/dns-query.js';
import { exited, runCli, startCli } from '../helpers/cli.js';

/**
 * The daemon on the shipped config/demo.yaml, asked over real DNS the way dig would ask it.
 * These tests share the demo's fixed ports, so they run one after the other in this file.
 */
const LAB_A = { host: '127.0.0.1', port: 15301 };
const LAB_B = { host: '127.0.0.1', port: 15302 };
const ZONE = 'demo.example.com';


async function aRecord(server: typeof LAB_A, name: string): Promise<string[]> {
  return answerValues((await queryDns(server, name, 'A')).packet, 'A');
}

function soaSerial(packet: Packet): number {
  const soa = [...(packet.answers ?? []), ...(packet.authorities ?? [])].find((a) => a.type === 'SOA');
  if (soa?.type !== 'SOA' || soa.data.serial === undefined) throw new Error('no SOA serial');
  return soa.data.serial;
}

/** Bounded polling for a condition the daemon reaches on its own time. */
const WAIT = { timeout: 30_000, interval: 50 };

const aa = (p: Packet): boolean => ((p.flags ?? 0) & dnsPacket.AUTHORITATIVE_ANSWER) !== 0;

describe('dnsquorum run --config config/demo.yaml', () => {
  let stateDir: string;
  let daemon: ReturnType<typeof startCli>;
  const primary = new DemoBackend('127.0.0.21', 18080);
  const secondary = new DemoBackend('127.0.0.22', 18080);

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'dq-demo-config-'));
    await secondary.start();
    daemon = startCli(['run', '--config', 'config/demo.yaml'], { env: { DNSQUORUM_STATE_DIR: stateDir } });
    // Primary is down from the start, so once quorum data is in, both providers serve the secondary.
    for (const server of [LAB_A, LAB_B]) {
      await vi.waitFor(async () => {
        expect(await aRecord(server, `api.${ZONE}`)).toEqual(['127.0.0.22']);
      }, WAIT);
    }
  });

  afterAll(async () => {
    daemon.child.kill('SIGKILL');
    await primary.stop();
    await secondary.stop();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('answers a name that exists authoritatively, at both providers', async () => {
    for (const server of [LAB_A, LAB_B]) {
      const { packet } = await queryDns(server, `api.${ZONE}`, 'A');
      expect(rcodeName(packet)).toBe('NOERROR');
      expect(aa(packet)).toBe(true);
      expect(answerValues(packet, 'A')).toEqual(['127.0.0.22']);
    }
  });

  it('follows a CNAME chain inside the zone', async () => {
    const { packet } = await queryDns(LAB_A, `www.${ZONE}`, 'A');
    expect(rcodeName(packet)).toBe('NOERROR');
    expect(aa(packet)).toBe(true);
    expect((packet.answers ?? []).map((a) => `${a.name} ${a.type} ${(a as StringAnswer).data}`)).toEqual([
      `www.${ZONE} CNAME api.${ZONE}`,
      `api.${ZONE} A 127.0.0.22`,
    ]);
  });

  it('tells NXDOMAIN from NODATA, both with the SOA in the authority section', async () => {
    const nx = (await queryDns(LAB_A, `nope.${ZONE}`, 'A')).packet;
    expect(rcodeName(nx)).toBe('NXDOMAIN');
    expect(aa(nx)).toBe(true);
    expect(nx.answers).toEqual([]);
    expect(nx.authorities?.map((a) => a.type)).toEqual(['SOA']);

    const nodata = (await queryDns(LAB_A, `mail.${ZONE}`, 'AAAA')).packet;
    expect(rcodeName(nodata)).toBe('NOERROR');
    expect(nodata.answers).toEqual([]);
    expect(nodata.authorities?.map((a) => a.type)).toEqual(['SOA']);

    const emptyNonTerminal = (await queryDns(LAB_A, `lab.${ZONE}`, 'A')).packet;
    expect(rcodeName(emptyNonTerminal)).toBe('NOERROR');
    expect(emptyNonTerminal.answers).toEqual([]);
    expect(emptyNonTerminal.authorities?.map((a) => a.type)).toEqual(['SOA']);
  });

  it('sets TC over UDP when the answer is too large, and answers in full over TCP', async () => {
    const reply = await queryDns(LAB_A, `big.${ZONE}`, 'TXT');
    expect(reply.truncatedOverUdp).toBe(true);
    expect(reply.transport).toBe('tcp');
    expect(reply.packet.answers?.length).toBe(10);
  });

  it('refuses names outside its zones', async () => {
    const { packet } = await queryDns(LAB_A, 'www.example.org', 'A');
    expect(rcodeName(packet)).toBe('REFUSED');
  });

  it('publishes both providers in the apex NS at each', async () => {
    for (const server of [LAB_A, LAB_B]) {
      const { packet } = await queryDns(server, ZONE, 'NS');
      expect(answerValues(packet, 'NS')).toEqual(['ns1.lab-a.example.net', 'ns1.lab-b.example.net']);
    }
  });

  it('fails back when the primary comes up, and raises the SOA serial with the change', async () => {
    const before = soaSerial((await queryDns(LAB_A, ZONE, 'SOA')).packet);
    await primary.start();
    for (const server of [LAB_A, LAB_B]) {
      await vi.waitFor(async () => {
        expect(await aRecord(server, `api.${ZONE}`)).toEqual(['127.0.0.21']);
      }, WAIT);
    }
    const after = soaSerial((await queryDns(LAB_A, ZONE, 'SOA')).packet);
    expect(after).toBeGreaterThan(before);
  });

  it('verify finds both providers answering the desired state, reaching local servers at their listen address', async () => {
    const result = await runCli(['verify', '--config', 'config/demo.yaml', '--json'], { env: { DNSQUORUM_STATE_DIR: stateDir } });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { consistent: boolean; serversChecked: number };
    expect(report).toMatchObject({ consistent: true, serversChecked: 2 });
  });

  it('stops cleanly on SIGTERM', async () => {
    daemon.child.kill('SIGTERM');
    expect(await exited(daemon.child)).toBe(0);
    const logged = daemon.lines.map((l) => JSON.parse(l) as { msg: string });
    expect(logged.map((l) => l.msg)).toContain('daemon stopped');
  });
});

describe('dnsquorum demo', () => {
  it('prints the timeline and exits 0 after seeing failover and failback', async () => {
    const result = await runCli(['demo'], { timeoutMs: 60_000 });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/lab-a answers api\.demo\.example\.com\. A 127\.0\.0\.22 \(pool secondary: failover\)/);
    expect(result.stdout).toMatch(/lab-b answers api\.demo\.example\.com\. A 127\.0\.0\.21 \(pool primary: failback\)/);
    expect(result.stdout).toMatch(/^failover: \d+\.\d\ds from the primary going down/m);
    expect(result.stdout).toContain('demo: saw failover and failback on both providers');
  });
});
