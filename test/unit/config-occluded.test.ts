import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfigText } from '../../src/config/load.js';
import { ConfigError, formatConfigIssue } from '../../src/lib/errors.js';

/**
 * Records at or below a delegation inside a zone are occluded: the zone's servers answer for
 * them with a referral, so they would never be served and the zone never converge. The config
 * refuses them, except the delegation's NS set and the A/AAAA glue of the name servers it names.
 */

const dir = fileURLToPath(new URL('../fixtures/config/', import.meta.url));
const FILE = '/etc/dnsquorum/dq.yaml';

function configWith(records: string[]): string {
  return [
    'region: us-east',
    'providers:',
    '  lab: { type: local, listen: 127.0.0.1:5301, nameserver: ns1.example.com. }',
    'zones:',
    '  example.com:',
    '    providers: [lab]',
    '    records:',
    ...records.map((r) => `      ${r}`),
    '',
  ].join('\n');
}

function issuesOf(text: string): string[] {
  try {
    parseConfigText(text, FILE, {});
  } catch (err: unknown) {
    if (err instanceof ConfigError) return err.issues.map((i) => formatConfigIssue(i));
    throw err;
  }
  return [];
}

const NS = '{ type: NS, values: [ns1.sub.example.com., ns.elsewhere.net.] }';
const DELEGATION = `sub: ${NS}`;

describe('occluded names', () => {
  it('accepts a delegation with its glue, and names beside it', async () => {
    const config = await loadConfigFile(`${dir}valid-delegation-glue.yaml`, {});
    const records = config.zones[0]?.records.map((r) => `${r.name} ${r.type}`).sort();
    expect(records).toEqual([
      'ns1.sub.example.com. A',
      'ns1.sub.example.com. AAAA',
      'ns2.sub.example.com. A',
      'sub.example.com. NS',
      'subway.example.com. A',
      'www.example.com. A',
    ]);
  });

  it('refuses a record below the delegation, at file:line:col of that record, naming the delegation', () => {
    expect(issuesOf(configWith([DELEGATION, 'www.sub: { type: A, value: 192.0.2.80 }']))).toEqual([
      `${FILE}:9:16: zones[example.com].records[www.sub]: www.sub.example.com. A is below the delegation sub.example.com. (NS at line 8): ` +
        "the zone's servers answer for it with a referral to the child zone and never serve it, so the zone could never be in sync; " +
        'declare it in the child zone (below a delegation only A/AAAA glue for ns1.sub.example.com., ns.elsewhere.net. is allowed)',
    ]);
  });

  it.each([
    ['an address at the delegation point that no NS record names', [`sub: [${NS}, { type: A, value: 192.0.2.1 }]`], '8:78', 'sub.example.com. A is at the delegation sub.example.com.'],
    ['a TXT at the delegation point', [`sub: [${NS}, { type: TXT, value: "v=1" }]`], '8:78', 'sub.example.com. TXT is at the delegation sub.example.com.'],
    ['a TXT at a glue name (glue is A/AAAA only)', [DELEGATION, 'ns1.sub: { type: TXT, value: "x" }'], '9:16', 'ns1.sub.example.com. TXT is below the delegation sub.example.com.'],
    ['a nested delegation', [DELEGATION, 'deeper.sub: { type: NS, value: ns.elsewhere.net. }'], '9:19', 'deeper.sub.example.com. NS is below the delegation sub.example.com.'],
    ['a wildcard below the delegation', [DELEGATION, '"*.sub": { type: A, value: 192.0.2.9 }'], '9:16', '*.sub.example.com. A is below the delegation sub.example.com.'],
    ['a CNAME below the delegation', [DELEGATION, 'alias.sub: { type: CNAME, value: www.example.com. }'], '9:18', 'alias.sub.example.com. CNAME is below the delegation sub.example.com.'],
  ] as const)('refuses %s', (_case, records, at, message) => {
    const issues = issuesOf(configWith([...records]));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toContain(`${FILE}:${at}: `);
    expect(issues[0]).toContain(message);
  });

  it('accepts glue at the delegation point itself, and a failover address as glue', () => {
    const failover =
      'ns1.sub: { type: A, failover: { check: { protocol: tcp, port: 53 }, pools: [{ name: a, values: [192.0.2.53] }, { name: b, values: [192.0.2.54] }] } }';
    expect(issuesOf(configWith(['sub: [{ type: NS, values: [sub.example.com., ns1.sub.example.com.] }, { type: A, value: 192.0.2.52 }]']))).toEqual([]);
    expect(issuesOf(configWith([DELEGATION, failover]))).toEqual([]);
  });

  it('reads the delegation wherever it is declared, and reports each occluded record once', () => {
    const issues = issuesOf(configWith(['a.sub: { type: A, value: 192.0.2.1 }', DELEGATION, 'b.sub: { type: AAAA, value: "2001:db8::1" }']));
    expect(issues.map((i) => i.split(': ').slice(0, 3).join(': '))).toEqual([
      `${FILE}:8:14: zones[example.com].records[a.sub]: a.sub.example.com. A is below the delegation sub.example.com. (NS at line 9)`,
      `${FILE}:10:14: zones[example.com].records[b.sub]: b.sub.example.com. AAAA is below the delegation sub.example.com. (NS at line 9)`,
    ]);
  });

  it('leaves the apex NS and everything beside a delegation alone', () => {
    expect(
      issuesOf(
        configWith([
          '"@": { type: NS, values: [ns1.example.com., ns2.example.com.] }',
          DELEGATION,
          'ns1: { type: A, value: 192.0.2.53 }',
          'sub2: { type: TXT, value: "beside" }',
          'x.y: { type: A, value: 192.0.2.7 }',
        ]).replace('    providers: [lab]', '    providers: [lab]\n    nameservers: manual'),
      ),
    ).toEqual([]);
  });

  it('does not blame glue when the delegation itself is invalid (that is reported on its own)', () => {
    const issues = issuesOf(configWith(['sub: { type: NS, values: ["not a host"] }', 'ns1.sub: { type: A, value: 192.0.2.53 }']));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toContain('records.sub.values[0]');
  });
});
