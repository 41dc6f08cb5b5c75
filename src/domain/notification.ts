/** What the daemon tells people about (the config's notifications[].events) and how urgent it is. */

export type NotificationKind =
  | 'failover'
  | 'failback'
  | 'override'
  | 'override-ended'
  | 'override-refused'
  | 'drift'
  | 'drift-cleared'
  | 'provider-failing'
  | 'provider-recovered'
  | 'clock-skew'
  | 'clock-skew-cleared'
  | 'state-file-corrupt'
  | 'plan-refused'
  | 'plan-refused-cleared';

export type NotificationSeverity = 'critical' | 'warning' | 'info';
