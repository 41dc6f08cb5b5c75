import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyOf } from '../../src/domain/record.js';
import { runCli } from '../helpers/cli.js';
import { ns1Holds, recordSetOf, recordYaml, route53Holds, startTwoFakes, testRecords } from './two-fakes.js';
import type { TestRecord, TwoFakes } from './two-fakes.js';

/**
 * The share guardrail through the built CLI: with `unmanaged: delete`, a config that drops 80% of
 * a zone's record sets is refused by `sync --apply` (DQ_PLAN_UNSAFE, nothing written at either
 * provider), goes through with --force, and goes through without it where the zone allows 90%.
 */

const ZONE = 'example.com';
const ALL = testRecords(50);
const KEPT = ALL.slice(0, 10);

const zoneYaml = (records: readonly TestRecord[], extra = ''): string => `  ${ZONE}:
    providers: [r53, ns1]
    unmanaged: delete
${extra}    records:
${records.map(recordYaml).join('\n')}`;

describe('sync --apply refuses to delete 80% of a zone unless forced or allowed', () => {
  let fakes: TwoFakes;
  let full: string;
  let trimmed: string;

  /** Every test record's key held by each provider (the apex NS and SOA are the providers' own). */
  const held = (): { r53: string[]; ns1: string[] } => {
    const ours = new Set(ALL.map((r) => keyOf(recordSetOf(ZONE, r))));
    const keys = (sets: readonly { name: string; type: string }[]): string[] => sets.map((rs) => `${rs.name} ${rs.type}`).filter((k) => ours.has(k)).sort();
    return { r53: keys(route53Holds(fakes)), ns1: keys(ns1Holds(fakes)) };
  };
  const keysOf = (records: readonly TestRecord[]): string[] => records.map((r) => keyOf(recordSetOf(ZONE, r))).sort();

  async function applyFull(): Promise<void> {
    const apply = await runCli(['sync', '--apply', '--config', full], { env: fakes.env });
    expect(apply.code, apply.stderr + apply.stdout).toBe(0);
    expect(held()).toEqual({ r53: keysOf(ALL), ns1: keysOf(ALL) });
  }

  beforeAll(async () => {
    fakes = await startTwoFakes(ZONE);
    full = await fakes.writeConfig('full.yaml', zoneYaml(ALL));
    trimmed = await fakes.writeConfig('trimmed.yaml', zoneYaml(KEPT));
  });
  afterAll(async () => {
    await fakes.close();
  });

  it('refuses without --force, naming the counts, and writes nothing; --force applies it', async () => {
    await applyFull();

    const refused = await runCli(['sync', '--apply', '--config', trimmed], { env: fakes.env });
    expect(refused.code, refused.stderr + refused.stdout).toBe(1);
    // The acceptance criterion: the refusal is on stderr, where scripts and people look for errors.
    expect.soft(refused.stderr).toContain('DQ_PLAN_UNSAFE');
    expect.soft(refused.stderr).toContain('would update or delete 40 of 50 record sets (80.0%, limit 30%)');
    expect(`${refused.stdout}\n${refused.stderr}`).toMatch(/DQ_PLAN_UNSAFE.*would update or delete 40 of 50 record sets \(80\.0%, limit 30%\); needs --force/);
    expect(held()).toEqual({ r53: keysOf(ALL), ns1: keysOf(ALL) });

    const forced = await runCli(['sync', '--apply', '--force', '--config', trimmed], { env: fakes.env });
    expect(forced.code, forced.stderr + forced.stdout).toBe(0);
    expect(held()).toEqual({ r53: keysOf(KEPT), ns1: keysOf(KEPT) });
  });

  it('a zone with maxChangeShare: 90% lets the same change through without --force', async () => {
    await applyFull();
    const allowing = await fakes.writeConfig('allowing.yaml', zoneYaml(KEPT, '    maxChangeShare: 90%\n'));

    const applied = await runCli(['sync', '--apply', '--config', allowing], { env: fakes.env });
    expect(applied.code, applied.stderr + applied.stdout).toBe(0);
    expect(held()).toEqual({ r53: keysOf(KEPT), ns1: keysOf(KEPT) });

    const plan = await runCli(['plan', '--config', allowing], { env: fakes.env });
    expect(plan.code, plan.stderr + plan.stdout).toBe(0);
  });
});
