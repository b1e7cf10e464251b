// The hub's own CPU per message, without MQTT: messages go straight into hub.ingest()
// (decode, pipeline, registry, line protocol, spool, writer to a real influxd), in
// process. What the ingest bench measures minus Aedes: steadier, and quick to rerun
// after a change to the pipeline. BENCH_RUNS runs (default 5) after a warm-up; medians.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { parseConfig } from '../../hub/config/load.js';
import { startHub } from '../../hub/hub.js';
import { readingsAccepted } from '../../hub/prometheus.js';
import { type BenchKind, median, payloadFor, topicFor } from '../support/bench-load.js';
import { startTestInfluxd, uniqueDb } from '../support/influxd.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const PER_RUN = 100_000;

const KINDS: Record<string, BenchKind> = { 'single value': 'single', '8 sensors': 'multi' };

const cpus = os.cpus();
console.log(`hardware: ${cpus[0]?.model} x ${cpus.length} cores; node ${process.version}`);
console.log(
  `hub.ingest() in process, ${PER_RUN.toLocaleString('en-US')} messages a run, ${RUNS} runs after a warm-up; medians\n`,
);

const influx = await startTestInfluxd();
try {
  for (const [name, kind] of Object.entries(KINDS)) {
    const dataDir = mkdtempSync(join(os.tmpdir(), 'bench-pipeline-'));
    const hub = await startHub(
      parseConfig({
        mqtt: { port: 0 },
        http: { port: 0 },
        influx: { url: influx.url, database: uniqueDb('pipeline') },
        dataDir,
      }),
      { logger: pino({ level: 'silent' }) },
    );
    try {
      // The payloads and topics of the ingest bench's publishers, 50 clients.
      const msgs = Array.from({ length: 5000 }, (_, i) => ({
        topic: topicFor(kind, i % 50, i),
        payload: Buffer.from(payloadFor(kind, i)),
      }));
      let readingsPerMessage = 0;
      const run = async () => {
        const before = readingsAccepted(hub.metrics.hot);
        const c0 = process.cpuUsage();
        // 1000 messages a turn, so commits and writes run in between as they do under load.
        for (let i = 0; i < PER_RUN; i += 1000) {
          for (let j = 0; j < 1000; j++) {
            const m = msgs[(i + j) % msgs.length]!;
            hub.ingest({
              topic: m.topic,
              payload: m.payload,
              receivedAt: Date.now(),
              source: 'mqtt',
              clientId: 'bench',
            });
          }
          await new Promise((r) => setImmediate(r));
        }
        await hub.flush(60_000);
        const c = process.cpuUsage(c0);
        readingsPerMessage = (readingsAccepted(hub.metrics.hot) - before) / PER_RUN;
        return (c.user + c.system) / PER_RUN;
      };
      await run();
      const runs: number[] = [];
      for (let k = 0; k < RUNS; k++) runs.push(await run());
      const us = median(runs);
      console.log(
        `${name.padEnd(13)} ${us.toFixed(2)} µs CPU per message, ${(us / readingsPerMessage).toFixed(2)} µs per reading ` +
          `[runs: ${runs.map((r) => r.toFixed(2)).join(', ')}]`,
      );
    } finally {
      await hub.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
} finally {
  await influx.stop();
}
