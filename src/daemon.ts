import type { ReloadOutcome } from './config/reload.js';
import type { EndpointHealth, EndpointId } from './domain/health.js';
import type { Clock } from './lib/clock.js';
import type { Logger } from './lib/logger.js';
import { DnsQuorumError, errorMessage } from './lib/errors.js';
import type { HealthBoard } from './quorum/health-board.js';
import type { DnsProvider } from './providers/provider.js';

/** A server the daemon starts and stops with itself (the built-in DNS servers, later the admin API). */
export interface Service {
  readonly name: string;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Something that runs until its signal aborts (the probe scheduler, the reconciler). */
export interface Task {
  run(signal: AbortSignal): Promise<void>;
}

/** The write side: asked for a new decision whenever health (or an override) changes. */
export interface Reconciling extends Task {
  /** Decide every record again (an override changed). */
  trigger(reason: string): void;
  /** Decide again the records of these endpoints, whose health changed. */
  healthChanged(endpoints: readonly EndpointId[]): void;
}

/**
 * The daemon's states:
 * - starting: services are being started
 * - running: probing, deciding and reconciling
 * - draining: a stop was asked; the pass in flight finishes, nothing new starts
 * - stopped: everything closed; run() resolved
 * - failed: a service could not start or a task died; run() rejected
 */
export type DaemonState = 'starting' | 'running' | 'draining' | 'stopped' | 'failed';

export interface DaemonParts {
  readonly logger: Logger;
  readonly clock: Clock;
  readonly services: readonly Service[];
  /** The providers in use now (a reload may replace them); closed when the daemon stops. */
  readonly providers: () => ReadonlyMap<string, DnsProvider>;
  readonly board: HealthBoard;
  /** Every endpoint probed now (a reload may change them). */
  readonly endpointIds: () => readonly EndpointId[];
  readonly probes: Task;
  readonly reconciler: Reconciling;
  /** Other tasks that run for the daemon's whole life (the peer exchange). */
  readonly background: readonly { readonly name: string; readonly task: Task }[];
  /** How often every endpoint is re-evaluated, so that stale votes count as missing without a probe. */
  readonly evaluateEveryMs: number;
  /** Reads the config again and applies it in place when it can (SIGHUP, POST /v1/reload). */
  readonly reload?: (trigger: string) => Promise<ReloadOutcome>;
}

export class Daemon {
  private current: DaemonState = 'starting';

  constructor(private readonly parts: DaemonParts) {}

  get state(): DaemonState {
    return this.current;
  }

  /** Reads the config again and applies it when it can; the running one goes on otherwise. Never rejects. */
  reload(trigger: string): Promise<ReloadOutcome> {
    if (this.parts.reload === undefined) return Promise.resolve({ result: 'rejected', message: 'this daemon cannot reload its config' });
    if (this.current !== 'running') return Promise.resolve({ result: 'rejected', message: `the daemon is ${this.current}, not running` });
    return this.parts.reload(trigger);
  }

  private transition(next: DaemonState): void {
    this.parts.logger.info({ from: this.current, to: next }, `daemon ${next}`);
    this.current = next;
  }

  /** Runs until `signal` aborts, then drains and closes. Rejects if a part fails. */
  async run(signal: AbortSignal): Promise<void> {
    const { logger } = this.parts;
    const started: Service[] = [];
    try {
      for (const service of this.parts.services) {
        await service.start();
        started.push(service);
      }
    } catch (err) {
      this.transition('failed');
      await this.closeAll(started);
      throw err;
    }
    this.transition('running');

    // Tasks stop on their own controller so a failing task stops the others too.
    const tasks = new AbortController();
    const stop = (): void => { tasks.abort(); };
    signal.addEventListener('abort', stop, { once: true });
    if (signal.aborted) stop();
    const evaluator = setInterval(() => { this.reevaluate(); }, this.parts.evaluateEveryMs);
    let failure: unknown;
    const watch = (name: string, task: Task): Promise<void> =>
      task.run(tasks.signal).catch((err: unknown) => {
        failure ??= err;
        logger.error({ err, task: name }, `${name} failed: ${errorMessage(err)}; stopping`);
        stop();
      });
    const running = Promise.all([
      watch('probes', this.parts.probes),
      watch('reconcile', this.parts.reconciler),
      ...this.parts.background.map(({ name, task }) => watch(name, task)),
    ]);
    await new Promise<void>((resolve) => {
      if (tasks.signal.aborted) resolve();
      else tasks.signal.addEventListener('abort', () => { resolve(); }, { once: true });
    });
    this.transition('draining');
    clearInterval(evaluator);
    signal.removeEventListener('abort', stop);
    await running;
    await this.closeAll(started);
    await Promise.all([...this.parts.providers().values()].map((p) => p.close()));
    if (failure !== undefined) {
      this.transition('failed');
      throw failure instanceof Error ? failure : new DnsQuorumError('DQ_INTERNAL', `daemon task failed: ${errorMessage(failure)}`);
    }
    this.transition('stopped');
  }

  private reevaluate(): void {
    const { changed } = this.parts.board.evaluate(this.parts.endpointIds());
    announceChanges(this.parts.logger, changed, this.parts.reconciler);
  }

  private async closeAll(services: readonly Service[]): Promise<void> {
    for (const service of [...services].reverse()) {
      try {
        await service.close();
      } catch (err) {
        this.parts.logger.warn({ err, service: service.name }, 'service did not close cleanly');
      }
    }
  }
}

/** Logs each health change with its reason and asks for a reconcile pass. */
export function announceChanges(logger: Logger, changed: readonly EndpointHealth[], reconciler: Pick<Reconciling, 'healthChanged'>): void {
  for (const h of changed) {
    logger.info({ endpoint: h.endpointId, state: h.state, reason: h.reason, insufficientVantage: h.insufficientVantage }, `endpoint ${h.endpointId} is ${h.state}: ${h.reason}`);
  }
  if (changed.length > 0) reconciler.healthChanged(changed.map((h) => h.endpointId));
}
