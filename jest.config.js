/**
 * Two projects: unit specs beside the code, integration tests against real servers.
 * ts-jest compiles each file alone (tsconfig.jest.json: isolatedModules) and
 * checks no types: that halves the CPU a run spends compiling, and
 * `npm run typecheck` (in `npm run lint`) checks the types of every file once.
 * `ts` resolves before `js`, so a stray compiled file beside its source never
 * shadows it.
 */
const tsJest = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.jest.json' }] };

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      displayName: 'unit',
      rootDir: 'src',
      testEnvironment: 'node',
      testRegex: '.*\\.spec\\.ts$',
      transform: tsJest,
      moduleFileExtensions: ['ts', 'js', 'json'],
    },
    {
      displayName: 'integration',
      rootDir: 'test',
      testEnvironment: '<rootDir>/setup/node-environment.ts',
      testRegex: '.*\\.(e2e|int)-spec\\.ts$',
      transform: tsJest,
      moduleFileExtensions: ['ts', 'js', 'json'],
      globalSetup: '<rootDir>/setup/global-setup.ts',
      globalTeardown: '<rootDir>/setup/global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/setup/timeouts.ts'],
    },
  ],
};
