import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { errorMessage } from '../../src/lib/errors.js';
import { CORRUPTIONS, EXPECTED, corruptStateConfig, daemonEnvironment, dnsAddress, missingRecordSets, recoveryLine, servedDifference, snapshot } from '../e2e/corrupt-state-harness.js';
import { WAIT, startDaemon } from '../e2e/daemon-harness.js';
import { faultCases, recordFault } from './fault-table.js';

/**
 * A real `dnsquorum run` started on a state directory whose local provider file is corrupt, in
 * each way a file can be (truncated, empty, wrong shape, another version, binary garbage, a
 * directory in its place, a file in place of its directory). Every case must end with the zone
 * answered whole over DNS from the config alone, the bad file kept aside byte for byte, and an
 * error line saying where it went. `lost` counts configured record sets (and the SOA) the server
 * does not answer once the wait is over.
 */

const FAULT = 'corrupt local state at start (zone served from desired state)';
const CASES = faultCases(CORRUPTIONS.length, CORRUPTIONS.length * 3);

describe(FAULT, () => {
  it('serves the zone from the config whatever the state file holds, and keeps the bad file', { timeout: 600_000 }, async ({ expect, task }) => {
    let passed = 0;
    let lost = 0;
    const failures: string[] = [];
    for (let i = 0; i < CASES; i++) {
      const corruption = CORRUPTIONS[i % CORRUPTIONS.length];
      if (corruption === undefined) throw new Error('no corruption');
      const label = `case ${i} (${corruption.name})`;
      const dir = await mkdtemp(join(tmpdir(), 'dq-fault-corrupt-'));
      const stateDir = join(dir, 'state');
      const configPath = join(dir, 'dnsquorum.yaml');
      try {
        await writeFile(configPath, corruptStateConfig(stateDir));
        const moved = await corruption.make(stateDir);
        const before = await snapshot(moved);
        const daemon = await startDaemon(configPath, daemonEnvironment);
        try {
          const address = await dnsAddress(daemon);
          const served = await expect
            .poll(() => servedDifference(address), { timeout: WAIT.timeout, interval: WAIT.interval })
            .toBeUndefined()
            .then(() => undefined, (err: unknown) => errorMessage(err));
          const missing = await missingRecordSets(address);
          lost += missing;
          const line = recoveryLine(daemon.logs());
          const movedTo = typeof line?.movedTo === 'string' ? line.movedTo : undefined;
          const kept = movedTo === undefined ? undefined : await snapshot(movedTo).catch(() => undefined);
          const problems = [
            served === undefined ? undefined : `the zone was not served whole: ${served}`,
            missing === 0 ? undefined : `${missing} of ${EXPECTED.length + 1} record sets not answered`,
            movedTo === undefined ? 'no error line with movedTo' : undefined,
            movedTo !== undefined && !movedTo.startsWith(`${moved}.corrupt-`) ? `moved to ${movedTo}, not next to ${moved}` : undefined,
            movedTo !== undefined && kept !== before ? `the copy at ${movedTo} is not what stood at ${moved}` : undefined,
          ].filter((p): p is string => p !== undefined);
          if (problems.length === 0) passed++;
          else failures.push(`${label}: ${problems.join('; ')}`);
        } finally {
          await daemon.stop();
        }
      } catch (err) {
        failures.push(`${label}: the case could not be run: ${errorMessage(err)}`);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
    recordFault({ task }, { fault: FAULT, cases: CASES, passed, lost });
    expect(failures).toEqual([]);
    expect(lost).toBe(0);
    expect(passed).toBe(CASES);
  });
});
