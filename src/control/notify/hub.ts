import { createHash } from 'node:crypto';
import type { SinkConfig } from '../../config/types.js';
import type { NotificationSeverity } from '../../domain/notification.js';
import { fullJitterMs, sleep as realSleep } from '../../lib/backoff.js';
import type { Sleep } from '../../lib/backoff.js';
import type { Clock } from '../../lib/clock.js';
import { startDeadline } from '../../lib/deadline.js';
import { DnsQuorumError, errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { describeNetworkError } from '../../lib/network-error.js';
import { Wakeup } from '../../lib/wakeup.js';
import type { NotificationEvent, Notifier } from './notifier.js';

/**
 * Delivers notifications to webhook, Slack and PagerDuty sinks without ever holding up the
 * caller: notify() only files the event in each interested sink's queue and returns. run() works
 * the queues, one per sink with one request in flight per sink (so each sink gets its events in
 * order), every sink on its own (a dead receiver never delays another).
 *
 * - Retries: a network error, a timeout, 408, 429 or a 5xx is tried again after a full-jitter
 *   exponential backoff, or after the receiver's Retry-After when it sends one. After
 *   maxAttempts the event is given up with one warn line. Any other answer (400, 403, 404, a
 *   redirect) is given up at once: trying again would get the same answer. Redirects are not
 *   followed, so a Slack URL or a header never travels to another host.
 * - A full queue drops its oldest event (counted): the newest say best how things stand.
 * - A resolving event (failback, provider recovered, override ended) goes to every sink that was
 *   sent the event it resolves, whatever the sink's events and minSeverity say, so an incident
 *   that was opened is always closed.
 * - On abort, what is queued is still tried for flushMs, then the rest is left (and logged).
 * - Logs name sinks, never their URLs, routing keys or header values; anything a receiver
 *   answers is scrubbed of them before it is logged.
 */

export interface NotificationHubOptions {
  readonly sinks: readonly SinkConfig[];
  readonly logger: Logger;
  readonly clock: Clock;
  readonly fetch?: typeof fetch;
  /** Events waiting per sink; beyond it the oldest is dropped. */
  readonly queueLimit?: number;
  /** Requests per event (the first and its retries). */
  readonly maxAttempts?: number;
  /** Deadline of each request. */
  readonly requestTimeoutMs?: number;
  /** Backoff base: the first retry waits up to this, each next one up to twice as long. */
  readonly retryBaseMs?: number;
  /** No backoff wait is longer than this (a Retry-After is honoured up to MAX_RETRY_AFTER_MS). */
  readonly retryCapMs?: number;
  /** After the run signal aborts, how long queued events are still tried. */
  readonly flushMs?: number;
  readonly random?: () => number;
  readonly sleep?: Sleep;
}

export const NOTIFY_DEFAULTS = {
  queueLimit: 1000,
  maxAttempts: 5,
  requestTimeoutMs: 10_000,
  retryBaseMs: 1_000,
  retryCapMs: 60_000,
  flushMs: 2_000,
} as const;

/** A receiver asking for a longer pause is waited for this long at most, then tried again. */
export const MAX_RETRY_AFTER_MS = 10 * 60_000;

/** dedupKeys of opened conditions remembered per sink, for letting their resolution through. */
const MAX_OPEN_KEYS = 10_000;

/** An idle worker looks at its queue at least this often (notify() wakes it at once anyway). */
const IDLE_WAIT_MS = 60_000;

/** How much of a refusing receiver's answer goes into the log line. */
const MAX_ANSWER_TEXT = 200;

const USER_AGENT = 'dnsquorum (notifications)';

/** PagerDuty limits: summary 1024 characters, dedup_key 255. */
const PD_MAX_SUMMARY = 1024;
const PD_MAX_DEDUP_KEY = 255;

/** Slack Block Kit limits: header text 150 characters, section and context text 3000. */
const SLACK_MAX_HEADER = 150;
const SLACK_MAX_TEXT = 3000;

const SEVERITY_RANK: Readonly<Record<NotificationSeverity, number>> = { info: 0, warning: 1, critical: 2 };

export interface NotificationSinkStats {
  readonly sink: string;
  readonly type: SinkConfig['type'];
  /** Events the receiver accepted. */
  readonly sent: number;
  /** Events given up: refused by the receiver, or still failing after maxAttempts. */
  readonly failed: number;
  /** Events dropped unsent because the queue was full. */
  readonly dropped: number;
  /** Events waiting, the one in flight included. */
  readonly queued: number;
}

interface SinkState {
  readonly config: SinkConfig;
  /** Values that must never reach a log line, longest first. */
  readonly secrets: readonly string[];
  readonly queue: NotificationEvent[];
  inFlight: NotificationEvent | undefined;
  /** dedupKeys of the opening events this sink took, oldest first. */
  readonly open: Set<string>;
  readonly wakeup: Wakeup;
  sent: number;
  failed: number;
  dropped: number;
  /** The queue overflowed and has not been empty since: the drop was logged once. */
  overflowing: boolean;
}

type Outcome =
  | { readonly kind: 'delivered' }
  | { readonly kind: 'retry'; readonly reason: string; readonly retryAfterMs: number | undefined }
  | { readonly kind: 'refused'; readonly reason: string }
  | { readonly kind: 'aborted' };

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Slack mrkdwn treats &, < and > as markup. */
function escapeMrkdwn(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** The generic webhook's body: the event as it is, and who sent it. */
export function webhookPayload(event: NotificationEvent): Record<string, unknown> {
  return { ...event, source: 'dnsquorum' };
}

function headline(event: NotificationEvent): string {
  return event.resolves ? `RESOLVED: ${event.kind}` : `${event.severity.toUpperCase()}: ${event.kind}`;
}

/** A Slack incoming-webhook message: a header line, the summary, and where it happened. */
export function slackPayload(event: NotificationEvent): Record<string, unknown> {
  const where: [string, string | null][] = [
    ['region', event.region],
    ['zone', event.zone],
    ['record', event.record],
    ['provider', event.provider],
  ];
  const context = where.flatMap(([label, value]) => (value === null ? [] : [`${label} ${value}`])).join(' | ');
  const title = headline(event);
  return {
    // Shown in notifications and by clients that do not render blocks.
    text: cut(escapeMrkdwn(`${title}: ${event.summary}`), SLACK_MAX_TEXT),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: cut(title, SLACK_MAX_HEADER) } },
      { type: 'section', text: { type: 'mrkdwn', text: cut(escapeMrkdwn(event.summary), SLACK_MAX_TEXT) } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: cut(escapeMrkdwn(context), SLACK_MAX_TEXT) }] },
    ],
  };
}

