import type { OverrideView } from '../../src/control/overrides/wire.js';

/** An active force-pool override of api.<zone> to pool secondary, made a minute before `now`, as the API shows it. */
export function overrideView(now: number, fields: Partial<OverrideView> = {}): OverrideView {
  const zone = fields.zone ?? 'example.com.';
  return {
    id: 'o-0123456789ab',
    zone,
    name: `api.${zone}`,
    type: 'A',
    action: { kind: 'force-pool', pool: 'secondary' },
    actor: 'alice',
    token: 'api',
    reason: 'maintenance',
    forced: false,
    origin: 'us-east',
    createdAt: now - 60_000,
    expiresAt: now + 3_600_000,
    state: 'active',
    released: null,
    stamp: { wall: now - 60_000, logical: 0, replica: 'us-east' },
    ...fields,
  };
}
