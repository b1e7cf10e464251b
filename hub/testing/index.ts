/**
 * `sensor-hub/testing`: a hub fit for a test suite (free ports, a temporary data folder,
 * silent logs, the dashboard off) with handles to drive and check it. docs/testing.md.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Level, type Logger, pino } from 'pino';
import { virtualBoardFor, virtualBoardOpener } from '../../simulators/firmata/for-config.js';
import type { VirtualFirmataBoard } from '../../simulators/firmata/virtual-board.js';
import { ConfigError, type Env, loadConfig } from '../config/load.js';
import type { HubConfig, HubConfigInput } from '../config/schema.js';
import type { QuarantineEntry } from '../core/quarantine-entry.js';
import type { Reading } from '../core/reading.js';
import { type HubHandle, type StartOptions, startHub } from '../hub.js';
import { HubApiClient } from './api-client.js';
import { storedCount } from './stored.js';
import { ReadingLog, type ReadingMatch, type WaitOptions, WaitTimeoutError } from './waits.js';

export { type HistoryAnswer, type HistoryParams, HubApiClient, HubApiError } from './api-client.js';
export { type ReadingMatch, type WaitOptions, WaitTimeoutError } from './waits.js';

export interface TestHubOptions {
  /** Settings over the test defaults, in the shape of the YAML file. */
  config?: HubConfigInput;
  /**
   * relaxed (default): the spool does not wait for fsync and batches are written every
   * 20 ms, fast and enough for a test (a crash of the test machine loses what a test
   * wrote anyway). strict: the hub's own defaults, for tests of durability itself.
   */
  durability?: 'relaxed' | 'strict';
  /** A pino level (default: HUB_TEST_LOG, else silent) or a logger of your own. */
  log?: Level | 'silent' | Logger;
  /** Serve the web dashboard at / (default false). */
  dashboard?: boolean;
  /**
   * Virtual boards the test drives, by board id (boards with `port: virtual` in config):
   * a board of your own, or `'controlled'` for one wired as configured whose values stay
   * what the test sets (get it with `board(id)`). Other virtual boards run modelled signals.
   */
  boards?: Readonly<Record<string, VirtualFirmataBoard | 'controlled'>>;
  /** HUB_* variables to apply (default: none; the test's environment is not read). */
  env?: Env;
  /** Leave the temporary data folder in place after stop() (to look at it). */
  keepData?: boolean;
  /** More startHub options (modules, HTTP plugins, boards.retryMs). */
  start?: Omit<StartOptions, 'logger'>;
}

