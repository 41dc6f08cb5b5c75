import { isIPv6 } from 'node:net';

/** What one protocol check found, before the prober stamps it with endpoint and times. */
export interface CheckOutcome {
  readonly ok: boolean;
  readonly detail: string;
  readonly certDaysLeft?: number;
}

/**
 * A check that could not complete, with the detail to report as is. Protocol checks throw it
 * (or any error: its message becomes the detail) and the prober turns it into ok:false.
 */
export class CheckFailure extends Error {
  constructor(detail: string, options?: { cause?: unknown }) {
    super(detail, options);
    this.name = 'CheckFailure';
  }
}

/** "127.0.0.1:80", "[::1]:53": the form Node's own socket errors use for IPv4, bracketed for IPv6. */
export function formatHostPort(host: string, port: number): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * The detail for an error: its message, followed by its cause's message when the cause says
 * more (e.g. "malformed DNS reply from 127.0.0.1:53/udp: Cannot decode name (bad label)").
 */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause: unknown = err.cause;
  if (cause instanceof Error && cause.message !== '' && !err.message.includes(cause.message)) {
    return `${err.message}: ${cause.message}`;
  }
  return err.message;
}

/**
 * The one way a socket-driven check ends: the first call wins, runs `cleanup` (remove listeners,
 * destroy the socket), then resolves with an outcome or rejects with an error. Later calls, from
 * the events the cleanup itself provokes, are ignored.
 */
export function settleOnce(
  resolve: (outcome: CheckOutcome) => void,
  reject: (err: Error) => void,
  cleanup: () => void,
): (result: CheckOutcome | Error) => void {
  let settled = false;
  return (result) => {
    if (settled) return;
    settled = true;
    cleanup();
    if (result instanceof Error) reject(result);
    else resolve(result);
  };
}
