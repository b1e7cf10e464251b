import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { BoardManager } from './boards/manager.js';
import { assertHubConfig } from './config/load.js';
import type { HubConfig } from './config/schema.js';
import { EventBus } from './core/bus.js';
import { createLogger } from './core/logger.js';
import type { RawMessage } from './core/raw-message.js';
import type { Reading } from './core/reading.js';
import { topicMatches } from './core/topic.js';
import { formatPipelineParts, registryOptions } from './device-support.js';
import { HomeAssistantDiscovery } from './homeassistant.js';
import { dashboardPlugin } from './http/dashboard.js';
import { startHttp } from './http/server.js';
import { Broker } from './mqtt/broker.js';
import { type IngestResult, Pipeline } from './pipeline/pipeline.js';
import { SeriesClock } from './pipeline/series-clock.js';
import { createMetrics, type HubMetrics } from './prometheus.js';
import { Quarantine } from './quarantine.js';
import { DeviceRegistry } from './registry.js';
import { InfluxHttp } from './storage/influx-http.js';
import { InfluxWriter } from './storage/influx-writer.js';
import { loadKnownSensors } from './storage/known-sensors.js';
import { type ManagedInfluxd, startManagedInfluxd } from './storage/managed-influxd.js';
import { declaredRollups, ensureRetention, rawKeepsMs, rpMillis } from './storage/retention.js';
import { Spool } from './storage/spool.js';
import { SpoolSink } from './storage/spool-sink.js';
import { deviceOf } from './storage/write-errors.js';

/** Live copies on hub/readings/... in flight inside Aedes at most (issue 5 bounds). */
const REPUBLISH_MAX = 2000;

