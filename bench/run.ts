import { failoverBench } from './failover/bench.js';
import { economyBench } from './economy/bench.js';
import { probesBench } from './probes/bench.js';
import { summaryLine } from './result.js';
import type { Bench, BenchResult } from './result.js';

/**
 * `npm run bench [-- --quick] [-- --only NAME]`: runs the benches one after another (they measure
 * time and CPU, so never at once) and ends with one summary line per bench.
 */
const BENCHES: readonly { readonly name: string; readonly run: Bench }[] = [
  { name: 'failover', run: failoverBench },
  { name: 'probes', run: probesBench },
  { name: 'economy', run: economyBench },
];

function parseArgs(argv: readonly string[]): { quick: boolean; only: string | undefined } {
  let quick = false;
  let only: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') quick = true;
    else if (arg === '--only') only = argv[++i];
    else throw new Error(`bench: unknown argument ${JSON.stringify(arg)} (expected --quick, --only NAME)`);
  }
  if (only !== undefined && !BENCHES.some((b) => b.name === only)) throw new Error(`bench: --only ${only}: no such bench (${BENCHES.map((b) => b.name).join(', ')})`);
  return { quick, only };
}

async function main(): Promise<number> {
  const { quick, only } = parseArgs(process.argv.slice(2));
  const out = (text: string): void => {
    process.stdout.write(text);
  };
  const results: BenchResult[] = [];
  for (const bench of BENCHES) {
    if (only !== undefined && bench.name !== only) continue;
    out(`\n== bench ${bench.name}${quick ? ' (quick)' : ''} ==\n`);
    const startedAt = performance.now();
    try {
      results.push(await bench.run({ quick, out }));
    } catch (err) {
      results.push({ name: bench.name, figure: `failed: ${err instanceof Error ? err.message : String(err)}`, target: 'a result', ok: false });
    }
    out(`(${bench.name} took ${((performance.now() - startedAt) / 1000).toFixed(1)} s)\n`);
  }
  out('\n');
  for (const result of results) out(`${summaryLine(result)}\n`);
  // Below target is a finding, not a failure; a bench that could not run at all is.
  return results.some((r) => r.figure.startsWith('failed:')) ? 1 : 0;
}

process.exitCode = await main();
