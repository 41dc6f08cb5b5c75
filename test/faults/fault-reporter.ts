import type { Reporter, TestModule } from 'vitest/node';
import type { FaultRow } from './fault-table.js';

/**
 * Prints the fault table at the end of a run: one line per fault with the cases tried, passed and
 * records or overrides lost, from the rows the fault tests recorded (see fault-table.ts). Prints
 * nothing when no fault test ran.
 */
export default class FaultReporter implements Reporter {
  onTestRunEnd(modules: readonly TestModule[]): void {
    const rows = new Map<string, { cases: number; passed: number; lost: number; failedTests: number }>();
    for (const module of modules) {
      for (const test of module.children.allTests()) {
        const row: FaultRow | undefined = test.meta().fault;
        if (row === undefined) continue;
        const sum = rows.get(row.fault) ?? { cases: 0, passed: 0, lost: 0, failedTests: 0 };
        sum.cases += row.cases;
        sum.passed += row.passed;
        sum.lost += row.lost;
        if (test.result().state === 'failed') sum.failedTests += 1;
        rows.set(row.fault, sum);
      }
    }
    if (rows.size === 0) return;
    const lines: string[][] = [['fault', 'cases tried', 'passed', 'lost', 'result']];
    for (const [fault, sum] of [...rows].sort(([a], [b]) => a.localeCompare(b))) {
      const ok = sum.passed === sum.cases && sum.lost === 0 && sum.failedTests === 0;
      lines.push([fault, String(sum.cases), String(sum.passed), String(sum.lost), ok ? 'ok' : 'FAILED']);
    }
    const widths = lines[0]?.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length))) ?? [];
    const format = (l: readonly string[]): string => l.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
    const [header, ...body] = lines;
    process.stdout.write(`\nfault table:\n${format(header ?? [])}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n${body.map(format).join('\n')}\n`);
  }
}
