import type { EndpointId, HealthState, ProbeResult, RegionVerdict } from '../domain/health.js';
import { DnsQuorumError } from '../lib/errors.js';

/**
 * Per region, per endpoint rise/fall hysteresis (HAProxy vocabulary): `fall` consecutive failed
 * probes take an endpoint down, `rise` consecutive successful probes bring it up. Pure: every
 * call returns a new value and time comes only from the probe results.
 */

export interface HysteresisRule {
  /** Consecutive successes needed to call the endpoint up. */
  readonly rise: number;
  /** Consecutive failures needed to call the endpoint down. */
  readonly fall: number;
}

export interface RegionCounter {
  readonly state: HealthState;
  readonly consecutiveOk: number;
  readonly consecutiveFail: number;
  /** `at` of the last probe counted. */
  readonly lastProbeAt: number;
  readonly lastDetail: string;
  /** When `state` last changed; for a counter still `unknown`, when its first probe arrived. */
  readonly changedAt: number;
  /** The rule the last probe was counted with, kept so a verdict can explain itself. */
  readonly rise: number;
  readonly fall: number;
}

/**
 * Counters stop here. Past any sensible threshold the exact number only feeds a reason line, and
 * a counter that grows for as long as an endpoint stays down is a slow leak of meaning (and,
 * eventually, of precision).
 */
export const COUNTER_CEILING = 1000;

/** Throws a clear error for a rule that could never be met or makes no sense. */
export function validateRule(rule: HysteresisRule, where: string): void {
  for (const key of ['rise', 'fall'] as const) {
    const value = rule[key];
    if (!Number.isInteger(value) || value < 1 || value > COUNTER_CEILING) {
      throw new DnsQuorumError(
        'DQ_INTERNAL',
        `${where}: ${key} must be a whole number from 1 to ${COUNTER_CEILING}, got ${String(value)}`,
      );
    }
  }
}

/**
 * Counts one probe result. A result older than the last one counted is ignored (returned as
 * `prev`): a late answer must not overwrite newer knowledge.
 */
export function observe(prev: RegionCounter | undefined, result: ProbeResult, rule: HysteresisRule): RegionCounter {
  validateRule(rule, `hysteresis rule for ${result.endpointId}`);
  if (prev !== undefined && result.at < prev.lastProbeAt) return prev;

  const state: HealthState = prev?.state ?? 'unknown';
  const changedAt = prev?.changedAt ?? result.at;
  const consecutiveOk = result.ok ? Math.min((prev?.consecutiveOk ?? 0) + 1, COUNTER_CEILING) : 0;
  const consecutiveFail = result.ok ? 0 : Math.min((prev?.consecutiveFail ?? 0) + 1, COUNTER_CEILING);

  let next: HealthState = state;
  if (result.ok && state !== 'up' && consecutiveOk >= rule.rise) next = 'up';
  if (!result.ok && state !== 'down' && consecutiveFail >= rule.fall) next = 'down';

  return {
    state: next,
    consecutiveOk,
    consecutiveFail,
    lastProbeAt: result.at,
    lastDetail: result.detail,
    changedAt: next === state ? changedAt : result.at,
    rise: rule.rise,
    fall: rule.fall,
  };
}

/** This region's opinion, with a reason that shows the counters behind it. */
export function toVerdict(region: string, endpointId: EndpointId, c: RegionCounter): RegionVerdict {
  return { region, endpointId, state: c.state, observedAt: c.lastProbeAt, reason: counterReason(c) };
}

function counterReason(c: RegionCounter): string {
  const detail = c.lastDetail === '' ? '' : `: ${c.lastDetail}`;
  if (c.consecutiveFail > 0) {
    return c.state === 'down'
      ? `${c.consecutiveFail} consecutive ${noun(c.consecutiveFail, 'failure')} (fall ${c.fall})${detail}`
      : `${c.consecutiveFail} of ${c.fall} ${noun(c.fall, 'failure')} toward down${detail}`;
  }
  return c.state === 'up'
    ? `${c.consecutiveOk} consecutive ${noun(c.consecutiveOk, 'success')} (rise ${c.rise})${detail}`
    : `${c.consecutiveOk} of ${c.rise} ${noun(c.rise, 'success')} toward up${detail}`;
}

function noun(count: number, singular: 'failure' | 'success'): string {
  if (count === 1) return singular;
  return singular === 'failure' ? 'failures' : 'successes';
}
