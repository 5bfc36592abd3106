// Jest runs every workspace's tests as native ESM (so ESM-only packages such as
// @kubernetes/client-node load as they are), with SWC stripping TypeScript.
// Two projects: `unit` (pure logic beside the code, no servers) and
// `integration` (test/ folders, against real servers started by global setup).
// Workspace packages resolve to their TypeScript sources through the
// `bulwark-source` export condition, so tests never need a build first.

/** @type {import('jest').Config['transform']} */
const transform = {
  '^.+\\.ts$': [
    '@swc/jest',
    {
      jsc: { parser: { syntax: 'typescript' }, target: 'es2024', keepClassNames: true },
      module: { type: 'es6' },
      sourceMaps: 'inline',
    },
  ],
};

const common = {
  transform,
  extensionsToTreatAsEsm: ['.ts'],
  testEnvironment: 'node',
  testEnvironmentOptions: { customExportConditions: ['bulwark-source', 'node', 'node-addons'] },
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
  modulePathIgnorePatterns: ['<rootDir>/.local/', '/dist/'],
};

/** @type {import('jest').Config} */
export default {
  reporters: ['default', '<rootDir>/scripts/jest/summary-reporter.js'],
  // Global only: Jest ignores testTimeout inside a project. Integration tests talk to real servers.
  testTimeout: 60_000,
  // On two cores Jest runs every suite in its main process (maxWorkers 1 = in band): a test that
  // fails before its cleanup can leave a timer or socket behind, and a red run must end red, not
  // hang until CI's limit. Passing runs leave nothing open; this only bounds the failing ones.
  forceExit: true,
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/{apps,packages,operators}/*/src/**/*.test.ts', '<rootDir>/scripts/infra/**/*.test.ts', '<rootDir>/scripts/lint/**/*.test.ts', '<rootDir>/bench/lib/**/*.test.ts'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/{apps,packages,operators}/*/test/**/*.test.ts', '<rootDir>/scripts/test/**/*.test.ts'],
      globalSetup: '<rootDir>/scripts/jest/global-setup.ts',
    },
  ],
};
