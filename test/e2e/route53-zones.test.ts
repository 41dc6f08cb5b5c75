import { CreateHostedZoneCommand, GetHostedZoneCommand, ListHostedZonesByNameCommand, ListHostedZonesCommand, Route53Client } from '@aws-sdk/client-route-53';
import { afterEach, describe, expect, it } from 'vitest';
import { recordKey } from '../../src/domain/record.js';
import type { ZoneSpec } from '../../src/domain/zone.js';
import { systemClock } from '../../src/lib/clock.js';
import { ProviderError } from '../../src/lib/errors.js';
import { silentLogger } from '../../src/lib/logger.js';
import type { DnsProvider } from '../../src/providers/provider.js';
import { syncOnce } from '../../src/sync/sync-once.js';
import type { ZonePass } from '../../src/sync/sync-once.js';
import { answerValues, queryDns } from '../../src/lib/dns-query.js';
import { Route53Provider } from '../../src/providers/route53/provider.js';
import { MemoryProvider } from '../helpers/memory-provider.js';
import { never, requestsOf, startHarness, useDummyAwsCredentials } from './route53-harness.js';
import type { Harness } from './route53-harness.js';

/**
 * Issue 16, defect 6 (also): private hosted zones and configured hosted zone ids that no longer
 * exist. A private zone is used only when hostedZoneIds names it; a configured id that names no
 * zone makes `plan` and `sync --apply` say the same thing (the id is gone, fix it), and while the
 * provider is unreadable its name servers are unknown, so no other provider's apex NS loses them.
 */

useDummyAwsCredentials();

const ZONE = 'example.com.';
const VPC = { region: 'eu-west-1', id: 'vpc-0a1b2c3d' } as const;

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function start(options: Parameters<typeof startHarness>[0]): Promise<Harness> {
  harness = await startHarness(options);
  return harness;
}

function sdk(h: Harness): Route53Client {
  return new Route53Client({ endpoint: h.fake.endpoint, region: 'us-east-1', maxAttempts: 1 });
}

function zoneSpec(providers: readonly string[], nameservers: ZoneSpec['nameservers'] = 'manual'): ZoneSpec {
  return {
    name: ZONE,
    providers,
    nameservers,
    nameserverTtl: 3600,
    unmanaged: 'keep',
    drift: 'repair',
    maxChangeShare: 1,
    records: [{ kind: 'static', name: `www.${ZONE}`, type: 'CNAME', ttl: 300, values: ['edge.example.net.'] }],
  };
}

async function pass(providers: readonly DnsProvider[], zone: ZoneSpec, dryRun: boolean): Promise<ZonePass> {
  const report = await syncOnce({
    zones: [zone],
    providers: new Map(providers.map((p) => [p.name, p])),
    health: new Map(),
    overrides: [],
    recentWrites: new Map(),
    dryRun,
    force: false,
    clock: systemClock,
    logger: silentLogger(),
    signal: never,
  });
  const zonePass = report.zones[0];
  if (zonePass === undefined) throw new Error('no zone pass');
  return zonePass;
}

async function refusal(promise: Promise<unknown>): Promise<ProviderError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

