import { startTestHub, type TestHub } from 'sensor-hub/testing';
import { test as base } from 'vitest';

/** A `hub` fixture: one test hub per test file, started on first use, stopped after the file. */
export const test = base.extend<Record<string, never>, { hub: TestHub }>({
  hub: [
    // biome-ignore lint/correctness/noEmptyPattern: vitest reads a fixture's dependencies from this pattern; this one has none.
    async ({}, use) => {
      const hub = await startTestHub();
      await use(hub);
      await hub.stop();
    },
    { scope: 'worker' },
  ],
});
