import { FakeRoute53 } from '../../fakes/route53/server.js';
import { systemClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/logger.js';
import { Route53Provider } from '../../src/providers/route53/provider.js';
import { useDummyAwsCredentials } from '../e2e/route53-harness.js';
import { runProviderContract } from './provider-contract.js';

useDummyAwsCredentials();

runProviderContract('route53', async () => {
  const fake = await FakeRoute53.start();
  const provider = new Route53Provider({
    config: { type: 'route53', name: 'r53', endpoint: fake.endpoint, hostedZoneIds: {}, rateLimit: 1000, insyncPollIntervalMs: 5 },
    clock: systemClock,
    logger: silentLogger(),
    env: {},
    rateBurst: 50,
    retry: { maxAttempts: 3, throttleBaseMs: 5, transientBaseMs: 2, capMs: 50 },
  });
  return {
    provider,
    zone: 'contract.example.com.',
    cleanup: async () => {
      await provider.close();
      await fake.close();
    },
  };
});
