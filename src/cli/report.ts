import type { ChangeSet } from '../domain/change-set.js';
import type { RecordSet } from '../domain/record.js';
import type { ProviderPass, SyncReport } from '../sync/sync-once.js';

function rr(rs: RecordSet): string {
  return `${rs.name} ${rs.type} ${rs.ttl} ${rs.values.join(', ')}`;
}

function changeLines(changes: ChangeSet, indent: string): string[] {
  return [
    ...changes.creates.map((c) => `${indent}+ ${rr(c)}`),
    ...changes.updates.map((u) => `${indent}~ ${rr(u.before)}\n${indent}  => ${rr(u.after)}`),
    ...changes.deletes.map((d) => `${indent}- ${rr(d)}`),
  ];
}

/** Record sets held back, each counted once even when two rules hold it. */
function heldBack(p: ProviderPass): number {
  return new Set(p.refused.flatMap((r) => r.records)).size;
}

/** Each guardrail's refusal with the changes it holds back. */
function refusalLines(p: ProviderPass): string[] {
  return p.refused.flatMap((r) => [
    `    ! DQ_PLAN_UNSAFE ${r.rule} (${r.forceable ? '--force writes it' : 'never written, not even with --force'}): ${r.message}`,
    ...changeLines(r.changes, '      '),
  ]);
}

/** The plan for people: per zone, per provider, what would change and why. */
export function formatReport(report: SyncReport): string {
  const lines: string[] = [];
  for (const zone of report.zones) {
    lines.push(`zone ${zone.zone}`);
    for (const d of zone.decisions) {
      lines.push(`  ${d.name} ${d.type} -> ${d.values === null ? '(removed)' : d.values.join(', ')}  [${d.cause}] ${d.reason}`);
    }
    for (const p of zone.providers) {
      const n = p.changes.creates.length + p.changes.updates.length + p.changes.deletes.length;
      const held = heldBack(p);
      const changes = (count: number, what: string): string => `${count} change${count === 1 ? '' : 's'} ${what}`;
      const head = {
        'in-sync': 'in sync',
        pending: changes(n, 'pending'),
        applied: changes(n, 'applied'),
        refused: changes(held, 'refused'),
        failed: 'failed',
      }[p.outcome];
      const heldNote = held === 0 || p.outcome === 'refused' ? '' : `, ${changes(held, 'refused')}`;
      const zoneNote = !p.zoneMissing ? '' : p.outcome === 'applied' ? ' (zone created)' : ' (zone does not exist yet; created on apply)';
      lines.push(`  provider ${p.provider}: ${head}${heldNote}${zoneNote}`);
      lines.push(...changeLines(p.changes, '    '), ...refusalLines(p));
      const unwritable = p.unmanagedKept.filter((k) => k.unwritable !== undefined);
      const notInConfig = p.unmanagedKept.length - unwritable.length;
      for (const k of unwritable) lines.push(`    = ${k.name} ${k.type} kept: ${k.unwritable ?? ''}, which dnsquorum never writes`);
      if (notInConfig > 0) lines.push(`    (${notInConfig} record sets not in the config are kept: unmanaged: keep)`);
      // A refusal's error says what the refusal lines above say already.
      if (p.error !== undefined && p.outcome !== 'refused') lines.push(`    ! ${p.error.code}: ${p.error.message}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
