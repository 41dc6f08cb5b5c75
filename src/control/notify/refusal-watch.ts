import type { ProviderZoneStatus, SyncStatus } from '../../sync/status.js';
import { planRefusedClearedNotification, planRefusedNotification } from './events.js';
import type { NotificationEvent } from './notifier.js';

/**
 * Turns the providers' `refused` (changes a guardrail holds back) into one `plan-refused` when a
 * refusal appears, again when what is held back changes, and one `plan-refused-cleared` when it
 * is gone, tied by one dedupKey so a pager opens one incident and closes it. Pure apart from its
 * memory: the caller passes the status and the time, as often as it likes.
 *
 * Gone means a pass ended with nothing held back (`in-sync` or `drift-reported`). A provider zone
 * not read yet (a reload builds fresh syncers), held, or failing says nothing either way, so it
 * neither ends the condition nor opens it again.
 */
export class RefusalWatch {
  /** What was last told for each provider zone that has a condition open: its rules and records. */
  private readonly open = new Map<string, { readonly zone: string; readonly provider: string; readonly told: string }>();

  constructor(private readonly region: string) {}

  /** The events this status gives at `now` (usually none). */
  observe(status: SyncStatus, now: number): NotificationEvent[] {
    const events: NotificationEvent[] = [];
    const seen = new Set<string>();
    for (const provider of status.providers) {
      for (const zone of provider.zones) {
        const key = `${provider.provider}/${zone.zone}`;
        seen.add(key);
        const event = this.step(key, provider.provider, zone, now);
        if (event !== undefined) events.push(event);
      }
    }
    for (const [key, condition] of this.open) {
      if (seen.has(key)) continue;
      this.open.delete(key);
      events.push(planRefusedClearedNotification({ zone: condition.zone, provider: condition.provider, why: 'no longer in the configuration' }, this.region, now));
    }
    return events;
  }

  private step(key: string, provider: string, zone: ProviderZoneStatus, now: number): NotificationEvent | undefined {
    const refused = zone.refused ?? [];
    const condition = this.open.get(key);
    if (refused.length > 0) {
      const told = refused.map((r) => `${r.rule}: ${r.records.join(' ')}`).join('; ');
      if (condition?.told === told) return undefined;
      this.open.set(key, { zone: zone.zone, provider, told });
      return planRefusedNotification({ zone: zone.zone, provider, refused }, this.region, now);
    }
    if (condition === undefined || (zone.state !== 'in-sync' && zone.state !== 'drift-reported')) return undefined;
    this.open.delete(key);
    return planRefusedClearedNotification({ zone: zone.zone, provider, why: 'the change was made, or is no longer asked for' }, this.region, now);
  }
}
