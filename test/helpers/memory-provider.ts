import type { ChangeSet } from '../../src/domain/change-set.js';
import { CONFIGURABLE_TYPES, keyOf, recordSetsEqual } from '../../src/domain/record.js';
import type { RecordKey, RecordSet, RecordType } from '../../src/domain/record.js';
import { ProviderError } from '../../src/lib/errors.js';
import type { Expectation } from '../../src/plan/expectations.js';
import type { DnsProvider } from '../../src/providers/provider.js';
import type { Difference } from '../../src/verify/compare.js';
import type { ServerVerification } from '../../src/verify/servers.js';

/**
 * A DNS provider held in memory, with name servers whose answers the test controls: for unit tests
 * of the sync loop on a manual clock, where the provider's own behaviour (batching, quotas, wire
 * formats) is not under test; the contract tests prove each real provider against its server.
 *
 * The name servers answer what the provider held when `publish()` last ran: at once after every
 * write while `publishOnWrite`, else only when the test says so (a write that never becomes visible).
 */
export class MemoryProvider implements DnsProvider {
  readonly type = 'memory';
  readonly capabilities = { atomicBatch: true, maxBatchSize: 1000, recordTypes: new Set<RecordType>([...CONFIGURABLE_TYPES, 'SOA']) };
  readonly calls = { list: 0, apply: 0, ensure: 0, nameservers: 0 };
  /** The next this-many writes fail, as a provider refusing changes (HTTP 500) does. */
  failWrites = 0;
  /** Every call fails while true, as a provider in an outage. */
  down = false;
  /** Only its name servers cannot be read (their metadata call fails); records can. */
  nameserversDown = false;
  publishOnWrite = true;
  private readonly zones = new Map<string, Map<RecordKey, RecordSet>>();
  private readonly served = new Map<string, Map<RecordKey, RecordSet>>();

  constructor(
    readonly name: string,
    private readonly hosts: readonly string[] = [`ns1.${name}.example.net.`, `ns2.${name}.example.net.`],
  ) {}

  /** What the provider holds now (the test's own look, not counted as an API call). */
  held(zone: string): RecordSet[] {
    return [...(this.zones.get(zone)?.values() ?? [])];
  }

  /** Changes a record set behind the syncer's back, as an engineer in the provider's console would; published at once. */
  edit(zone: string, rs: RecordSet): void {
    this.zoneOf(zone).set(keyOf(rs), rs);
    this.publish(zone);
  }

  /** The name servers start answering what the provider holds now. */
  publish(zone: string): void {
    this.served.set(zone, new Map(this.zoneOf(zone)));
  }

  /** Answers `expectations` as each of `hosts` would: from what was last published. */
  askServers(hosts: readonly string[], expectations: readonly Expectation[], zone: string): ServerVerification[] {
    const served = this.served.get(zone) ?? new Map<RecordKey, RecordSet>();
    return hosts.map((host) => ({ host, address: '127.0.0.1:53', checked: expectations.length, differences: expectations.flatMap((e) => difference(e, served)) }));
  }

  listRecords(zone: string): Promise<RecordSet[]> {
    this.calls.list += 1;
    this.failIfDown();
    const held = this.zones.get(zone);
    if (held === undefined) return Promise.reject(new ProviderError('DQ_ZONE_NOT_FOUND', this.name, `no zone ${zone}`));
    return Promise.resolve([...held.values()]);
  }

  applyChanges(changes: ChangeSet): Promise<void> {
    this.calls.apply += 1;
    this.failIfDown();
    if (this.failWrites > 0) {
      this.failWrites -= 1;
      return Promise.reject(new ProviderError('DQ_PROVIDER_UNAVAILABLE', this.name, 'HTTP 500 on write, from the test', { transient: true }));
    }
    const held = this.zoneOf(changes.zone);
    for (const u of changes.updates) {
      const now = held.get(keyOf(u.before));
      if (now === undefined || !recordSetsEqual(now, u.before)) return Promise.reject(new ProviderError('DQ_PROVIDER_CONFLICT', this.name, `${keyOf(u.before)} changed`));
    }
    for (const rs of changes.deletes) held.delete(keyOf(rs));
    for (const rs of changes.creates) held.set(keyOf(rs), rs);
    for (const u of changes.updates) held.set(keyOf(u.after), u.after);
    if (this.publishOnWrite) this.publish(changes.zone);
    return Promise.resolve();
  }

  ensureZone(zone: string): Promise<void> {
    this.calls.ensure += 1;
    this.failIfDown();
    if (!this.zones.has(zone)) {
      this.zones.set(zone, new Map([[keyOf({ name: zone, type: 'NS' }), { name: zone, type: 'NS', ttl: 3600, values: [...this.hosts] }]]));
      this.publish(zone);
    }
    return Promise.resolve();
  }

  nameservers(): Promise<string[]> {
    this.calls.nameservers += 1;
    this.failIfDown();
    if (this.nameserversDown) return Promise.reject(new ProviderError('DQ_PROVIDER_UNAVAILABLE', this.name, 'name servers not readable, from the test', { transient: true }));
    return Promise.resolve([...this.hosts]);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private zoneOf(zone: string): Map<RecordKey, RecordSet> {
    const held = this.zones.get(zone) ?? new Map<RecordKey, RecordSet>();
    this.zones.set(zone, held);
    return held;
  }

  private failIfDown(): void {
    if (this.down) throw new ProviderError('DQ_PROVIDER_UNAVAILABLE', this.name, 'HTTP 503 from the test', { transient: true });
  }
}

function difference(e: Expectation, served: ReadonlyMap<RecordKey, RecordSet>): Difference[] {
  const got = served.get(keyOf(e));
  if (e.expected === null) return got === undefined ? [] : [{ kind: 'present', name: e.name, type: e.type, expected: null, got: answer(got), message: `${keyOf(e)} is served but must be absent` }];
  if (got === undefined) return [{ kind: 'missing', name: e.name, type: e.type, expected: e.expected, got: null, message: `${keyOf(e)} is not served` }];
  if (recordSetsEqual(got, e.expected)) return [];
  return [{ kind: 'values', name: e.name, type: e.type, expected: e.expected, got: answer(got), message: `${keyOf(e)} serves other values` }];
}

function answer(rs: RecordSet): { rcode: string; ttls: number[]; values: string[] } {
  return { rcode: 'NOERROR', ttls: [rs.ttl], values: [...rs.values].sort() };
}
