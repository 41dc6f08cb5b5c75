import type { SyncObserver, WriteEvent } from '../../sync/status.js';
import type { AuditEvent, AuditLog } from './log.js';

/** The actor of the daemon's own writes in the audit log. */
export const DAEMON_ACTOR = 'dnsquorum';

/**
 * One audit line per write to a provider: every health-driven move (and every override or drift
 * repair that reached a provider) is on record with what was written, why and the result.
 */
export function auditWrites(audit: AuditLog, region: string, now: () => number): Pick<SyncObserver, 'write'> {
  return {
    write: (event: WriteEvent) => {
      void audit.append(writeLine(event, region, now()));
    },
  };
}

function writeLine(event: WriteEvent, region: string, at: number): AuditEvent {
  const [only] = event.decisions.length === 1 ? event.decisions : [];
  const why =
    event.decisions.length === 0
      ? 'bring the provider to the desired state (first sync, drift repair or config change)'
      : event.decisions.map((d) => `${d.name} ${d.type} (${d.cause}): ${d.reason}`).join('; ');
  return {
    at,
    region,
    action: 'write',
    actor: DAEMON_ACTOR,
    token: null,
    zone: event.zone,
    record: only?.name ?? null,
    type: only?.type ?? null,
    what: `${event.changes} change${event.changes === 1 ? '' : 's'} at ${event.provider}: ${event.records.join(', ')}`,
    why,
    result: event.error === null ? 'applied' : `failed: ${event.error}`,
    overrideId: null,
    provider: event.provider,
  };
}