export interface HubHandle {
  readonly config: HubConfig;
  readonly mqttUrl: string;
  readonly httpUrl: string;
  readonly influxUrl: string;
  readonly bus: EventBus;
  readonly registry: DeviceRegistry;
  readonly quarantine: Quarantine;
  readonly metrics: HubMetrics;
  readonly log: Logger;
  /** Feeds a message into the pipeline in process (boards, simulators, tests). */
  ingest(msg: RawMessage): IngestResult;
  /** Arduino boards from config (issue 3). */
  readonly boards: BoardManager;
  /** Writes everything queued now and waits until InfluxDB confirmed it. */
  flush(timeoutMs?: number): Promise<number>;
  stop(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** Extra HTTP routes. */
  httpPlugins?: Array<(app: FastifyInstance) => Promise<void> | void>;
  /** How long stop() waits for InfluxDB to confirm what is queued. */
  drainTimeoutMs?: number;
  /** Boards: how `port: virtual` boards are made, and the wait between reconnect attempts. */
  boards?: Pick<ConstructorParameters<typeof BoardManager>[0], 'openVirtual' | 'retryMs'>;
}

/**
 * Starts the hub: storage first, then the pipeline, then the listeners, so nothing
 * is accepted before it can be stored. stop() runs the same steps in reverse, each
 * guarded, and flushes what was accepted before InfluxDB goes away. `config` comes from
 * loadConfig() or parseConfig(): the hub parses nothing itself.
 */
export async function startHub(config: HubConfig, opts: StartOptions = {}): Promise<HubHandle> {
  assertHubConfig(config);
  const log = opts.logger ?? createLogger(config.log.level);
  const bus = new EventBus(log.child({ module: 'bus' }));
  const metrics = createMetrics();
  const stops: Array<[string, () => Promise<void> | void]> = [];
  const stopAll = async () => {
    for (const [name, fn] of stops.reverse()) {
      try {
        await fn();
      } catch (err) {
        log.error({ err, step: name }, 'stop step failed');
      }
    }
    stops.length = 0;
  };

  try {
    const quarantine = new Quarantine(bus, log.child({ module: 'quarantine' }), {
      file: resolve(config.dataDir, 'quarantine.jsonl'),
      counted: {
        fileBytes: (n) => metrics.quarantineFileBytes.inc(n),
        fileDropped: (n) => metrics.quarantineFileDropped.inc(n),
      },
    });
    quarantine.start();
    stops.push(['quarantine', () => quarantine.stop()]);

    let managed: ManagedInfluxd | undefined;
    let influxUrl = config.influx.url;
    /** Set once the writer exists: a restarted influxd is written to at once. */
    let influxdBack = () => {};
    if (!influxUrl) {
      managed = await startManagedInfluxd({
        ...config.influx.managed,
        log: log.child({ module: 'influxd' }),
        onRestart: () => {
          metrics.influxdRestarts.inc();
          influxdBack();
        },
      });
      stops.push(['influxd', () => managed?.stop()]);
      influxUrl = managed.url;
    }
    const influx = new InfluxHttp({
      url: influxUrl,
      database: config.influx.database,
      username: config.influx.username,
      password: config.influx.password,
    });
    stops.push(['influx connections', () => influx.close()]);
    // --- durable spool, writer, retention (issue 5) ---
    const prepare = async () => {
      await influx.ensureDatabase();
      await ensureRetention(influx, config.influx.database, config.retention);
    };
    let influxUp = false;
    try {
      await influx.waitReady(managed ? 5000 : 2000);
      await prepare();
      influxUp = true;
    } catch (err) {
      // The hub still starts: readings wait in the spool and are written when InfluxDB answers.
      log.warn(
        { err: (err as Error).message, url: influxUrl },
        'InfluxDB not reachable yet; readings will wait in the spool',
      );
    }
    metrics.influxUp.set(influxUp ? 1 : 0);

    const spool = await Spool.open({
      dir: config.spool.dir ?? resolve(config.dataDir, 'spool'),
      maxBytes: config.spool.maxBytes,
      fsync: config.spool.fsync,
      maxUncommittedBytes: config.spool.maxUncommittedBytes,
      minFreeBytes: config.spool.minFreeBytes,
      log: log.child({ module: 'spool' }),
    });
    stops.push(['spool', () => spool.close()]);
    spool.onFailed = (lost) => {
      metrics.spoolCommitFailures.inc();
      if (lost > 0) metrics.dropped.inc({ reason: 'storage_error' }, lost);
    };
    if (spool.readings > 0) log.info({ readings: spool.readings }, 'replaying spooled readings');

    const writerLog = log.child({ module: 'writer' });
    const writer = new InfluxWriter(
      influx,
      spool,
      { ...config.influx, retentionMs: config.retention.manage ? rpMillis(config.retention.raw) : undefined },
      writerLog,
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
          for (const line of lines) {
            const msg = {
              topic: 'influxdb/write',
              payload: Buffer.from(line),
              receivedAt: Date.now(),
              source: 'mqtt',
            } as const;
            quarantine.add(msg, deviceOf(line), reason, detail);
          }
        },
        missingDatabase: prepare,
      },
    );
    writer.start();
    Object.assign(metrics.storage, {
      spoolReadings: () => spool.readings,
      spoolBytes: () => spool.bytes,
      inFlight: () => writer.inFlight,
      spoolOk: () => spool.health.ok,
      writerState: () => writer.state,
    });
    influxdBack = () => {
      void writer.exclusive(prepare).then(() => writer.wake());
    };
    stops.push([
      'writer',
      async () => {
        const left = await writer.drain(opts.drainTimeoutMs ?? 10_000);
        if (left > 0) log.warn({ left }, 'readings left in the spool; written after the next start');
        else log.info('all readings written');
      },
    ]);
    const sink = new SpoolSink(spool, (n, reason) => metrics.dropped.inc({ reason }, n));

    const health = setInterval(async () => {
      const was = influxUp;
      influxUp = await influx.ping(2000);
      metrics.influxUp.set(influxUp ? 1 : 0);
      if (influxUp && !was) {
        await writer.exclusive(prepare);
        writer.wake();
      }
    }, 5000);
    health.unref();
    stops.push(['health', () => clearInterval(health)]);

    // Device formats, registry and per-sensor settings (README "Device formats and registry").
    // Boards are declared too, so they are known (and can be reported offline) before a reading.
    const declared = config.devices.map((d) => d.id);
    const registry = new DeviceRegistry(
      bus,
      [
        ...config.devices,
        ...config.boards.filter((b) => !declared.includes(b.id)).map((b) => ({ id: b.id, tags: {} })),
      ],
      registryOptions(config),
    );
    registry.start();
    stops.push(['registry', () => registry.stop()]);

