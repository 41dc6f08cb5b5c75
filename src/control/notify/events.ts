import type { RecordChange } from '../../sync/decider.js';
import type { RefusalStatus } from '../../sync/status.js';
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

export function clockSkewKey(region: string): string {
  return `clock-skew/${region}`;
}

/** A peer whose clock differs from this replica's beyond the replay window; offsetMs is its clock minus ours, when measured. */
export interface SkewedPeer {
  readonly region: string;
  readonly offsetMs: number | null;
}

function describeSkewedPeer(peer: SkewedPeer): string {
  if (peer.offsetMs === null) return `${peer.region} (offset not measured)`;
  return `${peer.region} (its clock ${(Math.abs(peer.offsetMs) / 1000).toFixed(1)} s ${peer.offsetMs >= 0 ? 'ahead' : 'behind'})`;
}

/**
 * Peers refuse this replica's messages as stale: the clocks differ by more than the replay window,
 * so nothing is exchanged with them. Sent when the first peer does, and again when the set changes.
 */
export function clockSkewNotification(skewed: readonly SkewedPeer[], windowMs: number, region: string, at: number): NotificationEvent {
  const many = skewed.length !== 1;
  return {
    kind: 'clock-skew',
    severity: 'warning',
    at,
    region,
    summary: `clock skew: ${skewed.map(describeSkewedPeer).join(', ')} refuse${many ? '' : 's'} ${region}'s messages as stale (clocks more than ${windowMs / 1000} s apart); nothing is exchanged with ${many ? 'them' : 'it'} until the clocks agree (check NTP)`,
    zone: null,
    record: null,
    provider: null,
    dedupKey: clockSkewKey(region),
    opens: true,
    resolves: false,
    details: {
      peers: skewed.map((p) => p.region).join(', '),
      offsetsMs: skewed.map((p) => `${p.region}=${p.offsetMs ?? 'unknown'}`).join(', '),
      windowMs,
    },
  };
}

/** No peer refuses this replica's messages as stale any more. */
export function clockSkewClearedNotification(region: string, at: number): NotificationEvent {
  return {
    kind: 'clock-skew-cleared',
    severity: 'info',
    at,
    region,
    summary: `clock skew over: every peer that answers accepts ${region}'s messages again`,
    zone: null,
    record: null,
    provider: null,
    dedupKey: clockSkewKey(region),
    opens: false,
    resolves: true,
    details: {},
  };
}

/** A local provider's state file that did not load at start: moved aside (its zones are rebuilt), or not (they are not served). */
export interface CorruptStateFile {
  readonly provider: string;
  readonly path: string;
  readonly problem: string;
  readonly movedTo: string | null;
  readonly moveError: string | null;
}

/**
 * Told once per start. Moved aside, the zones come back from the config on the first pass and
 * nobody has to act, but someone should look at why the file broke (a full disk, a hand edit).
 * Not moved, the provider's zones stay unserved until a person moves the file.
 */
export function corruptStateFileNotification(file: CorruptStateFile, region: string, at: number): NotificationEvent {
  const moved = file.movedTo !== null;
  return {
    kind: 'state-file-corrupt',
    severity: moved ? 'warning' : 'critical',
    at,
    region,
    summary: moved
      ? `${file.provider}: state file ${file.path} did not load at start (${file.problem}); moved aside to ${file.movedTo ?? ''}, its zones are rebuilt from the config`
      : `${file.provider}: state file ${file.path} did not load at start (${file.problem}) and could not be moved aside (${file.moveError ?? ''}); its zones are not served until it is moved away`,
    zone: null,
    record: null,
    provider: file.provider,
    dedupKey: `state-file/${file.provider}`,
    opens: false,
    resolves: false,
    details: { path: file.path, problem: file.problem, movedTo: file.movedTo, moveError: file.moveError },
  };
}

export function planRefusedKey(zone: string, provider: string): string {
  return `plan-refused/${zone}/${provider}`;
}

/**
 * A guardrail holds back changes a provider needs (see RefusalStatus): sent when it starts, and
 * again when what is held back changes. Everything else, failover included, is still written,
 * so it is a warning: someone must decide (fix the config or the provider, or --force).
 */
export function planRefusedNotification(event: { zone: string; provider: string; refused: readonly RefusalStatus[] }, region: string, at: number): NotificationEvent {
  const records = [...new Set(event.refused.flatMap((r) => r.records))];
  return {
    kind: 'plan-refused',
    severity: 'warning',
    at,
    region,
    summary: `${event.provider} holds back changes to ${event.zone}: ${event.refused.map((r) => r.message).join('; ')}; every other change, failover included, is written`,
    zone: event.zone,
    record: null,
    provider: event.provider,
    dedupKey: planRefusedKey(event.zone, event.provider),
    opens: true,
    resolves: false,
    details: {
      rules: event.refused.map((r) => r.rule).join(', '),
      records: records.join(', '),
      forceable: event.refused.every((r) => r.forceable),
    },
  };
}

/** Nothing is held back at that provider any more (the change was made, or is no longer asked for). */
export function planRefusedClearedNotification(event: { zone: string; provider: string; why: string }, region: string, at: number): NotificationEvent {
  return {
    kind: 'plan-refused-cleared',
    severity: 'info',
    at,
    region,
    summary: `${event.provider} holds nothing of ${event.zone} back any more: ${event.why}`,
    zone: event.zone,
    record: null,
    provider: event.provider,
    dedupKey: planRefusedKey(event.zone, event.provider),
    opens: false,
    resolves: true,
    details: { reason: event.why },
  };
}
