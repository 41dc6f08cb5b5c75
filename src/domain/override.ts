import type { HlcStamp } from '../lib/hlc.js';
import type { RecordType } from './record.js';

/**
 * A manual override set by an operator. It wins over health until it expires or is released.
 * - force-pool: serve this pool of the record, whatever health says.
 * - drain: treat one value of the record as out of service.
 */
export type OverrideAction =
  | { readonly kind: 'force-pool'; readonly pool: string }
  | { readonly kind: 'drain'; readonly value: string };

export interface Override {
  /** "o-" and 12 hex digits, made by the replica that took the request. */
  readonly id: string;
  /** Zone FQDN. */
  readonly zone: string;
  /** Record FQDN. */
  readonly name: string;
  readonly type: RecordType;
  readonly action: OverrideAction;
  /** Who asked: the X-DnsQuorum-Actor the client sent (`--actor`), else the name of the token used. */
  readonly actor: string;
  /** The name of the admin API token the request carried. */
  readonly token: string;
  readonly reason: string;
  /** Made with --force: the safety refusal was overridden by the operator. */
  readonly forced: boolean;
  /** The region of the replica that took the request. */
  readonly origin: string;
  /** Epoch ms, this replica's clock. */
  readonly createdAt: number;
  /** Epoch ms after which the override no longer applies (this replica's clock). */
  readonly expiresAt: number;
}

/** The longest reason (to make or release an override) the admin API takes; the CLI checks it before sending. */
export const MAX_REASON_LENGTH = 500;
/** The longest actor (X-DnsQuorum-Actor, the CLI's --actor) the admin API takes. */
export const MAX_ACTOR_LENGTH = 200;

/** Who ended an override by hand, and why. */
export interface OverrideRelease {
  readonly at: number;
  readonly actor: string;
  readonly token: string;
  readonly reason: string;
}

/**
 * One slot of the replicated override set: at most one force-pool per record and one drain per
 * record value. A new override for a slot replaces the one there; a release leaves a tombstone
 * (released set) so that a peer's older copy cannot bring the override back. Conflicting edits
 * of a slot resolve by `stamp` (last writer by hybrid logical clock, ties by replica).
 */
export interface OverrideEntry {
  readonly slot: string;
  readonly stamp: HlcStamp;
  readonly override: Override;
  /** Set when released by hand; the entry is then a tombstone. */
  readonly released: OverrideRelease | null;
}

export type OverrideState = 'active' | 'released' | 'expired';

export function slotOf(o: Pick<Override, 'zone' | 'name' | 'type' | 'action'>): string {
  const base = `${o.zone}|${o.name}|${o.type}`;
  return o.action.kind === 'force-pool' ? `${base}|force-pool` : `${base}|drain|${o.action.value}`;
}

export function isOverrideActive(o: Override, now: number): boolean {
  return now < o.expiresAt;
}

export function entryState(entry: OverrideEntry, now: number): OverrideState {
  if (entry.released !== null) return 'released';
  return isOverrideActive(entry.override, now) ? 'active' : 'expired';
}

/** What the override does, in words: "force pool secondary", "drain 192.0.2.10". */
export function describeAction(action: OverrideAction): string {
  return action.kind === 'force-pool' ? `force pool ${action.pool}` : `drain ${action.value}`;
}
