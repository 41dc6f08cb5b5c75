import { describeAction } from '../../domain/override.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import { Wakeup } from '../../lib/wakeup.js';
import type { AuditLog } from '../audit/log.js';
import type { OverrideStore } from './store.js';

export interface OverrideSweeperOptions {
  readonly store: OverrideStore;
  readonly audit: AuditLog;
  readonly region: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly everyMs: number;
  /** Called when overrides expired: the daemon decides again at once, and tells its peers. */
  readonly expired: () => void;
}

/**
 * Ends overrides on time: each expiry is logged and audited once, and ended overrides are
 * forgotten after the store's retention. The decider already stops applying an override the
 * moment it expires (it compares expiresAt with the clock); this makes that moment visible.
 */
export class OverrideSweeper {
  private readonly wakeup: Wakeup;

  constructor(private readonly options: OverrideSweeperOptions) {
    this.wakeup = new Wakeup(options.clock);
  }

  async run(signal: AbortSignal): Promise<void> {
    const { store, audit, region, clock, logger } = this.options;
    while (!signal.aborted) {
      try {
        const expired = await store.sweep();
        for (const o of expired) {
          logger.info({ override: o.id, record: o.name, type: o.type }, `override ${o.id} expired: ${describeAction(o.action)} on ${o.name} ${o.type} ends; health decides again`);
          await audit.append({
            at: clock.now(),
            region,
            action: 'expired',
            actor: o.actor,
            token: o.token,
            zone: o.zone,
            record: o.name,
            type: o.type,
            what: describeAction(o.action),
            why: o.reason,
            result: 'expired',
            overrideId: o.id,
            provider: null,
          });
        }
        if (expired.length > 0) this.options.expired();
      } catch (err) {
        logger.error({ err }, 'could not sweep expired overrides; trying again');
      }
      await this.wakeup.wait(this.options.everyMs, signal);
    }
  }
}
