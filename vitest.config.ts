import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration suites spawn real node processes; on 2 cores running them in parallel
    // starves the nodes' slot clocks, so files run one at a time.
    fileParallelism: false,
    // removes the temp dirs a file made with test/support/tmp.ts once it is done
    setupFiles: ['test/support/setup.ts'],
  },
});
