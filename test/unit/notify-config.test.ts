import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { NOTIFICATION_KINDS, PAGERDUTY_EVENTS_URL } from '../../src/config/notifications.js';
import { ConfigError, formatConfigIssue } from '../../src/lib/errors.js';

const FILE = '/etc/dnsquorum/dq.yaml';

const SECRETS = {
  HOOK_AUTH: 'Bearer hook-secret-4711',
  SLACK_WEBHOOK_URL: 'https://hooks.slack.example/services/T000/B000/slack-token-0815',
  PD_ROUTING_KEY: 'pd-routing-key-abcdef0123456789',
};

const BASE = ['region: us-east', 'providers:', '  lab: { type: local, listen: 127.0.0.1:5301, nameserver: ns1.example.com. }', 'zones:', '  example.com:', '    providers: [lab]', '    records:', '      www: { type: A, value: 192.0.2.1 }'];

function configWith(notifications: readonly string[]): string {
  return [...BASE, ...notifications, ''].join('\n');
}

const readSecretFile = (path: string): string => {
  if (path === '/etc/dnsquorum/pd.key') return 'pd-key-from-file\n';
  throw Object.assign(new Error('missing'), { code: 'ENOENT' });
};

function issuesOf(text: string, env: NodeJS.ProcessEnv = SECRETS): string[] {
  try {
    parseConfigText(text, FILE, env, readSecretFile);
  } catch (err: unknown) {
    if (err instanceof ConfigError) return err.issues.map((i) => formatConfigIssue(i));
    throw err;
  }
  return [];
}

/** line:col of the first occurrence of `needle` (1-based), so expectations follow the text. */
function positionOf(text: string, needle: string): string {
  const index = text.indexOf(needle);
  if (index < 0) throw new Error(`${needle} is not in the text`);
  const before = text.slice(0, index).split('\n');
  return `${before.length}:${(before.at(-1)?.length ?? 0) + 1}`;
}

