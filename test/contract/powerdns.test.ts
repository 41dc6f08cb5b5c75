import { afterAll, beforeAll, describe, it } from 'vitest';
import { systemClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/logger.js';
import { PowerDnsProvider } from '../../src/providers/powerdns/provider.js';
import { powerDnsSkipReason, startPowerDns } from '../helpers/powerdns-server.js';
import type { PowerDnsServer } from '../helpers/powerdns-server.js';
import { runProviderContract } from './provider-contract.js';

/** The provider contract against a real pdns_server (4.x, sqlite3 backend) on loopback. */
const skip = powerDnsSkipReason();

if (skip !== undefined) {
  describe.skip(`provider contract: powerdns (${skip})`, () => {
    it('needs pdns_server', () => undefined);
  });
} else {
  let server: PowerDnsServer;
  let zoneCount = 0;
  beforeAll(async () => {
    server = await startPowerDns();
  });
  afterAll(async () => {
    await server.stop();
  });

  runProviderContract('powerdns', () => {
    // One server for the file, a fresh zone per test: starting PowerDNS costs more than a zone.
    zoneCount += 1;
    const provider = new PowerDnsProvider({
      config: { type: 'powerdns', name: 'pdns', url: server.url, apiKey: server.apiKey, nameservers: ['ns1.pdns.example.net.', 'ns2.pdns.example.net.'] },
      clock: systemClock,
      logger: silentLogger(),
    });
    return Promise.resolve({
      provider,
      zone: `contract${zoneCount}.example.com.`,
      cleanup: () => provider.close(),
    });
  });
}
