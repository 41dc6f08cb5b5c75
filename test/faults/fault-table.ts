import type { TestContext } from 'vitest';

/**
 * One row of the fault table (`npm run test:faults`): a kind of fault, how many cases were tried,
 * how many ended as they must, and how many records or overrides were lost (which must be 0).
 * A fault test records its row on its own task; the fault reporter adds the rows up by fault.
 */
export interface FaultRow {
  readonly fault: string;
  readonly cases: number;
  readonly passed: number;
  readonly lost: number;
}

declare module 'vitest' {
  interface TaskMeta {
    fault?: FaultRow;
  }
}

/** Records this test's row; call it before the test's assertions, so a failing test still shows its counts. */
export function recordFault(context: Pick<TestContext, 'task'>, row: FaultRow): void {
  context.task.meta.fault = row;
}

/**
 * How many cases a fault test tries: bounded inside `npm test` (a few minutes for the whole
 * suite), larger under `npm run test:faults` (DNSQUORUM_FAULTS=full).
 */
export function faultCases(bounded: number, full: number): number {
  return process.env.DNSQUORUM_FAULTS === 'full' ? full : bounded;
}
