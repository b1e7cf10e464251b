#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import { simulateFleet } from '../simulators/fleet.js';
import { SIM_FORMAT_NAMES, type SimFormat } from '../simulators/formats.js';
import { SIGNAL_KINDS, type SignalKind } from '../simulators/signals.js';
import { listPorts } from './boards/ports.js';
import { ConfigError, formatProblems, loadConfig } from './config/load.js';
import type { HubConfig } from './config/schema.js';
import { parseDuration } from './core/duration.js';
import { HubError } from './errors.js';
import { type HubHandle, startHub } from './hub.js';

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a whole number >= 1`);
  return n;
};
const positive = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a number > 0`);
  return n;
};
const durationArg = (v: string) => {
  const ms = parseDuration(v);
  if (ms === undefined) throw new InvalidArgumentError('expected a duration such as 30s or 5m');
  return ms;
};

function fail(err: unknown): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`error ${err.code}: invalid configuration\n${formatProblems(err.problems)}\n`);
    process.exit(2);
  }
  if (err instanceof HubError) {
    process.stderr.write(`error ${err.code}: ${err.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`error: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
}

function load(file: string | undefined): HubConfig {
  try {
    return loadConfig(file ? { file } : {});
  } catch (err) {
    fail(err);
  }
}

/** Stops cleanly on the first SIGINT/SIGTERM (flushing readings); a second one exits at once. */
function stopOnSignal(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (sig: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`${sig} again: exiting without waiting\n`);
      process.exit(130);
    }
    stopping = true;
    stop().then(
      () => process.exit(0),
      (err) => fail(err),
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

function banner(hub: HubHandle): void {
  const managed = hub.config.influx.url ? '' : ` (managed, data in ${hub.config.influx.managed.dataDir})`;
  process.stderr.write(
    `sensor-hub ready\n  MQTT       ${hub.mqttUrl}\n  dashboard  ${hub.httpUrl}/\n  InfluxDB   ${hub.influxUrl}${managed}, database "${hub.config.influx.database}"\n  try        mosquitto_pub -h ${hub.config.mqtt.host} -p ${new URL(hub.mqttUrl).port} -t sensors/kitchen/temperature -m 21.5\n`,
  );
}

/** The demo's virtual board: modelled signals for most sensor kinds (simulators/firmata/for-config.ts). */
const DEMO_BOARD = {
  id: 'demo-board',
  port: 'virtual',
  sensors: [
    {
      id: 'soil',
      type: 'analog',
      pin: 'A0',
      metric: 'moisture',
      unit: '%',
      scale: [0, 100] as [number, number],
      every: '2s',
    },
    {
      id: 'probe',
      type: 'thermometer',
      controller: 'TMP36',
      pin: 'A1',
      every: '2s',
      deadband: 0.2,
      heartbeat: '30s',
    },
    { id: 'air', type: 'multi', controller: 'BME280', every: '5s' },
    { id: 'window', type: 'light', pin: 'A2', every: '5s' },
    { id: 'hall', type: 'motion', pin: 'D2' },
    { id: 'bell', type: 'button', pin: 'D3' },
  ],
};

const program = new Command()
  .name('sensor-hub')
  .description(
    'IoT sensor hub: MQTT broker, Arduino boards, normalizing pipeline, InfluxDB storage, dashboard',
  )
  .showHelpAfterError();

program
  .command('start')
  .description('run the hub (broker, pipeline, storage, HTTP)')
  .option(
    '-c, --config <file>',
    'YAML config file (HUB_* environment variables apply on top)',
    process.env.HUB_CONFIG,
  )
  .action(async (o: { config?: string }) => {
    const config = load(o.config);
    const hub = await startHub(config).catch(fail);
    stopOnSignal(() => hub.stop());
    banner(hub);
  });

program
  .command('check-config')
  .description('validate a config file and print every problem with its path')
  .argument('<file>', 'YAML config file')
  .action((file: string) => {
    try {
      const c = loadConfig({ file });
      process.stdout.write(
        `ok: ${file} is valid (MQTT ${c.mqtt.host}:${c.mqtt.port}, HTTP ${c.http.host}:${c.http.port}, InfluxDB ${c.influx.url ?? 'managed'}, ${c.devices.length} devices, ${c.boards.length} boards)\n`,
      );
    } catch (err) {
      fail(err);
    }
  });

program
  .command('simulate')
  .description('run a fleet of simulated MQTT sensors')
  .requiredOption('-n, --devices <n>', 'number of devices', int('devices'))
  .requiredOption('-r, --rate <hz>', 'publishes per device per second', positive('rate'))
  .addOption(new Option('-f, --format <format>', 'payload format').choices(SIM_FORMAT_NAMES).default('plain'))
  .option('-s, --seed <n>', 'random seed', int('seed'), 1)
  .option('-u, --url <url>', 'broker URL', process.env.HUB_SIM_URL ?? 'mqtt://127.0.0.1:1883')
  .addOption(new Option('-q, --qos <qos>', 'MQTT QoS').choices(['0', '1']).default('0'))
  .option('--sensors <list>', `comma-separated: ${SIGNAL_KINDS.join(',')}`, 'temperature,humidity,pressure')
  .option('--prefix <prefix>', 'device id prefix', 'sim')
  .option('--no-dropouts', 'never go silent')
  .option('-d, --duration <time>', 'stop after this long (e.g. 30s)', durationArg)
  .action(
    async (o: {
      devices: number;
      rate: number;
      format: SimFormat;
      seed: number;
      url: string;
      qos: string;
      sensors: string;
      prefix: string;
      dropouts: boolean;
      duration?: number;
    }) => {
      const sensors = o.sensors.split(',').map((s) => s.trim()) as SignalKind[];
      const unknown = sensors.filter((s) => !SIGNAL_KINDS.includes(s));
      if (unknown.length > 0)
        fail(new Error(`unknown sensors: ${unknown.join(', ')} (known: ${SIGNAL_KINDS.join(', ')})`));
      const fleet = await simulateFleet({
        url: o.url,
        devices: o.devices,
        rate: o.rate,
        format: o.format,
        seed: o.seed,
        qos: o.qos === '1' ? 1 : 0,
        sensors,
        prefix: o.prefix,
        dropouts: o.dropouts,
      }).catch(fail);
      process.stderr.write(`simulating ${o.devices} devices at ${o.rate} Hz (${o.format}) into ${o.url}\n`);
      const report = setInterval(() => process.stderr.write(`${JSON.stringify(fleet.stats())}\n`), 5000);
      const stop = async () => {
        clearInterval(report);
        await fleet.stop();
        process.stderr.write(`${JSON.stringify(fleet.stats())}\n`);
      };
      stopOnSignal(stop);
      if (o.duration !== undefined) setTimeout(() => stop().then(() => process.exit(0)), o.duration);
    },
  );

program
  .command('boards')
  .description('list serial ports that may be Arduino boards (what `port: auto` picks from)')
  .option('--json', 'print JSON')
  .action(async (o: { json?: boolean }) => {
    const ports = await listPorts().catch(fail);
    if (o.json) {
      process.stdout.write(`${JSON.stringify(ports, null, 2)}\n`);
      return;
    }
    if (ports.length === 0) process.stdout.write('no serial ports found\n');
    for (const p of ports) {
      const id = p.vendorId ? ` ${p.vendorId}:${p.productId ?? '?'}` : '';
      const maker = p.manufacturer ? ` ${p.manufacturer}` : '';
      const why = p.arduinoLike ? `  <- Arduino-like (${p.arduinoLike})` : '';
      process.stdout.write(`${p.path}${id}${maker}${why}\n`);
    }
    const first = ports.find((p) => p.arduinoLike);
    process.stdout.write(
      first ? `port: auto picks ${first.path}\n` : 'port: auto finds no Arduino-like port\n',
    );
  });

program
  .command('demo')
  .description('hub + simulated fleet, with the dashboard on its URL')
  .option('-c, --config <file>', 'YAML config file', process.env.HUB_CONFIG)
  .option('-n, --devices <n>', 'simulated devices', int('devices'), 6)
  .action(async (o: { config?: string; devices: number }) => {
    const config = load(o.config);
    // One virtual board (port: virtual) with a sensor of most kinds, unless the config declares boards.
    const hub = await startHub(config.boards.length > 0 ? config : { ...config, boards: [DEMO_BOARD] }).catch(
      fail,
    );
    const fleet = await simulateFleet({
      url: hub.mqttUrl,
      devices: o.devices,
      rate: 1,
      format: 'multi',
      prefix: 'demo',
      sensors: ['temperature', 'humidity', 'pressure', 'illuminance'],
      ...(config.mqtt.users[0]
        ? { username: config.mqtt.users[0].username, password: config.mqtt.users[0].password }
        : {}),
    }).catch(fail);
    stopOnSignal(async () => {
      await fleet.stop();
      await hub.stop();
    });
    banner(hub);
    process.stderr.write(
      `  demo       ${o.devices} simulated devices at 1 Hz and virtual board${hub.config.boards.length > 1 ? 's' : ''} ${hub.boards
        .status()
        .map((b) => b.id)
        .join(', ')}; open ${hub.httpUrl}/ in a browser\n`,
    );
  });

await program.parseAsync(process.argv);
