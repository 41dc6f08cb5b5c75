import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * docs/errors.md is the operator's catalogue of error codes: every code the sources raise has its
 * entry (a "### DQ_…" heading), and no entry outlives its code.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Codes as the sources use them: quoted ('DQ_…'), so the catalogue's own keys in src/lib/errors.ts do not count as a use. */
function codesUsedInSrc(): Set<string> {
  const codes = new Set<string>();
  for (const file of sourceFiles(join(root, 'src'))) {
    for (const match of readFileSync(file, 'utf8').matchAll(/'(DQ_[A-Z_]+)'/g)) codes.add(match[1] ?? '');
  }
  return codes;
}

function codesListedInDocs(): Set<string> {
  const doc = readFileSync(join(root, 'docs', 'errors.md'), 'utf8');
  return new Set([...doc.matchAll(/^### (DQ_[A-Z_]+)\s*$/gm)].map((match) => match[1] ?? ''));
}

describe('docs/errors.md', () => {
  const used = codesUsedInSrc();
  const listed = codesListedInDocs();

  it('finds codes on both sides (the patterns still match how they are written)', () => {
    expect(used.size).toBeGreaterThan(10);
    expect(listed.size).toBeGreaterThan(10);
  });

  it('lists every error code used in src/', () => {
    expect([...used].filter((code) => !listed.has(code)).sort()).toEqual([]);
  });

  it('lists no code that src/ no longer uses', () => {
    expect([...listed].filter((code) => !used.has(code)).sort()).toEqual([]);
  });
});
