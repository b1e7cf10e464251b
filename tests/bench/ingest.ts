// End-to-end ingest benchmark: MQTT publishers in a separate process -> hub
// (child process) -> InfluxDB, counts verified in InfluxDB; and in the same run Mosquitto
// merely forwarding the same load to one subscriber. Prints medians over BENCH_RUNS runs.
// Each run starts a new hub, sends it a warm-up burst of a third of the load, then
// measures the full load (readings/s, latency, CPU); every reading of both bursts is
// counted in InfluxDB.
import { type ChildProcess, execFileSync, fork, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../hub/core/net.js';
import { median } from '../support/bench-load.js';
import type { PublisherOptions } from '../support/bench-publishers.js';
import { START_ENV, START_FLAGS, startBuiltHub } from '../support/hub-child.js';
import { startTestInfluxd, uniqueDb } from '../support/influxd.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const ONLY = process.env.BENCH_ONLY?.split(',');

/**
 * MQTT protocols the QoS 0 and QoS 1 single-value scenarios run with, alternating within
 * each run (3.1.1 first in odd runs, MQTT 5 first in even ones, so drift of the shared
 * machine falls on both): `4` (3.1.1), `5` (MQTT 5, no properties), `5+props` (MQTT 5
 * with a user property unit=Cel on every publish). BENCH_PROTOCOLS=4 runs 3.1.1 alone.
 */
type Protocol = '4' | '5' | '5+props';
const PROTOCOLS = (process.env.BENCH_PROTOCOLS?.split(',') ?? ['4', '5']) as Protocol[];
const PROTOCOL_NAME: Record<Protocol, string> = { '4': '3.1.1', '5': 'v5', '5+props': 'v5+props' };

interface Scenario {
  name: string;
  qos: 0 | 1;
  kind: 'single' | 'multi';
  messages: number;
  readingsPerMessage: number;
  window: number;
}
const CLIENTS = 50;
const ALL: Scenario[] = [
  { name: 'qos0-single', qos: 0, kind: 'single', messages: 6000, readingsPerMessage: 1, window: 200 },
  { name: 'qos1-single', qos: 1, kind: 'single', messages: 4000, readingsPerMessage: 1, window: 100 },
  { name: 'qos0-multi8', qos: 0, kind: 'multi', messages: 1200, readingsPerMessage: 8, window: 100 },
];
const SCENARIOS = ALL.filter((s) => !ONLY || ONLY.includes(s.name));

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function startPublishers(
  url: string,
  sc: Scenario,
  messages = Math.round(sc.messages * SCALE),
  protocol: Protocol = '4',
): Promise<{ go(): Promise<{ ms: number; cpuUs: number }>; proc: ChildProcess }> {
  const opts: PublisherOptions = {
    url,
    clients: CLIENTS,
    messages,
    qos: sc.qos,
    kind: sc.kind,
    window: sc.window,
    protocol: protocol === '4' ? 4 : 5,
    userProperties: protocol === '5+props',
  };
  const proc = fork(
    fileURLToPath(new URL('../support/bench-publishers.ts', import.meta.url)),
    [JSON.stringify(opts)],
    {
      execArgv: ['--import', 'tsx'],
      stdio: 'inherit',
    },
  );
  await new Promise<void>((resolve, reject) => {
    proc.once('message', () => resolve());
    proc.once('exit', (code) => reject(new Error(`publishers exited with ${code}`)));
  });
  return {
    proc,
    go: () =>
      new Promise((resolve) => {
        proc.once('message', (m) => resolve(m as { ms: number; cpuUs: number }));
        proc.send('go');
      }),
  };
}

/** A Prometheus histogram's cumulative buckets, as [le, count]. */
function histBuckets(text: string, name: string): Array<[number, number]> {
  return [...text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\d+)`, 'gm'))].map((m) => [
    m[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[1]),
    Number(m[2]),
  ]);
}

/** Percentile of what a histogram observed between two scrapes (linear within a bucket). */
function histPercentile(before: string, after: string, name: string, p: number): number {
  const base = histBuckets(before, name);
  const buckets = histBuckets(after, name).map(([le, n], i): [number, number] => [
    le,
    n - (base[i]?.[1] ?? 0),
  ]);
  const total = buckets[buckets.length - 1]?.[1] ?? 0;
  const rank = p * total;
  let prevLe = 0;
  let prevN = 0;
  for (const [le, n] of buckets) {
    if (n >= rank) {
      if (!Number.isFinite(le)) return prevLe;
      return prevLe + ((le - prevLe) * (rank - prevN)) / Math.max(1, n - prevN);
    }
    prevLe = le;
    prevN = n;
  }
  return prevLe;
}

const metric = (text: string, re: RegExp) => Number(re.exec(text)?.[1] ?? 0);

/** CPU seconds (user + system) a process has used so far, from /proc. */
function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

async function runHub(
  influxUrl: string,
  influxPid: number,
  query: (db: string, q: string) => Promise<number>,
  sc: Scenario,
  database: string,
  before: number,
  protocol: Protocol = '4',
) {
  const dataDir = mkdtempSync(join(os.tmpdir(), 'bench-hub-'));
  // The hub as `npm start` runs it: the compiled CLI (npm run bench builds it first).
  const hub = await startBuiltHub(
    {
      mqtt: { port: await freePort(), ...JSON.parse(process.env.BENCH_MQTT ?? '{}') },
      http: { port: await freePort() },
      influx: { url: influxUrl, database, ...JSON.parse(process.env.BENCH_INFLUX ?? '{}') },
      dataDir,
      log: { level: 'warn' },
      // Any other setting, e.g. BENCH_CONFIG='{"spool":{"fsync":false}}'
      ...JSON.parse(process.env.BENCH_CONFIG ?? '{}'),
    },
    [
      ...(process.env.BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`] : []),
      ...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
    ],
  );
  try {
    const metricsText = async () => (await fetch(`${hub.httpUrl}/metrics`)).text();
    const written = (text: string) => metric(text, /^hub_influx_points_written_total (\d+)/m);
    /** Polls /metrics until InfluxDB confirmed `n` points in all; returns the last scrape. */
    const waitWritten = async (n: number, t0: number, timeline?: string[]) => {
      const deadline = Date.now() + 300_000;
      for (;;) {
        const text = await metricsText();
        const mb = (re: RegExp) => Math.round(metric(text, re) / 2 ** 20);
        timeline?.push(
          `${Math.round(performance.now() - t0)}ms in=${metric(text, /^hub_messages_total (\d+)/m)} out=${written(text)} fl=${metric(text, /^hub_influx_writes_in_flight (\d+)/m)} ` +
            `rss=${mb(/^hub_process_resident_memory_bytes (\d+)/m)} heap=${mb(/^hub_nodejs_heap_size_used_bytes (\d+)/m)}/${mb(/^hub_nodejs_heap_size_total_bytes (\d+)/m)} ext=${mb(/^hub_nodejs_external_memory_bytes (\d+)/m)}`,
        );
        if (written(text) >= n || Date.now() > deadline) return text;
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    // Warm-up burst into the same hub process first, so the measured burst runs on
    // optimized code, as a hub does after its first minute (and its series exist in InfluxDB).
    const warmMessages = Math.round((sc.messages * SCALE) / 3);
    const warmExpected = CLIENTS * warmMessages * sc.readingsPerMessage;
    const warm = await startPublishers(hub.mqttUrl, sc, warmMessages, protocol);
    await warm.go();
    const warmText = await waitWritten(warmExpected, performance.now());

    const pubs = await startPublishers(hub.mqttUrl, sc, undefined, protocol);
    const expected = CLIENTS * Math.round(sc.messages * SCALE) * sc.readingsPerMessage;
    const cpu0 = [hub.proc.pid, influxPid].map(cpuSeconds);
    const t0 = performance.now();
    const published = pubs.go();
    const timeline: string[] = [];
    const text = await waitWritten(warmExpected + expected, t0, timeline);
    const ms = performance.now() - t0;
    const messages = expected / sc.readingsPerMessage;
    const [hubCpu, influxCpu] = [hub.proc.pid, influxPid].map(
      (pid, i) => ((cpuSeconds(pid) - cpu0[i]!) * 1e6) / messages,
    );
    // The publishers may have exited by now: they report their own CPU time.
    const { ms: pubMs, cpuUs: pubCpuTotal } = await published;
    const pubCpu = pubCpuTotal / messages;
    if (process.env.BENCH_DEBUG) console.log(timeline.join('\n'));
    if (process.env.BENCH_DEBUG)
      console.log(
        readFileSync(`/proc/${hub.proc.pid}/status`, 'utf8')
          .split('\n')
          .filter((l) => /VmHWM|VmRSS|RssFile|RssAnon/.test(l))
          .join(' '),
      );
    const rss =
      Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${hub.proc.pid}/status`, 'utf8'))?.[1]) / 1024;
    const stored = await query(database, 'SELECT count(value) FROM /.*/');
    return {
      readingsPerSec: (expected * 1000) / ms,
      msgsPerSec: (expected / sc.readingsPerMessage / ms) * 1000,
      publishMs: pubMs,
      expected: warmExpected + expected,
      stored: stored - before,
      dropped: metric(text, /^hub_readings_dropped_total\{[^}]*\} (\d+)/m),
      p50: histPercentile(warmText, text, 'hub_ingest_to_stored_seconds', 0.5) * 1000,
      p99: histPercentile(warmText, text, 'hub_ingest_to_stored_seconds', 0.99) * 1000,
      rssMb: rss,
      hubCpuUs: hubCpu!,
      pubCpuUs: pubCpu,
      influxCpuUs: influxCpu!,
    };
  } finally {
    await hub.kill();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

type HubRun = Awaited<ReturnType<typeof runHub>>;

async function runMosquitto(port: number, mosqPid: number | undefined, sc: Scenario) {
  const total = CLIENTS * Math.round(sc.messages * SCALE);
  const sub = spawn(
    'mosquitto_sub',
    ['-h', '127.0.0.1', '-p', String(port), '-t', 'sensors/#', '-q', String(sc.qos), '-C', String(total)],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const exited = new Promise<void>((r) => sub.once('exit', () => r()));
  await new Promise((r) => setTimeout(r, 300)); // subscribed
  const pubs = await startPublishers(`mqtt://127.0.0.1:${port}`, sc);
  const cpu0 = cpuSeconds(mosqPid);
  const t0 = performance.now();
  const published = pubs.go();
  const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 120_000));
  const res = await Promise.race([exited, timeout]);
  const ms = performance.now() - t0;
  const brokerCpu = ((cpuSeconds(mosqPid) - cpu0) * 1e6) / total;
  if (res === 'timeout') sub.kill();
  const pubCpu = (await published).cpuUs / total;
  return {
    msgsPerSec: res === 'timeout' ? Number.NaN : (total * 1000) / ms,
    brokerCpuUs: brokerCpu,
    pubCpuUs: pubCpu,
  };
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
console.log(
  `hub: ${Object.entries(START_ENV)
    .map(([k, v]) => `${k}=${v} `)
    .join('')}node ${START_FLAGS.join(' ')} dist/hub/cli.js start (as npm start runs it)`,
);
console.log(
  `load: ${CLIENTS} publishers in one separate process; ${RUNS} runs per scenario, each a new hub warmed up by a third of the load; medians; single-value scenarios with ${PROTOCOLS.map((p) => PROTOCOL_NAME[p]).join(' and ')} publishers, alternating\n`,
);

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
    // A fresh influxd per scenario: the compactions of one scenario's points would
    // otherwise take CPU from the next one (seen: influxd at twice its CPU per point).
    const influx = await startTestInfluxd();
    try {
      const protocols: Protocol[] = sc.kind === 'single' ? PROTOCOLS : ['4'];
      const hubRuns = new Map<Protocol, HubRun[]>(protocols.map((p) => [p, []]));
      const mosqRuns: Array<Awaited<ReturnType<typeof runMosquitto>>> = [];
      // One database per scenario, with an unmeasured run first that creates the series:
      // the measured runs write into series that exist, as a hub does in steady state
      // (creating 60k new series costs InfluxDB far more than writing to them). Each run
      // uses new timestamps, so the count in InfluxDB grows by exactly what each run
      // published (warm-up and measured bursts).
      const database = uniqueDb('bench');
      let before = 0;
      for (let i = 0; i <= RUNS; i++) {
        const order = i % 2 === 1 ? protocols : [...protocols].reverse();
        for (const protocol of i === 0 ? protocols.slice(0, 1) : order) {
          const r = await runHub(
            influx.url,
            influx.proc.pid,
            (db) => influx.count(db),
            sc,
            database,
            before,
            protocol,
          );
          before += r.stored;
          if (i === 0) {
            console.log(
              `${sc.name.padEnd(12)} series creation run: ${fmt(r.readingsPerSec)} readings/s, stored ${r.stored}/${r.expected}`,
            );
            continue;
          }
          hubRuns.get(protocol)!.push(r);
        }
        if (i > 0) mosqRuns.push(await runMosquitto(mosqPort, mosq.pid, sc));
      }
      const m = median(mosqRuns.map((r) => r.msgsPerSec));
      for (const protocol of protocols) {
        const runs = hubRuns.get(protocol)!;
        const h = (k: keyof HubRun) => median(runs.map((r) => r[k]));
        const lossless = runs.every((r) => r.stored === r.expected);
        const label = protocols.length > 1 ? `${sc.name} ${PROTOCOL_NAME[protocol]}` : sc.name;
        console.log(
          `${label.padEnd(12)} hub ${fmt(h('readingsPerSec'))} readings/s (${fmt(h('msgsPerSec'))} msg/s) into InfluxDB, ` +
            `latency p50 ${fmt(h('p50'))} ms p99 ${fmt(h('p99'))} ms, peak RSS ${fmt(h('rssMb'))} MB (runs ${runs.map((r) => fmt(r.rssMb)).join(', ')}), ` +
            `publishers done after ${fmt(h('publishMs'))} ms, ` +
            `CPU per message: hub ${h('hubCpuUs').toFixed(1)} µs, publishers ${h('pubCpuUs').toFixed(1)} µs, influxd ${h('influxCpuUs').toFixed(1)} µs, stored ${runs.map((r) => `${r.stored}/${r.expected}`).join(' ')}${lossless ? ' (no loss)' : ' LOSS'}, dropped ${h('dropped')}\n` +
            `${''.padEnd(12)} mosquitto forwarding ${fmt(m)} msg/s (3.1.1; CPU per message: mosquitto ${median(mosqRuns.map((r) => r.brokerCpuUs)).toFixed(1)} µs, publishers ${median(mosqRuns.map((r) => r.pubCpuUs)).toFixed(1)} µs); hub/mosquitto ${(h('msgsPerSec') / m).toFixed(2)} (run by run: ${runs.map((r, i) => (r.msgsPerSec / mosqRuns[i]!.msgsPerSec).toFixed(2)).join(', ')})` +
            `  [runs hub msg/s: ${runs.map((r) => fmt(r.msgsPerSec)).join(', ')}; mosquitto: ${mosqRuns.map((r) => fmt(r.msgsPerSec)).join(', ')}]`,
        );
      }
      // Each protocol against 3.1.1, as measured in the same run: throughput (higher is
      // better) and the hub's CPU per message (lower is better). "Costs more than 10 %"
      // means a throughput ratio under 0.90 or a CPU ratio over 1.10.
      const base = hubRuns.get('4');
      for (const protocol of protocols) {
        if (protocol === '4' || !base) continue;
        const runs = hubRuns.get(protocol)!;
        const ratio = (k: 'msgsPerSec' | 'hubCpuUs') =>
          median(runs.map((r) => r[k])) / median(base.map((r) => r[k]));
        const byRun = (k: 'msgsPerSec' | 'hubCpuUs') =>
          runs.map((r, i) => (r[k] / base[i]![k]).toFixed(2)).join(', ');
        const thr = ratio('msgsPerSec');
        const cpu = ratio('hubCpuUs');
        console.log(
          `${`${sc.name} ${PROTOCOL_NAME[protocol]}/3.1.1`.padEnd(12)} throughput ${thr.toFixed(2)} (runs ${byRun('msgsPerSec')}), ` +
            `hub CPU per message ${cpu.toFixed(2)} (runs ${byRun('hubCpuUs')}): ${thr >= 0.9 && cpu <= 1.1 ? 'within 10 %' : 'COSTS MORE THAN 10 %'}`,
        );
      }
    } finally {
      await influx.stop();
    }
  }
} finally {
  mosq.kill();
  rmSync(mosqDir, { recursive: true, force: true });
}
