import type { DelegationCheck } from './delegation.js';
import type { VerifyReport } from './verify.js';

const DELEGATION_HEAD: Readonly<Record<DelegationCheck['status'], string>> = {
  ok: 'OK',
  incomplete: 'INCOMPLETE',
  unreachable: 'not verified (parent unreachable)',
  'not-checked': 'not checked',
};

/** The delegation check: a head line, then one line per parent server asked. */
function delegationLines(delegation: DelegationCheck): string[] {
  const from = delegation.parent === null ? '' : ` in ${delegation.parent}${delegation.source === 'resolver' ? ' (found by the resolver)' : ''}`;
  const lines = [`  delegation${from}: ${DELEGATION_HEAD[delegation.status]}: ${delegation.message}`];
  for (const server of delegation.servers) {
    const where = `${server.host} (${server.address ?? 'no address'})`;
    if (server.nameservers === null) {
      lines.push(`      parent ${where}: ${server.error ?? 'no answer'}`);
      continue;
    }
    const listed = server.nameservers.length === 0 ? 'lists no name servers' : `lists ${server.nameservers.length}`;
    const lacking = server.missing.length === 0 ? '' : `; leaves out ${server.missing.join(', ')}`;
    const extra = server.extra.length === 0 ? '' : `; also lists ${server.extra.join(', ')}`;
    lines.push(`      parent ${where}: ${listed}${lacking}${extra}`);
  }
  return lines;
}

/** The verify report for people: one line per server, each difference indented below it, then the delegation. */
export function formatVerifyReport(report: VerifyReport): string {
  const lines: string[] = [];
  let servers = 0;
  let differing = 0;
  for (const zone of report.zones) {
    lines.push(`zone ${zone.zone}: ${zone.consistent ? 'consistent' : 'INCONSISTENT'}`);
    for (const provider of zone.providers) {
      if (provider.error !== null) {
        lines.push(`  provider ${provider.provider}: not checked: ${provider.error.code}: ${provider.error.message}`);
        continue;
      }
      for (const server of provider.servers) {
        servers += 1;
        const where = `${provider.provider} ${server.host} (${server.address ?? 'no address'})`;
        const n = server.differences.length;
        if (n > 0) differing += 1;
        lines.push(`  ${where}: ${n === 0 ? `OK, ${server.checked} record sets` : `${n} difference${n === 1 ? '' : 's'} (${server.checked} record sets answered)`}`);
        for (const d of server.differences) lines.push(`      ${d.kind}: ${d.name} ${d.type} at ${server.host}: ${d.message}`);
      }
    }
    lines.push(...delegationLines(zone.delegation));
  }
  const incomplete = report.zones.filter((z) => z.delegation.status === 'incomplete').map((z) => z.zone);
  if (incomplete.length > 0) lines.push(`INCOMPLETE delegation: ${incomplete.join(', ')}`);
  const verdict = report.consistent ? 'consistent' : 'INCONSISTENT';
  lines.push(`${verdict}: ${servers - differing} of ${servers} servers answer the desired records (${report.serversChecked} answered)`);
  return `${lines.join('\n')}\n`;
}
