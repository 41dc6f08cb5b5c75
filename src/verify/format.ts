import type { VerifyReport } from './verify.js';

/** The verify report for people: one line per server, each difference indented below it. */
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
  }
  const verdict = report.consistent ? 'consistent' : 'INCONSISTENT';
  lines.push(`${verdict}: ${servers - differing} of ${servers} servers answer the desired records (${report.serversChecked} answered)`);
  return `${lines.join('\n')}\n`;
}
