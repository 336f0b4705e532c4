/** Jest runs the TypeScript sources through SWC; Nest 12 ships ESM only, so its packages are transformed to CommonJS too. */
const swcConfig = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2023',
    keepClassNames: true,
  },
  module: { type: 'commonjs' },
};
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.(t|j)s$': ['@swc/jest', swcConfig] },
  transformIgnorePatterns: ['/node_modules/(?!(.*/)?(@nestjs|uid|load-esm|file-type|cookie|content-disposition)/)'],
  moduleNameMapper: {
    '^@labelloop/(.*)$': '<rootDir>/libs/$1/src',
    // The generated Prisma client imports its siblings as './x.js'.
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  maxWorkers: 2,
  testTimeout: 60_000,
  testMatch: [
    '<rootDir>/apps/**/*.spec.ts',
    '<rootDir>/libs/**/*.spec.ts',
    '<rootDir>/bench/**/*.spec.ts',
    '<rootDir>/test/**/*.e2e-spec.ts',
  ],
};
