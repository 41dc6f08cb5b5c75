import type { ReloadOutcome, ReloadResult } from '../../config/reload.js';
import type { Logger } from '../../lib/logger.js';
import type { StartupHold } from '../../quorum/startup.js';
import type { SyncStatus } from '../../sync/status.js';
import { ApiError } from './server.js';
import type { Route } from './server.js';

/**
 * The routes an orchestrator and an operator use to run the daemon: liveness, readiness and
 * reload. /healthz and /readyz need no token (Kubernetes probes carry none) and say nothing secret.
 */

/** GET /healthz: 200 while the process serves requests and has not failed or stopped. */
export function healthzRoute(state: () => string): Route {
  return {
    method: 'GET',
    path: '/healthz',
    auth: false,
    handle: () => {
      const now = state();
      const alive = now !== 'failed' && now !== 'stopped';
      return Promise.resolve({ status: alive ? 200 : 503, body: { alive, state: now } });
    },
  };
}

export interface ReadinessInput {
  readonly state: string;
  readonly hold: StartupHold;
  readonly sync: SyncStatus;
}

export interface ReadinessCheck {
  readonly name: 'running' | 'quorum-data' | 'providers' | 'guardrails';
  readonly ok: boolean;
  /** Whether readiness needs it; a check that is not required only marks the answer degraded. */
  readonly required: boolean;
  readonly detail: string;
}

export interface Readiness {
  /** Every required check is ok. */
  readonly ready: boolean;
  /** Some check that readiness does not need is not ok: someone should look, traffic need not move. */
  readonly degraded: boolean;
  readonly checks: ReadinessCheck[];
}

/**
 * Ready: the daemon runs on a loaded config, every failover record has quorum data (each endpoint
 * decided up or down), and no provider's last pass failed. A replica that does not write has not
 * asked its providers; that is not held against it.
 *
 * Changes a guardrail holds back (a provider zone's `refused`) are listed, but do not make the
 * replica unready: that provider still takes every other write, failover included, and a
 * replica taken out of service for it would help nobody. They make the answer `degraded`.
 */
export function readiness(input: ReadinessInput): Readiness {
  const failing = input.sync.providers.flatMap((p) =>
    p.zones.filter((z) => z.state === 'lagging' && z.lastError !== null).map((z) => `${p.provider} (${z.zone}): ${z.lastError?.message ?? ''}`),
  );
  const held = input.sync.providers.every((p) => p.zones.every((z) => z.state === 'held' || z.state === 'unknown'));
  const refused = input.sync.providers.flatMap((p) =>
    p.zones.flatMap((z) => (z.refused ?? []).map((r) => `${p.provider} (${z.zone}) ${r.rule}: ${r.records.join(', ')}`)),
  );
  const checks: ReadinessCheck[] = [
    { name: 'running', ok: input.state === 'running', required: true, detail: `the daemon is ${input.state}` },
    {
      name: 'quorum-data',
      ok: input.hold.waitingFor.length === 0,
      required: true,
      detail: input.hold.waitingFor.length === 0 ? 'every failover record has quorum data' : `waiting for quorum data on ${input.hold.waitingFor.join(', ')}`,
    },
    {
      name: 'providers',
      ok: failing.length === 0,
      required: true,
      detail: failing.length > 0 ? `failing: ${failing.join('; ')}` : held ? 'not asked yet (this replica does not write now)' : 'every provider answered its last pass',
    },
    {
      name: 'guardrails',
      ok: refused.length === 0,
      required: false,
      detail: refused.length > 0 ? `held back (every other change, failover included, is written): ${refused.join('; ')}` : 'no change is held back',
    },
  ];
  return { ready: checks.every((c) => c.ok || !c.required), degraded: checks.some((c) => !c.ok && !c.required), checks };
}

/** GET /readyz: 200 when ready (degraded or not), else 503; both list every check. */
export function readyzRoute(check: () => { ready: boolean; checks: ReadinessCheck[] }): Route {
  return {
    method: 'GET',
    path: '/readyz',
    auth: false,
    handle: () => {
      const result = check();
      return Promise.resolve({ status: result.ready ? 200 : 503, body: result });
    },
  };
}

/**
 * POST /v1/reload: reads the config file again. 200 applied or unchanged; 400 DQ_CONFIG_INVALID
 * when it does not load; 409 DQ_RELOAD_REJECTED when it changes what needs a restart. The
 * running config goes on in every case but applied.
 */
export function reloadRoute(reload: () => Promise<ReloadOutcome>): Route {
  return {
    method: 'POST',
    path: '/v1/reload',
    auth: 'operate',
    handle: async () => {
      const outcome = await reload();
      if (outcome.result === 'invalid') throw new ApiError(400, 'DQ_CONFIG_INVALID', outcome.message);
      if (outcome.result === 'rejected') throw new ApiError(409, 'DQ_RELOAD_REJECTED', outcome.message);
      return { status: 200, body: outcome };
    },
  };
}

export interface ReloadStatus {
  readonly source: string;
  readonly loadedAt: number;
  readonly lastReload: { readonly at: number; readonly result: ReloadResult; readonly message: string } | null;
}

/** The config's history for status, and the one place a reload's outcome is logged and counted. */
export class ReloadRecord {
  private loadedAt: number;
  private last: ReloadStatus['lastReload'] = null;

  constructor(
    private readonly source: string,
    startedAt: number,
    private readonly now: () => number,
  ) {
    this.loadedAt = startedAt;
  }

  record(outcome: ReloadOutcome, metrics: { reload(result: ReloadResult): void }, logger: Logger): ReloadOutcome {
    const at = this.now();
    this.last = { at, result: outcome.result, message: outcome.message };
    if (outcome.result === 'applied') this.loadedAt = at;
    metrics.reload(outcome.result);
    if (outcome.result === 'invalid' || outcome.result === 'rejected') logger.error({ reload: outcome.result }, `config reload ${outcome.result}: ${outcome.message}`);
    else logger.info({ reload: outcome.result }, `config reload ${outcome.result}: ${outcome.message}`);
    return outcome;
  }


  status(): ReloadStatus {
    return { source: this.source, loadedAt: this.loadedAt, lastReload: this.last };
  }
}
