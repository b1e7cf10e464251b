import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { BoardManager } from './boards/manager.js';
import { assertHubConfig } from './config/load.js';
import type { HubConfig } from './config/schema.js';
import { EventBus } from './core/bus.js';
import { HubError } from './core/errors.js';
import { LogBudget } from './core/log-budget.js';
import { createLogger } from './core/logger.js';
import type { RawMessage } from './core/raw-message.js';
import { registryOptions } from './device-support.js';
import { HomeAssistantDiscovery } from './homeassistant.js';
import { dashboardPlugin } from './http/dashboard.js';
import { AlertsModule } from './modules/alerts.js';
import { BrokerModule } from './modules/broker.js';
import { DeviceAdminModule } from './modules/device-admin.js';
import { HttpModule } from './modules/http.js';
import { IngestModule } from './modules/ingest.js';
import { asModule, buildHealth, type HubModule, ModuleRunner } from './modules/module.js';
import { OutboundModule } from './modules/outbound.js';
import { RegistryModule } from './modules/registry.js';
import { StorageModule } from './modules/storage.js';
import type { IngestResult } from './pipeline/pipeline.js';
import { createMetrics, type HubMetrics } from './prometheus.js';
import { Quarantine } from './quarantine.js';
import { DeviceRegistry } from './registry.js';
import { setUpSecurity } from './security/setup.js';
import { declaredRollups, rawKeepsMs } from './storage/retention.js';

export interface HubHandle {
  readonly config: HubConfig;
  readonly mqttUrl: string;
  /** Every MQTT listener with its URL (mqtt://, mqtts://, ws://.../mqtt, wss://.../mqtt). */
  readonly mqttListeners: ReadonlyArray<{ protocol: string; host: string; port: number; url: string }>;
  /** Reads mqtt.passwordFile again (what SIGHUP does); connections stay. */
  reloadUsers(): { ok: boolean; users: number };
  readonly httpUrl: string;
  readonly influxUrl: string;
  readonly bus: EventBus;
  readonly registry: DeviceRegistry;
  readonly quarantine: Quarantine;
  readonly metrics: HubMetrics;
  readonly log: Logger;
  /** Feeds a message into the pipeline in process (boards, simulators, tests). */
  ingest(msg: RawMessage): IngestResult;
  /** Arduino boards from config. */
  readonly boards: BoardManager;
  /** Home Assistant discovery when homeassistant.discovery is on: clear(device) removes a device from HA. */
  readonly discovery: HomeAssistantDiscovery | undefined;
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
  /** More modules (an alert engine, test probes): started after the others, stopped first. */
  modules?: readonly HubModule[];
  /**
   * A temporary folder of this hub's (a test's): if this process dies without stop(),
   * the managed influxd's watchdog removes it after stopping influxd.
   */
  removeOnOrphan?: string | undefined;
}

/**
 * Starts the hub as modules, in order: quarantine, storage, registry, ingest, broker,
 * outbound, boards, HTTP, so nothing is accepted before it can be stored. stop() stops
 * them in reverse, each step guarded, and flushes what was accepted before InfluxDB goes
 * away. `config` comes from loadConfig() or parseConfig(): the hub parses nothing itself.
 */
