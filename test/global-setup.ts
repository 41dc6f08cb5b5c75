import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

/**
 * End-to-end tests run compiled code as real processes: the dnsquorum CLI (dist/) and the fakes'
 * CLIs (dist-fakes/, started by test/helpers/fake-process.ts). The builds must match the sources,
 * so both are compiled once before any test file runs.
 */
export default function setup(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.fakes.json'], { stdio: 'inherit' });
}
