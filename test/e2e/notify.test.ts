import { createServer } from 'node:http';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { PagerDutySinkConfig, SinkConfig, SlackSinkConfig, WebhookSinkConfig } from '../../src/config/types.js';
import { NOTIFICATION_KINDS } from '../../src/config/notifications.js';
import { driftClearedNotification, driftNotification } from '../../src/control/notify/events.js';
import { NotificationHub } from '../../src/control/notify/hub.js';
import type { NotificationHubOptions } from '../../src/control/notify/hub.js';
import type { NotificationEvent } from '../../src/control/notify/notifier.js';
import { systemClock } from '../../src/lib/clock.js';
import { memoryLogger } from '../helpers/memory-logger.js';

/**
 * The hub against real HTTP receivers on 127.0.0.1 (ephemeral ports), one standing in for each
 * sink type. Nothing here waits for time to pass: every wait is for a condition (requests
 * received, counters reached), bounded by vi.waitFor's deadline.
 */

const SLACK_TOKEN = 'slack-secret-token-9f8e7d6c';
const ROUTING_KEY = 'pd-secret-routing-key-0123456789ab';
const HOOK_AUTH = 'Bearer webhook-secret-5a4b3c2d';
const SECRETS = [SLACK_TOKEN, ROUTING_KEY, HOOK_AUTH, 'webhook-secret-5a4b3c2d'];

interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Record<string, unknown>;
}

interface Answer {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

/** What the receiver does with its n-th request (0-based): answer, or never answer. */
type Behaviour = (request: Received, n: number) => Answer | 'hang';

interface Receiver {
  readonly received: Received[];
  url(path: string): string;
  close(): Promise<void>;
}

const openReceivers: Receiver[] = [];
const runs: { controller: AbortController; done: Promise<void> }[] = [];
/** Every log line of every hub in this file, for the redaction check at the end. */
const allLogLines: string[] = [];
/** The raw log lines of each hub of the running test. */
const logs: string[][] = [];

async function startReceiver(behaviour: Behaviour = () => ({ status: 200, body: 'ok' })): Promise<Receiver> {
  const received: Received[] = [];
  const hanging: ServerResponse[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: Received = { path: req.url ?? '', headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> };
      received.push(request);
      const answer = behaviour(request, received.length - 1);
      if (answer === 'hang') {
        hanging.push(res);
        return;
      }
      res.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers });
      res.end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const receiver: Receiver = {
    received,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => { resolve(); }));
    },
  };
  openReceivers.push(receiver);
  return receiver;
}

function hubWith(sinks: readonly SinkConfig[], options: Partial<NotificationHubOptions> = {}): { hub: NotificationHub; lines: ReturnType<typeof memoryLogger>['lines']; raw: string[] } {
  const { logger, lines, raw } = memoryLogger();
  const hub = new NotificationHub({ sinks, logger, clock: systemClock, retryBaseMs: 1, retryCapMs: 5, requestTimeoutMs: 60_000, ...options });
  const capture = { hub, lines, raw };
  logs.push(raw);
  return capture;
}

function start(hub: NotificationHub): AbortController {
  const controller = new AbortController();
  runs.push({ controller, done: hub.run(controller.signal) });
  return controller;
}

afterEach(async () => {
  for (const run of runs.splice(0)) {
    run.controller.abort();
    await run.done;
  }
  for (const receiver of openReceivers.splice(0)) await receiver.close();
  for (const raw of logs.splice(0)) allLogLines.push(...raw);
});

afterAll(() => {
  expect(allLogLines.length).toBeGreaterThan(0);
  const text = allLogLines.join('');
  for (const secret of SECRETS) expect(text).not.toContain(secret);
});

function webhook(name: string, url: string, extra: Partial<WebhookSinkConfig> = {}): WebhookSinkConfig {
  return { type: 'webhook', name, url, headers: { Authorization: HOOK_AUTH }, events: NOTIFICATION_KINDS, minSeverity: 'info', ...extra };
}

function slack(name: string, receiver: Receiver, extra: Partial<SlackSinkConfig> = {}): SlackSinkConfig {
  return { type: 'slack', name, url: receiver.url(`/services/T0001/B0001/${SLACK_TOKEN}`), events: NOTIFICATION_KINDS, minSeverity: 'info', ...extra };
}