    // Devices known from storage are listed again after a restart, so history and
    // the dashboard have them before they speak again.
    if (influxUp) {
      try {
        const n = registry.restore(await loadKnownSensors(influx, config.registry.restoreWithin));
        log.info({ sensors: n }, 'devices restored from InfluxDB');
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'could not restore devices from InfluxDB');
      }
    }

    const { decoders, meta, ...formatContext } = formatPipelineParts(config);
    const pipeline = new Pipeline({
      decoders,
      meta,
      quarantine,
      bus,
      maxPayloadBytes: config.mqtt.maxPayloadBytes,
      context: {
        deviceTags: registry.tagsOf(),
        clock: new SeriesClock(),
        admit: (d) => registry.admit(d),
        limits: registry.limits,
        ...formatContext,
      },
    });

    const owner = {};
    const hot = metrics.hot;
    bus.on(owner, 'readings', (rs: readonly Reading[]) => {
      sink.accept(rs);
      hot.readings[rs[0]!.source] += rs.length;
    });
    bus.on(owner, 'quarantine', (e) => metrics.quarantined.inc({ reason: e.reason }));
    stops.push(['bus', () => bus.removeAll(owner)]);

    /** What every source's result updates: availability notes and report-on-change drops. */
    const applyResult = (res: IngestResult): IngestResult => {
      for (const a of res.availability) registry.setAvailability(a.device, a.state);
      if (res.suppressed.length > 0) {
        registry.seen(res.suppressed);
        metrics.suppressed.inc(res.suppressed.length);
      }
      if (res.duplicates > 0) metrics.duplicates.inc(res.duplicates);
      return res;
    };

    const ingest = (msg: RawMessage): IngestResult => {
      const res = applyResult(pipeline.ingest(msg));
      if (!res.handled && !config.mqtt.ignore.some((f) => topicMatches(f, msg.topic))) {
        quarantine.add(msg, undefined, 'unknown_topic', `no decoder reads ${msg.topic.slice(0, 128)}`);
      }
      return res;
    };

    const onPublish = (msg: RawMessage, qos: 0 | 1 | 2): Promise<void> | undefined => {
      hot.messages++;
      sink.qos = qos;
      sink.reset();
      let res: IngestResult;
      try {
        res = ingest(msg);
      } finally {
        sink.qos = 0;
      }
      if (msg.clientId && res.readings.length > 0) registry.noteClient(msg.clientId, res.readings[0]!.device);
      return sink.waitFor(qos);
    };

    const broker = new Broker({
      host: config.mqtt.host,
      port: config.mqtt.port,
      users: config.mqtt.users,
      log: log.child({ module: 'broker' }),
      onMessage: (msg, qos) => {
        // Spool full: a QoS 1 publish waits for room before it is even decoded, and its
        // connection is not read meanwhile (Aedes reads the next packets after the PUBACK).
        if (qos > 0 && spool.full) return spool.waitForRoom().then(() => onPublish(msg, qos));
        return onPublish(msg, qos);
      },
      maxPacketBytes: config.mqtt.maxPacketBytes,
      maxAwaitingPubrel: config.mqtt.maxAwaitingPubrel,
      maxRetained: config.mqtt.maxRetained,
      onRefused: (reason) => metrics.mqttRefused.inc({ reason }),
      onDuplicate: (qos) => metrics.mqttDuplicates.inc({ qos: String(qos) }),
      onRetainedRefused: () => metrics.mqttRetainedRefused.inc(),
      onClientConnect: () => metrics.clients.inc(),
      onClientDisconnect: (id, clean) => {
        metrics.clients.dec();
        // Like an MQTT will: a lost connection means the device is gone; a clean
        // DISCONNECT (a script that publishes and leaves) says nothing about the sensor.
        registry.clientGone(id, clean);
      },
    });
    await broker.start();
    stops.push([
      'broker',
      async () => {
        await broker.publish('hub/status', 'offline', true);
        await broker.stop();
      },
    ]);

    // Before the republish listener: Home Assistant needs the config before the first state.
    if (config.homeassistant.discovery) {
      const discovery = new HomeAssistantDiscovery(bus, registry, {
        prefix: config.homeassistant.prefix,
        publish: (topic, payload, retain) => broker.publish(topic, payload, retain),
      });
      discovery.start();
      stops.push(['homeassistant', () => discovery.stop()]);
    }
    const outbound = {};
    if (config.mqtt.republish) {
      // Bounded (issue 5): Aedes queues what it cannot deliver yet without limit, so past
      // REPUBLISH_MAX copies in flight the live copy is skipped and counted; the reading itself is stored.
      let republishing = 0;
      const done = () => {
        republishing--;
      };
      bus.on(outbound, 'readings', (rs) => {
        // Checked per message: a JSON copy per reading is most of the republish cost.
        if (!broker.hasListeners('hub/readings')) return;
        for (const r of rs) {
          if (republishing >= REPUBLISH_MAX) {
            metrics.republishSkipped.inc();
            continue;
          }
          republishing++;
          void broker.publish(`hub/readings/${r.device}/${r.sensor}`, JSON.stringify(r)).then(done, done);
        }
      });
    }
    bus.on(outbound, 'availability', (device, state) => {
      // The retained topic speaks online/offline only (Home Assistant's availability contract).
      if (state !== 'stale') void broker.publish(`hub/devices/${device}/availability`, state, true);
    });
    // Bounded like the readings' copies: a flood of bad payloads must not queue without limit in Aedes.
    let republishingQuarantine = 0;
    const quarantineDone = () => {
      republishingQuarantine--;
    };
    bus.on(outbound, 'quarantine', (e) => {
      if (republishingQuarantine >= REPUBLISH_MAX) {
        metrics.quarantineRepublishSkipped.inc();
        return;
      }
      republishingQuarantine++;
      void broker
        .publish(`hub/quarantine/${e.device}`, JSON.stringify(e))
        .then(quarantineDone, quarantineDone);
    });
    stops.push(['outbound', () => bus.removeAll(outbound)]);
    await broker.publish('hub/status', 'online', true);

    // Boards (issue 3): started after the outbound listeners, so their availability is published.
    const boards = new BoardManager({
      boards: config.boards,
      log: log.child({ module: 'boards' }),
      ingestCandidates: (cs, source, at) => applyResult(pipeline.ingestCandidates(cs, source, at)),
      setState: (device, state) => registry.setState(device, state),
      forgetReported: (device) => formatContext.lastReported?.forgetDevice(device),
      ...opts.boards,
    });
    boards.start();
    stops.push(['boards', () => boards.stop()]);

    const http = await startHttp({
      host: config.http.host,
      port: config.http.port,
      token: config.http.token,
      maxStreamClients: config.http.maxStreamClients,
      log: log.child({ module: 'http' }),
      bus,
      registry,
      quarantine,
      metrics,
      influx,
      rollups: declaredRollups(config.retention),
      rawKeepsMs: rawKeepsMs(config.retention),
      plugins: [...(config.dashboard.enabled ? [dashboardPlugin()] : []), ...(opts.httpPlugins ?? [])],
      health: async () => {
        // Asked live, not from the last 5 s check: /healthz answers whether InfluxDB is reachable now.
        // The shared flag stays the health timer's, so its "InfluxDB is back" step (prepare
        // the database, wake the writer) is not skipped when a request saw it first.
        const up = await influx.ping(1000);
        const spoolHealth = spool.health;
        // Readings wait in the spool while InfluxDB refuses writes; reachable alone is not enough.
        return {
          ok: up && spoolHealth.ok && writer.state !== 'refused',
          influx: {
            url: influxUrl,
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
          mqtt: { port: broker.port, clients: broker.connectedClients },
          devices: registry.size,
          quarantined: quarantine.total(),
        };
      },
    });
    stops.push(['http', () => http.app.close()]);

    log.info({ mqtt: broker.port, http: http.port, influx: influxUrl }, 'hub started');

    let stopping: Promise<void> | undefined;
    return {
      config,
      mqttUrl: `mqtt://${urlHost(config.mqtt.host)}:${broker.port}`,
      httpUrl: `http://${urlHost(config.http.host)}:${http.port}`,
      influxUrl,
      bus,
      registry,
      quarantine,
      metrics,
      log,
      ingest,
      boards,
      flush: (timeoutMs = 10_000) => writer.writeAll(timeoutMs),
      stop() {
        stopping ??= (async () => {
          log.info('hub stopping');
          await stopAll();
          log.info('hub stopped');
        })();
        return stopping;
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** A host as it stands in a URL: IPv6 addresses in brackets. */
const urlHost = (host: string) => (host.includes(':') ? `[${host}]` : host);
