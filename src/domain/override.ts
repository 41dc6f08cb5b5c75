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
  readonly id: string;
  /** Zone FQDN. */
  readonly zone: string;
  /** Record FQDN. */
  readonly name: string;
  readonly type: RecordType;
  readonly action: OverrideAction;
  readonly actor: string;
  readonly reason: string;
  readonly createdAt: number;
  /** Epoch ms after which the override no longer applies. */
  readonly expiresAt: number;
}

export function isOverrideActive(o: Override, now: number): boolean {
  return now < o.expiresAt;
}
