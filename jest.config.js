// Jest runs the TypeScript tests through @swc/jest, against real servers that the global setup starts once
// for the whole run (see test/support/global-setup.ts).

/** @type {import('@swc/core').Options} */
const swcOptions = {
  jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
  module: { type: 'commonjs' },
  sourceMaps: 'inline',
};

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', swcOptions] },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  // Tests drive real workflows through real servers, so a single test can take a while.
  testTimeout: 120_000,
  // Two workers leave CPU time for the three servers that every test talks to.
  maxWorkers: 2,
};
