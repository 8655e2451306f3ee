import { defineConfig } from 'vitest/config';

// One PGlite instance per test file at most: PGlite is WASM Postgres on the main thread and these
// machines have 2 cores, so files run in a small fork pool (see docs/architecture.md, "Testing").
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    globalSetup: ['test/global-setup.ts'],
  },
});
