// End-to-end ingest benchmark (issue 5): MQTT publishers in a separate process -> hub
// (child process) -> InfluxDB, counts verified in InfluxDB; and in the same run Mosquitto
// merely forwarding the same load to one subscriber. Prints medians over BENCH_RUNS runs.
import { type ChildProcess, execFileSync, fork, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../hub/core/net.js';
import { startHubChild } from '../support/hub-child.js';
import { startTestInfluxd, uniqueDb } from '../support/influxd.js';
import type { PublisherOptions } from './publishers.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const ONLY = process.env.BENCH_ONLY?.split(',');

interface Scenario {
  name: string;
  qos: 0 | 1;
  kind: 'single' | 'multi';
  messages: number;
  readingsPerMessage: number;
  window: number;
}
const CLIENTS = 50;
const SCENARIOS: Scenario[] = [
  { name: 'qos0-single', qos: 0, kind: 'single', messages: 6000, readingsPerMessage: 1, window: 200 },
  { name: 'qos1-single', qos: 1, kind: 'single', messages: 4000, readingsPerMessage: 1, window: 100 },
  { name: 'qos0-multi8', qos: 0, kind: 'multi', messages: 1200, readingsPerMessage: 8, window: 100 },
].filter((s) => !ONLY || ONLY.includes(s.name));

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.floor((s.length - 1) / 2)]!;
};
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function startPublishers(url: string, sc: Scenario): Promise<{ go(): Promise<{ ms: number }>; proc: ChildProcess }> {
  const opts: PublisherOptions = {
    url,
    clients: CLIENTS,
    messages: Math.round(sc.messages * SCALE),
    qos: sc.qos,
    kind: sc.kind,
    window: sc.window,
  };
  const proc = fork(fileURLToPath(new URL('./publishers.ts', import.meta.url)), [JSON.stringify(opts)], {
    execArgv: ['--import', 'tsx'],
    stdio: 'inherit',
  });
  await new Promise<void>((resolve, reject) => {
    proc.once('message', () => resolve());
    proc.once('exit', (code) => reject(new Error(`publishers exited with ${code}`)));
  });
  return {
    proc,
    go: () =>
      new Promise((resolve) => {
        proc.once('message', (m) => resolve(m as { ms: number }));
        proc.send('go');
      }),
  };
}

/** Percentile from a Prometheus histogram's cumulative buckets (linear within a bucket). */
function histPercentile(text: string, name: string, p: number): number {
  const buckets = [...text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\d+)`, 'gm'))].map((m) => [
    m[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[1]),
    Number(m[2]),
  ]);
  const total = buckets[buckets.length - 1]?.[1] ?? 0;
  const rank = p * total;
  let prevLe = 0;
  let prevN = 0;
  for (const [le, n] of buckets) {
    if (n! >= rank) {
      if (!Number.isFinite(le!)) return prevLe;
      return prevLe + ((le! - prevLe) * (rank - prevN)) / Math.max(1, n! - prevN);
    }
    prevLe = le!;
    prevN = n!;
  }
  return prevLe;
}

const metric = (text: string, re: RegExp) => Number(re.exec(text)?.[1] ?? 0);

async function runHub(influxUrl: string, query: (db: string, q: string) => Promise<number>, sc: Scenario) {
  const database = uniqueDb('bench');
  const dataDir = mkdtempSync(join(os.tmpdir(), 'bench-hub-'));
  const hub = await startHubChild({
    mqtt: { port: 0 },
    http: { port: 0 },
    influx: { url: influxUrl, database },
    dataDir,
  });
  try {
    const pubs = await startPublishers(hub.mqttUrl, sc);
    const expected = CLIENTS * Math.round(sc.messages * SCALE) * sc.readingsPerMessage;
    const t0 = performance.now();
    const published = pubs.go();
    let text = '';
    const deadline = Date.now() + 300_000;
    for (;;) {
      text = await (await fetch(`${hub.httpUrl}/metrics`)).text();
      if (metric(text, /^hub_influx_points_written_total (\d+)/m) >= expected || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    const ms = performance.now() - t0;
    const pubMs = (await published).ms;
    const rss = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${hub.proc.pid}/status`, 'utf8'))?.[1]) / 1024;
    const stored = await query(database, 'SELECT count(value) FROM /.*/');
    return {
      readingsPerSec: (expected * 1000) / ms,
      msgsPerSec: (expected / sc.readingsPerMessage / ms) * 1000,
      publishMs: pubMs,
      expected,
      stored,
      dropped: metric(text, /^hub_readings_dropped_total\{[^}]*\} (\d+)/m),
      p50: histPercentile(text, 'hub_ingest_to_stored_seconds', 0.5) * 1000,
      p99: histPercentile(text, 'hub_ingest_to_stored_seconds', 0.99) * 1000,
      rssMb: rss,
    };
  } finally {
    await hub.kill();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function runMosquitto(port: number, sc: Scenario) {
  const total = CLIENTS * Math.round(sc.messages * SCALE);
  const sub = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(port), '-t', 'sensors/#', '-q', String(sc.qos), '-C', String(total)], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((r) => sub.once('exit', () => r()));
  await new Promise((r) => setTimeout(r, 300)); // subscribed
  const pubs = await startPublishers(`mqtt://127.0.0.1:${port}`, sc);
  const t0 = performance.now();
  void pubs.go();
  const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 120_000));
  const res = await Promise.race([exited, timeout]);
  const ms = performance.now() - t0;
  if (res === 'timeout') sub.kill();
  return { msgsPerSec: res === 'timeout' ? Number.NaN : (total * 1000) / ms };
}

