/**
 * The error catalogue. Every error dnsquorum raises on purpose carries a stable code that logs,
 * the CLI and the API print, and that operators can grep for. See docs/errors.md.
 */
export const ERROR_CODES = {
  DQ_CONFIG_INVALID: 'The configuration has errors; each one names file:line:col.',
  DQ_USAGE: 'A command was called with wrong arguments.',
  DQ_PROVIDER_UNAVAILABLE: 'A provider could not be reached or timed out; retried on the next pass.',
  DQ_PROVIDER_THROTTLED: 'A provider asked us to slow down; retried with backoff.',
  DQ_PROVIDER_REJECTED: 'A provider refused a change as invalid; fix the config or the zone.',
  DQ_PROVIDER_CONFLICT: 'A change did not match what the provider holds (changed behind our back); re-read and re-planned.',
  DQ_ZONE_NOT_FOUND: 'A provider does not hold the zone.',
  DQ_PLAN_UNSAFE: 'A plan was refused by a guardrail; re-run with --force if it is intended.',
  DQ_STATE_CORRUPT: 'A state file does not load. At start, one the daemon can rebuild (local zone files, the write budget) is moved aside and rebuilt; the overrides file stops the start and is left untouched.',
  DQ_STATE_WRITE: 'A state file (overrides) could not be written; the change it carried was not made.',
  DQ_BUDGET_UNSAVED: 'The hourly write budget could not be saved in stateDir; it is still enforced, but a restart would not see the latest spends.',
  DQ_OVERRIDE_REFUSED: 'An override was refused because it would leave a record with nothing in service or send it to a pool health says is down; --force makes it anyway.',
  DQ_OVERRIDE_UNKNOWN: 'No such override, failover record, pool or value; the message lists what exists.',
  DQ_OVERRIDE_PENDING: 'An override is in force but some provider does not serve it yet; the message names which.',
  DQ_RELOAD_REJECTED: 'A config reload changed what only a restart can change (region, stateDir, api.listen, resolve, cluster, local providers); the running config goes on.',
  DQ_PROBE_FAILED: 'A probe could not be run at all (bad target), as opposed to a failed check.',
  DQ_API_LISTEN: 'The admin API could not listen on api.listen (address in use, or not an address of this host).',
  DQ_API_UNAUTHORIZED: 'An admin API request had no bearer token, another scheme, or a wrong token.',
  DQ_API_DISABLED: 'The admin API has no api.token configured, so its authenticated routes are off.',
  DQ_API_FORBIDDEN: 'The bearer token is valid but its scope (read) does not allow this route; acting needs a token of scope operate.',
  DQ_TLS_INVALID: 'A TLS file (api.tls cert or key, cluster.ca) could not be read, or is not a PEM certificate, key or matching pair; at start nothing starts, on a reload the previous pair goes on.',
  DQ_API_NOT_FOUND: 'No admin API route has this path.',
  DQ_API_METHOD: 'The admin API route does not take this method; the Allow header lists those it takes.',
  DQ_API_BAD_REQUEST: 'An admin API request was malformed (bad JSON body, bad path encoding, bad HTTP).',
  DQ_API_TOO_LARGE: 'An admin API request body (or its headers) was over the size limit.',
  DQ_API_INTERNAL: 'An admin API handler failed unexpectedly; the daemon log has the details.',
  DQ_API_UNREACHABLE: 'The CLI could not reach the admin API (connection refused, no such host, no route, no connection in time): nothing was sent.',
  DQ_API_NO_ANSWER: 'The CLI sent a request to the admin API but its answer did not arrive in time: a change it asked for may have been made.',
  DQ_API_KEY_REUSED: 'An Idempotency-Key came again with a different request; a key names one request.',
  DQ_PEER_REJECTED: 'A peer exchange message was refused (bad signature, outside the replay window, replayed, malformed, or from a region not in cluster.peers); counted per reason in status.',
  DQ_API_BAD_ANSWER: 'The admin API answered something the CLI could not understand.',
  DQ_INTERNAL: 'An unexpected condition; please report it.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class DnsQuorumError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DnsQuorumError';
    this.code = code;
  }
}

/** One problem in a config file, with its position. Lines and columns are 1-based. */
export interface ConfigIssue {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly message: string;
}

export function formatConfigIssue(issue: ConfigIssue): string {
  return `${issue.file}:${issue.line}:${issue.col}: ${issue.message}`;
}

export class ConfigError extends DnsQuorumError {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], options?: { cause?: unknown }) {
    super('DQ_CONFIG_INVALID', `invalid configuration:\n${issues.map(formatConfigIssue).join('\n')}`, options);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

export class UsageError extends DnsQuorumError {
  constructor(message: string) {
    super('DQ_USAGE', message);
    this.name = 'UsageError';
  }
}

/**
 * A provider call failed. `transient` errors (unreachable, timeouts, throttling, 5xx) are retried
 * on a later pass; the others need a person.
 */
export class ProviderError extends DnsQuorumError {
  readonly provider: string;
  readonly transient: boolean;

  constructor(
    code: Extract<ErrorCode, `DQ_PROVIDER_${string}` | 'DQ_ZONE_NOT_FOUND'>,
    provider: string,
    message: string,
    options?: { cause?: unknown; transient?: boolean },
  ) {
    super(code, `${provider}: ${message}`, options);
    this.name = 'ProviderError';
    this.provider = provider;
    this.transient = options?.transient ?? (code === 'DQ_PROVIDER_UNAVAILABLE' || code === 'DQ_PROVIDER_THROTTLED');
  }
}

export class PlanUnsafeError extends DnsQuorumError {
  constructor(message: string) {
    super('DQ_PLAN_UNSAFE', message);
    this.name = 'PlanUnsafeError';
  }
}

export class StateCorruptError extends DnsQuorumError {
  readonly path: string;

  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super('DQ_STATE_CORRUPT', `${path}: ${message}`, options);
    this.name = 'StateCorruptError';
    this.path = path;
  }
}

/** The message of anything thrown, for logs and CLI output. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** An error as status and reports show it: its stable code and message (DQ_INTERNAL for anything unexpected). */
export function errorSummary(err: unknown): { code: string; message: string } {
  if (err instanceof DnsQuorumError) return { code: err.code, message: err.message };
  return { code: 'DQ_INTERNAL', message: errorMessage(err) };
}