/** dedupKeys longer than PagerDuty takes keep a readable head and a hash of the whole, so trigger and resolve still match. */
export function pagerDutyDedupKey(dedupKey: string): string {
  if (dedupKey.length <= PD_MAX_DEDUP_KEY) return dedupKey;
  const hash = createHash('sha256').update(dedupKey).digest('hex').slice(0, 32);
  return `${dedupKey.slice(0, PD_MAX_DEDUP_KEY - hash.length - 1)}#${hash}`;
}

/** A PagerDuty Events API v2 event: trigger, or resolve for an event that ends a condition. */
export function pagerDutyPayload(event: NotificationEvent, routingKey: string): Record<string, unknown> {
  const component = event.record ?? event.provider;
  return {
    routing_key: routingKey,
    event_action: event.resolves ? 'resolve' : 'trigger',
    dedup_key: pagerDutyDedupKey(event.dedupKey),
    client: 'dnsquorum',
    payload: {
      summary: cut(event.summary, PD_MAX_SUMMARY),
      source: event.region,
      severity: event.severity,
      ...(Number.isFinite(event.at) ? { timestamp: new Date(event.at).toISOString() } : {}),
      ...(component === null ? {} : { component }),
      ...(event.zone === null ? {} : { group: event.zone }),
      class: event.kind,
      custom_details: event.details,
    },
  };
}

function payloadFor(config: SinkConfig, event: NotificationEvent): Record<string, unknown> {
  switch (config.type) {
    case 'webhook':
      return webhookPayload(event);
    case 'slack':
      return slackPayload(event);
    case 'pagerduty':
      return pagerDutyPayload(event, config.routingKey);
  }
}

