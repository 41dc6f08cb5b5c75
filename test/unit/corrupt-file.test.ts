import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { corruptAsidePath, firstJsonError, jsonSyntaxProblem, moveAside, shellQuote } from '../../src/lib/corrupt-file.js';

/**
 * The shared parts of handling a state file that does not load: where its JSON breaks, the name
 * it is kept under, and the move that never deletes or overwrites anything.
 */

const SAMPLE = JSON.stringify(
  { version: 1, zones: { 'a.test.': { serial: 1, records: [{ name: 'a.test.', type: 'TXT', ttl: 1, values: ['x"\\\u0001é', '\u2028'] }], n: -1.5e3, t: true, f: false, z: null, e: [], o: {} } } },
  null,
  2,
);

/** A small deterministic generator, so a failing case can be named and run again. */
function lcg(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

function parseError(text: string): string | undefined {
  try {
    JSON.parse(text);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

describe('firstJsonError', () => {
  it('agrees with JSON.parse on what is JSON, and on the position wherever JSON.parse gives one', () => {
    const random = lcg(20240601);
    const alphabet = '{}[]",:.-+eE0123456789 \n\t\\utrfalsn\u0000\u00ffx';
    const disagreements: string[] = [];
    for (let n = 0; n < 20_000; n++) {
      let text = SAMPLE;
      const edits = 1 + Math.floor(random() * 3);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(random() * text.length);
        const kind = random();
        if (kind < 0.4) text = text.slice(0, at) + text.slice(at + 1);
        else if (kind < 0.8) text = text.slice(0, at) + (alphabet[Math.floor(random() * alphabet.length)] ?? '') + text.slice(at);
        else text = text.slice(0, at);
      }
      const message = parseError(text);
      const found = firstJsonError(text);
      if ((message === undefined) !== (found === -1)) disagreements.push(`case ${n}: JSON.parse ${message ?? 'accepts'}, firstJsonError ${found}: ${JSON.stringify(text)}`);
      const position = message === undefined ? undefined : /at position (\d+)/.exec(message)?.[1];
      if (position !== undefined && Number(position) !== found) disagreements.push(`case ${n}: JSON.parse says ${position}, firstJsonError ${found}: ${JSON.stringify(text)}`);
    }
    expect(disagreements.slice(0, 5)).toEqual([]);
  });

  it('finds nothing wrong in valid JSON, including deep nesting', () => {
    expect(firstJsonError(SAMPLE)).toBe(-1);
    expect(firstJsonError(`${'['.repeat(200_000)}${']'.repeat(200_000)}`)).toBe(-1);
    expect(firstJsonError('"\\u00e9"')).toBe(-1);
  });
});

describe('jsonSyntaxProblem', () => {
  it.each([
    ['truncated', '{\n  "version": 1,\n  "zones": {', 'ends early at line 3, column 13 (truncated)'],
    ['a stray brace', '{\n  "version": }', "unexpected '}' at line 2, column 14"],
    ['binary garbage', '\u0000\u0001\u00ff', 'unexpected character U+0000 at line 1, column 1'],
    ['an empty file', '', 'ends early at line 1, column 1 (truncated)'],
    ['a trailing comma', '{"a": [1, 2,]}', "unexpected ']' at line 1, column 13"],
    ['text after the end', '{} {}', "unexpected '{' at line 1, column 4"],
  ])('%s: %s', (_case, text, expected) => {
    expect(parseError(text)).toBeDefined();
    expect(jsonSyntaxProblem(text)).toBe(expected);
  });
});

describe('moveAside', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dq-corrupt-file-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const AT = Date.UTC(2025, 0, 2, 3, 4, 5, 678);

  it('names the copy after the UTC second it was moved', () => {
    expect(corruptAsidePath('/s/local/lab.json', AT)).toBe('/s/local/lab.json.corrupt-20250102T030405Z');
  });

  it('moves a file or a directory, and never overwrites an earlier copy', async () => {
    const path = join(dir, 'lab.json');
    await writeFile(path, 'first');
    expect(await moveAside(path, AT)).toEqual({ movedTo: `${path}.corrupt-20250102T030405Z` });
    await writeFile(path, 'second');
    expect(await moveAside(path, AT)).toEqual({ movedTo: `${path}.corrupt-20250102T030405Z-2` });
    await mkdir(join(path, 'inside'), { recursive: true });
    expect(await moveAside(path, AT)).toEqual({ movedTo: `${path}.corrupt-20250102T030405Z-3` });
    expect((await readdir(dir)).sort()).toEqual(['lab.json.corrupt-20250102T030405Z', 'lab.json.corrupt-20250102T030405Z-2', 'lab.json.corrupt-20250102T030405Z-3']);
    expect(await readFile(`${path}.corrupt-20250102T030405Z`, 'utf8')).toBe('first');
    expect(await readFile(`${path}.corrupt-20250102T030405Z-2`, 'utf8')).toBe('second');
  });

  it('says why when the move fails, and leaves everything where it was', async () => {
    const result = await moveAside(join(dir, 'missing.json'), AT);
    expect(result).toEqual({ failed: expect.stringMatching(/ENOENT/) as unknown });
  });
});

describe('shellQuote', () => {
  it('leaves plain paths alone and quotes the others so a shell reads them back unchanged', () => {
    expect(shellQuote('/var/lib/dnsquorum/overrides.json')).toBe('/var/lib/dnsquorum/overrides.json');
    expect(shellQuote("/tmp/it's here/o.json")).toBe("'/tmp/it'\\''s here/o.json'");
  });
});
