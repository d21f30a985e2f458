import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // in CI a missing prerequisite (../shared, g++, Chromium) fails the run (tests/ci-prereqs.ts)
    globalSetup: ['./tests/ci-prereqs.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    reporters: ['default', './tests/summary-reporter.ts'],
  },
});
