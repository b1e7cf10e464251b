import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { relative, resolve } from 'node:path';
import type { Logger } from 'pino';
import { HubError } from '../core/errors.js';
import { freePort, portIsFree } from '../core/net.js';
import { InfluxHttp } from './influx-http.js';
import { WATCHDOG_SOURCE } from './watchdog.js';

export interface ManagedInfluxdOptions {
  binary: string;
  dataDir: string;
  /** 0: the port remembered in the data folder, else a free one (then remembered). */
  port: number;
  log: Logger;
  startTimeoutMs?: number;
  /** InfluxDB's [http] max-body-size; larger writes get 413 (tests of batch splitting lower it). */
  maxBodySize?: number;
  /** InfluxDB's [http] auth-enabled (tests of refused writes turn it on). */
  authEnabled?: boolean;
  /** Start it again when it exits on its own (default true). */
  restart?: boolean;
  /** Called after each restart, once it answers /ping. */
  onRestart?: () => void;
  /**
   * A folder under the system's temporary folder that the watchdog removes when this
   * process dies without stopping influxd (a test hub's own folder).
   */
  removeOnOrphan?: string;
}

export interface ManagedInfluxd {
  url: string;
  /** The current process (a new one after each restart). */
  readonly pid: number;
  /** Times it was started again after exiting on its own. */
  readonly restarts: number;
  /** False from an unexpected exit until the restart answers. */
  readonly running: boolean;
  /** How the last process that exited on its own ended. */
  readonly lastExit: { code: number | null; signal: string | null; at: number } | undefined;
  stop(): Promise<void>;
}

/** Wait before the first restart; doubles per failed start, up to RESTART_MAX_MS. */
const RESTART_MIN_MS = 500;
const RESTART_MAX_MS = 30_000;
/** A process up this long counts as healthy: the next crash restarts it after RESTART_MIN_MS again. */
const STABLE_MS = 60_000;

/** The managed influxd's HTTP port, kept in its data folder from the first start on. */
export const PORT_FILE = 'influxd.port';

/**
 * The port this data folder's influxd had before, so Grafana's data source and other
 * tools keep working across restarts; on the first start a free port, written down.
 * When something else holds the remembered port, a new one is taken (and remembered)
 * and the change is logged as a warning naming both.
 */
async function rememberedPort(file: string, log: Logger): Promise<number> {
  let before: number | undefined;
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    if (Number.isInteger(n) && n > 0 && n < 65536) before = n;
  } catch {
    // first start on this folder
  }
  if (before !== undefined && (await portIsFree(before))) return before;
  const port = await freePort();
  if (before !== undefined)
    log.warn(
      { was: before, now: port, file },
      "the managed influxd's port is taken by another process; it moves to a new one",
    );
  writeFileSync(file, `${port}\n`);
  return port;
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

