/**
 * What the daemon tells people about, and the one call that tells them. Sinks (webhook, Slack,
 * PagerDuty) are in notify.ts; the daemon's parts only ever call `notify`, which never blocks and
 * never throws: a slow or dead receiver must not hold up a failover.
 */

import type { NotificationKind, NotificationSeverity } from '../../domain/notification.js';

export interface NotificationEvent {
  readonly kind: NotificationKind;
  readonly severity: NotificationSeverity;
  /** Epoch ms, the sending replica's clock. */
  readonly at: number;
  /** The replica that sends it. */
  readonly region: string;
  /** One line for people: "api.example.com. A failed over to pool secondary: 0 of 2 up in primary". */
  readonly summary: string;
  readonly zone: string | null;
  readonly record: string | null;
  readonly provider: string | null;
  /**
   * Ties an event that opens a condition to the one that ends it (PagerDuty's dedup_key):
   * e.g. "failover/example.com./api.example.com./A" for both a failover and its failback.
   */
  readonly dedupKey: string;
  /**
   * This event opens (or repeats) a condition that a later event with the same dedupKey ends:
   * failover, override, drift left in place (drift: report), provider failing. PagerDuty is sent
   * only these and the events that end them; single events (a refused override, drift already
   * written back) would open incidents nothing ever resolves.
   */
  readonly opens: boolean;
  /** This event ends the condition its dedupKey opened (failback, provider recovered, override ended, drift cleared). */
  readonly resolves: boolean;
  /** Plain fields for receivers that want them (values, pools, counts, reasons). */
  readonly details: Readonly<Record<string, string | number | boolean | null>>;
}

export interface Notifier {
  notify(event: NotificationEvent): void;
}

export const silentNotifier: Notifier = { notify: () => undefined };
