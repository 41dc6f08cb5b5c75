import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, runCliInProcess } from '../helpers/cli.js';

/**
 * The CLI's answers to bad config and bad arguments, run in this process (test/e2e/cli.test.ts
 * runs the real process for what needs one: exit codes of plan/sync, shipped configs, a missing file).
 */
describe('validate', () => {
  const badFixtures = readdirSync(join(REPO, 'test/fixtures/config')).filter((f) => f.startsWith('bad-'));

  it('has bad fixtures to try', () => {
    expect(badFixtures.length).toBeGreaterThanOrEqual(10);
  });

  it.each(badFixtures)('exits 1 on %s, each error as file:line:col: reason', async (file) => {
    const path = join('test/fixtures/config', file);
    const result = await runCliInProcess(['validate', '--config', path]);
    expect({ file, code: result.code }).toEqual({ file, code: 1 });
    expect(result.stderr).toMatch(new RegExp(`^${path.replace(/[.]/g, '\\.')}:\\d+:\\d+: \\S`, 'm'));
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

});

describe('every command answers --help', () => {
  it.each(['run', 'validate', 'plan', 'sync', 'verify', 'demo'])('%s --help', async (command) => {
    const result = await runCliInProcess([command, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Usage: dnsquorum ${command}`);
    expect(result.stdout).toContain('--config');
  });

  it('an unknown option is a usage error', async () => {
    const result = await runCliInProcess(['plan', '--frobnicate']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('--frobnicate');
  });
});
