/** One jest run for every package; ESM throughout (Nest 12 ships ESM only). */
const swc = [
  '@swc/jest',
  {
    jsc: {
      target: 'es2023',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
    },
    module: { type: 'es6' },
  },
];

export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: {
    '^@engram/memory-core/testing$': '<rootDir>/libs/memory-core/test/index.ts',
    '^@engram/cloud$': '<rootDir>/ee/cloud/src/index.ts',
    '^@engram/([a-z-]+)$': '<rootDir>/libs/$1/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testMatch: ['<rootDir>/{apps,libs,ee,test,bench}/**/*.{spec,int-spec,e2e-spec}.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  testTimeout: 30000,
  // Two suites at a time even on two cores: most of a suite's time is spent waiting on Postgres, Redis and the
  // processes it starts. Suites never share state that the other could disturb: each has its own Redis database
  // index, scratch database, queue names or owner ids (the kit passes on a database full of other tests' rows).
  maxWorkers: 2,
  // A fresh, migrated PostgreSQL database per run for the integration tests (libs/testing), dropped at the end.
  globalSetup: '<rootDir>/libs/testing/src/global-setup.ts',
  globalTeardown: '<rootDir>/libs/testing/src/global-teardown.ts',
};
