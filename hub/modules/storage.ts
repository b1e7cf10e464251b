import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { HubConfig } from '../config/schema.js';
import type { EventBus } from '../core/bus.js';
import type { HubMetrics } from '../prometheus.js';
import type { Quarantine } from '../quarantine.js';
import { splitCredentials } from '../security/redact.js';
import { InfluxHttp } from '../storage/influx-http.js';
import { InfluxWriter } from '../storage/influx-writer.js';
import { type KnownSensor, loadKnownSensors } from '../storage/known-sensors.js';
import { type ManagedInfluxd, startManagedInfluxd } from '../storage/managed-influxd.js';
import { ensureRetention, rpMillis } from '../storage/retention.js';
import { Spool } from '../storage/spool.js';
import { SpoolSink } from '../storage/spool-sink.js';
import { deviceOf } from '../storage/write-errors.js';
import type { HubModule, ModuleHealth } from './module.js';

/** How often InfluxDB is pinged; a reconnect prepares the database and wakes the writer. */
const HEALTH_EVERY_MS = 5000;

export interface StorageDeps {
  config: HubConfig;
  bus: EventBus;
  metrics: HubMetrics;
  log: Logger;
  /** Where points InfluxDB refuses for their content go. */
  quarantine: Pick<Quarantine, 'add'>;
  /** How long stop() waits for InfluxDB to confirm what is queued. */
  drainTimeoutMs?: number;
  /** A folder the managed influxd's watchdog removes when this process dies without stopping. */
  removeOnOrphan?: string | undefined;
}

/**
 * Storage: the managed influxd (when no URL is configured), the InfluxDB client,
 * database and retention policies, the durable spool, the writer, and the loop that
 * notices InfluxDB coming back. Readings enter through `sink`; nothing is accepted
 * before start() has opened the spool.
 */
export class StorageModule implements HubModule {
  readonly name = 'storage';
  #managed: ManagedInfluxd | undefined;
  #influx: InfluxHttp | undefined;
  #spool: Spool | undefined;
  #writer: InfluxWriter | undefined;
  #sink: SpoolSink | undefined;
  #up = false;
  #influxUrl = '';
  /** Undo steps of what start() opened so far, run in reverse by stop(). */
  readonly #stops: Array<[string, () => Promise<void> | void]> = [];

  constructor(private readonly deps: StorageDeps) {}

  get influx(): InfluxHttp {
    return this.#need(this.#influx);
  }
  get influxUrl(): string {
    return this.#influxUrl;
  }
  get spool(): Spool {
    return this.#need(this.#spool);
  }
  get writer(): InfluxWriter {
    return this.#need(this.#writer);
  }
  /** Admission into the spool. */
  get sink(): SpoolSink {
    return this.#need(this.#sink);
  }
  /** Whether InfluxDB answered at the last check. */
  get up(): boolean {
    return this.#up;
  }

  async start(): Promise<void> {
    const { config, metrics, log } = this.deps;
    let influxUrl = config.influx.url;
    if (!influxUrl) {
      const managed = await startManagedInfluxd({
        ...config.influx.managed,
        log: log.child({ module: 'influxd' }),
        ...(this.deps.removeOnOrphan ? { removeOnOrphan: this.deps.removeOnOrphan } : {}),
        onRestart: () => {
          metrics.influxdRestarts.inc();
          // A restarted influxd is written to at once (a fresh one needs its database again).
          const w = this.#writer;
          if (w) void w.exclusive(this.#prepare).then(() => w.wake());
        },
      });
      this.#managed = managed;
      this.#stops.push(['influxd', () => managed.stop()]);
      influxUrl = managed.url;
    }
    // Credentials in the URL (http://user:pass@host) are used, never shown.
    const target = splitCredentials(influxUrl);
    influxUrl = target.url;
    const influx = new InfluxHttp({
      url: influxUrl,
      database: config.influx.database,
      username: config.influx.username ?? target.username,
      password: config.influx.password ?? target.password,
    });
    this.#influx = influx;
    this.#influxUrl = influxUrl;
    this.#stops.push(['influx connections', () => influx.close()]);
    try {
      await influx.waitReady(this.#managed ? 5000 : 2000);
      await this.#prepare();
      this.#up = true;
    } catch (err) {
      // The hub still starts: readings wait in the spool and are written when InfluxDB answers.
      log.warn(
        { err: (err as Error).message, url: influxUrl },
        'InfluxDB not reachable yet; readings will wait in the spool',
      );
    }
    metrics.influxUp.set(this.#up ? 1 : 0);

    const spool = await Spool.open({
      dir: config.spool.dir ?? resolve(config.dataDir, 'spool'),
      maxBytes: config.spool.maxBytes,
      fsync: config.spool.fsync,
      maxUncommittedBytes: config.spool.maxUncommittedBytes,
      minFreeBytes: config.spool.minFreeBytes,
      log: log.child({ module: 'spool' }),
    });
    this.#spool = spool;
    this.#stops.push(['spool', () => spool.close()]);
    spool.onFailed = (lost) => {
      metrics.spoolCommitFailures.inc();
      if (lost > 0) metrics.dropped.inc({ reason: 'storage_error' }, lost);
    };
    if (spool.readings > 0) log.info({ readings: spool.readings }, 'replaying spooled readings');

    const writer = this.#createWriter(influx, spool);
    this.#writer = writer;
    writer.start();
    Object.assign(metrics.storage, {
      spoolReadings: () => spool.readings,
      spoolBytes: () => spool.bytes,
      inFlight: () => writer.inFlight,
      spoolOk: () => spool.health.ok,
      writerState: () => writer.state,
    });
    this.#stops.push([
      'writer',
      async () => {
        const left = await writer.drain(this.deps.drainTimeoutMs ?? 10_000);
        if (left > 0) log.warn({ left }, 'readings left in the spool; written after the next start');
        else log.info('all readings written');
      },
    ]);
    this.#sink = new SpoolSink(spool, (n, reason) => metrics.dropped.inc({ reason }, n));

    const health = setInterval(() => {
      this.#check().catch((err) =>
        log.warn({ err: (err as Error).message }, 'InfluxDB reconnect step failed'),
      );
    }, HEALTH_EVERY_MS);
    health.unref();
    this.#stops.push(['health', () => clearInterval(health)]);
  }

