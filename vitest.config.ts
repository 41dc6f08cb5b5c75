import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    reporters: ['default', './test/faults/fault-reporter.ts', './test/summary-reporter.ts'],
    // Tests open real sockets and spawn real daemons; give them room on a 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Vitest's default is one worker less than the cores, so one worker on a 2-core CI machine; the
    // tests mostly wait on sockets and child processes, and two workers halve the wall time.
    maxWorkers: 2,
    // `dnsquorum verify` asks the system resolver for a parent zone outside the config: never in tests.
    env: { DNSQUORUM_PARENT_RESOLVER: 'none' },
  },
});
