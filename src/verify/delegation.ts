import type { Packet } from 'dns-packet';
import { fqdn } from '../domain/record.js';
import { rcodeName } from '../lib/dns-query.js';

/**
 * Whether the parent zone delegates a zone to every provider's name servers: the comparison, as
 * plain data and pure functions. Asking the parent's servers is in delegation-check.ts.
 */

/**
 * - ok: every parent server that answered lists every one of our providers' name servers
 * - incomplete: a parent server that answered leaves out at least one of them (the zone is inconsistent)
 * - unreachable: no parent server (or no parent zone) could be found or asked; says nothing about the zone
 * - not-checked: the check was not made (switched off, or nothing to compare with)
 */
export type DelegationStatus = 'ok' | 'incomplete' | 'unreachable' | 'not-checked';

/** Where the parent zone's servers came from. */
export type ParentSource = 'config' | 'resolver';

/** One server of the parent zone, and what it says the zone's name servers are. */
export interface ParentServerAnswer {
  /** The parent server's host name (FQDN). */
  readonly host: string;
  /** "ip:port" it was asked at; null when its address could not be found. */
  readonly address: string | null;
  /** The NS names it gave for the zone (FQDNs, sorted); null when it gave no usable answer. */
  readonly nameservers: readonly string[] | null;
  /** Why there is no usable answer; null when it answered. */
  readonly error: string | null;
  /** Our name servers its answer leaves out ([] when it did not answer). */
  readonly missing: readonly string[];
  /** Name servers it lists that no provider of ours has ([] when it did not answer). */
  readonly extra: readonly string[];
}

export interface DelegationCheck {
  readonly status: DelegationStatus;
  /** The zone that holds the delegation; null when none was found. */
  readonly parent: string | null;
  /** 'config': the parent is a zone of this config, asked at its providers' own servers; 'resolver': found by the system resolver. */
  readonly source: ParentSource | null;
  /** Every one of our providers' own name servers: what the delegation must list (sorted). */
  readonly expected: readonly string[];
  readonly servers: readonly ParentServerAnswer[];
  /** Our name servers that at least one answering parent server leaves out (sorted). */
  readonly missing: readonly string[];
  /** Servers that at least one answering parent server lists and no provider of ours has (sorted). */
  readonly extra: readonly string[];
  readonly message: string;
}

/** What a parent server's reply says about the delegation of `zone`. */
export type DelegationReply = { readonly ok: true; readonly nameservers: string[] } | { readonly ok: false; readonly error: string };

/**
 * The NS names a parent server gives for `zone`: a referral carries them in the authority section
 * (AA clear); a server that also serves the zone itself answers them in the answer section. Both
 * count. NXDOMAIN or an answer without them means the parent does not delegate the zone at all.
 */
export function delegationFromReply(packet: Packet, zone: string): DelegationReply {
  const rcode = rcodeName(packet);
  if (rcode !== 'NOERROR' && rcode !== 'NXDOMAIN') return { ok: false, error: `answered ${rcode}` };
  const owner = fqdn(zone);
  const names = new Set<string>();
  for (const record of [...(packet.answers ?? []), ...(packet.authorities ?? [])]) {
    if (record.type === 'NS' && fqdn(record.name) === owner) names.add(fqdn(record.data));
  }
  return { ok: true, nameservers: [...names].sort() };
}

/** One parent server's answer compared with our name servers. */
export function parentServerAnswer(host: string, address: string | null, reply: DelegationReply, expected: readonly string[]): ParentServerAnswer {
  if (!reply.ok) return { host: fqdn(host), address, nameservers: null, error: reply.error, missing: [], extra: [] };
  const listed = new Set(reply.nameservers.map(fqdn));
  const ours = new Set(expected.map(fqdn));
  return {
    host: fqdn(host),
    address,
    nameservers: [...listed].sort(),
    error: null,
    missing: [...ours].filter((ns) => !listed.has(ns)).sort(),
    extra: [...listed].filter((ns) => !ours.has(ns)).sort(),
  };
}

export interface DelegationFindings {
  readonly zone: string;
  readonly parent: string;
  readonly source: ParentSource;
  readonly expected: readonly string[];
  readonly servers: readonly ParentServerAnswer[];
  /** Why parent servers are missing from `servers` (a provider whose name servers could not be read, ...). */
  readonly problems?: readonly string[];
}

function where(server: ParentServerAnswer): string {
  return server.address === null ? server.host : `${server.host} (${server.address})`;
}

function union(lists: readonly (readonly string[])[]): string[] {
  return [...new Set(lists.flat())].sort();
}

/**
 * The verdict over every parent server asked. Only servers that answered are judged: one that
 * cannot be reached says nothing about the delegation (the machine may be offline).
 */
export function judgeDelegation(findings: DelegationFindings): DelegationCheck {
  const expected = union([findings.expected.map(fqdn)]);
  const base = { parent: findings.parent, source: findings.source, expected, servers: findings.servers };
  const answered = findings.servers.filter((s) => s.nameservers !== null);
  const missing = union(answered.map((s) => s.missing));
  const extra = union(answered.map((s) => s.extra));
  if (expected.length === 0) {
    return { status: 'not-checked', ...base, missing: [], extra: [], message: `no provider's name servers for ${findings.zone} could be read, so there is nothing to compare the delegation with` };
  }
  if (answered.length === 0) {
    const reasons = [...findings.servers.map((s) => `${where(s)}: ${s.error ?? 'no answer'}`), ...(findings.problems ?? [])];
    const detail = reasons.length === 0 ? 'it has no name servers to ask' : reasons.join('; ');
    return { status: 'unreachable', ...base, missing: [], extra: [], message: `no server of the parent zone ${findings.parent} answered for ${findings.zone}: ${detail}` };
  }
  const extraNote = extra.length === 0 ? '' : `; it also lists ${extra.join(', ')}, which no provider of this zone has`;
  const unanswered = findings.servers.length - answered.length;
  const counted = `${answered.length} of ${findings.servers.length} parent server${findings.servers.length === 1 ? '' : 's'} answered`;
  if (missing.length > 0) {
    const culprits = answered.filter((s) => s.missing.length > 0).map((s) => `${where(s)} leaves out ${s.missing.join(', ')}`);
    return {
      status: 'incomplete',
      ...base,
      missing,
      extra,
      message: `the delegation of ${findings.zone} in ${findings.parent} lacks ${missing.join(', ')}: ${culprits.join('; ')}${extraNote}`,
    };
  }
  return {
    status: 'ok',
    ...base,
    missing,
    extra,
    message: `${findings.parent} delegates ${findings.zone} to all ${expected.length} name servers (${counted}${unanswered > 0 ? '; the others were not reached' : ''})${extraNote}`,
  };
}

/** A check that was not made, and why. */
export function delegationNotChecked(reason: string, parent: string | null = null, source: ParentSource | null = null): DelegationCheck {
  return { status: 'not-checked', parent, source, expected: [], servers: [], missing: [], extra: [], message: reason };
}

/** No parent zone or none of its servers could be found, and why. */
export function delegationUnreachable(reason: string, expected: readonly string[], parent: string | null = null, source: ParentSource | null = null): DelegationCheck {
  return { status: 'unreachable', parent, source, expected: union([expected.map(fqdn)]), servers: [], missing: [], extra: [], message: reason };
}