describe('the fake Route53: private hosted zones', () => {
  it('creates a private zone from a VPC, lists it as private, gives it no delegation set and serves it on no public DNS', async () => {
    const h = await start({ zone: false });
    const client = sdk(h);
    try {
      const created = await client.send(new CreateHostedZoneCommand({ Name: 'corp.example.com', CallerReference: 'p-1', VPC: { VPCRegion: VPC.region, VPCId: VPC.id }, HostedZoneConfig: { PrivateZone: true } }));
      expect(created.HostedZone?.Config?.PrivateZone).toBe(true);
      expect(created.DelegationSet).toBeUndefined();
      expect(created.VPC).toEqual({ VPCRegion: VPC.region, VPCId: VPC.id });
      const id = created.HostedZone?.Id ?? '';
      const got = await client.send(new GetHostedZoneCommand({ Id: id }));
      expect(got.DelegationSet).toBeUndefined();
      expect(got.VPCs).toEqual([{ VPCRegion: VPC.region, VPCId: VPC.id }]);
      const apexNs = h.fake.zoneRecords('corp.example.com.').find((rs) => rs.type === 'NS');
      expect(apexNs?.values).toEqual(['ns-0.awsdns-00.com.', 'ns-512.awsdns-00.net.', 'ns-1024.awsdns-00.org.', 'ns-1536.awsdns-00.co.uk.']);

      const pub = h.fake.createZone('corp.example.com.');
      const byName = await client.send(new ListHostedZonesByNameCommand({ DNSName: 'corp.example.com' }));
      expect(byName.HostedZones?.map((z) => [z.Id, z.Config?.PrivateZone]).sort()).toEqual([[`/hostedzone/${pub.id}`, false], [id, true]].sort());
      const privateOnly = await client.send(new ListHostedZonesCommand({ HostedZoneType: 'PrivateHostedZone' }));
      expect(privateOnly.HostedZones?.map((z) => z.Id)).toEqual([id]);
      // Only the public zone of the name is answered on the fake's DNS address.
      const answer = await queryDns(h.fake.dnsAddress, 'corp.example.com', 'NS');
      expect(answerValues(answer.packet, 'NS').sort()).toEqual(pub.nameservers.map((ns) => ns.replace(/\.$/, '')).sort());

      const noVpc = await client.send(new CreateHostedZoneCommand({ Name: 'x.example.com', CallerReference: 'p-2', HostedZoneConfig: { PrivateZone: true } })).catch((e: unknown) => e);
      expect((noVpc as Error).name).toBe('InvalidInput');
      const badVpc = await client.send(new CreateHostedZoneCommand({ Name: 'x.example.com', CallerReference: 'p-3', VPC: { VPCRegion: VPC.region, VPCId: 'nope' } })).catch((e: unknown) => e);
      expect((badVpc as Error).name).toBe('InvalidVPCId');
    } finally {
      client.destroy();
    }
  });
});

describe('route53: private hosted zones', () => {
  it('refuses a zone whose only hosted zone of that name is private, in plan and on apply, and writes nothing into it', async () => {
    const h = await start({ zone: false });
    const corp = h.fake.createZone(ZONE, { privateZone: VPC });
    const err = await refusal(h.provider.listRecords(ZONE, never));
    expect(err.code).toBe('DQ_PROVIDER_REJECTED');
    expect(err.message).toContain(`${corp.id} private`);
    expect(err.message).toContain('hostedZoneIds');

    const planned = await pass([h.provider], zoneSpec(['r53']), true);
    const applied = await pass([h.provider], zoneSpec(['r53']), false);
    for (const p of [planned.providers[0], applied.providers[0]]) {
      expect(p?.outcome).toBe('failed');
      expect(p?.zoneMissing, 'never "created on apply"').toBe(false);
      expect(p?.error?.code).toBe('DQ_PROVIDER_REJECTED');
      expect(p?.error?.message).toContain('only private hosted zones');
    }
    expect(requestsOf(h.fake, 'CreateHostedZone')).toEqual([]);
    expect(requestsOf(h.fake, 'ChangeResourceRecordSets')).toEqual([]);
    expect(h.fake.zoneRecords(corp.id).map((rs) => rs.type)).toEqual(['NS', 'SOA']);
  });

  it('takes the public zone beside a private one of the same name, and a private one that hostedZoneIds names', async () => {
    const h = await start({ zone: false });
    const corp = h.fake.createZone(ZONE, { privateZone: VPC });
    const pub = h.fake.createZone(ZONE);
    h.fake.putRecordDirect(pub.id, { name: `marker.${ZONE}`, type: 'TXT', ttl: 60, values: ['"public"'] });
    h.fake.putRecordDirect(corp.id, { name: `marker.${ZONE}`, type: 'TXT', ttl: 60, values: ['"private"'] });
    expect((await h.provider.listRecords(ZONE, never)).find((rs) => rs.type === 'TXT')?.values).toEqual(['public']);

    const named = configuredProvider(h, { [ZONE]: corp.id });
    try {
      expect((await named.listRecords(ZONE, never)).find((rs) => rs.type === 'TXT')?.values).toEqual(['private']);
      // A private zone has no delegation set: its name servers are unknown, never an empty set to sync.
      expect(await named.nameservers(ZONE, never)).toEqual([]);
    } finally {
      await named.close();
    }
  });
});

