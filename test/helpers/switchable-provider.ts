import type { ChangeSet } from '../../src/domain/change-set.js';
import type { RecordSet } from '../../src/domain/record.js';
import { ProviderError } from '../../src/lib/errors.js';
import type { DnsProvider } from '../../src/providers/provider.js';

/** A provider that fails every call while `down`, as a provider in an outage does. */
export class SwitchableProvider implements DnsProvider {
  down = false;
  /** Reads work, writes fail: a provider rejecting changes. */
  writesDown = false;
  listCalls = 0;
  constructor(private readonly inner: DnsProvider) {}
  get name(): string {
    return this.inner.name;
  }
  get type(): string {
    return this.inner.type;
  }
  get capabilities(): DnsProvider['capabilities'] {
    return this.inner.capabilities;
  }
  private check(): void {
    if (this.down) throw new ProviderError('DQ_PROVIDER_UNAVAILABLE', this.inner.name, 'HTTP 503 from the test', { transient: true });
  }
  listRecords(zone: string, signal: AbortSignal): Promise<RecordSet[]> {
    this.listCalls += 1;
    this.check();
    return this.inner.listRecords(zone, signal);
  }
  applyChanges(changes: ChangeSet, signal: AbortSignal): Promise<void> {
    this.check();
    if (this.writesDown) throw new ProviderError('DQ_PROVIDER_UNAVAILABLE', this.inner.name, 'HTTP 500 on write, from the test', { transient: true });
    return this.inner.applyChanges(changes, signal);
  }
  ensureZone(zone: string, signal: AbortSignal): Promise<void> {
    this.check();
    return this.inner.ensureZone(zone, signal);
  }
  nameservers(zone: string, signal: AbortSignal): Promise<string[]> {
    this.check();
    return this.inner.nameservers(zone, signal);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
