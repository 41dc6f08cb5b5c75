import { describe, expect, it } from 'vitest';
import type { ChangeSet } from '../../src/domain/change-set.js';
import { normalizeRecordSet } from '../../src/domain/record.js';
import type { RecordSet } from '../../src/domain/record.js';
import { FakeNs1 } from '../../fakes/ns1/server.js';
import { systemClock } from '../../src/lib/clock.js';
import { ProviderError } from '../../src/lib/errors.js';
import { silentLogger } from '../../src/lib/logger.js';
import { Ns1Provider } from '../../src/providers/ns1/provider.js';
import { runProviderContract } from './provider-contract.js';

const never = new AbortController().signal;

async function start(): Promise<{ fake: FakeNs1; provider: Ns1Provider }> {
  const fake = await FakeNs1.start();
  const provider = new Ns1Provider({
    config: { type: 'ns1', name: 'ns1', apiKey: fake.apiKey, endpoint: fake.endpoint, requestTimeoutMs: 5000, maxRetries: 2 },
    clock: systemClock,
    logger: silentLogger(),
    retry: { throttleBaseMs: 5, transientBaseMs: 2, capMs: 20 },
  });
  return { fake, provider };
}

runProviderContract('ns1', async () => {
  const { fake, provider } = await start();
  return {
    provider,
    zone: 'contract.example.com.',
    cleanup: async () => {
      await provider.close();
      await fake.close();
    },
  };
});

// NS1 has no atomic batch, so the suite skips its all-or-nothing case; what NS1 promises instead
// is that a change set cut off half-way is finished by applying it (or the next plan) again.
describe('provider contract: ns1 without atomic batches', () => {
  const zone = 'contract.example.com.';
  const rs = (label: string, values: string[]): RecordSet => ({ name: `${label}.${zone}`, type: 'A', ttl: 300, values });

  it('a change set that failed half-way is finished by the next pass, and nothing is written twice', async () => {
    const { fake, provider } = await start();
    try {
      await provider.ensureZone(zone, never);
      const keep = rs('keep', ['192.0.2.1']);
      const gone = rs('gone', ['192.0.2.2']);
      await provider.applyChanges({ zone, creates: [keep, gone], updates: [], deletes: [] }, never);
      const changes: ChangeSet = {
        zone,
        creates: Array.from({ length: 6 }, (_, i) => rs(`new${i}`, [`198.51.100.${i + 1}`])),
        updates: [{ before: keep, after: rs('keep', ['192.0.2.100']) }],
        deletes: [gone],
      };
      fake.setFaults({ failWritesAfter: 4 });
      fake.clearRequests();
      const err = await provider.applyChanges(changes, never).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ProviderError);
      expect((err as ProviderError).code).toBe('DQ_PROVIDER_UNAVAILABLE');
      expect((err as ProviderError).transient).toBe(true);
      const firstWrites = fake.requests.filter((r) => r.route === 'record' && r.method !== 'GET' && r.status === 200).length;
      expect(firstWrites).toBe(4);
      // Deletes go last: the record to delete is still there while creates and updates are missing.
      expect((await provider.listRecords(zone, never)).some((r) => r.name === gone.name)).toBe(true);

      fake.setFaults({ failWritesAfter: undefined });
      fake.clearRequests();
      await provider.applyChanges(changes, never);
      const secondWrites = fake.requests.filter((r) => r.route === 'record' && r.method !== 'GET' && r.status === 200).length;
      expect(firstWrites + secondWrites).toBe(changes.creates.length + changes.updates.length + changes.deletes.length);

      const listed = await provider.listRecords(zone, never);
      for (const created of changes.creates) expect(listed.find((r) => r.name === created.name)).toEqual(normalizeRecordSet(created));
      expect(listed.find((r) => r.name === keep.name)?.values).toEqual(['192.0.2.100']);
      expect(listed.find((r) => r.name === gone.name)).toBeUndefined();
    } finally {
      await provider.close();
      await fake.close();
    }
  });
});
