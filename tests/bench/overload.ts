// Overload benchmark: `npm run bench -- overload [--seconds 60] [--rate MSG_PER_S] [--calibrate 10]`.
// The built hub (as npm start runs it) with a real influxd. First finds what the hub
// carries (QoS 0 publishers as fast as they can for --calibrate seconds: readings
// InfluxDB confirmed per second), unless --rate is given; then offers twice that for
// --seconds, QoS 0, and reports offered, accepted, stored (counted in InfluxDB) and
// dropped readings by reason, the hub's peak RSS, whether it stayed up and answered
// /healthz during the overload, and whether it recovered after.
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { freePort } from '../../hub/core/net.js';
import type { RatePublisherOptions, RatePublisherResult } from '../support/bench-rate-publishers.js';
import { START_ENV, START_FLAGS, startBuiltHub } from '../support/hub-child.js';
import { startTestInfluxd, uniqueDb } from '../support/influxd.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v < 0) {
    process.stderr.write(`--${name}: expected a number, got ${process.argv[i + 1]}\n`);
    process.exit(2);
  }
  return v;
}
const SECONDS = arg('seconds', 60);
const CALIBRATE = arg('calibrate', 10);
const GIVEN_RATE = arg('rate', 0);
const CLIENTS = 50;
/** How long the hub has after the overload to write what it accepted and answer again. */
const RECOVER_MS = 120_000;

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const metric = (text: string, re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
/** Every labelled sample of a counter, as "label=value: n". */
const byLabel = (text: string, name: string) =>
  [...text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\d+)`, 'gm'))]
    .filter((m) => Number(m[2]) > 0)
    .map((m) => `${m[1]!.replace(/"/g, '')}: ${fmt(Number(m[2]))}`);

async function publishers(
  opts: RatePublisherOptions,
): Promise<{ go(): Promise<RatePublisherResult>; proc: ChildProcess }> {
  const proc = fork(
    fileURLToPath(new URL('../support/bench-rate-publishers.ts', import.meta.url)),
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
        proc.once('message', (m) => resolve(m as RatePublisherResult));
        proc.send('go');
      }),
  };
}

const rssPeakMb = (pid: number) =>
  Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;

const cpus = os.cpus();
console.log(
  `hardware: ${cpus[0]?.model} x ${cpus.length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM; node ${process.version}; ` +
    `${execFileSync('influxd', ['version']).toString().trim()}; load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
);
console.log(
  `hub: ${Object.entries(START_ENV)
    .map(([k, v]) => `${k}=${v} `)
    .join(
      '',
    )}node ${START_FLAGS.join(' ')} dist/hub/cli.js start; ${CLIENTS} QoS 0 publishers in one separate process`,
);

const influx = await startTestInfluxd();
const dataDir = mkdtempSync(join(os.tmpdir(), 'bench-overload-'));
const database = uniqueDb('overload');
const hub = await startBuiltHub({
  mqtt: { port: await freePort() },
  http: { port: await freePort() },
  influx: { url: influx.url, database },
  dataDir,
  log: { level: 'warn' },
  ...JSON.parse(process.env.BENCH_CONFIG ?? '{}'),
});
const pid = hub.proc.pid!;
let exitedWith: string | undefined;
hub.proc.once('exit', (code, signal) => {
  exitedWith = `exited (${signal ?? code})`;
});
const metricsText = async () =>
  (await fetch(`${hub.httpUrl}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
const written = (t: string) => metric(t, /^hub_influx_points_written_total (\d+)/m);

/** Polls /healthz once a second while `until` is pending: answers within 2 s, and how many said ok. */
async function watchHealth(until: Promise<unknown>) {
  let done = false;
  void until.finally(() => {
    done = true;
  });
  const h = { asked: 0, answered: 0, ok: 0, slowestMs: 0 };
  while (!done) {
    const t0 = performance.now();
    h.asked++;
    try {
      const res = await fetch(`${hub.httpUrl}/healthz`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      h.answered++;
      if (res.status === 200) h.ok++;
    } catch {}
    h.slowestMs = Math.max(h.slowestMs, performance.now() - t0);
    await sleep(Math.max(0, 1000 - (performance.now() - t0)));
  }
  return h;
}

try {
  let rate = GIVEN_RATE;
  if (rate === 0) {
    const cal = await publishers({
      url: hub.mqttUrl,
      clients: CLIENTS,
      rate: 0,
      seconds: CALIBRATE,
      window: 200,
    });
    const w0 = written(await metricsText());
    const t0 = performance.now();
    const r = await cal.go();
    const stored = written(await metricsText()) - w0;
    const perSec = (stored * 1000) / (performance.now() - t0);
    console.log(
      `capacity: ${fmt(perSec)} readings/s stored by InfluxDB while publishers sent as fast as they could for ${CALIBRATE} s (${fmt(r.sent)} sent)`,
    );
    rate = perSec;
    // Let the calibration's backlog drain, so the overload starts from an idle hub.
    const deadline = Date.now() + RECOVER_MS;
    while (Date.now() < deadline && written(await metricsText()) < r.sent) await sleep(200);
  } else console.log(`capacity: given as ${fmt(rate)} msg/s (--rate)`);

  const offeredRate = 2 * rate;
  const before = await metricsText();
  const storedBefore = await influx.count(database);
  const pubs = await publishers({
    url: hub.mqttUrl,
    clients: CLIENTS,
    rate: offeredRate,
    seconds: SECONDS,
    window: 1000,
  });
  console.log(`overload: offering ${fmt(offeredRate)} msg/s (one reading each) for ${SECONDS} s`);
  const run = pubs.go();
  const [res, health] = await Promise.all([run, watchHealth(run)]);
  const upDuring = exitedWith === undefined;

  // Recovery: the hub writes what it accepted, answers /healthz 200, and takes new readings.
  const t0 = Date.now();
  let after = '';
  let last = -1;
  while (Date.now() - t0 < RECOVER_MS && exitedWith === undefined) {
    after = await metricsText().catch(() => '');
    const accepted = metric(after, /^hub_readings_total\{source="mqtt"\} (\d+)/m);
    const droppedNow = [...after.matchAll(/^hub_readings_dropped_total\{[^}]*\} (\d+)/gm)].reduce(
      (n, m) => n + Number(m[1]),
      0,
    );
    const w = written(after);
    if (w >= accepted - droppedNow || w === last) break;
    last = w;
    await sleep(1000);
  }
  const recoverMs = Date.now() - t0;
  let recovered = false;
  if (exitedWith === undefined) {
    const probe = await mqtt.connectAsync(hub.mqttUrl, { reconnectPeriod: 0 });
    for (let i = 0; i < 100; i++)
      await probe.publishAsync(`sensors/overload-probe/s${i}`, String(i), { qos: 1 });
    await probe.endAsync();
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && !recovered) {
      const healthy = (await fetch(`${hub.httpUrl}/healthz`).catch(() => undefined))?.status === 200;
      const probed = await influx
        .query(database, `SELECT count(value) FROM /.*/ WHERE device = 'overload-probe'`)
        .catch(() => []);
      const n = probed.reduce((s, x) => s + Number(x.values[0]?.[1] ?? 0), 0);
      recovered = healthy && n >= 100;
      if (!recovered) await sleep(250);
    }
    after = await metricsText();
  }

  const acceptedBefore = metric(before, /^hub_readings_total\{source="mqtt"\} (\d+)/m);
  const messagesBefore = metric(before, /^hub_messages_total (\d+)/m);
  const stored = (await influx.count(database)) - storedBefore - (recovered ? 100 : 0);
  const sec = res.ms / 1000;
  console.log(
    `offered ${fmt(res.offered)} (${fmt(res.offered / sec)}/s), sent ${fmt(res.sent)} (${fmt(res.sent / sec)}/s), ` +
      `held back by TCP backpressure ${fmt(res.heldBack)}, publishers disconnected ${res.disconnected}/${CLIENTS}`,
  );
  console.log(
    `hub received ${fmt(metric(after, /^hub_messages_total (\d+)/m) - messagesBefore - 100)} messages, accepted ${fmt(
      metric(after, /^hub_readings_total\{source="mqtt"\} (\d+)/m) - acceptedBefore - 100,
    )} readings, stored ${fmt(stored)} (counted in InfluxDB)`,
  );
  const dropped = byLabel(after, 'hub_readings_dropped_total');
  const quarantined = byLabel(after, 'hub_quarantined_total');
  console.log(
    `dropped by reason (since start): ${dropped.length ? dropped.join(', ') : 'none'}; quarantined: ${quarantined.length ? quarantined.join(', ') : 'none'}`,
  );
  console.log(
    `peak RSS of the hub ${fmt(rssPeakMb(pid))} MB; hub ${upDuring && exitedWith === undefined ? 'stayed up' : exitedWith}; ` +
      `/healthz during the overload: ${health.answered}/${health.asked} answered within 2 s, ${health.ok} ok, slowest ${fmt(health.slowestMs)} ms; ` +
      `after: ${recovered ? `recovered (backlog written in ${fmt(recoverMs / 1000)} s, /healthz 200, 100 new readings stored)` : 'NOT recovered'}`,
  );
  console.log(
    `load average at the end ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (2 cores, shared)`,
  );
  if (!recovered || !upDuring) process.exitCode = 1;
} finally {
  await hub.kill();
  await influx.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
