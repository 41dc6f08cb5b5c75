import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';

/**
 * The folder direction under src/ (eslint.config.js, import-x/no-restricted-paths) is only worth
 * something if it fires: made-up files are linted against the real config. Type-aware linting is
 * off for them (the project service knows no such file, and this rule needs no types).
 */

const eslint = new ESLint({
  cwd: fileURLToPath(new URL('../..', import.meta.url)),
  overrideConfig: [tseslint.configs.disableTypeChecked, { rules: { 'import-x/no-cycle': 'off' } }],
});

async function layerMessages(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  if (result === undefined) throw new Error(`ESLint returned no result for ${filePath}`);
  const fatal = result.messages.filter((m) => m.fatal === true);
  expect(fatal).toEqual([]);
  return result.messages.filter((m) => m.ruleId === 'import-x/no-restricted-paths').map((m) => m.message);
}

describe('the layer rule', () => {
  it('refuses an import that runs up the layers, naming both folders', async () => {
    const messages = await layerMessages('src/domain/__probe.ts', "import type { Reconciler } from '../sync/reconciler.js';\nexport type Probe = Reconciler;\n");
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain('src/domain must not import from src/sync: the layers run lib → domain → config');
    expect(messages[0]).toContain('(see README, Layout)');
  });

  it('refuses an import of an entry point (a top-level src/*.ts file) from a layer', async () => {
    const messages = await layerMessages('src/control/api/__probe.ts', "import type { Daemon } from '../../daemon.js';\nexport type Probe = Daemon;\n");
    expect(messages).toEqual([expect.stringContaining('src/control/api must not import from src/*.ts')]);
  });

  it('lets an import run down the layers, and within one', async () => {
    const code = "import type { Clock } from '../lib/clock.js';\nimport type { ZoneSpec } from './zone.js';\nexport type Probe = [Clock, ZoneSpec];\n";
    expect(await layerMessages('src/domain/__probe.ts', code)).toEqual([]);
  });
});
