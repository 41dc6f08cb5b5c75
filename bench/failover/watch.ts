import { setTimeout as sleep } from 'node:timers/promises';
import type { HostPort } from '../../src/config/types.js';
import { answerValues, queryDns } from '../../src/lib/dns-query.js';
import type { ReplicaStatus } from './replicas.js';
import { RECORD_NAMES, REGIONS, WRITER, ZONE } from './setup.js';
import type { Setup } from './setup.js';

/** Epoch milliseconds with sub-millisecond resolution, comparable with the replicas' log stamps. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/** How often the fakes' in-process state is looked at. */
const API_POLL_MS = 10;
/** How long one DNS question may take before it counts as unanswered (and is asked again). */
const DNS_TIMEOUT_MS = 1000;
const STEADY_POLL_MS = 50;

export type ProviderName = 'r53' | 'ns1';
export const PROVIDERS: readonly ProviderName[] = ['r53', 'ns1'];

/** When every one of the 20 records held the new answer: in each provider's API, and over DNS at each provider. */
export interface MoveTimes {
  readonly api: Readonly<Record<ProviderName, number>>;
  readonly dns: Readonly<Record<ProviderName, number>>;
}

/** What each fake holds for every bench record: relative name -> values (sorted), by provider. */
function held(setup: Setup): Record<ProviderName, Map<string, string>> {
  const suffix = `.${ZONE}`;
  const r53 = new Map<string, string>();
  for (const rs of setup.route53.zoneRecords(ZONE)) {
    const name = rs.name.replace(/\.$/, '');
    if (rs.type === 'A' && name.endsWith(suffix)) r53.set(name.slice(0, -suffix.length), [...rs.values].sort().join(' '));
  }
  const ns1 = new Map<string, string>();
  for (const r of setup.ns1.zoneRecords(ZONE)) {
    if (r.type === 'A' && r.domain.endsWith(suffix)) ns1.set(r.domain.slice(0, -suffix.length), r.answers.map((a) => a.answer.join(' ')).sort().join(' '));
  }
  return { r53, ns1 };
}

function dnsAddress(setup: Setup, provider: ProviderName): HostPort {
  return provider === 'r53' ? setup.route53.dnsAddress : setup.ns1.dnsAddress;
}

/** The A values a provider's DNS service answers for a record; empty when it does not answer. */
async function askDns(setup: Setup, provider: ProviderName, name: string): Promise<string> {
  try {
    const reply = await queryDns(dnsAddress(setup, provider), `${name}.${ZONE}`, 'A', { timeoutMs: DNS_TIMEOUT_MS });
    return answerValues(reply.packet, 'A').join(' ');
  } catch {
    return '';
  }
}

/**
 * Watches all 20 records move to `value` and returns when each provider's API, then each
 * provider's DNS, held it for every record. The API is looked at every 10 ms on its own loop, so a
 * slow DNS answer never delays that reading. Each fake serves all its name servers on one address,
 * so every record is asked once per provider: that answer is every name server's answer. A record
 * is asked over DNS once its provider's API holds it (the fake's DNS answers from the same state,
 * so it cannot answer earlier), which keeps the bench's own load off the fakes.
 */
