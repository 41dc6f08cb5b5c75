import fc from 'fast-check';
import { DnsQuorumError } from '../../src/lib/errors.js';

/**
 * What the hostile-input fault tests share: running a fast-check property to get the counts the
 * fault table needs, and the check that an error is one of ours.
 */

export interface PropertyOutcome {
  /** Cases tried (fast-check's runs, up to and including the first failing one). */
  readonly cases: number;
  readonly passed: number;
  /** fast-check's report (seed, path, counterexample) when a case failed; undefined when all passed. */
  readonly failure: string | undefined;
}

/**
 * Runs the property (no shrinking when `noShrink`, for properties whose cases are slow) and
 * returns its counts; the caller records them and then asserts `failure` is undefined, so the
 * seed and counterexample are in the assertion message.
 */
export async function runProperty<Ts>(property: fc.IAsyncProperty<Ts> | fc.IProperty<Ts>, params: fc.Parameters<Ts>): Promise<PropertyOutcome> {
  const details = await fc.check(property, { includeErrorInReport: true, ...params });
  const failed = details.failed || details.interrupted;
  const passed = details.failed ? details.numRuns - 1 : details.numRuns;
  return { cases: details.numRuns, passed, failure: failed ? fc.defaultReportMessage(details) ?? 'the property failed' : undefined };
}

/** An error's shape, for messages: its class, its code if it has one, and its message. */
export function describeError(err: unknown): string {
  if (err instanceof DnsQuorumError) return `${err.name} ${err.code}: ${err.message}`;
  if (err instanceof Error) return `${err.name} (not a DnsQuorumError): ${err.message}\n${err.stack ?? ''}`;
  return `a thrown ${typeof err}: ${String(err)}`;
}

/** A Node or V8 stack frame line, as a stack trace printed to a user would show it. */
export const STACK_LINE = /^\s+at .+/m;

/** Resolves with the promise's outcome, or rejects if it has not settled within ms (a hang). */
export async function bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`${what}: no outcome within ${ms} ms (a hang)`));
    }, ms);
  });
  try {
    return await Promise.race([promise, hang]);
  } finally {
    clearTimeout(timer);
  }
}
