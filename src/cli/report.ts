import type { RecordSet } from '../domain/record.js';
import type { SyncReport } from '../sync/sync-once.js';

function rr(rs: RecordSet): string {
  return `${rs.name} ${rs.type} ${rs.ttl} ${rs.values.join(', ')}`;
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
      const head = {
        'in-sync': 'in sync',
        pending: `${n} change${n === 1 ? '' : 's'} pending`,
        applied: `${n} change${n === 1 ? '' : 's'} applied`,
        refused: `${n} change${n === 1 ? '' : 's'} refused`,
        failed: 'failed',
      }[p.outcome];
      const zoneNote = !p.zoneMissing ? '' : p.outcome === 'applied' ? ' (zone created)' : ' (zone does not exist yet; created on apply)';
      lines.push(`  provider ${p.provider}: ${head}${zoneNote}`);
      for (const c of p.changes.creates) lines.push(`    + ${rr(c)}`);
      for (const u of p.changes.updates) lines.push(`    ~ ${rr(u.before)}\n      => ${rr(u.after)}`);
      for (const d of p.changes.deletes) lines.push(`    - ${rr(d)}`);
      if (p.unmanagedKept.length > 0) lines.push(`    (${p.unmanagedKept.length} record sets not in the config are kept: unmanaged: keep)`);
      if (p.error !== undefined) lines.push(`    ! ${p.error.code}: ${p.error.message}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
