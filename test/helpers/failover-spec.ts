import type { RecordType } from '../../src/domain/record.js';
import type { CheckSpec, FailoverRecordSpec, FailoverSpec } from '../../src/domain/zone.js';

/** The check the fixtures use unless they say otherwise: tcp 443, every second, one probe to decide. */
export const TCP_CHECK: CheckSpec = { protocol: 'tcp', port: 443, intervalMs: 1000, timeoutMs: 500, fall: 1, rise: 1 };

/**
 * A resolved failover record for tests: `pools` in order of preference (name -> values), a TTL of
 * 30 s, keep-last, no hold-down and 10 writes an hour unless `options` says otherwise.
 */
export function failoverSpec(
  name: string,
  pools: Readonly<Record<string, readonly string[]>>,
  options: Partial<FailoverSpec> & { readonly type?: RecordType; readonly ttl?: number } = {},
): FailoverRecordSpec {
  const { type = 'A', ttl = 30, ...failover } = options;
  return {
    kind: 'failover',
    name,
    type,
    ttl,
    failover: {
      check: TCP_CHECK,
      pools: Object.entries(pools).map(([pool, values]) => ({ name: pool, values })),
      whenAllDown: 'keep-last',
      holdDownMs: 0,
      maxWritesPerHour: 10,
      ...failover,
    },
  };
}
