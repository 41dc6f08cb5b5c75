import dnsPacket from 'dns-packet';
import type { Packet } from 'dns-packet';
import { canonicalValue, fqdn } from '../domain/record.js';
import type { RecordType } from '../domain/record.js';
import type { Expectation } from '../plan/expectations.js';

export type { Expectation } from '../plan/expectations.js';
import { answerPresentation, rcodeName } from '../lib/dns-query.js';

/**
 * How an authoritative server's answer can differ from the desired state.
 * - missing: the record set should be served but the answer holds none (NXDOMAIN or NODATA)
 * - values: the record set is served with other values
 * - ttl: the record set is served with another TTL
 * - present: a record set that must be absent (a fail-closed record) is served
 * - rcode: the server answered with an error (SERVFAIL, REFUSED, ...)
 * - not-authoritative: the answer lacks the AA flag: the server does not serve the zone itself
 * - unreachable / timeout: no answer at all
 */
export type DifferenceKind = 'missing' | 'values' | 'ttl' | 'present' | 'rcode' | 'not-authoritative' | 'unreachable' | 'timeout';

/** What the server answered for one question, reduced to what is compared. */
export interface ServedAnswer {
  readonly rcode: string;
  /** Distinct TTLs of the matching answers, ascending. */
  readonly ttls: readonly number[];
  /** Canonical values of the matching answers, sorted, without duplicates. */
  readonly values: readonly string[];
}

export interface Difference {
  readonly kind: DifferenceKind;
  readonly name: string;
  readonly type: RecordType;
  /** The desired record set; null when it must be absent or the question was not answered. */
  readonly expected: { readonly ttl: number; readonly values: readonly string[] } | null;
  /** What was served; null when there was no answer. */
  readonly got: ServedAnswer | null;
  readonly message: string;
}

/**
 * The answers of the question's own name and type (not CNAME targets, not other types), canonical.
 * `section` 'authorities' reads a referral's NS records instead, 'additionals' its glue.
 */
export function servedAnswer(packet: Packet, name: string, type: RecordType, section: 'answers' | 'authorities' | 'additionals' = 'answers'): ServedAnswer {
  const owner = fqdn(name);
  const values = new Set<string>();
  const ttls = new Set<number>();
  for (const answer of packet[section] ?? []) {
    if (answer.type !== type || fqdn(answer.name) !== owner) continue;
    const presentation = answerPresentation(answer);
    if (presentation === undefined) continue;
    values.add(canonicalValue(type, presentation));
    ttls.add(answer.ttl ?? 0);
  }
  return { rcode: rcodeName(packet), ttls: [...ttls].sort((a, b) => a - b), values: [...values].sort() };
}

const ANSWERED_RCODES = new Set(['NOERROR', 'NXDOMAIN']);

/**
 * Compares one reply to what the desired state says about its question; [] when they agree.
 * Values and TTL are reported separately, so a record with both wrong shows two differences.
 */
export function compareAnswer(expectation: Expectation, packet: Packet): Difference[] {
  const { name, type, expected } = expectation;
  const authoritative = ((packet.flags ?? 0) & dnsPacket.AUTHORITATIVE_ANSWER) !== 0;
  // A server that also serves the child zone answers the delegation's NS (and its glue) itself, with AA set.
  const referral = (expectation.referral === true || expectation.glue === true) && !authoritative;
  const got = servedAnswer(packet, name, type, !referral ? 'answers' : expectation.glue === true ? 'additionals' : 'authorities');
  const want = expected === null ? null : { ttl: expected.ttl, values: [...expected.values].sort() };
  const diff = (kind: DifferenceKind, message: string): Difference => ({ kind, name, type, expected: want, got, message });

  if (!ANSWERED_RCODES.has(got.rcode)) return [diff('rcode', `answered ${got.rcode}`)];
  if (!authoritative && !referral) {
    return [diff('not-authoritative', `answered ${got.rcode} without the AA flag: the server is not authoritative for the zone`)];
  }

  if (want === null) {
    return got.values.length === 0 ? [] : [diff('present', `must be absent, but serves ${got.values.join(', ')}`)];
  }
  if (got.values.length === 0) {
    return [diff('missing', `not served (${got.rcode === 'NXDOMAIN' ? 'NXDOMAIN' : 'NODATA'}); expected ${want.values.join(', ')}`)];
  }

  const differences: Difference[] = [];
  const lacking = want.values.filter((v) => !got.values.includes(v));
  const extra = got.values.filter((v) => !want.values.includes(v));
  if (lacking.length > 0 || extra.length > 0) {
    const parts = [lacking.length > 0 ? `lacks ${lacking.join(', ')}` : '', extra.length > 0 ? `has extra ${extra.join(', ')}` : ''].filter((p) => p !== '');
    differences.push(diff('values', `expected ${want.values.join(', ')}, got ${got.values.join(', ')} (${parts.join('; ')})`));
  }
  if (got.ttls.some((t) => t !== want.ttl)) {
    differences.push(diff('ttl', `expected TTL ${want.ttl}, got ${got.ttls.join(', ')}`));
  }
  return differences;
}
