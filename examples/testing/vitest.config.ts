import { defineConfig } from 'vitest/config';

// A test that starts a hub (and its influxd) takes a second or so, more on a busy machine:
// vitest's 5 s default is tight.
export default defineConfig({ test: { testTimeout: 30_000, hookTimeout: 60_000 } });
