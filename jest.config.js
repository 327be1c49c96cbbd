// Three tiers, one command: `npm test` runs them all.
//   unit        pure and fast (domain rules, config, schemas)
//   workflows   workflow code on the time-skipping test server
//   integration a real Temporal dev server and a real PostgreSQL (PGlite, or DATABASE_URL)
// Everything runs in one process (--runInBand via maxWorkers) because the embedded PGlite serves
// one connection at a time and the 2-core CI box is better used serially than thrashed.
const swc = (syntax) => ['@swc/jest', { jsc: { parser: { syntax }, target: 'es2022' }, module: { type: 'commonjs' } }];
const ESM_ONLY = ['kysely', 'cookie', '@fastify/cookie'];
const common = {
  testEnvironment: 'node',
  // Some dependencies ship ES modules only (kysely 0.29, cookie 1.x under light-my-request); Node 20
  // loads them natively, jest needs them compiled to CommonJS. @fastify/cookie loads cookie 2 with a
  // dynamic import(), which jest's VM refuses: compiled, it becomes a require().
  transform: { '^.+\\.ts$': swc('typescript'), [`/node_modules/(${ESM_ONLY.join('|')})/.+\\.js$`]: swc('ecmascript') },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_ONLY.join('|')})/)`],
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