function configText(
  dir: string,
  httpPort: number,
  rpcPort: number,
  maxBodySize = 25_000_000,
  authEnabled = false,
): string {
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
  auth-enabled = ${authEnabled}
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

interface Child {
  /** The watchdog (watchdog.ts); influxd is its child. */
  proc: ChildProcess;
  /** influxd's own pid. */
  pid: number;
  exited: Promise<void>;
  isExited(): boolean;
  killAll(signal: NodeJS.Signals): void;
}

/**
 * Starts influxd as a child process with its own config and data folder, on a free
 * port, and starts it again (same port, same data) with backoff when it exits on its own.
 */
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

  const httpPort = opts.port || (await rememberedPort(resolve(dir, PORT_FILE), log));
  const rpcPort = await freePort();
  writeFileSync(confPath, configText(dir, httpPort, rpcPort, opts.maxBodySize, opts.authEnabled));

  // INFLUXDB_* variables would override the config file: leave them out. NODE_OPTIONS
  // (a test runner's loaders) would only slow the watchdog's start.
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('INFLUXDB_') && k !== 'NODE_OPTIONS'),
  );
  if (opts.removeOnOrphan) {
    const rel = relative(tmpdir(), resolve(opts.removeOnOrphan));
    // Only ever a folder inside the temporary folder: never the user's data.
    if (!rel || rel.startsWith('..') || resolve(rel) === rel)
      throw new HubError(
        'HUB_INFLUXD_FAILED',
        `removeOnOrphan must be inside ${tmpdir()}: ${opts.removeOnOrphan}`,
      );
    env.SENSOR_HUB_REMOVE_ON_ORPHAN = resolve(opts.removeOnOrphan);
  }
  const logStream = createWriteStream(resolve(dir, 'influxd.log'), { flags: 'a' });
  logStream.on('error', (err) => log.warn({ err: err.message }, 'cannot write influxd.log'));
  const url = `http://127.0.0.1:${httpPort}`;
  const http = new InfluxHttp({ url, database: '_internal' });

  let stopped = false;
  let restarts = 0;
  let running = false;
  let lastExit: ManagedInfluxd['lastExit'];
  let failedStarts = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  let current: (Child & { startedAt: number }) | undefined;

  /** One influxd process, until it answers /ping (rejects, killed, if it does not). */
  const spawnOnce = async (): Promise<Child> => {
    // Its own process group: a Ctrl-C in the terminal goes to the hub only, which then
    // writes what it holds and stops influxd itself (otherwise influxd would die first
    // and the final flush would have nowhere to go). The watchdog's stdin is the pipe
    // whose end tells it the hub is gone.
    const proc: ChildProcess = spawn(
      process.execPath,
      ['-e', WATCHDOG_SOURCE, '--', opts.binary, '-config', confPath],
      // Named in ps and /proc/<pid>/cmdline for what it is, not as another node process.
      { env, stdio: ['pipe', 'pipe', 'pipe', 'pipe'], detached: true, argv0: 'sensor-hub-influxd-watchdog' },
    );
    proc.stdin?.on('error', () => undefined);
    const pidLine = new Promise<number>((resolvePid) => {
      let text = '';
      const fd3 = proc.stdio[3] as NodeJS.ReadableStream | null;
      fd3?.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes('\n')) resolvePid(Number(text.trim()));
      });
      fd3?.on('end', () => resolvePid(0));
      fd3?.on('error', () => resolvePid(0));
    });
    /** The watchdog and influxd together (both in the watchdog's process group). */
    const killAll = (signal: NodeJS.Signals) => {
      try {
        if (proc.pid) process.kill(-proc.pid, signal);
      } catch {
        // already gone
      }
    };
    let tail = '';
    const keepTail = (chunk: Buffer) => {
      tail = (tail + chunk.toString()).slice(-2000);
      // A process being killed after stop() may still print.
      if (!logStream.writableEnded) logStream.write(chunk);
    };
    proc.stdout?.on('data', keepTail);
    proc.stderr?.on('data', keepTail);
    let exited = false;
    const exitedP = new Promise<void>((r) =>
      proc.once('exit', (code, signal) => {
        exited = true;
        log.info({ code, signal, pid: proc.pid }, 'influxd exited');
        if (current?.proc === proc) onExit(code, signal);
        r();
      }),
    );
    const spawnError = new Promise<never>((_, reject) =>
      proc.once('error', (err) =>
        reject(new HubError('HUB_INFLUXD_FAILED', `cannot run ${opts.binary}: ${err.message}`)),
      ),
    );
    spawnError.catch(() => undefined);
    const pid = await pidLine;
    if (pid > 0) writeFileSync(pidFile, String(pid));
    const ready = (async () => {
      const deadline = Date.now() + (opts.startTimeoutMs ?? 30_000);
      while (Date.now() < deadline && !exited && !stopped) {
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
      if (!exited) killAll('SIGKILL');
      // Nothing of a failed start outlives it (a spawn that failed has no exit to wait for).
      if (proc.pid) await exitedP;
      throw err;
    }
    return { proc, pid, exited: exitedP, isExited: () => exited, killAll };
  };

  const onExit = (code: number | null, signal: string | null) => {
    running = false;
    if (stopped || opts.restart === false) return;
    const upFor = current ? Date.now() - current.startedAt : 0;
    if (upFor >= STABLE_MS) failedStarts = 0;
    lastExit = { code, signal, at: Date.now() };
    scheduleRestart();
  };

  const scheduleRestart = () => {
    const delay = Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** failedStarts);
    log.warn({ lastExit, inMs: delay, restarts }, 'influxd exited on its own; restarting');
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (stopped) return;
      spawnOnce().then(
        (child) => {
          if (stopped) {
            child.proc.kill('SIGTERM');
            return;
          }
          current = { ...child, startedAt: Date.now() };
          running = true;
          restarts++;
          log.info({ pid: child.pid, restarts }, 'influxd restarted');
          opts.onRestart?.();
        },
        (err: unknown) => {
          failedStarts++;
          log.error({ err: (err as Error).message }, 'influxd restart failed');
          if (!stopped) scheduleRestart();
        },
      );
    }, delay);
    restartTimer.unref();
  };

  let first: Child;
  try {
    first = await spawnOnce();
  } catch (err) {
    logStream.end();
    throw err;
  }
  current = { ...first, startedAt: Date.now() };
  running = true;
  log.info({ url, pid: first.pid, dataDir: dir }, 'influxd started');

  return {
    url,
    get pid() {
      return current?.pid ?? 0;
    },
    get restarts() {
      return restarts;
    },
    get running() {
      return running;
    },
    get lastExit() {
      return lastExit;
    },
    async stop() {
      stopped = true;
      if (restartTimer) clearTimeout(restartTimer);
      restartTimer = undefined;
      const c = current;
      if (c && !c.isExited()) {
        c.proc.kill('SIGTERM');
        const timer = setTimeout(() => !c.isExited() && c.killAll('SIGKILL'), 10_000);
        await c.exited;
        clearTimeout(timer);
      }
      rmSync(pidFile, { force: true });
      logStream.end();
    },
  };
}
