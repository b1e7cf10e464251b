// A hub in a process of its own, for tests that kill it (kill -9) and benchmarks that
// measure its memory. Config as JSON in argv[2]; prints one JSON line with its URLs
// once it listens; stops cleanly on SIGTERM.
import { pino } from 'pino';
import { parseConfig } from '../../hub/config/load.js';
import { startHub } from '../../hub/hub.js';

// Node would print these and exit too; the marker lets tests/support/hub-child.ts
// name the cause in the test that fails.
for (const event of ['unhandledRejection', 'uncaughtException'] as const) {
  process.on(event, (err: unknown) => {
    process.stderr.write(`HUB_CHILD_FATAL ${event}: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(70);
  });
}

const hub = await startHub(parseConfig(JSON.parse(process.argv[2] ?? '{}')), {
  logger: pino({ level: process.env.HUB_TEST_LOG ?? 'silent' }),
});
process.stdout.write(`${JSON.stringify({ mqttUrl: hub.mqttUrl, httpUrl: hub.httpUrl, pid: process.pid })}\n`);
process.on('SIGTERM', () => {
  void hub.stop().then(() => process.exit(0));
});
process.on('message', (m) => {
  if (m === 'flush') void hub.flush(60_000).then((left) => process.send?.({ flushed: left }));
});