export interface TestHub {
  readonly hub: HubHandle;
  readonly config: HubConfig;
  /** mqtt://127.0.0.1:<port> */
  readonly mqttUrl: string;
  /** http://127.0.0.1:<port> */
  readonly httpUrl: string;
  readonly influxUrl: string;
  readonly database: string;
  /** The temporary folder (removed by stop()). */
  readonly dataDir: string;
  /** The HTTP API, typed. */
  readonly api: HubApiClient;
  /** Resolves with the first reading that matches (seen since start, or fresh); rejects with WaitTimeoutError. */
  waitForReading(match?: ReadingMatch, opts?: WaitOptions): Promise<Reading>;
  /** Resolves with the first `count` matching readings. */
  waitForReadings(match: ReadingMatch, count: number, opts?: WaitOptions): Promise<Reading[]>;
  /**
   * Resolves once InfluxDB answers a query with at least `count` points of the sensor:
   * stored and queryable. Returns the count.
   */
  waitForStored(
    match: { device: string; sensor?: string; metric?: string },
    opts?: { count?: number; timeoutMs?: number },
  ): Promise<number>;
  /** Readings seen so far (the last 10,000). */
  readings(match?: ReadingMatch): Reading[];
  /** The virtual board of a board id given in `boards`; throws for any other id. */
  board(id: string): VirtualFirmataBoard;
  /** Quarantine entries seen so far. */
  quarantined(): QuarantineEntry[];
  /** Writes what the hub holds and waits until InfluxDB confirmed it; throws when it could not. */
  flush(timeoutMs?: number): Promise<void>;
  /** Stops the hub and its influxd and removes the temporary folder. Safe to call twice. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Prefix of the temporary folders; a folder has the pid of the process that made it in `owner.pid`. */
export const TEST_DIR_PREFIX = 'sensor-hub-test-';

/**
 * Starts a hub for a test. Every failure is a HubError (ConfigError for bad settings),
 * and a failed start leaves nothing behind: no process, timer, socket or folder.
 */
export async function startTestHub(opts: TestHubOptions = {}): Promise<TestHub> {
  const dataDir = mkdtempSync(join(tmpdir(), TEST_DIR_PREFIX));
  writeFileSync(join(dataDir, 'owner.pid'), `${process.pid}\n`);
  const remove = () => {
    if (!opts.keepData) rmSync(dataDir, { recursive: true, force: true });
  };
  let hub: HubHandle;
  const controlled = new Map<string, VirtualFirmataBoard>();
  try {
    const relaxed = (opts.durability ?? 'relaxed') === 'relaxed';
    const config = loadConfig({
      env: opts.env ?? {},
      defaults: {
        mqtt: { host: '127.0.0.1', port: 0 },
        http: { host: '127.0.0.1', port: 0 },
        influx: {
          managed: { dataDir: join(dataDir, 'influxdb') },
          ...(relaxed ? { flushInterval: 20, maxRetryDelay: 1000 } : {}),
        },
        ...(relaxed ? { spool: { fsync: false } } : {}),
        dashboard: { enabled: opts.dashboard ?? false },
        dataDir,
      },
      ...(opts.config ? { overrides: opts.config } : {}),
    });
    const logger =
      typeof opts.log === 'object'
        ? opts.log
        : pino({ level: opts.log ?? process.env.HUB_TEST_LOG ?? 'silent' });
    const { boards: boardOpts, ...start } = opts.start ?? {};
    for (const [id, b] of Object.entries(opts.boards ?? {})) {
      const cfg = config.boards.find((c) => c.id === id && c.port === 'virtual');
      if (!cfg)
        throw new ConfigError([
          { path: 'boards', message: `no board "${id}" with port: virtual is configured` },
        ]);
      controlled.set(id, b === 'controlled' ? virtualBoardFor(cfg.sensors, { modelled: false }) : b);
    }
    hub = await startHub(config, {
      ...start,
      logger,
      // Only this hub's own temporary folder: its influxd's watchdog removes it when this process dies.
      removeOnOrphan: opts.keepData ? undefined : dataDir,
      boards: {
        ...(config.boards.some((b) => b.port === 'virtual')
          ? { openVirtual: virtualBoardOpener(controlled) }
          : {}),
        ...boardOpts,
      },
    });
  } catch (err) {
    remove();
    throw err;
  }
  const log = new ReadingLog(hub.bus);
  const api = new HubApiClient(hub.httpUrl, hub.config.http.token);
  const flush = async (timeoutMs = 10_000) => {
    const left = await hub.flush(timeoutMs);
    if (left > 0)
      throw new WaitTimeoutError(`flush: ${left} readings not confirmed by InfluxDB within ${timeoutMs} ms`);
  };
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      log.close(hub.bus);
      try {
        await hub.stop();
      } finally {
        remove();
      }
    })();
    return stopping;
  };
  return {
    hub,
    config: hub.config,
    mqttUrl: hub.mqttUrl,
    httpUrl: hub.httpUrl,
    influxUrl: hub.influxUrl,
    database: hub.config.influx.database,
    dataDir,
    api,
    waitForReading: async (match = {}, o) => (await log.waitFor(match, 1, o))[0]!,
    waitForReadings: (match, count, o) => log.waitFor(match, count, o),
    waitForStored: (match, o = {}) =>
      storedCount(hub, match, o.count ?? 1, o.timeoutMs ?? 10_000, () => hub.flush(1000)),
    readings: (match) => log.readings(match),
    board(id) {
      const b = controlled.get(id);
      if (!b)
        throw new Error(
          `no controlled board "${id}" (known: ${[...controlled.keys()].join(', ') || 'none'})`,
        );
      return b;
    },
    quarantined: () => log.quarantined(),
    flush,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
