#!/usr/bin/env node
// Installs the Debian packages the hub and its tests use, when they are missing.
// As root on Debian it runs apt-get; anywhere else it names what to install and exits 1.
// Usage: node scripts/setup-system.mjs [--for start|test|all]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** package -> a file it installs (how we tell it is there) and what needs it. */
const PACKAGES = [
  { pkg: 'influxdb', file: '/usr/bin/influxd', for: ['start', 'test'], why: 'the managed InfluxDB' },
  {
    pkg: 'mosquitto-clients',
    file: '/usr/bin/mosquitto_pub',
    for: ['test'],
    why: 'third-party MQTT clients in tests',
  },
  {
    pkg: 'mosquitto',
    file: '/usr/sbin/mosquitto',
    for: ['test'],
    why: 'the forwarding baseline of the benchmark',
  },
  {
    pkg: 'chromium',
    file: '/usr/bin/chromium',
    for: ['test'],
    why: 'browser tests and benchmark of the dashboard (driven by playwright-core)',
  },
  // Boards: the tests compile simulators/avr/*.c against simavr's static libraries.
  {
    pkg: 'libsimavr-dev',
    file: '/usr/include/simavr/sim_avr.h',
    for: ['test'],
    why: 'the AVR emulator that runs StandardFirmata in tests',
  },
  { pkg: 'gcc', file: '/usr/bin/gcc', for: ['test'], why: 'compiling the AVR emulator harness' },
];

const arg = process.argv.indexOf('--for');
const purpose = arg > 0 ? process.argv[arg + 1] : 'all';

// A hub pointed at an existing InfluxDB does not need influxd.
const skipInflux = purpose === 'start' && !!process.env.HUB_INFLUX_URL;
const onPath = (bin) => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;
const missing = PACKAGES.filter(
  (p) =>
    (purpose === 'all' || p.for.includes(purpose)) &&
    !(skipInflux && p.pkg === 'influxdb') &&
    !existsSync(p.file) &&
    !(p.pkg === 'influxdb' && onPath('influxd')),
);
if (missing.length === 0) process.exit(0);

const names = missing.map((p) => p.pkg);
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const isDebian = existsSync('/etc/debian_version') && onPath('apt-get');
if (!isRoot || !isDebian) {
  process.stderr.write(
    `sensor-hub needs these system packages: ${missing.map((p) => `${p.pkg} (${p.why})`).join(', ')}.\n` +
      (isDebian
        ? `Install them with: sudo apt-get install -y ${names.join(' ')}\n`
        : 'Install them with your system package manager.\n'),
  );
  process.exit(1);
}

process.stderr.write(`installing Debian packages: ${names.join(' ')}\n`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
const install = () =>
  spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...names], { stdio: 'inherit', env })
    .status;
if (install() !== 0) {
  // A fresh machine has no package lists yet.
  spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
  if (install() !== 0) {
    process.stderr.write(`apt-get could not install: ${names.join(' ')}\n`);
    process.exit(1);
  }
}