function pagerduty(name: string, receiver: Receiver, extra: Partial<PagerDutySinkConfig> = {}): PagerDutySinkConfig {
  return { type: 'pagerduty', name, url: receiver.url('/v2/enqueue'), routingKey: ROUTING_KEY, events: NOTIFICATION_KINDS, minSeverity: 'info', ...extra };
}

let sequence = 0;

function failover(extra: Partial<NotificationEvent> = {}): NotificationEvent {
  sequence++;
  return {
    kind: 'failover',
    severity: 'critical',
    at: 1_700_000_000_000 + sequence,
    region: 'us-east',
    summary: `api.example.com. A failed over to pool secondary: 0 of 2 up in primary <#${sequence}>`,
    zone: 'example.com.',
    record: 'api.example.com.',
    provider: null,
    dedupKey: 'failover/example.com./api.example.com./A',
    opens: true,
    resolves: false,
    details: { pool: 'secondary', up: 0, of: 2, forced: false, seq: sequence },
    ...extra,
  };
}

function failback(extra: Partial<NotificationEvent> = {}): NotificationEvent {
  return failover({ kind: 'failback', severity: 'info', summary: 'api.example.com. A is back on pool primary', opens: false, resolves: true, ...extra });
}

const seqOf = (r: Received): unknown => (r.body.details as Record<string, unknown> | undefined)?.seq ?? ((r.body.payload as Record<string, unknown> | undefined)?.custom_details as Record<string, unknown> | undefined)?.seq;

const waitFor = (check: () => void): Promise<void> => vi.waitFor(check, { timeout: 10_000, interval: 5 });