function configuredProvider(h: Harness, hostedZoneIds: Readonly<Record<string, string>>): Route53Provider {
  return new Route53Provider({
    config: { type: 'route53', name: 'r53', endpoint: h.fake.endpoint, hostedZoneIds, rateLimit: 1000, insyncPollIntervalMs: 5 },
    clock: systemClock,
    logger: silentLogger(),
    env: {},
  });
}

describe('route53: a configured hosted zone id that no longer exists', () => {
  it('is the same refusal in plan and on apply (the id, and what to do), never "created on apply", and nothing is created', async () => {
    const h = await start({ zone: false });
    const provider = configuredProvider(h, { [ZONE]: 'Z0GONE0000000000000' });
    try {
      const planned = (await pass([provider], zoneSpec(['r53']), true)).providers[0];
      const applied = (await pass([provider], zoneSpec(['r53']), false)).providers[0];
      expect(planned?.outcome).toBe('failed');
      expect(planned?.zoneMissing).toBe(false);
      expect(planned?.error?.code).toBe('DQ_PROVIDER_REJECTED');
      expect(planned?.error?.message).toContain('Z0GONE0000000000000');
      expect(planned?.error?.message).toContain('hostedZoneIds');
      expect(applied?.outcome).toBe('failed');
      expect(applied?.zoneMissing).toBe(false);
      expect(applied?.error).toEqual(planned?.error);
      expect(requestsOf(h.fake, 'CreateHostedZone')).toEqual([]);
      expect(requestsOf(h.fake, 'ChangeResourceRecordSets')).toEqual([]);
    } finally {
      await provider.close();
    }
  });

  it('says the same once the configured zone is deleted while in use', async () => {
    const h = await start({ zone: false });
    const zone = h.fake.createZone(ZONE);
    const provider = configuredProvider(h, { [ZONE]: zone.id });
    try {
      expect((await pass([provider], zoneSpec(['r53']), false)).providers[0]?.outcome).toBe('applied');
      h.fake.deleteZone(zone.id);
      const err = await refusal(provider.listRecords(ZONE, never));
      expect(err.code).toBe('DQ_PROVIDER_REJECTED');
      expect(err.message).toContain(zone.id);
      const applied = (await pass([provider], zoneSpec(['r53']), false)).providers[0];
      expect(applied?.error?.message).toBe(err.message);
      expect(requestsOf(h.fake, 'CreateHostedZone')).toEqual([]);
    } finally {
      await provider.close();
    }
  });

  it("leaves the apex NS as the other provider holds it while Route53's name servers are unknown: none of them is stripped", async () => {
    const h = await start({ zone: false });
    const gone = h.fake.createZone(ZONE);
    h.fake.deleteZone(gone.id);
    const provider = configuredProvider(h, { [ZONE]: gone.id });
    const other = new MemoryProvider('other');
    await other.ensureZone(ZONE);
    const union = [...gone.nameservers, 'ns1.other.example.net.', 'ns2.other.example.net.'];
    other.edit(ZONE, { name: ZONE, type: 'NS', ttl: 3600, values: union });
    try {
      for (const dryRun of [true, false]) {
        const zonePass = await pass([provider, other], zoneSpec(['r53', 'other'], 'sync'), dryRun);
        expect(zonePass.apexNameservers).toEqual({ kind: 'unknown', missing: ['r53'], known: ['ns1.other.example.net.', 'ns2.other.example.net.'] });
        const at = zonePass.providers.find((p) => p.provider === 'other');
        const touched = [...(at?.changes.creates ?? []), ...(at?.changes.updates.map((u) => u.after) ?? []), ...(at?.changes.deletes ?? [])];
        expect(touched.map((rs) => recordKey(rs.name, rs.type))).not.toContain(recordKey(ZONE, 'NS'));
      }
      expect(other.held(ZONE).find((rs) => rs.type === 'NS')?.values).toEqual(union);
    } finally {
      await provider.close();
    }
  });
});
