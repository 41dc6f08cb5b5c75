/**
 * What every bench gives the runner (bench/run.ts): its figures for people, and the one figure
 * compared with its target for the summary line `bench NAME: FIGURE (target TARGET) ok|below target`.
 */
export interface BenchResult {
  /** failover | probes | economy */
  readonly name: string;
  /** The headline figure with its unit, e.g. "p95 2.9 s to every name server". */
  readonly figure: string;
  /** The target as the issue states it, e.g. "p95 <= floor + 1.5 s = 3.5 s". */
  readonly target: string;
  readonly ok: boolean;
}

export interface BenchOptions {
  /** The reduced version: the whole `--quick` run stays under a minute. */
  readonly quick: boolean;
  /** Where a bench prints its tables (stdout); the runner prints the summary lines after all benches. */
  readonly out: (text: string) => void;
}

export type Bench = (options: BenchOptions) => Promise<BenchResult>;

/** The summary line of one bench. */
export function summaryLine(result: BenchResult): string {
  return `bench ${result.name}: ${result.figure} (target ${result.target}) ${result.ok ? 'ok' : 'below target'}`;
}

/** Nearest-rank percentile of `values` (0 < p <= 100); NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1] ?? Number.NaN;
}

/** A fixed-width text table: the first row is the header. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  const line = (row: readonly string[]): string => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
  const [header, ...body] = rows;
  if (header === undefined) return '';
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n') + '\n';
}
