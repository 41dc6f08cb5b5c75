import type { EndpointHealth, EndpointId, HealthView, ProbeResult, RegionVerdict } from '../domain/health.js';
import type { Clock } from '../lib/clock.js';
import { DnsQuorumError } from '../lib/errors.js';
import { type HysteresisRule, type RegionCounter, observe, toVerdict } from './hysteresis.js';
import { type QuorumPolicy, evaluateEndpoint, validatePolicy } from './quorum.js';

export interface HealthBoardOptions {
  /** This replica's region; its probes feed the hysteresis kept here. */
  readonly region: string;
  readonly policy: QuorumPolicy;
  readonly clock: Clock;
  /** The rise/fall of the record an endpoint belongs to; undefined when it is not configured. */
  readonly rules: (id: EndpointId) => HysteresisRule | undefined;
}

export interface BoardEvaluation {
  /** The decision for every endpoint asked about. */
  readonly health: HealthView;
  /** Those whose state differs from the previous evaluation (a first decision included). */
  readonly changed: EndpointHealth[];
}

/**
 * The daemon's in-memory health state: this region's hysteresis counters, the peers' latest
 * verdicts and the last decision per endpoint. No I/O; time comes from the injected clock.
 */
export class HealthBoard {
  private readonly region: string;
  private readonly policy: QuorumPolicy;
  private readonly clock: Clock;
  private readonly rules: (id: EndpointId) => HysteresisRule | undefined;
  private readonly counters = new Map<EndpointId, RegionCounter>();
  /** endpoint -> region -> that region's latest verdict. */
  private readonly peerVerdicts = new Map<EndpointId, Map<string, RegionVerdict>>();
  private readonly decisions = new Map<EndpointId, EndpointHealth>();

  constructor(options: HealthBoardOptions) {
    validatePolicy(options.policy);
    if (!options.policy.regions.includes(options.region)) {
      throw new DnsQuorumError(
        'DQ_INTERNAL',
        `health board: own region "${options.region}" is not among the policy's regions (${options.policy.regions.join(', ')})`,
      );
    }
    this.region = options.region;
    this.policy = options.policy;
    this.clock = options.clock;
    this.rules = options.rules;
  }

  /**
   * Counts one of this region's probes. Results for endpoints no longer configured are dropped.
   * Returns true when this region's verdict on the endpoint changed: peers want to hear it at once.
   */
  recordProbe(result: ProbeResult): boolean {
    const rule = this.rules(result.endpointId);
    if (rule === undefined) return false;
    const before = this.counters.get(result.endpointId);
    const after = observe(before, result, rule);
    this.counters.set(result.endpointId, after);
    return before === undefined || toVerdict(this.region, result.endpointId, before).state !== toVerdict(this.region, result.endpointId, after).state;
  }

  /**
   * Takes other regions' verdicts; each replaces that region's verdict for its endpoint unless it
   * is older than the one held (messages may arrive out of order). Verdicts claiming to be from
   * this region, from regions not configured, or about endpoints not configured are ignored:
   * this region's opinion is only ever its own probes.
   */
  ingestPeerVerdicts(verdicts: readonly RegionVerdict[]): void {
    for (const v of verdicts) {
      if (v.region === this.region || !this.policy.regions.includes(v.region)) continue;
      if (this.rules(v.endpointId) === undefined) continue;
      let byRegion = this.peerVerdicts.get(v.endpointId);
      if (byRegion === undefined) {
        byRegion = new Map();
        this.peerVerdicts.set(v.endpointId, byRegion);
      }
      const held = byRegion.get(v.region);
      if (held === undefined || v.observedAt >= held.observedAt) byRegion.set(v.region, v);
    }
  }

  /** This region's verdicts, for sending to peers and for status output. */
  localVerdicts(): RegionVerdict[] {
    return [...this.counters].map(([id, counter]) => toVerdict(this.region, id, counter));
  }

  /** True when `id` is an endpoint of the running config (it has check rules). */
  tracks(id: EndpointId): boolean {
    return this.rules(id) !== undefined;
  }

  /** Re-decides the given endpoints at clock.now() and remembers the results for next time. */
  evaluate(endpointIds: readonly EndpointId[]): BoardEvaluation {
    const now = this.clock.now();
    const health = new Map<EndpointId, EndpointHealth>();
    const changed: EndpointHealth[] = [];
    for (const id of endpointIds) {
      if (health.has(id)) continue;
      const prev = this.decisions.get(id);
      const next = evaluateEndpoint(prev, id, this.verdictsFor(id), this.policy, now);
      this.decisions.set(id, next);
      health.set(id, next);
      if (next.state !== (prev?.state ?? 'unknown')) changed.push(next);
    }
    return { health, changed };
  }

  /** Drops everything known about endpoints that are no longer configured. */
  forget(endpointIds: readonly EndpointId[]): void {
    for (const id of endpointIds) {
      this.counters.delete(id);
      this.peerVerdicts.delete(id);
      this.decisions.delete(id);
    }
  }

  /** The last decision for every endpoint evaluated and not forgotten. A copy. */
  snapshot(): HealthView {
    return new Map(this.decisions);
  }

  /**
   * The same decisions, live and without a copy: for a reader that looks up a few endpoints now
   * and keeps nothing (the decider, on every health change), where copying every endpoint would
   * cost more than the decision.
   */
  view(): HealthView {
    return this.decisions;
  }

  private verdictsFor(id: EndpointId): RegionVerdict[] {
    const verdicts = [...(this.peerVerdicts.get(id)?.values() ?? [])];
    const counter = this.counters.get(id);
    if (counter !== undefined) verdicts.push(toVerdict(this.region, id, counter));
    return verdicts;
  }
}
