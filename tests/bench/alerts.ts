// What alert rules cost the ingest path: two hubs in one process, one with no rules and one
// with 1,000, fed the same messages through hub.ingest() (decode, pipeline, registry, alert
// engine, spool, writer to a real influxd), runs alternating between them; medians and the
// ratio. Then the engine alone: its evaluation cost per reading. BENCH_RUNS (default 5).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { AlertEngine } from '../../hub/alerts/engine.js';
import { alertsSchema } from '../../hub/config/alerts.js';
import { parseConfig } from '../../hub/config/load.js';
import type { HubConfigInput } from '../../hub/config/schema.js';
import type { Reading } from '../../hub/core/reading.js';
import { type HubHandle, startHub } from '../../hub/hub.js';
import { median, payloadFor, topicFor } from '../support/bench-load.js';
import { startTestInfluxd, uniqueDb } from '../support/influxd.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const PER_RUN = 50_000;
const CLIENTS = 50;
const METRICS = ['temperature', 'humidity', 'pressure', 'co2', 'power'];

/**
 * 1,000 rules as a large site might write them: 20 per device group (bench<c>x*), on five
 * metrics, of every kind; a few on every device by metric glob. Thresholds the bench's values
 * do not cross, but for one rule that fires once per series and stays firing: the steady
 * state, not an alert storm (each state change is a disk transaction).
 */
function thousandRules(): unknown[] {
  return Array.from({ length: 1000 }, (_, i) => {
    const match = {
      device: `bench${i % CLIENTS}x*`,
      metric: METRICS[Math.floor(i / CLIENTS) % METRICS.length],
    };
    if (i === 0) return { name: 'r0-fires', match: { metric: 'temp*' }, above: 20.05, clear: -100 };
    if (i < 5) return { name: `r${i}-any`, match: { metric: 'temp*' }, above: 1000 + i };
    if (i % 10 === 1) return { name: `r${i}-rate`, match, rate: { above: 10_000, per: '10m' } };
    if (i % 10 === 2) return { name: `r${i}-band`, match, outside: [-1e6, 1e6], for: '5m' };
    if (i % 10 === 3) return { name: `r${i}-stale`, match, stale: true, for: '10m' };
    if (i % 10 === 4) return { name: `r${i}-below`, match, below: -1000, clear: -990 };
    return { name: `r${i}-above`, match, above: 1e6 + i, for: '1m', clear: 1e6 };
  });
}

const cpus = os.cpus();
console.log(`hardware: ${cpus[0]?.model} x ${cpus.length} cores; node ${process.version}`);
console.log(
  `hub.ingest() in process, 8-sensor JSON messages from ${CLIENTS} clients, ${PER_RUN.toLocaleString('en-US')} a run, ` +
    `${RUNS} runs per hub after a warm-up, alternating; medians\n`,
);

const msgs = Array.from({ length: 5000 }, (_, i) => ({
  topic: topicFor('multi', i % CLIENTS, i),
  payload: Buffer.from(payloadFor('multi', i)),
}));

async function run(hub: HubHandle): Promise<{ perSecond: number; cpuUs: number }> {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
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
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return { perSecond: PER_RUN / s, cpuUs: (c.user + c.system) / PER_RUN };
}

const influx = await startTestInfluxd();
const dirs: string[] = [];
const hubs: HubHandle[] = [];
try {
  const start = async (alerts: HubConfigInput['alerts']) => {
    const dataDir = mkdtempSync(join(os.tmpdir(), 'bench-alerts-'));
    dirs.push(dataDir);
    const hub = await startHub(
      parseConfig({
        mqtt: { port: 0 },
        http: { port: 0 },
        influx: { url: influx.url, database: uniqueDb('alerts') },
        dataDir,
        ...(alerts ? { alerts } : {}),
      } as HubConfigInput),
      { logger: pino({ level: 'silent' }) },
    );
    hubs.push(hub);
    return hub;
  };
  const none = await start(undefined);
  const loaded = await start({ rules: thousandRules() } as HubConfigInput['alerts']);
  await run(none);
  await run(loaded);
  const a: Array<{ perSecond: number; cpuUs: number }> = [];
  const b: Array<{ perSecond: number; cpuUs: number }> = [];
  for (let k = 0; k < RUNS; k++) {
    a.push(await run(none));
    b.push(await run(loaded));
  }
  const rate = (xs: typeof a) => median(xs.map((x) => x.perSecond));
  const cpu = (xs: typeof a) => median(xs.map((x) => x.cpuUs));
  const fmt = (xs: typeof a) => xs.map((x) => Math.round(x.perSecond).toLocaleString('en-US')).join(', ');
  console.log(
    `no rules     ${Math.round(rate(a)).toLocaleString('en-US')} msg/s, ${cpu(a).toFixed(2)} µs CPU per message [runs: ${fmt(a)}]`,
  );
  console.log(
    `1,000 rules  ${Math.round(rate(b)).toLocaleString('en-US')} msg/s, ${cpu(b).toFixed(2)} µs CPU per message [runs: ${fmt(b)}]`,
  );
  const loss = 1 - rate(b) / rate(a);
  console.log(
    `ratio        ${(rate(b) / rate(a)).toFixed(3)} (throughput loss ${(loss * 100).toFixed(1)} %, target under 10 %); ` +
      `CPU ratio ${(cpu(b) / cpu(a)).toFixed(3)}`,
  );
} finally {
  for (const h of hubs) await h.stop();
  await influx.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}

// The engine alone: the bench's readings (8 per message) against the same 1,000 rules.
{
  const engine = new AlertEngine(alertsSchema.parse({ rules: thousandRules() }).rules, {
    onChange: () => undefined,
  });
  const readings: Reading[][] = msgs.map((m, i) => {
    const device = m.topic.split('/')[1]!;
    const v = i % 100;
    return METRICS.concat(['illuminance', 'voltage', 'energy']).map((metric, k) => ({
      device,
      sensor: metric,
      metric,
      value: 20 + v / 10 + k,
      unit: '1',
      ts: Date.now(),
      source: 'mqtt' as const,
      quality: 'good' as const,
    }));
  });
  const N = 200_000;
  for (let i = 0; i < N; i++) engine.readings(readings[i % readings.length]!);
  const times: number[] = [];
  for (let k = 0; k < RUNS; k++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) engine.readings(readings[i % readings.length]!);
    times.push(Number(process.hrtime.bigint() - t0) / (N * 8));
  }
  console.log(
    `\nengine alone, 1,000 rules: ${median(times).toFixed(0)} ns per reading [runs: ${times.map((t) => t.toFixed(0)).join(', ')}]`,
  );
}
