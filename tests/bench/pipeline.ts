// The hub's own CPU per message, without MQTT: messages go straight into hub.ingest()
// (decode, pipeline, registry, line protocol, spool, writer to a real influxd), in
// process. What the ingest bench measures minus Aedes: steadier, and quick to rerun
// after a change to the pipeline. BENCH_RUNS runs (default 5) after a warm-up; medians.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startHub } from '../../hub/hub.js';
import { startTestInfluxd, uniqueDb } from '../support/influxd.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const PER_RUN = 100_000;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

const scenarios = {
  // The payloads and topics of the ingest bench's publishers.
  'single value': (i: number) => ({
    topic: `sensors/bench${i % 50}/s${i % 500}`,
    payload: String(20 + (i % 100) / 10),
  }),
  '8 sensors': (i: number) => {
    const v = i % 100;
    return {
      topic: `sensors/bench${i % 50}x${i % 150}`,
      payload: `{"temperature":${20 + v / 10},"humidity":${40 + v / 5},"pressure":${1000 + v},"illuminance":${v * 10},"voltage":${3 + v / 100},"co2":${400 + v},"power":${v},"energy":${i}}`,
    };
  },
};

const cpus = os.cpus();
console.log(`hardware: ${cpus[0]?.model} x ${cpus.length} cores; node ${process.version}`);
console.log(
  `hub.ingest() in process, ${PER_RUN.toLocaleString('en-US')} messages a run, ${RUNS} runs after a warm-up; medians\n`,
);

const influx = await startTestInfluxd();
try {
  for (const [name, make] of Object.entries(scenarios)) {
    const dataDir = mkdtempSync(join(os.tmpdir(), 'bench-pipeline-'));
    const hub = await startHub(
      {
        mqtt: { port: 0 },
        http: { port: 0 },
        influx: { url: influx.url, database: uniqueDb('pipeline') },
        dataDir,
      },
      { logger: pino({ level: 'silent' }) },
    );
    try {
      const msgs = Array.from({ length: 5000 }, (_, i) => {
        const m = make(i);
        return { topic: m.topic, payload: Buffer.from(m.payload) };
      });
      let readingsPerMessage = 0;
      const run = async () => {
        const before = hub.metrics.storage.accepted;
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
        readingsPerMessage = (hub.metrics.storage.accepted - before) / PER_RUN;
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
