/**
 * Route53 takes one change per hosted zone at a time, whoever sends it: a change sent while the
 * zone's previous one is still PENDING is refused PriorRequestNotComplete. A provider waits for
 * its own changes, but a config reload builds a new provider while the old one's last change may
 * still be PENDING (the old one stops waiting for it, so the reload never waits on Route53). This
 * record, one per process, tells the new provider which change to wait for before it writes.
 */

export interface PendingChange {
  /** Bare id, e.g. "C2682N5HXP0BZ4". */
  readonly changeId: string;
  /** Clock time Route53 accepted it; a wait for it ends at most insyncTimeout after this. */
  readonly submittedAt: number;
}

export class PendingChanges {
  private readonly byZone = new Map<string, PendingChange>();

  /** The zone's latest change not yet seen INSYNC; `zone` is a key from zoneKey. */
  get(zone: string): PendingChange | undefined {
    return this.byZone.get(zone);
  }

  set(zone: string, change: PendingChange): void {
    this.byZone.set(zone, change);
  }

  /** Forgets the zone's change once it is INSYNC (or given up on), unless a newer one took its place. */
  settled(zone: string, changeId: string): void {
    if (this.byZone.get(zone)?.changeId === changeId) this.byZone.delete(zone);
  }
}

/** Which Route53 (an emulator's endpoint, or AWS itself) and which of its hosted zones. */
export function zoneKey(endpoint: string | undefined, zoneId: string): string {
  return `${endpoint ?? 'route53.amazonaws.com'} ${zoneId}`;
}

/** Shared by every Route53 provider of the process (the providers a reload replaces and those it builds). */
export const PROCESS_PENDING_CHANGES = new PendingChanges();
