import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each test file spawns its own redis-server processes; two cores here, so keep the fan-out small.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