export async function startHub(config: HubConfig, opts: StartOptions = {}): Promise<HubHandle> {
  assertHubConfig(config);
  const log = opts.logger ?? createLogger(config.log.level, { format: config.log.format });
  const bus = new EventBus(log.child({ module: 'bus' }));
  const metrics = createMetrics();
  const runner = new ModuleRunner(log);

  const quarantine = new Quarantine(bus, log.child({ module: 'quarantine' }), {
    file: resolve(config.dataDir, 'quarantine.jsonl'),
    counted: {
      fileBytes: (n) => metrics.quarantineFileBytes.inc(n),
      fileDropped: (n) => metrics.quarantineFileDropped.inc(n),
    },
  });
  const storage = new StorageModule({
    config,
    bus,
    metrics,
    log,
    quarantine,
    ...(opts.drainTimeoutMs !== undefined ? { drainTimeoutMs: opts.drainTimeoutMs } : {}),
    removeOnOrphan: opts.removeOnOrphan,
  });
  // A fleet of thousands appearing at once is a few lines and a count, not thousands of lines.
  const newDevices = new LogBudget(log.child({ module: 'registry' }), {
    perWindow: 20,
    summary: 'new devices',
  });
  // Boards are declared too, so they are known (and can be reported offline) before a reading.
  const declared = config.devices.map((d) => d.id);
  const registry = new DeviceRegistry(
    bus,
    [
      ...config.devices,
      ...config.boards.filter((b) => !declared.includes(b.id)).map((b) => ({ id: b.id, tags: {} })),
    ],
    {
      ...registryOptions(config),
      onNewDevice: (device) => {
        newDevices.event('info', 'device', { device }, 'new device');
        admin.noteNewDevice(device);
      },
    },
  );
  const admin: DeviceAdminModule = new DeviceAdminModule({
    dataDir: config.dataDir,
    registry,
    log: log.child({ module: 'device-admin' }),
    clearRetained: (device) => outbound.clearDevice(device),
    renamed: (device) => outbound.refreshDevice(device),
    forgetReported: (device) => ingest.forgetReported(device),
  });
  const ingest = new IngestModule({ config, bus, metrics, registry, quarantine, store: () => storage.sink });
  const security = await setUpSecurity(config, ingest, log.child({ module: 'security' }), (reason) =>
    metrics.mqttDenied.inc({ reason }),
  );
  const mqtt = new BrokerModule({
    host: config.mqtt.host,
    port: config.mqtt.port,
    users: config.mqtt.users,
    listeners: security.listeners,
    access: security.access,
    limits: config.mqtt.limits,
    log: log.child({ module: 'broker' }),
    onMessage: ingest.onMessage,
    maxPacketBytes: config.mqtt.maxPacketBytes,
    maxAwaitingPubrel: config.mqtt.maxAwaitingPubrel,
    receiveMaximum: config.mqtt.receiveMaximum,
    maxSessionExpirySeconds: config.mqtt.maxSessionExpirySeconds,
    storeFull: () => storage.sink.full,
    maxRetained: config.mqtt.maxRetained,
    onRefused: (reason) => metrics.mqttRefused.inc({ reason }),
    onPublishRefused: (reason) => metrics.mqttPublishRefused.inc({ reason }),
    // Only the quarantine: ingest's first check takes a reserved topic there.
    onReservedPublish: (msg) => ingest.ingest(msg),
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
  const broker = mqtt.broker;
  const publish = (topic: string, payload: string, retain?: boolean) =>
    broker.publish(topic, payload, retain);
  const discovery = config.homeassistant.discovery
    ? new HomeAssistantDiscovery(bus, registry, {
        prefix: config.homeassistant.prefix,
        publish: (topic, payload, retain) => broker.publish(topic, payload, retain),
        retireAfterMs: config.homeassistant.retireAfter,
        log: log.child({ module: 'homeassistant' }),
      })
    : undefined;
  const outbound = new OutboundModule({
    bus,
    broker: { publish, hasListeners: (prefix) => broker.hasListeners(prefix) },
    republish: config.mqtt.republish,
    skipped: {
      reading: () => metrics.republishSkipped.inc(),
      quarantine: () => metrics.quarantineRepublishSkipped.inc(),
    },
    ...(discovery ? { discovery } : {}),
  });
  const alerts = new AlertsModule({
    config: config.alerts,
    dataDir: config.dataDir,
    bus,
    registry,
    publish,
    influx: () => storage.influx,
    log: log.child({ module: 'alerts' }),
    homeassistant: config.homeassistant.discovery ? { prefix: config.homeassistant.prefix } : undefined,
  });
  const boards = new BoardManager({
    boards: config.boards,
    log: log.child({ module: 'boards' }),
    ingestCandidates: ingest.ingestCandidates,
    setState: (device, state) => registry.setState(device, state),
    forgetReported: ingest.forgetReported,
    ...opts.boards,
  });
  const http = new HttpModule(() => ({
    host: config.http.host,
    port: config.http.port,
    token: config.http.token,
    login: { users: security.users, roles: config.http.users, sessionTtl: config.http.sessionTtl },
    ...(security.httpTls ? { tls: security.httpTls } : {}),
    maxStreamClients: config.http.maxStreamClients,
    log: log.child({ module: 'http' }),
    bus,
    registry,
    quarantine,
    metrics,
    influx: storage.influx,
    rollups: declaredRollups(config.retention),
    rawKeepsMs: rawKeepsMs(config.retention),
    alerts,
    plugins: [...(config.dashboard.enabled ? [dashboardPlugin()] : []), ...(opts.httpPlugins ?? [])],
    health: () => buildHealth(modules),
    devices: admin,
    writeQueue: () => storage.writer.queued,
  }));

  // The order is the dependency order: each module uses only those before it.
  const modules: HubModule[] = [
    asModule('quarantine', quarantine, () => ({ quarantined: quarantine.total() })),
    storage,
    // Before the registry: its restore skips what was stored of devices removed since.
    admin,
    new RegistryModule(registry, async () => admin.filterRestored(await storage.knownSensors()), log),
    ingest,
    mqtt,
    // After the broker, before the boards: their availability is published.
    outbound,
    // Before the boards, so their first readings are evaluated.
    alerts,
    asModule('boards', boards),
    http,
    ...(opts.modules ?? []),
  ];
  let starting: HubModule | undefined;
  try {
    for (const m of modules) {
      starting = m;
      await runner.start(m);
    }
  } catch (err) {
    await runner.stop();
    // Every failure of a start has a code a caller (a test) can match.
    if (err instanceof HubError) throw err;
    throw new HubError(
      'HUB_START_FAILED',
      `the hub could not start: ${starting?.name ?? 'a module'}: ${(err as Error)?.message ?? String(err)}`,
      { cause: err },
    );
  }
  log.info({ mqtt: broker.port, http: http.port, influx: storage.influxUrl }, 'hub started');

  let stopping: Promise<void> | undefined;
  return {
    config,
    mqttUrl: listenerUrls(broker.listeners)[0]?.url ?? `mqtt://${urlHost(config.mqtt.host)}:${broker.port}`,
    mqttListeners: listenerUrls(broker.listeners),
    reloadUsers: () => security.users.reload(),
    httpUrl: `${security.httpTls ? 'https' : 'http'}://${urlHost(config.http.host)}:${http.port}`,
    influxUrl: storage.influxUrl,
    bus,
    registry,
    quarantine,
    metrics,
    log,
    ingest: ingest.ingest,
    boards,
    discovery,
    flush: (timeoutMs = 10_000) => storage.flush(timeoutMs),
    stop() {
      stopping ??= (async () => {
        log.info('hub stopping');
        await runner.stop();
        newDevices.flush();
        log.info('hub stopped');
      })();
      return stopping;
    },
  };
}

/** A host as it stands in a URL: IPv6 addresses in brackets. */
const urlHost = (host: string) => (host.includes(':') ? `[${host}]` : host);

const listenerUrls = (ls: ReadonlyArray<{ protocol: string; host: string; port: number }>) =>
  ls.map((l) => ({
    ...l,
    url: `${l.protocol}://${urlHost(l.host)}:${l.port}${l.protocol.startsWith('ws') ? '/mqtt' : ''}`,
  }));