function mosquittoVersion(): string {
  // `mosquitto -h` prints its version and exits with status 3.
  const r = spawnSync('mosquitto', ['-h'], { encoding: 'utf8' });
  return /version ([\d.]+)/.exec(`${r.stdout}${r.stderr}`)?.[1] ?? '?';
}

const cpus = os.cpus();
console.log(
  `hardware: ${cpus[0]?.model} x ${cpus.length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM; node ${process.version}; ` +
    `${execFileSync('influxd', ['version']).toString().trim()}; mosquitto ${mosquittoVersion()}`,
);
console.log(`load: ${CLIENTS} publishers in one separate process; ${RUNS} runs per scenario; medians\n`);

const influx = await startTestInfluxd();
const mosqPort = await freePort();
const mosqDir = mkdtempSync(join(os.tmpdir(), 'bench-mosq-'));
writeFileSync(
  join(mosqDir, 'mosquitto.conf'),
  `listener ${mosqPort} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 1000000\nmax_inflight_messages 0\n`,
);
const mosq = spawn('mosquitto', ['-c', join(mosqDir, 'mosquitto.conf')], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 300));
try {
  for (const sc of SCENARIOS) {
    const hubRuns = [];
    const mosqRuns = [];
    for (let i = 0; i < RUNS; i++) {
      hubRuns.push(await runHub(influx.url, (db, q) => influx.count(db), sc));
      mosqRuns.push(await runMosquitto(mosqPort, sc));
    }
    const h = (k: keyof (typeof hubRuns)[number]) => median(hubRuns.map((r) => r[k]));
    const m = median(mosqRuns.map((r) => r.msgsPerSec));
    const lossless = hubRuns.every((r) => r.stored === r.expected);
    console.log(
      `${sc.name.padEnd(12)} hub ${fmt(h('readingsPerSec'))} readings/s (${fmt(h('msgsPerSec'))} msg/s) into InfluxDB, ` +
        `latency p50 ${fmt(h('p50'))} ms p99 ${fmt(h('p99'))} ms, peak RSS ${fmt(h('rssMb'))} MB, ` +
        `stored ${hubRuns.map((r) => `${r.stored}/${r.expected}`).join(' ')}${lossless ? ' (no loss)' : ' LOSS'}, dropped ${h('dropped')}\n` +
        `${''.padEnd(12)} mosquitto forwarding ${fmt(m)} msg/s; hub/mosquitto ${(h('msgsPerSec') / m).toFixed(2)}` +
        `  [runs hub msg/s: ${hubRuns.map((r) => fmt(r.msgsPerSec)).join(', ')}; mosquitto: ${mosqRuns.map((r) => fmt(r.msgsPerSec)).join(', ')}]`,
    );
  }
} finally {
  mosq.kill();
  await influx.stop();
  rmSync(mosqDir, { recursive: true, force: true });
}
