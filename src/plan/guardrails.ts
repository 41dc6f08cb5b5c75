import type { ChangeSet } from '../domain/change-set.js';
import { keyOf } from '../domain/record.js';
import type { RecordKey, RecordSet } from '../domain/record.js';

export interface GuardrailOptions {
  /** Largest share (0..1) of the zone's current record sets one pass may update or delete. */
  readonly maxChangeShare: number;
  /** Below this many current record sets the share rule does not apply (small zones change wholesale). */
  readonly minRecordsForShare: number;
  /** Keys whose changes are health-driven failover; they never count against the share. */
  readonly healthDriven: ReadonlySet<RecordKey>;
}

/** One reason a change set is unsafe. */
export interface Violation {
  readonly rule: 'empty-record-set' | 'too-much-change' | 'nameserver-removal';
  /** Whether --force may override it. An empty record set is never written. */
  readonly forceable: boolean;
  readonly message: string;
}

/**
 * Checks a change set before it is applied. Returns every violation; sync refuses the change set
 * when any is left after --force has waived the forceable ones.
 */
export function checkChangeSet(changes: ChangeSet, current: readonly RecordSet[], options: GuardrailOptions): Violation[] {
  const violations: Violation[] = [];

  for (const rs of [...changes.creates, ...changes.updates.map((u) => u.after)]) {
    if (rs.values.length === 0) {
      violations.push({ rule: 'empty-record-set', forceable: false, message: `${rs.name} ${rs.type} would be written with no values` });
    }
  }

  for (const u of changes.updates) {
    if (u.before.type !== 'NS' || u.before.name !== changes.zone) continue;
    const removed = u.before.values.filter((v) => !u.after.values.includes(v));
    if (removed.length > 0) {
      violations.push({
        rule: 'nameserver-removal',
        forceable: true,
        message: `apex NS of ${changes.zone} would lose ${removed.join(', ')}; removing name servers needs --force`,
      });
    }
  }

  const counted = current.filter((rs) => !(rs.name === changes.zone && (rs.type === 'SOA' || rs.type === 'NS')));
  if (counted.length >= options.minRecordsForShare) {
    const touched = [...changes.updates.map((u) => u.after), ...changes.deletes].filter((rs) => !options.healthDriven.has(keyOf(rs)));
    const share = touched.length / counted.length;
    if (share > options.maxChangeShare) {
      violations.push({
        rule: 'too-much-change',
        forceable: true,
        message: `would update or delete ${touched.length} of ${counted.length} record sets (${(share * 100).toFixed(1)}%, limit ${(options.maxChangeShare * 100).toFixed(0)}%); needs --force`,
      });
    }
  }
  return violations;
}

export function blockingViolations(violations: readonly Violation[], force: boolean): Violation[] {
  return violations.filter((v) => !force || !v.forceable);
}