describe('NotificationHub payloads', () => {
  it('sends the webhook the event as JSON with its headers', async () => {
    const receiver = await startReceiver();
    const { hub } = hubWith([webhook('ops-hook', receiver.url('/dq'))]);
    start(hub);
    const event = failover();
    hub.notify(event);
    await waitFor(() => { expect(receiver.received).toHaveLength(1); });
    const [request] = receiver.received;
    expect(request?.path).toBe('/dq');
    expect(request?.headers.authorization).toBe(HOOK_AUTH);
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.body).toEqual({ ...event, source: 'dnsquorum' });
    await waitFor(() => { expect(hub.stats()).toEqual([{ sink: 'ops-hook', type: 'webhook', sent: 1, failed: 0, dropped: 0, queued: 0 }]); });
  });

  it('sends Slack a header, the summary (escaped) and a context line', async () => {
    const receiver = await startReceiver();
    const { hub } = hubWith([slack('chat', receiver)]);
    start(hub);
    const event = failover({ provider: 'ns1' });
    hub.notify(event);
    hub.notify(failback());
    await waitFor(() => { expect(receiver.received).toHaveLength(2); });
    expect(receiver.received[0]?.path).toBe(`/services/T0001/B0001/${SLACK_TOKEN}`);
    expect(receiver.received[0]?.body).toEqual({
      text: `CRITICAL: failover: api.example.com. A failed over to pool secondary: 0 of 2 up in primary &lt;#${String(event.details.seq)}&gt;`,
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: 'CRITICAL: failover' } },
        { type: 'section', text: { type: 'mrkdwn', text: `api.example.com. A failed over to pool secondary: 0 of 2 up in primary &lt;#${String(event.details.seq)}&gt;` } },
        { type: 'context', elements: [{ type: 'mrkdwn', text: 'region us-east | zone example.com. | record api.example.com. | provider ns1' }] },
      ],
    });
    expect(receiver.received[1]?.body).toMatchObject({ blocks: [{ type: 'header', text: { text: 'RESOLVED: failback' } }, {}, {}] });
  });

  it('sends PagerDuty a trigger and then a resolve with the same dedup_key', async () => {
    const receiver = await startReceiver(() => ({ status: 202, headers: { 'content-type': 'application/json' }, body: '{"status":"success","message":"Event processed"}' }));
    const { hub } = hubWith([pagerduty('pager', receiver)]);
    start(hub);
    const opened = failover();
    hub.notify(opened);
    hub.notify(failback());
    await waitFor(() => { expect(receiver.received).toHaveLength(2); });
    expect(receiver.received[0]?.body).toEqual({
      routing_key: ROUTING_KEY,
      event_action: 'trigger',
      dedup_key: 'failover/example.com./api.example.com./A',
      client: 'dnsquorum',
      payload: {
        summary: opened.summary,
        source: 'us-east',
        severity: 'critical',
        timestamp: new Date(opened.at).toISOString(),
        component: 'api.example.com.',
        group: 'example.com.',
        class: 'failover',
        custom_details: opened.details,
      },
    });
    expect(receiver.received[1]?.body).toMatchObject({ routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: 'failover/example.com./api.example.com./A', payload: { severity: 'info', class: 'failback' } });
    await waitFor(() => { expect(hub.stats()[0]).toMatchObject({ sent: 2, failed: 0 }); });
  });

  it('sends PagerDuty only what opens or ends a condition: drift left in place and its clearing, not a refused override or drift written back', async () => {
    const pager = await startReceiver(() => ({ status: 202 }));
    const hook = await startReceiver();
    const { hub } = hubWith([pagerduty('pager', pager), webhook('hook', hook.url('/'))]);
    start(hub);
    const at = 1_700_000_000_000;
    hub.notify(failover({ kind: 'override-refused', severity: 'info', dedupKey: 'override-refused/example.com./api.example.com./A', opens: false }));
    hub.notify(driftNotification({ zone: 'example.com.', provider: 'ns1', records: 2, repaired: true }, 'us-east', at));
    hub.notify(driftNotification({ zone: 'example.com.', provider: 'route53', records: 1, repaired: false }, 'us-east', at + 1));
    hub.notify(driftClearedNotification({ zone: 'example.com.', provider: 'route53' }, 'us-east', at + 2));
    await waitFor(() => { expect(hook.received).toHaveLength(4); });
    await waitFor(() => { expect(hub.stats().map((s) => s.sent)).toEqual([2, 4]); });
    expect(pager.received.map((r) => [r.body.event_action, r.body.dedup_key])).toEqual([
      ['trigger', 'drift/example.com./route53'],
      ['resolve', 'drift/example.com./route53'],
    ]);
    expect(hook.received.map((r) => [r.body.kind, r.body.opens, r.body.resolves])).toEqual([
      ['override-refused', false, false],
      ['drift', false, false],
      ['drift', true, false],
      ['drift-cleared', false, true],
    ]);
  });

  it('names the provider as the PagerDuty component when there is no record, and leaves null fields out', async () => {
    const receiver = await startReceiver(() => ({ status: 202 }));
    const { hub } = hubWith([pagerduty('pager', receiver)]);
    start(hub);
    hub.notify(failover({ kind: 'provider-failing', record: null, provider: 'ns1', zone: null, dedupKey: 'x'.repeat(300) }));
    await waitFor(() => { expect(receiver.received).toHaveLength(1); });
    const body = receiver.received[0]?.body as { dedup_key: string; payload: Record<string, unknown> };
    expect(body.payload.component).toBe('ns1');
    expect('group' in body.payload).toBe(false);
    expect(body.dedup_key.length).toBeLessThanOrEqual(255);
    expect(body.dedup_key.startsWith('xxxx')).toBe(true);
  });
});

