import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

/**
 * End-to-end tests run the compiled CLI (dist/) as real processes, so the build must match the
 * sources: compile once before any test file runs.
 */
export default function setup(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}
