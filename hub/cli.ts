#!/usr/bin/env node
import { join } from 'node:path';
import type { Command as CommandType } from 'commander';
import { ensureProcessFlags } from './config/launch.js';
import type { HubConfig, HubConfigInput } from './config/schema.js';
import type { HubHandle, StartOptions } from './hub.js';

// The commands that run a hub start themselves again with the hub's heap and allocator
// flags when they lack them (hub/config/launch.ts), however they were started. Everything
// else is imported after that, and the heavy modules (broker, storage, HTTP, fleet) by
// the commands, so the process that only waits for its child stays small.
let stopHere: (() => void) | undefined;
let parentGone = false;
if (process.argv[2] === 'start' || process.argv[2] === 'demo') {
  await ensureProcessFlags(() => {
    parentGone = true;
    stopHere?.();
  });
}

const { Command, InvalidArgumentError, Option } = await import('commander');
const { MQTT5_FORMATS, SIGNAL_KINDS, SIM_FORMAT_NAMES } = await import('./core/simulation.js');
const { CONFIG_FILE_VARIABLE, ConfigError, formatProblems, loadConfig } = await import('./config/load.js');
const { hubProcessFlags } = await import('./config/process.js');
const { brokerUrlOf, loadSimulateOptions, SIMULATE_DEFAULTS, SIMULATE_ENV_PREFIX } = await import(
  './config/simulate.js'
);
const { HubError } = await import('./core/errors.js');
const { redactUrl } = await import('./security/redact.js');

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a whole number >= 1`);
  return n;
};

function fail(err: unknown): never {
  if (err instanceof ConfigError) {
    const what =
      err.code === 'HUB_CONFIG_UNREADABLE' ? 'cannot read the configuration' : 'invalid configuration';
    process.stderr.write(`error ${err.code}: ${what}\n${formatProblems(err.problems, { terse: true })}\n`);
    process.exit(2);
  }
  if (err instanceof HubError) {
    process.stderr.write(`error ${err.code}: ${err.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`error: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
}

function attempt<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    fail(err);
  }
}

/** Stops cleanly on the first SIGINT/SIGTERM (flushing readings); a second one exits at once. */
function stopOnSignal(stop: () => Promise<void>): void {
  let stopping = 0;
  const handler = (sig: NodeJS.Signals) => {
    if (stopping) {
      // Ctrl-C reaches every process of the terminal's group, and npm and the launcher
      // pass it on as well: copies within a second are the same request.
      if (Date.now() - stopping < 1000) return;
      process.stderr.write(`${sig} again: exiting without waiting\n`);
      process.exit(130);
    }
    stopping = Date.now();
    stop().then(
      () => process.exit(0),
      (err) => fail(err),
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  stopHere = () => handler('SIGTERM');
  if (parentGone) stopHere();
}

interface Progress {
  published: number;
  acked?: number;
  errors: number;
  inDropout: number;
  skipped: number;
  askedRate: number;
  achievedRate: number;
  reached: boolean;
}

/**
 * simulate's progress: a JSON line, or a sentence for the person at the terminal. Each
 * says the achieved rate beside the asked one, and the last one says so when the asked
 * rate was not reached.
 */
function progressLine(json: boolean) {
  let last = { at: Date.now(), published: 0 };
  return (s: Progress, final = false): string => {
    if (json) return `${JSON.stringify(final ? { ...s, done: true } : s)}\n`;
    const now = Date.now();
    const rate = ((s.published - last.published) * 1000) / Math.max(1, now - last.at);
    last = { at: now, published: s.published };
    const parts = [
      `${final ? 'done: ' : ''}published ${s.published.toLocaleString('en-US')}`,
      `${(final ? s.achievedRate : rate).toFixed(1)}/s of ${s.askedRate}/s asked`,
      ...(s.acked === undefined ? [] : [`acked ${s.acked.toLocaleString('en-US')}`]),
      ...(s.skipped > 0 ? [`skipped ${s.skipped.toLocaleString('en-US')}`] : []),
      `errors ${s.errors}`,
      `silent devices ${s.inDropout}`,
    ];
    const warn =
      final && !s.reached
        ? `\ncannot reach the asked rate: ${s.achievedRate}/s of ${s.askedRate}/s; ${s.skipped.toLocaleString('en-US')} publishes were skipped because the connection could take no more (the broker or this machine is the limit: try more --connections, fewer devices or a lower rate)`
        : '';
    return `${parts.join(' · ')}${warn}\n`;
  };
}

function banner(hub: HubHandle): void {
  const managed = hub.config.influx.url
    ? ''
    : ` (managed; data, and this port for the next starts, in ${hub.config.influx.managed.dataDir})`;
  const mqtt = hub.mqttListeners.map((l) => l.url).join('\n             ') || hub.mqttUrl;
  // The try line works as printed: the plain TCP listener if there is one, a user when
  // anonymous clients are refused, the CA when only TLS listens.
  const ls = hub.mqttListeners;
  const l = ls.find((x) => x.protocol === 'mqtt') ?? ls.find((x) => x.protocol === 'mqtts');
  const host = l ? (l.host === '0.0.0.0' || l.host === '::' ? 'localhost' : l.host) : hub.config.mqtt.host;
  const port = l?.port ?? new URL(hub.mqttUrl).port;
  const tls = l?.protocol === 'mqtts' ? ` --cafile ${join(hub.config.dataDir, 'tls', 'ca.crt')}` : '';
  const user = hub.config.mqtt.allowAnonymous === false ? ' -u <user> -P <password>' : '';
  const tryLine = `mosquitto_pub -h ${host} -p ${port}${tls}${user} -t sensors/kitchen/temperature -m 21.5`;
  process.stderr.write(
    `sensor-hub ready\n  MQTT       ${mqtt}\n  dashboard  ${hub.httpUrl}/\n  InfluxDB   ${hub.influxUrl}${managed}, database "${hub.config.influx.database}"\n  try        ${tryLine}\n`,
  );
}

/**
 * `port: virtual` boards run the simulators' virtual Firmata board: the service has none
 * of its own, so the commands that run a hub pass it in, and load it only when a board asks.
 */
async function virtualBoards(config: HubConfig): Promise<StartOptions> {
  if (!config.boards.some((b) => b.port === 'virtual')) return {};
  const { openVirtualBoard } = await import('../simulators/firmata/for-config.js');
  return { boards: { openVirtual: openVirtualBoard } };
}

/** The demo's virtual board: modelled signals for most sensor kinds (simulators/firmata/for-config.ts). */
const DEMO_BOARD: NonNullable<HubConfigInput['boards']>[number] = {
  id: 'demo-board',
  port: 'virtual',
  sensors: [
    {
      id: 'soil',
      type: 'analog',
      pin: 'A0',
      metric: 'moisture',
      unit: '%',
      scale: [0, 100],
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
  .showHelpAfterError('(see sensor-hub --help)')
  // A usage error exits 2, as getopt-style tools do (and as a config error does here).
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

program
  .command('start')
  .description('run the hub (broker, pipeline, storage, HTTP)')
  .option(
    '-c, --config <file>',
    `YAML config file (default: the file named by ${CONFIG_FILE_VARIABLE}; HUB_* variables apply on top)`,
  )
  .action(async (o: { config?: string }) => {
    attempt(() => hubProcessFlags());
    const config = attempt(() =>
      loadConfig({ file: o.config, onWarning: (m) => process.stderr.write(`warning: ${m}\n`) }),
    );
    const { startHub } = await import('./hub.js');
    const hub = await startHub(config, await virtualBoards(config)).catch(fail);
    stopOnSignal(() => hub.stop());
    // As Mosquitto: SIGHUP reads the password file again; connections stay.
    process.on('SIGHUP', () => hub.reloadUsers());
    banner(hub);
  });

program
  .command('passwd')
  .description(
    'add, change (-b: password as argument) or delete (-D) a user of a password file (mqtt.passwordFile)',
  )
  .option('-c', 'create the file (overwrites an existing one)')
  .option('-b', 'batch: the password is the third argument')
  .option('-D', 'delete the user')
  .argument('<file>', 'password file')
  .argument('<user>', 'user name')
  .argument('[password]', 'the password, with -b')
  .action(
    async (
      file: string,
      user: string,
      password: string | undefined,
      o: { c?: boolean; b?: boolean; D?: boolean },
    ) => {
      const { passwd, PasswdError } = await import('./security/passwd-cli.js');
      try {
        const said = await passwd({ file, user, password, create: o.c, batch: o.b, delete: o.D });
        process.stderr.write(`${said}\n`);
      } catch (err) {
        if (!(err instanceof PasswdError)) fail(err);
        process.stderr.write(`error: ${err.message}\n`);
        process.exit(1);
      }
    },
  );

program
  .command('check-config')
  .description('validate a config file and print every problem with its path')
  .argument('<file>', 'YAML config file')
  .action(async (file: string) => {
    try {
      const c = loadConfig({ file, onWarning: (m) => process.stderr.write(`warning: ${m}\n`) });
      const { alertWarnings, configuredMetrics } = await import('./alerts/check.js');
      for (const w of alertWarnings(c.alerts.rules, configuredMetrics(c)))
        process.stderr.write(`warning: ${file}: ${w.path}: ${w.message}\n`);
      process.stdout.write(
        `ok: ${file} is valid (MQTT ${c.mqtt.host}:${c.mqtt.port}, HTTP ${c.http.host}:${c.http.port}, InfluxDB ${c.influx.url ?? 'managed'}, ${c.devices.length} devices, ${c.boards.length} boards)\n`,
      );
    } catch (err) {
      fail(err);
    }
  });

program
  .command('simulate')
  .description(
    `run a fleet of simulated MQTT sensors (each option also as ${SIMULATE_ENV_PREFIX}_<OPTION>, e.g. ${SIMULATE_ENV_PREFIX}_URL; options win)`,
  )
  .option('-n, --devices <n>', `number of devices (default: ${SIMULATE_DEFAULTS.devices})`)
  .option('-r, --rate <hz>', `publishes per device per second (default: ${SIMULATE_DEFAULTS.rate})`)
  .addOption(new Option('-f, --format <format>', 'payload format (default: plain)').choices(SIM_FORMAT_NAMES))
  .option('-s, --seed <n>', 'random seed (default: 1)')
  .option(
    '-u, --url <url>',
    "broker URL (default: the hub's, from its config and HUB_MQTT_HOST/HUB_MQTT_PORT: mqtt://127.0.0.1:1883)",
  )
  .option(
    '-c, --config <file>',
    `the hub's YAML config, for the broker's address and first user (default: the file named by ${CONFIG_FILE_VARIABLE})`,
  )
  .option('--username <name>', "MQTT user (default without --url: the hub config's first mqtt.users entry)")
  .option('--password <secret>', 'MQTT password')
  .addOption(new Option('-q, --qos <qos>', 'MQTT QoS (default: 0)').choices(['0', '1']))
  .option(
    '--sensors <list>',
    `comma-separated: ${SIGNAL_KINDS.join(',')} (default: temperature,humidity,pressure)`,
  )
  .option('--prefix <prefix>', 'device id prefix (default: sim)')
  .option('--no-dropouts', 'never go silent')
  .addOption(
    new Option(
      '-p, --protocol <version>',
      'MQTT protocol: 4 (3.1.1) or 5 (default: 4; 5 for user-properties)',
    ).choices(['4', '5']),
  )
  .option('--connections <n>', 'MQTT connections the devices share (default: one per device)')
  .option('-d, --duration <time>', 'stop after this long (e.g. 30s; default: until Ctrl-C)')
  .option('--json', 'progress as JSON lines (the default when stderr is not a terminal)')
  .action(async (_o: unknown, cmd: CommandType) => {
    // Only what was typed: a commander default would hide the HUB_SIM_* variable under it.
    const { config: configFile, ...given } = Object.fromEntries(
      Object.entries(cmd.opts()).filter(([key]) => cmd.getOptionValueSource(key) === 'cli'),
    ) as Record<string, unknown> & { config?: string };
    const o = attempt(() => {
      try {
        return loadSimulateOptions(given);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        for (const p of err.problems) process.stderr.write(`error: ${p.origin ?? p.path}: ${p.message}\n`);
        process.stderr.write(`(see sensor-hub simulate --help)\n`);
        process.exit(2);
      }
    });
    // Without --url, the hub this machine runs: its config file and HUB_MQTT_* variables.
    // Its users too: another broker given by --url has its own.
    const hubConfig = o.url === undefined ? attempt(() => loadConfig({ file: configFile })) : undefined;
    const url = o.url ?? brokerUrlOf(hubConfig!.mqtt);
    const user =
      o.username !== undefined
        ? { username: o.username, password: o.password ?? '' }
        : hubConfig?.mqtt.users[0];
    const { simulateFleet, FleetConnectError } = await import('../simulators/fleet.js');
    const fleet = await simulateFleet({
      url,
      devices: o.devices,
      rate: o.rate,
      format: o.format,
      seed: o.seed,
      qos: o.qos,
      sensors: o.sensors,
      prefix: o.prefix,
      dropouts: o.dropouts,
      ...(o.protocol ? { protocol: o.protocol } : {}),
      ...(o.connections ? { connections: o.connections } : {}),
      ...(user ? { username: user.username, password: user.password } : {}),
    }).catch((err: unknown) => {
      if (!(err instanceof FleetConnectError)) return fail(err);
      process.stderr.write(
        `error: ${err.message}; is the hub running? Start it with "sensor-hub start", or pass --url\n`,
      );
      process.exit(1);
    });
    process.stderr.write(
      `simulating ${o.devices} devices at ${o.rate} Hz (${o.format}, QoS ${o.qos}${o.protocol === 5 || (o.protocol === undefined && MQTT5_FORMATS.includes(o.format)) ? ', MQTT 5' : ''}) into ${redactUrl(url)}\n`,
    );
    const json = o.json || !process.stderr.isTTY;
    const progress = progressLine(json);
    const report = setInterval(() => process.stderr.write(progress(fleet.stats())), 5000);
    const stop = async () => {
      clearInterval(report);
      await fleet.stop();
      process.stderr.write(progress(fleet.stats(), true));
    };
    stopOnSignal(stop);
    if (o.duration !== undefined) setTimeout(() => stop().then(() => process.exit(0)), o.duration);
  });

program
  .command('boards')
  .description('list serial ports that may be Arduino boards (what `port: auto` picks from)')
  .option('--json', 'print JSON')
  .action(async (o: { json?: boolean }) => {
    const { listPorts } = await import('./boards/ports.js');
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
  .option('-c, --config <file>', `YAML config file (default: the file named by ${CONFIG_FILE_VARIABLE})`)
  .option('-n, --devices <n>', 'simulated devices', int('devices'), 6)
  .action(async (o: { config?: string; devices: number }) => {
    // One virtual board (port: virtual) with a sensor of most kinds, unless the config declares boards.
    attempt(() => hubProcessFlags());
    const config = attempt(() => loadConfig({ file: o.config, defaults: { boards: [DEMO_BOARD] } }));
    const [{ startHub }, { simulateFleet }] = await Promise.all([
      import('./hub.js'),
      import('../simulators/fleet.js'),
    ]);
    const hub = await startHub(config, await virtualBoards(config)).catch(fail);
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

for (const c of program.commands) c.showHelpAfterError(`(see sensor-hub ${c.name()} --help)`);

await program.parseAsync(process.argv);
