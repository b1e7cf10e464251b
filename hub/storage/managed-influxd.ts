import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { freePort } from '../core/net.js';
import { HubError } from '../errors.js';
import { InfluxHttp } from './influx-http.js';

export interface ManagedInfluxdOptions {
  binary: string;
  dataDir: string;
  /** 0 picks a free port. */
  port: number;
  log: Logger;
  startTimeoutMs?: number;
  /** InfluxDB's [http] max-body-size; larger writes get 413 (tests of batch splitting lower it). */
  maxBodySize?: number;
}

export interface ManagedInfluxd {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

function which(binary: string): boolean {
  if (binary.includes('/')) return existsSync(binary);
  return spawnSync('sh', ['-c', `command -v ${JSON.stringify(binary)}`]).status === 0;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A previous hub that died without stopping its influxd leaves it running on the
 * same data folder; only a process whose command line names our own config file
 * is stopped.
 */
async function stopStale(pidFile: string, confPath: string, log: Logger): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  rmSync(pidFile, { force: true });
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return;
  }
  if (!cmdline.includes(confPath)) return;
  log.warn({ pid }, 'stopping influxd left over from an earlier run');
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 50));
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
}

function configText(dir: string, httpPort: number, rpcPort: number, maxBodySize = 25_000_000): string {
  // reporting-enabled is the 1.6 name; the backup/RPC service binds 127.0.0.1:8088
  // unless bind-address is set, which would clash between two hubs.
  return `reporting-enabled = false
bind-address = "127.0.0.1:${rpcPort}"

[meta]
  dir = "${dir}/meta"
  logging-enabled = false

[data]
  dir = "${dir}/data"
  wal-dir = "${dir}/wal"
  query-log-enabled = false
  trace-logging-enabled = false

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:${httpPort}"
  auth-enabled = false
  log-enabled = false
  pprof-enabled = false
  max-body-size = ${maxBodySize}

[logging]
  level = "warn"
  suppress-logo = true

[subscriber]
  enabled = false

[continuous_queries]
  log-enabled = false
`;
}

/** Starts influxd as a child process with its own config and data folder, on a free port. */
export async function startManagedInfluxd(opts: ManagedInfluxdOptions): Promise<ManagedInfluxd> {
  const { log } = opts;
  if (!which(opts.binary)) {
    throw new HubError(
      'HUB_INFLUXD_MISSING',
      `"${opts.binary}" was not found. Install the Debian package "influxdb" (apt-get install influxdb; ` +
        '"npm run setup" does it when run as root), or set influx.url / HUB_INFLUX_URL to an existing server.',
    );
  }
  const dir = resolve(opts.dataDir);
  mkdirSync(dir, { recursive: true });
  const confPath = resolve(dir, 'influxd.conf');
  const pidFile = resolve(dir, 'influxd.pid');
  await stopStale(pidFile, confPath, log);

  const httpPort = opts.port || (await freePort());
  const rpcPort = await freePort();
  writeFileSync(confPath, configText(dir, httpPort, rpcPort, opts.maxBodySize));

  // INFLUXDB_* variables would override the config file: leave them out.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('INFLUXDB_')));
  const logStream = createWriteStream(resolve(dir, 'influxd.log'), { flags: 'a' });
  // Its own process group: a Ctrl-C in the terminal goes to the hub only, which then
  // writes what it holds and stops influxd itself (otherwise influxd would die first
  // and the final flush would have nowhere to go).
  const child: ChildProcess = spawn(opts.binary, ['-config', confPath], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let tail = '';
  const keepTail = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-2000);
    logStream.write(chunk);
  };
  child.stdout?.on('data', keepTail);
  child.stderr?.on('data', keepTail);
  let exited = false;
  const exitedP = new Promise<void>((r) =>
    child.once('exit', (code, signal) => {
      exited = true;
      log.info({ code, signal }, 'influxd exited');
      r();
    }),
  );
  const spawnError = new Promise<never>((_, reject) =>
    child.once('error', (err) =>
      reject(new HubError('HUB_INFLUXD_FAILED', `cannot run ${opts.binary}: ${err.message}`)),
    ),
  );
  if (child.pid) writeFileSync(pidFile, String(child.pid));

  const url = `http://127.0.0.1:${httpPort}`;
  const http = new InfluxHttp({ url, database: '_internal' });
  const ready = (async () => {
    const deadline = Date.now() + (opts.startTimeoutMs ?? 30_000);
    while (Date.now() < deadline && !exited) {
      if (await http.ping(500)) return;
      await new Promise((r) => setTimeout(r, 30));
    }
    throw new HubError(
      'HUB_INFLUXD_FAILED',
      `influxd ${exited ? 'exited' : 'did not answer'} during start (log: ${resolve(dir, 'influxd.log')}): ${tail.trim().split('\n').slice(-3).join(' | ')}`,
    );
  })();
  try {
    await Promise.race([ready, spawnError]);
  } catch (err) {
    if (!exited) child.kill('SIGKILL');
    logStream.end();
    throw err;
  }
  log.info({ url, pid: child.pid, dataDir: dir }, 'influxd started');

  return {
    url,
    pid: child.pid ?? 0,
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => !exited && child.kill('SIGKILL'), 10_000);
        await exitedP;
        clearTimeout(timer);
      }
      rmSync(pidFile, { force: true });
      logStream.end();
    },
  };
}