  async stop(): Promise<void> {
    while (this.#stops.length > 0) {
      const [step, fn] = this.#stops.pop()!;
      try {
        await fn();
      } catch (err) {
        this.deps.log.error({ err, step }, 'stop step failed');
      }
    }
  }

  /**
   * The sensors InfluxDB holds from the last `registry.restoreWithin`, so devices are
   * listed again after a restart before they speak; undefined when InfluxDB was down at start.
   */
  async knownSensors(): Promise<KnownSensor[] | undefined> {
    if (!this.#up) return undefined;
    return loadKnownSensors(this.influx, this.deps.config.registry.restoreWithin);
  }

  /** Writes everything queued now and waits until InfluxDB confirmed it. */
  flush(timeoutMs: number): Promise<number> {
    return this.writer.writeAll(timeoutMs);
  }

  async health(): Promise<ModuleHealth> {
    // Asked live, not from the last check: /healthz answers whether InfluxDB is reachable now.
    // #up stays the health loop's, so its "InfluxDB is back" step (prepare the database,
    // wake the writer) is not skipped when a request saw it first.
    const up = await this.influx.ping(1000);
    const spool = this.spool;
    const writer = this.writer;
    const spoolHealth = spool.health;
    const managed = this.#managed;
    return {
      // Readings wait in the spool while InfluxDB refuses writes; reachable alone is not enough.
      ok: up && spoolHealth.ok && writer.state !== 'refused',
      influx: {
        url: this.influxUrl,
        reachable: up,
        writer: writer.state,
        writerSince: writer.stateSince,
        queued: writer.queued,
        spoolBytes: spool.bytes,
        writesInFlight: writer.inFlight,
        lastError: writer.lastError ?? null,
      },
      spool: spoolHealth,
      ...(managed
        ? {
            influxd: {
              pid: managed.pid,
              running: managed.running,
              restarts: managed.restarts,
              lastExit: managed.lastExit ?? null,
            },
          }
        : {}),
    };
  }

  readonly #prepare = async (): Promise<void> => {
    const { config } = this.deps;
    await this.influx.ensureDatabase();
    await ensureRetention(this.influx, config.influx.database, config.retention);
  };

  async #check(): Promise<void> {
    const was = this.#up;
    this.#up = await this.influx.ping(2000);
    this.deps.metrics.influxUp.set(this.#up ? 1 : 0);
    if (this.#up && !was) {
      await this.writer.exclusive(this.#prepare);
      this.writer.wake();
    }
  }

  #createWriter(influx: InfluxHttp, spool: Spool): InfluxWriter {
    const { config, metrics, bus, log, quarantine } = this.deps;
    return new InfluxWriter(
      influx,
      spool,
      { ...config.influx, retentionMs: config.retention.manage ? rpMillis(config.retention.raw) : undefined },
      log.child({ module: 'writer' }),
      {
        stored: (n, requestMs, chunks) => {
          metrics.stored.inc(n);
          metrics.writeLatency.observe(requestMs / 1000);
          const now = Date.now();
          for (const c of chunks) metrics.ingestLatency.observe((now - c.firstAt) / 1000);
          bus.emit('stored', n);
        },
        retry: () => metrics.retries.inc(),
        refused: (status) => metrics.writeRefusals.inc({ status: String(status) }),
        quarantined: (lines, reason, detail) => {
          metrics.rejectedPoints.inc(lines.length);
          const receivedAt = Date.now();
          for (const line of lines) {
            // The point's own bytes, under the write endpoint's name: the original topic is long gone.
            const msg = {
              topic: 'influxdb/write',
              payload: Buffer.from(line),
              receivedAt,
              source: 'mqtt',
            } as const;
            quarantine.add(msg, deviceOf(line), reason, detail);
          }
        },
        missingDatabase: this.#prepare,
      },
    );
  }

  #need<T>(v: T | undefined): T {
    if (v === undefined) throw new Error('storage is not started');
    return v;
  }
}