/** Retry-After as seconds or as an HTTP date, in ms from now; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS);
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - now), MAX_RETRY_AFTER_MS);
}

function secretsOf(config: SinkConfig): string[] {
  const found: string[] = [];
  switch (config.type) {
    case 'webhook':
      found.push(...Object.values(config.headers));
      break;
    case 'slack': {
      found.push(config.url);
      // The token is in the path (/services/T…/B…/secret): any long segment of it may be echoed alone.
      const url = URL.canParse(config.url) ? new URL(config.url) : undefined;
      if (url !== undefined) found.push(`${url.pathname}${url.search}`, ...url.pathname.split('/').filter((s) => s.length >= 8));
      break;
    }
    case 'pagerduty':
      found.push(config.routingKey);
      break;
  }
  return [...new Set(found.filter((s) => s.length > 0))].sort((a, b) => b.length - a.length);
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new DnsQuorumError('DQ_INTERNAL', `NotificationHub: ${name} must be a whole number of at least 1, not ${value}`);
  return value;
}

export class NotificationHub implements Notifier {
  private readonly sinks: readonly SinkState[];
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly fetchImpl: typeof fetch;
  private readonly queueLimit: number;
  private readonly maxAttempts: number;
  private readonly requestTimeoutMs: number;
  private readonly retryBaseMs: number;
  private readonly retryCapMs: number;
  private readonly flushMs: number;
  private readonly random: () => number;
  private readonly sleep: Sleep;
  private running = false;

  constructor(options: NotificationHubOptions) {
    this.logger = options.logger;
    this.clock = options.clock;
    this.fetchImpl = options.fetch ?? fetch;
    this.queueLimit = positiveInteger('queueLimit', options.queueLimit ?? NOTIFY_DEFAULTS.queueLimit);
    this.maxAttempts = positiveInteger('maxAttempts', options.maxAttempts ?? NOTIFY_DEFAULTS.maxAttempts);
    this.requestTimeoutMs = positiveInteger('requestTimeoutMs', options.requestTimeoutMs ?? NOTIFY_DEFAULTS.requestTimeoutMs);
    this.retryBaseMs = Math.max(0, options.retryBaseMs ?? NOTIFY_DEFAULTS.retryBaseMs);
    this.retryCapMs = Math.max(0, options.retryCapMs ?? NOTIFY_DEFAULTS.retryCapMs);
    this.flushMs = Math.max(0, options.flushMs ?? NOTIFY_DEFAULTS.flushMs);
    this.random = options.random ?? Math.random;
    this.sleep = options.sleep ?? realSleep;
    this.sinks = options.sinks.map((config) => ({
      config,
      secrets: secretsOf(config),
      queue: [],
      inFlight: undefined,
      open: new Set<string>(),
      wakeup: new Wakeup(options.clock),
      sent: 0,
      failed: 0,
      dropped: 0,
      overflowing: false,
    }));
  }

  /** Files the event with every sink that takes it and returns at once; never throws. */
  notify(event: NotificationEvent): void {
    try {
      for (const sink of this.sinks) {
        if (this.accepts(sink, event)) this.enqueue(sink, event);
      }
    } catch (err) {
      this.logger.error({ err: errorMessage(err) }, 'a notification could not be queued');
    }
  }

  /** Per sink, in config order. */
  stats(): NotificationSinkStats[] {
    return this.sinks.map((s) => ({
      sink: s.config.name,
      type: s.config.type,
      sent: s.sent,
      failed: s.failed,
      dropped: s.dropped,
      queued: s.queue.length + (s.inFlight === undefined ? 0 : 1),
    }));
  }

  /** Delivers until the signal aborts, then flushes for at most flushMs and returns. */
  async run(signal: AbortSignal): Promise<void> {
    if (this.running) throw new DnsQuorumError('DQ_INTERNAL', 'NotificationHub.run was called while it was already running');
    this.running = true;
    const delivery = new AbortController();
    let flushTimer: ReturnType<typeof setTimeout> | undefined;
    const onStop = (): void => {
      flushTimer = setTimeout(() => {
        delivery.abort(new Error('the time to flush notifications at shutdown is over'));
      }, this.flushMs);
      for (const sink of this.sinks) sink.wakeup.notify();
    };
    if (signal.aborted) onStop();
    else signal.addEventListener('abort', onStop, { once: true });
    try {
      await Promise.all(this.sinks.map((sink) => this.work(sink, signal, delivery.signal)));
    } finally {
      clearTimeout(flushTimer);
      signal.removeEventListener('abort', onStop);
      this.running = false;
    }
    for (const sink of this.sinks) {
      if (sink.queue.length === 0) continue;
      this.logger.warn(
        { sink: sink.config.name, sinkType: sink.config.type, left: sink.queue.length },
        `notifications: ${sink.queue.length} event(s) for sink ${sink.config.name} were not delivered before stopping`,
      );
    }
  }

  private accepts(sink: SinkState, event: NotificationEvent): boolean {
    // delete() says whether this sink was sent the event that opened the condition.
    if (event.resolves && sink.open.delete(event.dedupKey)) return true;
    const { events, minSeverity, type } = sink.config;
    if (!events.includes(event.kind)) return false;
    if ((SEVERITY_RANK[event.severity] ?? 0) < SEVERITY_RANK[minSeverity]) return false;
    // A PagerDuty trigger opens an incident; one that nothing will resolve is not sent.
    if (type === 'pagerduty' && !event.opens && !event.resolves) return false;
    if (event.opens) {
      sink.open.delete(event.dedupKey);
      sink.open.add(event.dedupKey);
      if (sink.open.size > MAX_OPEN_KEYS) {
        const oldest = sink.open.values().next();
        if (oldest.done !== true) sink.open.delete(oldest.value);
      }
    }
    return true;
  }

  private enqueue(sink: SinkState, event: NotificationEvent): void {
    sink.queue.push(event);
    if (sink.queue.length > this.queueLimit) {
      const dropped = sink.queue.shift();
      sink.dropped++;
      if (!sink.overflowing) {
        sink.overflowing = true;
        this.logger.warn(
          { sink: sink.config.name, sinkType: sink.config.type, queueLimit: this.queueLimit, droppedKind: dropped?.kind, dedupKey: dropped?.dedupKey },
          `notifications: the queue of sink ${sink.config.name} is full (${this.queueLimit}); dropping the oldest events`,
        );
      }
    }
    sink.wakeup.notify();
  }

  /** One sink's worker: one event at a time, in order. */
  private async work(sink: SinkState, stop: AbortSignal, delivery: AbortSignal): Promise<void> {
    for (;;) {
      if (delivery.aborted) return;
      const event = sink.queue.shift();
      if (event === undefined) {
        sink.overflowing = false;
        if (stop.aborted) return;
        await sink.wakeup.wait(IDLE_WAIT_MS, stop);
        continue;
      }
      sink.inFlight = event;
      let finished: boolean;
      try {
        finished = await this.deliver(sink, event, delivery);
      } finally {
        sink.inFlight = undefined;
      }
      if (!finished) {
        // Cut short by the end of the flush: it stays queued, counted in stats and the last log line.
        sink.queue.unshift(event);
        return;
      }
    }
  }

  /** True when the event is done with (sent or given up); false when cut short by the signal. Never throws. */
  private async deliver(sink: SinkState, event: NotificationEvent, signal: AbortSignal): Promise<boolean> {
    const { name, type } = sink.config;
    const fields = { sink: name, sinkType: type, kind: event.kind, dedupKey: event.dedupKey };
    let body: string;
    try {
      body = JSON.stringify(payloadFor(sink.config, event));
    } catch (err) {
      sink.failed++;
      this.logger.error({ ...fields, error: this.scrub(sink, errorMessage(err)) }, `notification for sink ${name} could not be built; dropped`);
      return true;
    }
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.send(sink, body, signal);
      if (outcome.kind === 'aborted') return false;
      if (outcome.kind === 'delivered') {
        sink.sent++;
        this.logger.debug({ ...fields, attempts: attempt }, `notification delivered to sink ${name}`);
        return true;
      }
      if (outcome.kind === 'refused' || attempt >= this.maxAttempts) {
        sink.failed++;
        const why = outcome.kind === 'refused' ? 'refused' : `still failing after ${attempt} attempt${attempt === 1 ? '' : 's'}`;
        this.logger.warn({ ...fields, attempts: attempt, error: outcome.reason }, `notification not delivered to sink ${name} (${why}: ${outcome.reason}); dropped`);
        return true;
      }
      const waitMs = outcome.retryAfterMs ?? fullJitterMs(this.retryBaseMs, attempt - 1, this.retryCapMs, this.random);
      this.logger.debug({ ...fields, attempt, error: outcome.reason, waitMs }, `notification to sink ${name} failed; retrying`);
      try {
        await this.sleep(waitMs, signal);
      } catch {
        return false;
      }
    }
  }

  private async send(sink: SinkState, body: string, signal: AbortSignal): Promise<Outcome> {
    if (signal.aborted) return { kind: 'aborted' };
    const { config } = sink;
    const headers: Record<string, string> = {
      ...(config.type === 'webhook' ? config.headers : {}),
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
    };
    const scope = startDeadline(signal, this.requestTimeoutMs);
    try {
      const response = await this.fetchImpl(config.url, { method: 'POST', headers, body, redirect: 'manual', signal: scope.signal });
      if (response.status >= 200 && response.status < 300) {
        await response.body?.cancel();
        return { kind: 'delivered' };
      }
      const answer = this.scrub(sink, (await response.text()).replace(/\s+/g, ' ').trim());
      const reason = `HTTP ${response.status}${answer === '' ? '' : ` ${cut(answer, MAX_ANSWER_TEXT)}`}`;
      if (response.status === 408 || response.status === 429 || response.status >= 500) {
        return { kind: 'retry', reason, retryAfterMs: retryAfterMs(response.headers.get('retry-after'), this.clock.now()) };
      }
      return { kind: 'refused', reason: response.status >= 300 && response.status < 400 ? `${reason} (a redirect; not followed)` : reason };
    } catch (err) {
      if (signal.aborted) return { kind: 'aborted' };
      const reason = scope.timedOut() ? `no answer within ${this.requestTimeoutMs} ms` : this.scrub(sink, describeNetworkError(err));
      return { kind: 'retry', reason, retryAfterMs: undefined };
    } finally {
      scope.dispose();
    }
  }

  private scrub(sink: SinkState, text: string): string {
    let out = text;
    for (const secret of sink.secrets) out = out.split(secret).join('[redacted]');
    return out;
  }
}