describe('NotificationHub delivery', () => {
  it('notify() returns at once, before anything is sent, and never throws', async () => {
    const receiver = await startReceiver();
    const { hub } = hubWith([webhook('hook', receiver.url('/'))]);
    start(hub);
    const event = failover();
    hub.notify(event);
    // Still in the same synchronous turn: the call is over, the event queued, nothing sent yet.
    expect(hub.stats()[0]).toMatchObject({ queued: 1, sent: 0 });
    expect(receiver.received).toHaveLength(0);
    expect(() => { hub.notify(null as unknown as NotificationEvent); }).not.toThrow();
    await waitFor(() => { expect(hub.stats()[0]).toMatchObject({ queued: 0, sent: 1 }); });
  });

  it('retries after a 500 and delivers in order', async () => {
    const receiver = await startReceiver((_req, n) => (n === 0 ? { status: 500, body: 'boom' } : { status: 200 }));
    const { hub } = hubWith([webhook('hook', receiver.url('/'))]);
    start(hub);
    const first = failover();
    const second = failover();
    hub.notify(first);
    hub.notify(second);
    await waitFor(() => { expect(hub.stats()[0]).toMatchObject({ sent: 2, failed: 0, queued: 0 }); });
    expect(receiver.received.map(seqOf)).toEqual([first.details.seq, first.details.seq, second.details.seq]);
  });

  it('honours Retry-After: 0 after a 429 (the backoff alone would wait an hour)', async () => {
    const receiver = await startReceiver((_req, n) => (n < 2 ? { status: 429, headers: { 'retry-after': '0' } } : { status: 202 }));
    const { hub } = hubWith([pagerduty('pager', receiver)], { retryBaseMs: 3_600_000, retryCapMs: 3_600_000, random: () => 0.99 });
    start(hub);
    hub.notify(failover());
    await waitFor(() => { expect(hub.stats()[0]).toMatchObject({ sent: 1, failed: 0 }); });
    expect(receiver.received).toHaveLength(3);
  });

  it('gives up after maxAttempts with one warn line, then goes on with the next event', async () => {
    const receiver = await startReceiver((req) => ((req.body.details as { seq: number }).seq % 2 === 1 ? { status: 503, body: 'unavailable' } : { status: 200 }));
    const { hub, lines } = hubWith([webhook('hook', receiver.url('/'))], { maxAttempts: 3 });
    start(hub);
    // Odd sequence numbers always fail, even ones are accepted.
    const events = [failover(), failover()];
    const failing = events.find((e) => Number(e.details.seq) % 2 === 1);
    const passing = events.find((e) => Number(e.details.seq) % 2 === 0);
    hub.notify(events[0] as NotificationEvent);
    hub.notify(events[1] as NotificationEvent);
    await waitFor(() => { expect(hub.stats()[0]).toMatchObject({ sent: 1, failed: 1, queued: 0 }); });
    expect(receiver.received.filter((r) => seqOf(r) === failing?.details.seq)).toHaveLength(3);
    expect(receiver.received.filter((r) => seqOf(r) === passing?.details.seq)).toHaveLength(1);
    const warnings = lines.filter((l) => l.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ sink: 'hook', sinkType: 'webhook', kind: 'failover', attempts: 3 });
    expect(warnings[0]?.msg).toContain('still failing after 3 attempts: HTTP 503 unavailable');
  });

  it('does not retry an answer that would not change (400), and scrubs secrets the receiver echoes', async () => {
    const receiver = await startReceiver((req) => ({ status: 400, body: `{"status":"invalid event","errors":["routing_key ${String(req.body.routing_key)} is unknown"]}` }));
    const { hub, lines } = hubWith([pagerduty('pager', receiver)]);
    start(hub);
    hub.notify(failover());
    await waitFor(() => { expect(hub.stats()[0]).toMatchObject({ failed: 1, queued: 0 }); });
    expect(receiver.received).toHaveLength(1);
    const warning = lines.find((l) => l.level === 40);
    expect(warning?.msg).toContain('refused: HTTP 400');
    expect(warning?.msg).toContain('routing_key [redacted] is unknown');
  });

  it('a receiver that never answers does not hold up another sink', async () => {
    const stuck = await startReceiver(() => 'hang');
    const fast = await startReceiver();
    const { hub, lines } = hubWith([webhook('stuck', stuck.url('/')), slack('fast', fast)], { flushMs: 0 });
    const controller = start(hub);
    const events = [failover(), failover(), failover()];
    for (const e of events) hub.notify(e);
    // Every event reaches the fast sink while the stuck one still holds its first request unanswered.
    // The receiver has the third request before the hub has its answer: wait for the count as well.
    await waitFor(() => {
      expect(fast.received).toHaveLength(3);
      expect(hub.stats()[1]).toMatchObject({ sent: 3, queued: 0 });
    });
    expect(stuck.received.map(seqOf)).toEqual([events[0]?.details.seq]);
    expect(fast.received.map((r) => r.body.text)).toEqual(events.map((e) => `CRITICAL: failover: ${e.summary.replace('<', '&lt;').replace('>', '&gt;')}`));
    expect(hub.stats()).toEqual([
      { sink: 'stuck', type: 'webhook', sent: 0, failed: 0, dropped: 0, queued: 3 },
      { sink: 'fast', type: 'slack', sent: 3, failed: 0, dropped: 0, queued: 0 },
    ]);
    // Stopping ends the stuck request once the flush time is over and says what was left.
    controller.abort();
    await runs.find((r) => r.controller === controller)?.done;
    expect(hub.stats()[0]).toMatchObject({ queued: 3, sent: 0 });
    expect(lines.some((l) => l.level === 40 && l.sink === 'stuck' && l.left === 3)).toBe(true);
  });

  it('flushes what is queued when stopped', async () => {
    const receiver = await startReceiver();
    const { hub } = hubWith([webhook('hook', receiver.url('/'))], { flushMs: 10_000 });
    const controller = new AbortController();
    controller.abort();
    const events = [failover(), failover()];
    for (const e of events) hub.notify(e);
    // Started already aborted: it only flushes, and returns once the queue is empty.
    await hub.run(controller.signal);
    expect(receiver.received.map(seqOf)).toEqual(events.map((e) => e.details.seq));
    expect(hub.stats()[0]).toMatchObject({ sent: 2, queued: 0 });
  });

  it('drops the oldest events when a queue is full, and counts them', async () => {
    const receiver = await startReceiver();
    const { hub, lines } = hubWith([webhook('hook', receiver.url('/'))], { queueLimit: 3 });
    const events = [failover(), failover(), failover(), failover(), failover()];
    for (const e of events) hub.notify(e);
    expect(hub.stats()[0]).toMatchObject({ queued: 3, dropped: 2 });
    expect(lines.filter((l) => l.level === 40 && l.msg.includes('is full'))).toHaveLength(1);
    start(hub);
    await waitFor(() => { expect(receiver.received).toHaveLength(3); });
    expect(receiver.received.map(seqOf)).toEqual(events.slice(2).map((e) => e.details.seq));
    expect(hub.stats()[0]).toMatchObject({ sent: 3, dropped: 2 });
  });

  it('retries a refused connection and gives up without logging the Slack URL', async () => {
    const gone = await startReceiver();
    const config = slack('chat', gone);
    await gone.close();
    openReceivers.splice(openReceivers.indexOf(gone), 1);
    const { hub, lines, raw } = hubWith([config], { maxAttempts: 2 });
    start(hub);
    hub.notify(failover());
    await waitFor(() => { expect(hub.stats()[0]).toMatchObject({ failed: 1 }); });
    const warning = lines.find((l) => l.level === 40);
    expect(warning?.msg).toContain('still failing after 2 attempts');
    expect(warning?.msg).toMatch(/ECONNREFUSED/);
    expect(raw.join('')).not.toContain('/services/');
  });
});

