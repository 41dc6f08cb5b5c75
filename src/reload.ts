import { reloadBlockers, sameConfig } from './config/reload.js';
import type { ReloadOutcome } from './config/reload.js';
import type { ResolvedConfig } from './config/types.js';
import { errorMessage } from './lib/errors.js';

export interface ReloaderOptions {
  /** Reads the config file again; undefined when the daemon was started without one. */
  readonly load: (() => Promise<ResolvedConfig>) | undefined;
  /** The config running now. */
  readonly running: () => ResolvedConfig;
  /** Puts a new config in place (it passed every check); returns what it applied, for the message. */
  readonly apply: (next: ResolvedConfig, trigger: string) => Promise<string>;
  /** Records every outcome (status, metrics, log) and returns it. */
  readonly record: (outcome: ReloadOutcome) => ReloadOutcome;
}

/**
 * Reloads the config: read it again, and apply it in place only when it is valid, differs from
 * the running one, and changes nothing that needs a restart; otherwise the running config goes
 * on. One reload at a time (SIGHUP and POST /v1/reload may come together), and reloads asked for
 * while one runs are one reload, run next: it reads the file as it is by then, and every one of
 * them is answered with its outcome, so a burst of reloads costs at most two switches of the
 * reconciler, never one per request. Never rejects.
 */
export function reloader(options: ReloaderOptions): (trigger: string) => Promise<ReloadOutcome> {
  const once = async (trigger: string): Promise<ReloadOutcome> => {
    const { load, record } = options;
    if (load === undefined) return record({ result: 'rejected', message: 'this daemon was started without a config file to read again' });
    let next: ResolvedConfig;
    try {
      next = await load();
    } catch (err) {
      return record({ result: 'invalid', message: `the new config was not loaded, the running one goes on: ${errorMessage(err)}` });
    }
    const running = options.running();
    if (sameConfig(running, next)) return record({ result: 'unchanged', message: `${next.source}: nothing changed` });
    const blockers = reloadBlockers(running, next);
    if (blockers.length > 0) return record({ result: 'rejected', message: `not reloaded, the running config goes on: ${blockers.join('; ')}` });
    try {
      const applied = await options.apply(next, trigger);
      return record({ result: 'applied', message: `${next.source} applied (${trigger}): ${applied}` });
    } catch (err) {
      return record({ result: 'invalid', message: `applying ${next.source} failed: ${errorMessage(err)}` });
    }
  };
  let running: Promise<ReloadOutcome> | undefined;
  let queued: { readonly triggers: string[]; readonly outcome: Promise<ReloadOutcome> } | undefined;
  const run = (trigger: string): Promise<ReloadOutcome> => {
    const outcome = once(trigger);
    running = outcome;
    // Attached before any queued run's continuation, so the slot is free when that run starts.
    void outcome.finally(() => {
      if (running === outcome) running = undefined;
    });
    return outcome;
  };
  return (trigger) => {
    if (running === undefined) return run(trigger);
    if (queued !== undefined) {
      queued.triggers.push(trigger);
      return queued.outcome;
    }
    const triggers = [trigger];
    const outcome = running.then(() => {
      queued = undefined;
      return run(triggers.join(', '));
    });
    queued = { triggers, outcome };
    return outcome;
  };
}
