/**
 * npm run bench -- testkit:
 * 1. time to a started test hub (startTestHub with its managed influxd), median of 10;
 * 2. time from one publish to the reading being queryable in InfluxDB, median of 10;
 * 3. the fleet as a load generator: asked against achieved rate, and what the hub counted;
 * 4. installed size of the package's dependencies: npm install of the packed tarball into
 *    an empty folder (the registry or npm's cache), the same install a user gets.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { startTestHub } from '../../hub/testing/index.js';
import { simulateFleet } from '../../simulators/fleet.js';
import { pack } from '../support/pack.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (n: number) => `${n.toFixed(0)} ms`;

process.stdout.write(
  `testkit bench on ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}\n`,
);

const startTimes: number[] = [];
const storedTimes: number[] = [];
for (let i = 0; i < 10; i++) {
  const t0 = performance.now();
  const hub = await startTestHub();
  startTimes.push(performance.now() - t0);
  const client = await mqtt.connectAsync(hub.mqttUrl, { clientId: `bench-${i}` });
  const t1 = performance.now();
  await client.publishAsync('sensors/bench/temperature', '21.5', { qos: 1 });
  await hub.waitForStored({ device: 'bench', sensor: 'temperature' });
  storedTimes.push(performance.now() - t1);
  await client.endAsync();
  await hub.stop();
}
process.stdout.write(
  `time to a started test hub:          median ${ms(median(startTimes))} (min ${ms(Math.min(...startTimes))}, max ${ms(Math.max(...startTimes))}, n=10)\n`,
);
process.stdout.write(
  `time to the first queryable reading: median ${ms(median(storedTimes))} (publish at QoS 1 to a count in InfluxDB, n=10)\n`,
);

{
  const hub = await startTestHub();
  for (const [devices, rate] of [
    [50, 20],
    [400, 300],
  ] as const) {
    const fleet = await simulateFleet({
      url: hub.mqttUrl,
      devices,
      rate,
      dropouts: false,
      prefix: `load${devices}`,
    });
    await new Promise((r) => setTimeout(r, 5000));
    await fleet.stop();
    const s = fleet.stats();
    await new Promise((r) => setTimeout(r, 500));
    const text = await hub.api.metrics();
    const counted = Number(/^hub_messages_total (\d+)/m.exec(text)?.[1] ?? 0);
    process.stdout.write(
      `fleet ${devices} devices × ${rate} Hz × 3 sensors for 5 s: asked ${s.askedRate}/s, achieved ${s.achievedRate}/s (${((100 * s.achievedRate) / s.askedRate).toFixed(0)} %), published ${s.published}, skipped ${s.skipped}, hub counted ${counted} in all so far\n`,
    );
  }
  await hub.stop();
}

{
  const dir = mkdtempSync(join(tmpdir(), 'bench-install-'));
  try {
    const { filename } = pack({ destination: dir });
    execFileSync('npm', ['init', '-y'], { cwd: dir, stdio: 'ignore' });
    const t0 = performance.now();
    execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(dir, filename)], {
      cwd: dir,
      stdio: 'ignore',
    });
    const took = performance.now() - t0;
    const kb = Number(
      execFileSync('du', ['-sk', join(dir, 'node_modules')], { encoding: 'utf8' }).split('\t')[0],
    );
    const count = execFileSync('npm', ['ls', '--all', '--parseable'], { cwd: dir, encoding: 'utf8' })
      .trim()
      .split('\n').length;
    process.stdout.write(
      `installed size: ${(kb / 1024).toFixed(1)} MB in node_modules, ${count - 1} packages, install ${ms(took)} (warm npm cache)\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