describe('NotificationHub filters', () => {
  it('takes only the listed kinds at or above minSeverity, and always the end of what it was sent', () => {
    const { hub } = hubWith([
      webhook('failovers', 'http://127.0.0.1:9/', { events: ['failover', 'failback'], minSeverity: 'critical' }),
      webhook('everything', 'http://127.0.0.1:9/'),
    ]);
    const queued = (): number[] => hub.stats().map((s) => s.queued);
    hub.notify(failover({ kind: 'drift', severity: 'warning', dedupKey: 'drift/x' }));
    expect(queued()).toEqual([0, 1]);
    hub.notify(failover({ severity: 'warning', dedupKey: 'failover/a' }));
    expect(queued()).toEqual([0, 2]);
    // Never sent its opening event: the info-level failback is filtered out.
    hub.notify(failback({ dedupKey: 'failover/a' }));
    expect(queued()).toEqual([0, 3]);
    hub.notify(failover({ dedupKey: 'failover/b' }));
    expect(queued()).toEqual([1, 4]);
    // Sent the opening event: the failback goes too, though it is info.
    hub.notify(failback({ dedupKey: 'failover/b' }));
    expect(queued()).toEqual([2, 5]);
    // Only once: a second resolution of the same key is filtered again.
    hub.notify(failback({ dedupKey: 'failover/b' }));
    expect(queued()).toEqual([2, 6]);
    // An end whose kind the sink does not list still follows what it was sent.
    hub.notify(failover({ dedupKey: 'failover/c' }));
    hub.notify(failover({ kind: 'override-ended', severity: 'info', dedupKey: 'failover/c', opens: false, resolves: true }));
    expect(queued()).toEqual([4, 8]);
  });
});
