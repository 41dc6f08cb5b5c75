import type { EndpointHealth, EndpointId, HealthState, RegionVerdict } from '../domain/health.js';
import { DnsQuorumError } from '../lib/errors.js';
import { formatDuration } from './format.js';

/**
 * Cross-region quorum: turns each region's verdict on an endpoint into one decision. Pure; `now`
 * is passed in by the caller, who reads it from the injected Clock.
 */

export interface QuorumPolicy {
  /** Every configured region, this replica's own included. */
  readonly regions: readonly string[];
  /** Regions that must agree to decide (already resolved from "majority" or a number). */
  readonly quorum: number;
  /** A verdict older than this counts as missing, not as its last value. */
  readonly staleAfterMs: number;
}

/** Throws a clear error for a policy that is not a policy (bad wiring, not bad health). */
export function validatePolicy(policy: QuorumPolicy): void {
  if (!Number.isInteger(policy.quorum) || policy.quorum < 1) {
    throw new DnsQuorumError('DQ_INTERNAL', `quorum policy: quorum must be a whole number >= 1, got ${String(policy.quorum)}`);
  }
  if (!Number.isFinite(policy.staleAfterMs) || policy.staleAfterMs < 0) {
    throw new DnsQuorumError(
      'DQ_INTERNAL',
      `quorum policy: staleAfterMs must be a finite number >= 0, got ${String(policy.staleAfterMs)}`,
    );
  }
  if (policy.regions.length === 0) {
    throw new DnsQuorumError('DQ_INTERNAL', 'quorum policy: regions must name at least one region');
  }
  const seen = new Set<string>();
  for (const region of policy.regions) {
    if (region === '') throw new DnsQuorumError('DQ_INTERNAL', 'quorum policy: a region name is empty');
    if (seen.has(region)) throw new DnsQuorumError('DQ_INTERNAL', `quorum policy: region "${region}" is listed twice`);
    seen.add(region);
  }
}

/**
 * The number of regions that must agree. Never less than 2 when two or more regions are
 * configured: one region alone (its own network trouble, a broken prober) must not be able to
 * fail an endpoint over, whatever the configured quorum says.
 */
export function effectiveQuorum(policy: QuorumPolicy): number {
  return Math.max(policy.quorum, policy.regions.length >= 2 ? 2 : 1);
}

interface Tally {
  readonly up: string[];
  readonly down: string[];
  readonly undecided: string[];
  readonly stale: string[];
  readonly missing: string[];
  /** One verdict per configured region that reported at all, fresh or stale, in policy order. */
  readonly verdicts: RegionVerdict[];
}

function tally(endpointId: EndpointId, verdicts: readonly RegionVerdict[], policy: QuorumPolicy, now: number): Tally {
  // One verdict per region: if a caller hands over two, the newer one is that region's opinion.
  const latest = new Map<string, RegionVerdict>();
  for (const v of verdicts) {
    if (v.endpointId !== endpointId) continue;
    const seen = latest.get(v.region);
    if (seen === undefined || v.observedAt > seen.observedAt) latest.set(v.region, v);
  }
  const result: Tally = { up: [], down: [], undecided: [], stale: [], missing: [], verdicts: [] };
  for (const region of policy.regions) {
    const v = latest.get(region);
    if (v === undefined) {
      result.missing.push(region);
      continue;
    }
    result.verdicts.push(v);
    if (now - v.observedAt > policy.staleAfterMs) result.stale.push(region);
    else if (v.state === 'up') result.up.push(region);
    else if (v.state === 'down') result.down.push(region);
    else result.undecided.push(region);
  }
  return result;
}

function describeRegions(t: Tally): string {
  const parts: string[] = [];
  if (t.up.length > 0) parts.push(`up: ${t.up.join(', ')}`);
  if (t.down.length > 0) parts.push(`down: ${t.down.join(', ')}`);
  if (t.undecided.length > 0) parts.push(`undecided: ${t.undecided.join(', ')}`);
  if (t.stale.length > 0) parts.push(`stale: ${t.stale.join(', ')}`);
  if (t.missing.length > 0) parts.push(`no report: ${t.missing.join(', ')}`);
  return parts.join('; ');
}

/**
 * Decides one endpoint from the regions' verdicts.
 *
 * - Only verdicts from configured regions count, one per region (the newest).
 * - A verdict with `now - observedAt > staleAfterMs` is missing; `unknown` verdicts do not vote.
 * - Fewer voting regions than the effective quorum: the previous state stands and
 *   `insufficientVantage` is set.
 * - Down votes reaching the quorum decide down; otherwise up votes reaching it decide up; otherwise
 *   (a split) the previous state stands. Down is checked first so that, when a quorum set below a
 *   majority lets both sides reach it, traffic moves away from the endpoint rather than toward it.
 */
export function evaluateEndpoint(
  prev: EndpointHealth | undefined,
  endpointId: EndpointId,
  verdicts: readonly RegionVerdict[],
  policy: QuorumPolicy,
  now: number,
): EndpointHealth {
  validatePolicy(policy);
  const quorum = effectiveQuorum(policy);
  const t = tally(endpointId, verdicts, policy, now);
  const total = policy.regions.length;
  const voting = t.up.length + t.down.length;
  const prevState: HealthState = prev?.state ?? 'unknown';
  const regionsText = describeRegions(t);
  const staleNote = t.stale.length > 0 ? ` (stale after ${formatDuration(policy.staleAfterMs)})` : '';

  let state: HealthState;
  let reason: string;
  let insufficientVantage = false;
  if (voting < quorum) {
    state = prevState;
    insufficientVantage = true;
    reason =
      `insufficient vantage: ${voting} of ${total} regions fresh, quorum ${quorum}; ` +
      `${regionsText}${staleNote}; holding ${prevState}`;
  } else if (t.down.length >= quorum) {
    state = 'down';
    reason = `down in ${t.down.length} of ${total} regions (quorum ${quorum}); ${regionsText}${staleNote}`;
  } else if (t.up.length >= quorum) {
    state = 'up';
    reason = `up in ${t.up.length} of ${total} regions (quorum ${quorum}); ${regionsText}${staleNote}`;
  } else {
    state = prevState;
    reason =
      `no quorum: ${t.up.length} up, ${t.down.length} down, quorum ${quorum}; ` +
      `${regionsText}${staleNote}; holding ${prevState}`;
  }

  const changed = prev === undefined || state !== prev.state;
  const since = changed ? now : prev.since;
  const recoveredAt = prevState === 'down' && state === 'up' ? now : prev?.recoveredAt;

  return {
    endpointId,
    state,
    since,
    ...(recoveredAt === undefined ? {} : { recoveredAt }),
    reason,
    insufficientVantage,
    regions: t.verdicts,
  };
}
