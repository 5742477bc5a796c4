import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests bind real ports; keep runs bounded so a hung socket fails fast.
    testTimeout: 15_000,
    hookTimeout: 15_000,
  },
})
