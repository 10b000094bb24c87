import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// npm run test:crash — server processes killed with SIGKILL under load; one file at a time.
export default defineConfig({
  root: path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..'),
  test: {
    include: ['test/crash/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 240_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
  esbuild: { jsx: 'automatic', jsxImportSource: 'hono/jsx' },
});
