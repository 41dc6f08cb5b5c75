/**
 * Health vocabulary shared by probers, the quorum evaluator, the planner and status output.
 */

/** The verdict on one endpoint. "unknown" means no decision has been reached yet. */
export type HealthState = 'up' | 'down' | 'unknown';

/**
 * One endpoint: one value of one failover record, probed with that record's check. The same
 * value in two pools of one record is one endpoint.
 */
export type EndpointId = string;

export function endpointId(recordName: string, type: string, value: string): EndpointId {
  return `${recordName} ${type} ${value}`;
}

/** The outcome of a single probe. Times are milliseconds from the injected clock. */
export interface ProbeResult {
  readonly endpointId: EndpointId;
  readonly ok: boolean;
  /** When the probe finished. */
  readonly at: number;
  readonly latencyMs: number;
  /** Human-readable outcome: "HTTP 200", "connect ECONNREFUSED", "timeout after 2000ms", ... */
  readonly detail: string;
  /** For TLS checks: whole days until the served certificate expires (negative when expired). */
  readonly certDaysLeft?: number;
}

/** One region's current opinion of one endpoint, after that region's rise/fall hysteresis. */
export interface RegionVerdict {
  readonly region: string;
  readonly endpointId: EndpointId;
  readonly state: HealthState;
  /**
   * When this verdict was last confirmed by a probe, in the receiving replica's own clock.
   * Peers send an age, never a timestamp, so clock skew between replicas does not matter.
   */
  readonly observedAt: number;
  /** Why: the last probe's detail and the counters, e.g. "3 consecutive failures (fall 3): HTTP 503". */
  readonly reason: string;
}

/** The cross-region decision for one endpoint. */
export interface EndpointHealth {
  readonly endpointId: EndpointId;
  readonly state: HealthState;
  /** When state last changed (or when it was first decided). */
  readonly since: number;
  /**
   * When the endpoint last came back from down to up; undefined if it has not recovered since
   * it was first decided. Hold-down is measured from here.
   */
  readonly recoveredAt?: number;
  /** Why the state is what it is, e.g. "down in 2 of 3 regions (quorum 2)", "insufficient vantage: ...". */
  readonly reason: string;
  /** True when fewer fresh regions reported than the quorum needs. */
  readonly insufficientVantage: boolean;
  readonly regions: readonly RegionVerdict[];
}

/** Read-only view of endpoint health that the planner consumes. */
export type HealthView = ReadonlyMap<EndpointId, EndpointHealth>;
