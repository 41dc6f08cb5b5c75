import { describe, expect, it } from 'vitest';
import { reloadBlockers, sameConfig } from '../../src/config/reload.js';
import { parseConfigText } from '../../src/config/load.js';
import type { ResolvedConfig } from '../../src/config/types.js';

/** What a config reload can apply in place, and what needs a restart (src/config/reload.ts). */

const ENV = { NS1_KEY: 'k-1234567890', PEER_SECRET: 's-1234567890', API_TOKEN: 't-1234567890', OTHER_TOKEN: 'o-1234567890' };

const BASE = `region: us-east
stateDir: /var/lib/dq
api: { listen: 127.0.0.1:8053, token: "\${API_TOKEN}" }
cluster:
  peers: [ { region: eu-west, url: http://127.0.0.2:8053 } ]
  secret: \${PEER_SECRET}
  warmup: 1m
sync: { interval: 30s }
providers:
  lab: { type: local, listen: 127.0.0.1:5301, nameserver: ns1.example.com. }
  ns1: { type: ns1, apiKey: "\${NS1_KEY}" }
zones:
  example.com:
    providers: [lab, ns1]
    records:
      www: { type: A, value: 192.0.2.1 }
`;

function config(text: string): ResolvedConfig {
  return parseConfigText(text, '/etc/dq/dnsquorum.yaml', ENV);
}

const base = config(BASE);

describe('reloadBlockers', () => {
  it.each<{ name: string; change: (text: string) => string; blocked: RegExp | null }>([
    { name: 'a changed record', change: (t) => t.replace('192.0.2.1', '192.0.2.9'), blocked: null },
    { name: 'a new zone record and sync interval', change: (t) => t.replace('interval: 30s', 'interval: 10s').replace('value: 192.0.2.1 }', 'value: 192.0.2.1 }\n      api: { type: A, value: 192.0.2.7 }'), blocked: null },
    { name: 'another API token', change: (t) => t.replace('token: "${API_TOKEN}"', 'token: "${OTHER_TOKEN}"'), blocked: null },
    { name: 'only the warm-up', change: (t) => t.replace('warmup: 1m', 'warmup: 2m'), blocked: null },
    { name: 'the NS1 key (a remote provider is rebuilt)', change: (t) => t.replace('apiKey: "${NS1_KEY}"', 'apiKey: "${OTHER_TOKEN}"'), blocked: null },
    { name: 'the region', change: (t) => t.replace('region: us-east', 'region: us-west'), blocked: /^region changed/ },
    { name: 'the state directory', change: (t) => t.replace('/var/lib/dq', '/srv/dq'), blocked: /^stateDir changed/ },
    { name: 'the API address', change: (t) => t.replace('127.0.0.1:8053', '127.0.0.1:9053'), blocked: /^api\.listen changed/ },
    { name: 'the cluster secret', change: (t) => t.replace('secret: ${PEER_SECRET}', 'secret: ${OTHER_TOKEN}'), blocked: /^cluster changed/ },
    { name: "a local provider's address", change: (t) => t.replace('127.0.0.1:5301', '127.0.0.1:5302'), blocked: /^providers\.lab changed/ },
  ])('$name', ({ change, blocked }) => {
    const blockers = reloadBlockers(base, config(change(BASE)));
    if (blocked === null) expect(blockers).toEqual([]);
    else {
      expect(blockers).toHaveLength(1);
      expect(blockers[0]).toMatch(blocked);
      expect(blockers[0]).toMatch(/restart to apply it$/);
    }
  });

  it('never quotes a secret value in a blocker', () => {
    const blockers = reloadBlockers(base, config(BASE.replace('secret: ${PEER_SECRET}', 'secret: ${OTHER_TOKEN}')));
    expect(blockers.join(' ')).not.toMatch(/1234567890/);
  });
});

describe('sameConfig', () => {
  it('is true for the same text read twice, from another path too', () => {
    expect(sameConfig(base, parseConfigText(BASE, '/elsewhere/dq.yaml', ENV))).toBe(true);
  });

  it('is false when anything changed', () => {
    expect(sameConfig(base, config(BASE.replace('192.0.2.1', '192.0.2.2')))).toBe(false);
  });
});
