import { canonicalValue, fqdn } from '../../domain/record.js';
import type { RecordSet } from '../../domain/record.js';
import { hostNameProblem, valueProblem } from '../../dns/rdata.js';

/**
 * What the local provider accepts into its state file: only record sets the authoritative server
 * (src/dns) can put on the wire.
 */

/** TTLs are unsigned 31-bit on the wire (RFC 2181 8). */
export const TTL_MAX = 2_147_483_647;

/** Problems of a record set as given (before normalisation): name, TTL, values. Empty when valid. */
export function recordSetProblems(rs: RecordSet): string[] {
  const where = `${rs.name} ${rs.type}`;
  const problems: string[] = [];
  const nameProblem = hostNameProblem(fqdn(rs.name), { allowWildcard: true });
  if (nameProblem !== undefined) problems.push(`${where}: owner name ${nameProblem}`);
  if (!Number.isInteger(rs.ttl) || rs.ttl < 0 || rs.ttl > TTL_MAX) problems.push(`${where}: TTL ${rs.ttl} is not an integer from 0 to ${TTL_MAX}`);
  if (rs.values.length === 0) problems.push(`${where}: a record set needs at least one value`);
  if (rs.type === 'CNAME' && new Set(rs.values.map((v) => canonicalValue('CNAME', v))).size > 1) {
    problems.push(`${where}: a CNAME record set holds exactly one value`);
  }
  for (const value of rs.values) {
    const problem = valueProblem(rs.type, value);
    if (problem !== undefined) problems.push(`${where}: ${problem}`);
  }
  return problems;
}
