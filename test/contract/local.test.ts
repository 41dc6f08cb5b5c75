import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/logger.js';
import { LocalProvider } from '../../src/providers/local/provider.js';
import { runProviderContract } from './provider-contract.js';

runProviderContract('local', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dq-local-contract-'));
  const provider = new LocalProvider({
    config: { type: 'local', name: 'lab', listen: { host: '127.0.0.1', port: 0 }, nameserver: 'ns1.lab.example.com.' },
    statePath: join(dir, 'local', 'lab.json'),
    clock: new ManualClock(1_700_000_000_000),
    logger: silentLogger(),
  });
  return {
    provider,
    zone: 'contract.example.com.',
    cleanup: async () => {
      await provider.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