describe('notifications config', () => {
  it('defaults to no sinks and a 5m provider threshold, with the key left out or empty', () => {
    expect(parseConfigText(configWith([]), FILE, {}).notifications).toEqual({ providerFailingAfterMs: 300_000, sinks: [] });
    expect(parseConfigText(configWith(['notifications:']), FILE, {}).notifications).toEqual({ providerFailingAfterMs: 300_000, sinks: [] });
  });

  it('reads the three sink types with their defaults and secrets', () => {
    const text = configWith([
      'notifications:',
      '  providerFailingAfter: 90s',
      '  sinks:',
      '    - { name: ops-hook, type: webhook, url: https://hooks.example.net/dq, headers: { Authorization: "${HOOK_AUTH}" }, events: [failover, failback, provider-failing] }',
      '    - { name: chat, type: slack, url: "${SLACK_WEBHOOK_URL}" }',
      '    - { name: pager, type: pagerduty, routingKey: "${PD_ROUTING_KEY}", minSeverity: critical }',
      '    - name: pager-test',
      '      type: pagerduty',
      '      routingKey: { file: pd.key }',
      '      url: http://127.0.0.1:9999/v2/enqueue',
      '      minSeverity: warning',
    ]);
    const config = parseConfigText(text, FILE, SECRETS, readSecretFile);
    expect(config.notifications).toEqual({
      providerFailingAfterMs: 90_000,
      sinks: [
        {
          name: 'ops-hook',
          type: 'webhook',
          url: 'https://hooks.example.net/dq',
          headers: { Authorization: SECRETS.HOOK_AUTH },
          events: ['failover', 'failback', 'provider-failing'],
          minSeverity: 'info',
        },
        { name: 'chat', type: 'slack', url: SECRETS.SLACK_WEBHOOK_URL, events: NOTIFICATION_KINDS, minSeverity: 'info' },
        { name: 'pager', type: 'pagerduty', routingKey: SECRETS.PD_ROUTING_KEY, url: PAGERDUTY_EVENTS_URL, events: NOTIFICATION_KINDS, minSeverity: 'critical' },
        { name: 'pager-test', type: 'pagerduty', routingKey: 'pd-key-from-file', url: 'http://127.0.0.1:9999/v2/enqueue', events: NOTIFICATION_KINDS, minSeverity: 'warning' },
      ],
    });
    expect(Object.isFrozen(config.notifications.sinks[0])).toBe(true);
  });

  it('lets a webhook url come from the environment too', () => {
    const text = configWith(['notifications:', '  sinks:', '    - { name: hook, type: webhook, url: "${HOOK_URL}" }']);
    expect(parseConfigText(text, FILE, { HOOK_URL: 'http://127.0.0.1:8080/x' }).notifications.sinks[0]).toMatchObject({ url: 'http://127.0.0.1:8080/x', headers: {} });
  });

  const SINKS = ['notifications:', '  sinks:'];
  const cases: readonly (readonly [label: string, lines: readonly string[], at: string, message: string])[] = [
    ['a literal slack url', [...SINKS, '    - { name: chat, type: slack, url: https://hooks.slack.example/services/T/B/literal-token }'], 'https://hooks.slack', 'notifications.sinks[0].url must come from an ${ENV} reference or { file: ... }, not the YAML itself'],
    ['a literal header value', [...SINKS, '    - { name: hook, type: webhook, url: https://h.example.net/x, headers: { Authorization: Bearer-literal } }'], 'Bearer-literal', 'notifications.sinks[0].headers.Authorization must come from an ${ENV} reference'],
    ['a literal routing key', [...SINKS, '    - { name: pager, type: pagerduty, routingKey: literal-key-123 }'], 'literal-key-123', 'notifications.sinks[0].routingKey must come from an ${ENV} reference'],
    ['a pagerduty sink without routingKey', [...SINKS, '    - { name: pager, type: pagerduty }'], '{ name: pager', 'notifications.sinks[0]: routingKey is required'],
    ['a sink without type', [...SINKS, '    - { name: hook, url: https://h.example.net/x }'], '{ name: hook', 'notifications.sinks[0]: type is required (webhook, slack, pagerduty)'],
    ['an unknown type', [...SINKS, '    - { name: mail, type: email }'], 'email', 'notifications.sinks[0].type: expected one of webhook, slack, pagerduty, found the string "email"'],
    ['a sink without name', [...SINKS, '    - { type: webhook, url: https://h.example.net/x }'], '{ type: webhook', 'notifications.sinks[0]: name is required'],
    ['a bad sink name', [...SINKS, '    - { name: "ops hook", type: webhook, url: https://h.example.net/x }'], '"ops hook"', 'notifications.sinks[0].name: "ops hook" is not a valid sink name'],
    ['a name used twice', [...SINKS, '    - { name: hook, type: webhook, url: https://h.example.net/x }', '    - { name: hook, type: webhook, url: https://h.example.net/y }'], 'hook, type: webhook, url: https://h.example.net/y', 'notifications.sinks[1].name: sink name hook is used twice (first at line 11)'],
    ['a key of another type', [...SINKS, '    - { name: chat, type: slack, url: "${SLACK_WEBHOOK_URL}", routingKey: "${PD_ROUTING_KEY}" }'], 'routingKey', 'notifications.sinks[0].routingKey: does not apply to slack sinks (only to pagerduty)'],
    ['an unknown key', [...SINKS, '    - { name: hook, type: webhook, url: https://h.example.net/x, evnts: [drift] }'], 'evnts', 'notifications.sinks[0].evnts: unknown key; did you mean events?'],
    ['an unknown event kind', [...SINKS, '    - { name: hook, type: webhook, url: https://h.example.net/x, events: [failover, outage] }'], 'outage', `notifications.sinks[0].events[1]: expected one of ${NOTIFICATION_KINDS.join(', ')}, found the string "outage"`],
    ['an event kind twice', [...SINKS, '    - { name: hook, type: webhook, url: https://h.example.net/x, events: [drift, drift] }'], 'drift] }', 'notifications.sinks[0].events[1]: drift is listed twice'],
    ['an empty events list', [...SINKS, '    - { name: hook, type: webhook, url: https://h.example.net/x, events: [] }'], '[] }', 'notifications.sinks[0].events: needs at least one event'],
    ['a bad minSeverity', [...SINKS, '    - { name: hook, type: webhook, url: https://h.example.net/x, minSeverity: high }'], 'high', 'notifications.sinks[0].minSeverity: expected one of info, warning, critical, found the string "high"'],
    ['a webhook url that is not http', [...SINKS, '    - { name: hook, type: webhook, url: ftp://h.example.net/x }'], 'ftp://', 'notifications.sinks[0].url: "ftp://h.example.net/x" must be an http:// or https:// URL'],
    ['a webhook without url', [...SINKS, '    - { name: hook, type: webhook }'], '{ name: hook', 'notifications.sinks[0]: url is required'],
    ['a reserved header', [...SINKS, '    - { name: hook, type: webhook, url: https://h.example.net/x, headers: { Content-Type: "${HOOK_AUTH}" } }'], 'Content-Type', 'notifications.sinks[0].headers.Content-Type: Content-Type is set by dnsquorum itself'],
    ['a header named twice', [...SINKS, '    - { name: hook, type: webhook, url: https://h.example.net/x, headers: { X-Key: "${HOOK_AUTH}", x-key: "${HOOK_AUTH}" } }'], 'x-key', 'notifications.sinks[0].headers.x-key: header x-key is listed twice (header names ignore case; first at line 11)'],
    ['a bad header name', [...SINKS, '    - { name: hook, type: webhook, url: https://h.example.net/x, headers: { "X Key": "${HOOK_AUTH}" } }'], '"X Key"', 'notifications.sinks[0].headers[X Key]: "X Key" is not an HTTP header name'],
    ['sinks that are not a list', [...SINKS.slice(0, 1), '  sinks: { name: hook }'], '{ name: hook }', 'notifications.sinks: expected a list, found a mapping'],
    ['a sink that is not a mapping', [...SINKS, '    - hook'], 'hook', 'notifications.sinks[0]: expected a mapping, found the string "hook"'],
    ['a threshold without unit', ['notifications:', '  providerFailingAfter: 300'], '300', 'notifications.providerFailingAfter: duration needs a unit, e.g. 300s'],
    ['a threshold under 1s', ['notifications:', '  providerFailingAfter: 500ms'], '500ms', 'notifications.providerFailingAfter: must be at least 1s'],
    ['an unknown notifications key', ['notifications:', '  sink: []'], 'sink:', 'notifications.sink: unknown key; did you mean sinks?'],
    ['a missing secret file', [...SINKS, '    - { name: pager, type: pagerduty, routingKey: { file: missing.key } }'], 'missing.key', 'notifications.sinks[0].routingKey.file: cannot read secret file /etc/dnsquorum/missing.key: no such file'],
  ];

  it.each(cases)('refuses %s, pointing at it', (_label, lines, needle, message) => {
    const text = configWith(lines);
    const issues = issuesOf(text);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toContain(`${FILE}:${positionOf(text, needle)}: ${message}`);
  });

  it('refuses a secret url that is not a URL without showing it', () => {
    const text = configWith([...SINKS, '    - { name: chat, type: slack, url: "${SLACK_WEBHOOK_URL}" }']);
    const issues = issuesOf(text, { SLACK_WEBHOOK_URL: 'not-a-url-but-a-secret-42' });
    expect(issues).toEqual([`${FILE}:${positionOf(text, '"${SLACK')}: notifications.sinks[0].url: is not an http:// or https:// URL without credentials (the value is a secret and is not shown)`]);
  });

  it('names every unset secret variable, each at its place', () => {
    const text = configWith([
      ...SINKS,
      '    - { name: chat, type: slack, url: "${SLACK_WEBHOOK_URL}" }',
      '    - { name: pager, type: pagerduty, routingKey: "${PD_ROUTING_KEY}" }',
      '    - { name: hook, type: webhook, url: https://h.example.net/x, headers: { Authorization: "${HOOK_AUTH}" } }',
    ]);
    expect(issuesOf(text, {})).toEqual([
      `${FILE}:${positionOf(text, '"${SLACK')}: notifications.sinks[0].url: environment variable SLACK_WEBHOOK_URL is not set`,
      `${FILE}:${positionOf(text, '"${PD_')}: notifications.sinks[1].routingKey: environment variable PD_ROUTING_KEY is not set`,
      `${FILE}:${positionOf(text, '"${HOOK')}: notifications.sinks[2].headers.Authorization: environment variable HOOK_AUTH is not set`,
    ]);
  });

  it('never puts a secret value into a message', () => {
    const texts = [
      ...cases.map(([, lines]) => configWith(lines)),
      configWith([...SINKS, '    - { name: chat, type: slack, url: "${SLACK_WEBHOOK_URL}", minSeverity: loud }']),
      configWith([...SINKS, '    - { name: hook, type: webhook, url: "${SLACK_WEBHOOK_URL}x y" }']),
    ];
    const all = texts.flatMap((t) => issuesOf(t, { ...SECRETS, SLACK_WEBHOOK_URL: 'ht!tp://slack-token-0815' })).join('\n');
    expect(all).not.toBe('');
    for (const secret of [...Object.values(SECRETS), 'slack-token-0815']) expect(all).not.toContain(secret);
  });
});
