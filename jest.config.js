// Jest runs TypeScript sources as native ESM (node --experimental-vm-modules), so ESM-only
// dependencies such as @kubernetes/client-node 2.x load exactly as they do in production.
const swc = [
  '@swc/jest',
  {
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022', keepClassNames: true },
    module: { type: 'es6' },
    sourceMaps: 'inline',
  },
];
const common = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/dist-bench/'],
};
export default {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/{collector,operator,bench}/**/*.test.ts', '<rootDir>/e2e/cluster/**/*.test.ts', '<rootDir>/e2e/operator/**/*.test.ts', '<rootDir>/e2e/packaging/**/*.test.ts', '<rootDir>/charts/**/*.test.ts', '<rootDir>/tools/**/*.test.ts', '<rootDir>/test/**/*.test.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/e2e/**/*.e2e.ts'], slowTestThreshold: 60 },
  ],
};
