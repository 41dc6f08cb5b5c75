import type { EndpointId, HealthView } from '../domain/health.js';
import { formatDuration, listNames, plural } from './format.js';

/**
 * The startup hold. A freshly started replica knows nothing yet; if it wrote records from that
 * ignorance it would flip them (Cloudflare's "unknown is down", PowerDNS's first-resolution
 * fallback). So writes wait until every failover record has quorum data, or the warm-up limit
 * passes and an operator-chosen bound on the wait wins over completeness.
 */

export interface StartupHoldRecord {
  /** Record name as the reason should show it, e.g. "api.example.com.". */
  readonly name: string;
  readonly endpointIds: readonly EndpointId[];
}

export interface StartupHoldArgs {
  readonly startedAt: number;
  readonly warmupMs: number;
  readonly now: number;
  readonly records: readonly StartupHoldRecord[];
  readonly health: HealthView;
}

export interface StartupHold {
  /** True while writes must wait. */
  readonly hold: boolean;
  readonly reason: string;
  /** Records with at least one endpoint not yet decided (also after the warm-up lets writes go). */
  readonly waitingFor: string[];
}

/** A record has quorum data when every one of its endpoints is decided up or down. */
function isDecided(record: StartupHoldRecord, health: HealthView): boolean {
  return record.endpointIds.every((id) => {
    const state = health.get(id)?.state;
    return state === 'up' || state === 'down';
  });
}

export function startupHold(args: StartupHoldArgs): StartupHold {
  const waitingFor = args.records.filter((r) => !isDecided(r, args.health)).map((r) => r.name);
  if (waitingFor.length === 0) {
    return { hold: false, reason: 'every failover record has quorum data', waitingFor };
  }
  const elapsed = args.now - args.startedAt;
  const undecided = plural(waitingFor.length, 'record');
  if (elapsed >= args.warmupMs) {
    return {
      hold: false,
      reason:
        `warm-up of ${formatDuration(args.warmupMs)} elapsed with ${undecided} still undecided; writes allowed ` +
        `(${listNames(waitingFor)})`,
      waitingFor,
    };
  }
  return {
    hold: true,
    reason:
      `waiting for quorum data on ${waitingFor.length} of ${plural(args.records.length, 'record')}: ` +
      `${listNames(waitingFor)} (warm-up ends in ${formatDuration(args.warmupMs - elapsed)})`,
    waitingFor,
  };
}
