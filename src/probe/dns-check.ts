import type { HostPort } from '../config/types.js';
import { canonicalValue } from '../domain/record.js';
import type { DnsCheckSpec } from '../domain/zone.js';
import { answerPresentation, queryDns, rcodeName } from '../lib/dns-query.js';
import { CheckFailure } from './outcome.js';
import type { CheckOutcome } from './outcome.js';

/** RFC 1035 / RFC 2136 response codes, by the value in the low four bits of the header flags. */
/**
 * Asks the endpoint one question (UDP, TCP when truncated; see queryDns, which also checks the
 * reply's id and question) and compares the rcode and, if asked for, one answer value.
 */
export async function dnsCheck(endpoint: HostPort, check: DnsCheckSpec & { readonly timeoutMs: number }, signal: AbortSignal): Promise<CheckOutcome> {
  // The probe's own deadline governs; queryDns's timeout is only a backstop set past it, so a
  // timeout is reported as "timeout after Nms" like every other protocol's.
  const reply = await queryDns(endpoint, check.query, check.queryType, { signal, timeoutMs: check.timeoutMs + 1000 });
  if (reply.packet.type !== 'response') throw new CheckFailure('reply is not a response (QR bit clear)');
  const rcode = rcodeName(reply.packet);
  if (rcode !== check.expectRcode.toUpperCase()) return { ok: false, detail: `rcode ${rcode} (expected ${check.expectRcode.toUpperCase()})` };
  if (check.expectAnswer === undefined) return { ok: true, detail: rcode };

  const wanted = canonicalValue(check.queryType, check.expectAnswer);
  const got = (reply.packet.answers ?? []).flatMap((answer) => {
    const value = answer.type === check.queryType ? answerPresentation(answer) : undefined;
    return value === undefined ? [] : [canonicalValue(check.queryType, value)];
  });
  if (got.includes(wanted)) return { ok: true, detail: `${rcode}, ${check.queryType} ${wanted}` };
  const seen = got.length === 0 ? 'none' : got.join(', ');
  return { ok: false, detail: `${rcode} but no ${check.queryType} answer ${wanted} (got ${seen})` };
}

