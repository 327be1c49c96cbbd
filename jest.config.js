// Three tiers, one command: `npm test` runs them all.
//   unit        pure and fast (domain rules, config, schemas)
//   workflows   workflow code on the time-skipping test server
//   integration a real Temporal dev server and a real PostgreSQL (PGlite, or DATABASE_URL)
// Everything runs in one process (--runInBand via maxWorkers) because the embedded PGlite serves
// one connection at a time and the 2-core CI box is better used serially than thrashed.
const swc = (syntax) => ['@swc/jest', { jsc: { parser: { syntax }, target: 'es2022' }, module: { type: 'commonjs' } }];
const common = {
  testEnvironment: 'node',
  // kysely 0.29 ships ES modules only; Node 20 loads it natively, jest needs it compiled to CommonJS.
  transform: { '^.+\\.ts$': swc('typescript'), '/node_modules/kysely/.+\\.js$': swc('ecmascript') },
  transformIgnorePatterns: ['/node_modules/(?!kysely/)'],
  moduleFileExtensions: ['ts', 'js', 'json'],
};

module.exports = {
  maxWorkers: 1,
  testTimeout: 60000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'workflows', testMatch: ['<rootDir>/test/workflows/**/*.test.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.int.test.ts'],
      globalSetup: '<rootDir>/test/harness/global-setup.ts',
      globalTeardown: '<rootDir>/test/harness/global-teardown.ts',
    },
  ],
};
