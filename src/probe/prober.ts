import type { HostPort } from '../config/types.js';
import type { EndpointId, ProbeResult } from '../domain/health.js';
import type { CheckSpec } from '../domain/zone.js';
import type { Clock } from '../lib/clock.js';
import { lookupWithSystemResolver, resolveEndpoint } from './address.js';
import type { LookupFn } from './address.js';
import { startDeadline } from '../lib/deadline.js';
import { dnsCheck } from './dns-check.js';
import { httpCheck } from './http-check.js';
import { describeError } from './outcome.js';
import type { CheckOutcome } from './outcome.js';
import { tcpCheck } from './tcp-check.js';

/** One endpoint to probe with its record's check. */
export interface ProbeTarget {
  readonly endpointId: EndpointId;
  /** An IP address (A/AAAA records) or a host name (CNAME failover, e.g. a CDN's host name). */
  readonly address: string;
  readonly check: CheckSpec;
}

/**
 * Runs one check against one target. `probe` never rejects because the check failed: a refused
 * connection, a bad status, a timeout or an abort all resolve with ok:false and a detail.
 */
export interface Prober {
  probe(target: ProbeTarget, signal: AbortSignal): Promise<ProbeResult>;
}

export interface ProberOptions {
  /** Stamps results (`at`, `latencyMs`) and dates certificates (`certDaysLeft`). */
  readonly clock: Clock;
  /** Host name (lowercase, no trailing dot) -> where to reach it instead of asking DNS. */
  readonly resolve: ReadonlyMap<string, HostPort>;
  /** Looks up host names missing from `resolve`; the system resolver (dns.lookup) by default. */
  readonly lookup?: LookupFn;
}

/** The prober for every protocol a CheckSpec can name. */
export function createProber(options: ProberOptions): Prober {
  const { clock, resolve } = options;
  const lookup = options.lookup ?? lookupWithSystemResolver;

  const runCheck = async (target: ProbeTarget, signal: AbortSignal): Promise<CheckOutcome> => {
    const { check } = target;
    const endpoint = await resolveEndpoint(target.address, check.port, resolve, lookup, signal);
    switch (check.protocol) {
      case 'http':
      case 'https':
        return httpCheck(endpoint, check, clock, signal);
      case 'tcp':
        return tcpCheck(endpoint, signal);
      case 'dns':
        return dnsCheck(endpoint, check, signal);
    }
  };

  return {
    async probe(target: ProbeTarget, signal: AbortSignal): Promise<ProbeResult> {
      const startedAt = clock.now();
      const deadline = startDeadline(signal, target.check.timeoutMs);
      let outcome: CheckOutcome;
      try {
        outcome = await runCheck(target, deadline.signal);
      } catch (err) {
        // Once the deadline fired, whatever the socket said on its way down is a consequence.
        const detail = deadline.timedOut() ? `timeout after ${target.check.timeoutMs}ms` : deadline.signal.aborted ? 'aborted' : describeError(err);
        outcome = { ok: false, detail };
      } finally {
        deadline.dispose();
      }
      const at = clock.now();
      const result: ProbeResult = { endpointId: target.endpointId, ok: outcome.ok, at, latencyMs: at - startedAt, detail: outcome.detail };
      return outcome.certDaysLeft === undefined ? result : { ...result, certDaysLeft: outcome.certDaysLeft };
    },
  };
}
