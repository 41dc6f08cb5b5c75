import { corruptAsidePath, shellQuote } from '../../lib/corrupt-file.js';
import { StateCorruptError, errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { LocalStateStore } from './state.js';
import type { StateFileRecovery } from './state.js';

/**
 * What the daemon does at start with a local provider's state file that does not load. The file
 * holds nothing the config does not: every zone and record set in it was written by dnsquorum
 * from the zone specs and the health and override decisions, all of which the daemon has again.
 * So it is moved aside (kept, for inspection) and the zones are rebuilt by the first sync pass,
 * instead of the built-in DNS server refusing every question of its zones until someone notices.
 */

export interface StateRecoveryOptions {
  readonly providerName: string;
  /** The provider's state file (`${stateDir}/local/${name}.json`). */
  readonly statePath: string;
  /** When the file was found; names the copy. */
  readonly now: number;
  readonly logger: Logger;
  /** Longest wait for another process's lock on the state file (default 10 s). */
  readonly lockTimeoutMs?: number;
}

/**
 * Moves a corrupt state file aside and logs it at error level (DQ_STATE_CORRUPT, with the file,
 * the problem and where the copy is). Returns what it found, for status and notifications; undefined
 * when the file loads or does not exist. Never rejects: a start must not fail because a file that
 * can be rebuilt could not be checked (say, another process holds its lock for longer than the
 * lock timeout); that is logged, and the provider's own calls report the file as they meet it.
 */
export async function setAsideCorruptState(options: StateRecoveryOptions): Promise<StateFileRecovery | undefined> {
  const { providerName, statePath, now, logger } = options;
  const store = new LocalStateStore({ path: statePath, providerName, ...(options.lockTimeoutMs === undefined ? {} : { lockTimeoutMs: options.lockTimeoutMs }) });
  let recovery: StateFileRecovery | undefined;
  try {
    recovery = await store.setAsideIfCorrupt(new AbortController().signal, now);
  } catch (err) {
    logger.warn({ err, statePath }, `could not check the state file ${statePath} at start (${errorMessage(err)}); the provider reports it if it does not load`);
    return undefined;
  }
  if (recovery === undefined) return undefined;
  const err = new StateCorruptError(recovery.path, recovery.problem);
  if (recovery.movedTo !== null) {
    logger.error(
      { err, statePath, movedTo: recovery.movedTo },
      `state file ${recovery.path} did not load (${recovery.problem}); moved aside to ${recovery.movedTo} and kept for inspection. ` +
        `Its zones are rebuilt from the config by the first sync pass; until then the DNS server answers SERVFAIL for them`,
    );
  } else {
    logger.error(
      { err, statePath, moveError: recovery.moveError },
      `state file ${recovery.path} did not load (${recovery.problem}) and could not be moved aside (${recovery.moveError ?? ''}). ` +
        `Its zones are not served and cannot be rebuilt until it is moved away: mv ${shellQuote(recovery.path)} ${shellQuote(corruptAsidePath(recovery.path, now))}, then restart`,
    );
  }
  return recovery;
}
