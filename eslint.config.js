import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '.local/**', '**/node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read configuration through the service config schema.' }],
    },
  },
  { files: ['scripts/**', 'bench/**', 'packages/test-support/src/**', '**/test/**', '**/*.test.ts', '**/src/config.ts', 'jest.config.js'], rules: { 'no-restricted-properties': 'off' } },
);
