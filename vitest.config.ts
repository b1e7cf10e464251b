import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Compiles the C helpers in simulators/avr (AVR emulator harness, pty relay) on this machine.
    globalSetup: ['tests/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration files start their own influxd and broker on free ports: two at a
    // time matches the machine's 2 cores.
    maxWorkers: 2,
    fileParallelism: true,
    reporters: ['default', './tests/support/summary-reporter.ts'],
  },
});
