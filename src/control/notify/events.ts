import type { RecordChange } from '../../sync/decider.js';
import type { AuditEvent, AuditLog } from '../audit/log.js';
import type { NotificationEvent, Notifier } from './notifier.js';

/**
 * Which of the daemon's events people are told about, and in what words. Pure mappings; the hub
 * (notify.ts) filters them per sink and delivers them.
 */

/** A health-driven move of a failover record: away from its first pool (failover) or back to it (failback). */
export function recordNotification(change: RecordChange, region: string, at: number): NotificationEvent | undefined {
  const { zone, decision, before } = change;
  if (before === undefined) return undefined;
  if (decision.cause !== 'health' && decision.cause !== 'all-down') return undefined;
  const spec = zone.records.find((r) => r.kind === 'failover' && r.name === decision.name && r.type === decision.type);
  const first = spec?.kind === 'failover' ? spec.failover.pools[0]?.name : undefined;
  const back = decision.cause === 'health' && decision.pool !== null && decision.pool === first;
  const to = decision.values === null ? 'nothing (record removed)' : decision.values.join(', ');
  return {
    kind: back ? 'failback' : 'failover',
    severity: back ? 'info' : 'critical',
    at,
    region,
    summary: `${decision.name} ${decision.type} ${back ? 'failed back' : 'failed over'} to ${decision.pool === null ? to : `pool ${decision.pool} (${to})`}: ${decision.reason}`,
    zone: zone.name,
    record: decision.name,
    provider: null,
    dedupKey: `failover/${zone.name}/${decision.name}/${decision.type}`,
    opens: !back,
    resolves: back,
    details: { type: decision.type, pool: decision.pool, from: before.join(', '), to, cause: decision.cause, reason: decision.reason },
  };
}

export function driftKey(zone: string, provider: string): string {
  return `drift/${zone}/${provider}`;
}

/**
 * Drift written back is over when it is told; drift left in place (drift: report) is a condition
 * until driftClearedNotification ends it.
 */
export function driftNotification(event: { zone: string; provider: string; records: number; repaired: boolean }, region: string, at: number): NotificationEvent {
  return {
    kind: 'drift',
    severity: 'warning',
    at,
    region,
    summary: `${event.records} record set${event.records === 1 ? '' : 's'} of ${event.zone} changed at ${event.provider} behind dnsquorum's back; ${event.repaired ? 'written back' : 'left as found (drift: report)'}`,
    zone: event.zone,
    record: null,
    provider: event.provider,
    dedupKey: driftKey(event.zone, event.provider),
    opens: !event.repaired,
    resolves: false,
    details: { records: event.records, repaired: event.repaired },
  };
}

/** The drift left in place at a provider is gone: someone put the records back, or the zone now repairs drift. */
export function driftClearedNotification(event: { zone: string; provider: string }, region: string, at: number): NotificationEvent {
  return {
    kind: 'drift-cleared',
    severity: 'info',
    at,
    region,
    summary: `${event.provider} holds the desired state of ${event.zone} again: the drift reported there is gone`,
    zone: event.zone,
    record: null,
    provider: event.provider,
    dedupKey: driftKey(event.zone, event.provider),
    opens: false,
    resolves: true,
    details: {},
  };
}

/** Override lines of the audit log, as notifications: made, refused, released, expired. */
function overrideNotification(event: AuditEvent): NotificationEvent | undefined {
  const kind = event.action === 'override' ? 'override' : event.action === 'refused' ? 'override-refused' : event.action === 'release' || event.action === 'expired' ? 'override-ended' : undefined;
  if (kind === undefined) return undefined;
  const verb = { override: 'made', 'override-refused': 'refused', 'override-ended': event.action === 'expired' ? 'expired' : 'released' }[kind];
  return {
    kind,
    severity: kind === 'override' ? 'warning' : 'info',
    at: event.at,
    region: event.region,
    summary: `override ${verb} by ${event.actor} on ${event.record ?? event.zone}: ${event.what} (${event.why})`,
    zone: event.zone,
    record: event.record,
    provider: null,
    // A refusal stands alone; made and ended share a key, so an ended override resolves its alert.
    dedupKey: `${kind === 'override-refused' ? 'override-refused' : 'override'}/${event.zone}/${event.record ?? ''}/${event.type ?? ''}`,
    opens: kind === 'override',
    resolves: kind === 'override-ended',
    details: { actor: event.actor, what: event.what, why: event.why, result: event.result, overrideId: event.overrideId },
  };
}

/** The audit log, telling the notifier about every override line it appends. */
export function notifyingAudit(audit: AuditLog, notifier: Notifier): AuditLog {
  return {
    append: async (event) => {
      await audit.append(event);
      const notification = overrideNotification(event);
      if (notification !== undefined) notifier.notify(notification);
    },
    read: (query) => audit.read(query),
  };
}
