import type { DnsCheckSpec, HttpCheckSpec } from '../../src/domain/zone.js';
import type { ProbeTarget } from '../../src/probe/prober.js';

/** Check timing for tests: generous timeouts, so only the tests that want a timeout get one. */
export interface Timing {
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

const defaultTiming = { intervalMs: 1000, timeoutMs: 10_000, fall: 3, rise: 3 } as const;

export function httpTarget(address: string, port: number, overrides: Partial<HttpCheckSpec & Timing> = {}, endpointId = `www.example.com. A ${address}`): ProbeTarget {
  return {
    endpointId,
    address,
    check: {
      ...defaultTiming,
      protocol: 'http',
      port,
      path: '/healthz',
      expect: [200],
      host: 'www.example.com',
      sni: 'www.example.com',
      tlsVerify: false,
      ...overrides,
    },
  };
}

export function tcpTarget(address: string, port: number, overrides: Partial<Timing> = {}): ProbeTarget {
  return { endpointId: `tcp.example.com. A ${address}`, address, check: { ...defaultTiming, protocol: 'tcp', port, ...overrides } };
}

export function dnsTarget(address: string, port: number, overrides: Partial<DnsCheckSpec & Timing> = {}): ProbeTarget {
  return {
    endpointId: `ns.example.com. A ${address}`,
    address,
    check: { ...defaultTiming, protocol: 'dns', port, query: 'api.example.com.', queryType: 'A', expectRcode: 'NOERROR', ...overrides },
  };
}