export async function watchMove(setup: Setup, value: string, deadline: number, signal: AbortSignal): Promise<MoveTimes> {
  const apiAt = { r53: new Map<string, number>(), ns1: new Map<string, number>() };
  const dnsAt = { r53: new Map<string, number>(), ns1: new Map<string, number>() };
  const total = RECORD_NAMES.length;
  const check = (): void => {
    signal.throwIfAborted();
    if (now() <= deadline) return;
    const counts = PROVIDERS.map((p) => `${p}: API ${apiAt[p].size}/${total}, DNS ${dnsAt[p].size}/${total}`).join('; ');
    throw new Error(`the records did not all move to ${value} in time (${counts})`);
  };
  const watchApi = async (): Promise<void> => {
    while (PROVIDERS.some((p) => apiAt[p].size < total)) {
      check();
      const seenAt = now();
      const holds = held(setup);
      for (const provider of PROVIDERS) {
        for (const name of RECORD_NAMES) if (!apiAt[provider].has(name) && holds[provider].get(name) === value) apiAt[provider].set(name, seenAt);
      }
      await sleep(API_POLL_MS, undefined, { signal });
    }
  };
  const watchDns = async (): Promise<void> => {
    while (PROVIDERS.some((p) => dnsAt[p].size < total)) {
      check();
      const asks = PROVIDERS.flatMap((provider) => [...apiAt[provider].keys()].filter((name) => !dnsAt[provider].has(name)).map((name) => ({ provider, name })));
      await Promise.all(
        asks.map(async ({ provider, name }) => {
          const answer = await askDns(setup, provider, name);
          if (answer === value) dnsAt[provider].set(name, now());
        }),
      );
      await sleep(API_POLL_MS, undefined, { signal });
    }
  };
  await Promise.all([watchApi(), watchDns()]);
  const last = (times: Map<string, number>): number => Math.max(...times.values());
  return { api: { r53: last(apiAt.r53), ns1: last(apiAt.ns1) }, dns: { r53: last(dnsAt.r53), ns1: last(dnsAt.ns1) } };
}

/** True when every provider zone at the writer is in sync, no pass in flight. */
export function writerIdle(status: ReplicaStatus): boolean {
  return status.providers.every((p) => p.zones.every((z) => z.state === 'in-sync'));
}

/** Why the cluster is not steady on `value` yet, or undefined when it is. */
async function unsteadyReason(setup: Setup, value: string): Promise<string | undefined> {
  let status: ReplicaStatus;
  try {
    status = await setup.writer.status();
  } catch (err) {
    if (!setup.writer.running) throw err;
    return `the writer's status: ${err instanceof Error ? err.message : String(err)}`;
  }
  if (status.cluster.writer !== WRITER) return `the writer is ${status.cluster.writer ?? 'nobody'}, not ${WRITER}`;
  if (status.hold !== null) return `the writer holds: ${status.hold}`;
  if (!writerIdle(status)) return `the writer is still syncing: ${status.providers.map((p) => `${p.provider} ${p.zones.map((z) => z.state).join(',')}`).join('; ')}`;
  if (status.endpoints.length !== RECORD_NAMES.length * 2) return `${status.endpoints.length} endpoints, not ${RECORD_NAMES.length * 2}`;
  for (const endpoint of status.endpoints) {
    if (endpoint.state !== 'up') return `endpoint ${endpoint.endpointId} is ${endpoint.state}`;
    const upIn = endpoint.regions.filter((r) => r.state === 'up').length;
    if (upIn < REGIONS.length) return `endpoint ${endpoint.endpointId} is up in ${upIn} of ${REGIONS.length} regions`;
  }
  const holds = held(setup);
  for (const provider of PROVIDERS) {
    const wrong = RECORD_NAMES.filter((name) => holds[provider].get(name) !== value);
    if (wrong.length > 0) return `${provider} holds ${wrong.length} records off ${value}`;
  }
  for (const provider of PROVIDERS) {
    const answers = await Promise.all(RECORD_NAMES.map((name) => askDns(setup, provider, name)));
    const wrong = answers.filter((a) => a !== value).length;
    if (wrong > 0) return `${provider}'s DNS answers ${wrong} records off ${value}`;
  }
  return undefined;
}

/**
 * Waits until the writer is region a and holds nothing, every endpoint is up in every region (so
 * the next cut starts every region's fall count from zero), and both providers hold and answer
 * `value` for every record.
 */
export async function waitSteady(setup: Setup, value: string, deadline: number, signal: AbortSignal): Promise<void> {
  for (;;) {
    signal.throwIfAborted();
    const reason = await unsteadyReason(setup, value);
    if (reason === undefined) return;
    for (const replica of setup.replicas) {
      if (!replica.running) throw new Error(`replica ${replica.region} exited:\n${replica.lastWords()}`);
    }
    if (now() > deadline) throw new Error(`not steady on ${value} in time: ${reason}`);
    await sleep(STEADY_POLL_MS, undefined, { signal });
  }
}
