// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';

// The folders under src/ in data-flow order, lowest first: a folder may import only from its own
// layer or the ones before it. Folders sharing a layer are listed together. The last layer is the
// entry points: the CLI (with its demo) and the top-level files (src/daemon.ts, src/main.ts).
const layers = [
  'lib',
  'domain',
  'config',
  'dns',
  'probe',
  'quorum',
  'plan',
  'providers',
  'verify',
  'sync',
  'control/audit',
  'control/notify',
  'control/overrides',
  'cluster',
  'control/metrics',
  'control/api',
  ['cli', '*.ts'],
];

/** @param {string} folder */
const srcGlob = (folder) => (folder.endsWith('.ts') ? `src/${folder}` : `src/${folder}/**`);

// One zone per (lower, higher) pair, so the message names both folders.
const layerChain = layers.map((layer) => [layer].flat().join(', ')).join(' → ');
const layerZones = layers.flatMap((lower, index) =>
  layers.slice(index + 1).flatMap((higher) =>
    [lower].flat().flatMap((lowerFolder) =>
      [higher].flat().map((higherFolder) => ({
        target: srcGlob(lowerFolder),
        from: srcGlob(higherFolder),
        message: `src/${lowerFolder} must not import from src/${higherFolder}: the layers run ${layerChain} (see README, Layout)`,
      })),
    ),
  ),
);

export default tseslint.config(
  { ignores: ['dist/**', 'dist-bench/**', 'dist-fakes/**', 'node_modules/**', 'state/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    // Sources import each other as './x.js' (NodeNext); without the alias no such file resolves and
    // the import-x rules see nothing.
    settings: {
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js'], extensionAlias: { '.js': ['.ts', '.js'] } })],
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-unnecessary-condition': 'off',
      'import-x/no-cycle': 'error',
    },
  },
  {
    files: ['src/**'],
    rules: { 'import-x/no-restricted-paths': ['error', { basePath: import.meta.dirname, zones: layerZones }] },
  },
  {
    // Pure decision code: no I/O, no wall clock. Time comes from an injected Clock.
    files: ['src/domain/**', 'src/quorum/**', 'src/plan/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['node:*', 'pino', '../providers/*', '../sync/*', '../probe/*'] }],
      'no-restricted-properties': ['error', { object: 'Date', property: 'now', message: 'Use the injected Clock.' }],
    },
  },
  {
    // src/lib/deadline.ts says why: on Node 20 a timeout combined this way can be garbage collected and never fire.
    files: ['src/**'],
    ignores: ['src/domain/**', 'src/quorum/**', 'src/plan/**'],
    rules: {
      'no-restricted-properties': ['error', { object: 'AbortSignal', property: 'any', message: 'Use startDeadline or withDeadline from src/lib/deadline.ts.' }],
    },
  },
  { files: ['eslint.config.js'], ...tseslint.configs.disableTypeChecked },
);
