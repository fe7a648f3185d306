// The multi-process tests (test/parallel) run on their own, one file at a time: each starts up to
// four rank processes, and on a 2-core machine they should not also share the cores with the
// rest of the suite.
export default {
  extensions: { ts: 'commonjs' },
  nodeArguments: ['--import=tsx'],
  files: ['test/parallel/**/*.test.ts'],
  concurrency: 1,
  timeout: '5m',
};
