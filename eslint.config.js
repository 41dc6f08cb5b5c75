// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

export default tseslint.config(
  { ignores: ['dist/**', 'dist-bench/**', 'node_modules/**', 'state/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver': { node: { extensions: ['.ts', '.js'] } } },
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
