import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { alertWarnings } from '../alerts/check.js';
import { Deliverer, type SendResult, webhookSender } from '../alerts/delivery.js';
import { AlertEngine } from '../alerts/engine.js';
import { globMatcher } from '../alerts/glob.js';
import { AlertStore } from '../alerts/store.js';
import type { Alert, AlertChange, AlertsApi, Silence } from '../alerts/types.js';
import type { AlertsConfig } from '../config/alerts.js';
import type { EventBus } from '../core/bus.js';
import { topics } from '../core/topics.js';
import type { DeviceRegistry } from '../registry.js';
import type { InfluxHttp } from '../storage/influx-http.js';
import type { HubModule, ModuleHealth } from './module.js';

export interface AlertsDeps {
  config: AlertsConfig;
  dataDir: string;
  bus: EventBus;
  registry: DeviceRegistry;
  publish(topic: string, payload: string, retain: boolean): Promise<void>;
  /** Where the change history goes (measurement `alerts`); resolved at start. */
  influx?: () => InfluxHttp;
  log: Logger;
  /** Home Assistant discovery prefix when discovery is on. */
  homeassistant?: { prefix: string } | undefined;
  now?: () => number;
  /** How often pending alerts, silences and staleness are looked at. */
  tickMs?: number;
  /** First wait after a failed delivery (doubles up to alerts.maxRetryDelay). */
  minRetryMs?: number;
}

const INFLUX_TARGET = 'influx';

/**
 * Alerts as a hub module: the engine on the bus's readings and availability events,
 * its state and delivery queues on disk, and every change out on MQTT (retained), to
 * webhooks, to Home Assistant and into InfluxDB.
 */
export class AlertsModule implements HubModule, AlertsApi {
  readonly name = 'alerts';
  #engine: AlertEngine | undefined;
  #store: AlertStore | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #deliverers = new Map<string, Deliverer>();
  /** Webhook targets: queue name, and which rules they take. */
  #hooks: Array<{ target: string; rules: (name: string) => boolean }> = [];
  #firingByRule = new Map<string, number>();

  constructor(private readonly deps: AlertsDeps) {}

  get engine(): AlertEngine {
    if (!this.#engine) throw new Error('alerts module not started');
    return this.#engine;
  }

  async start(): Promise<void> {
    const { config, log, bus, registry } = this.deps;
    const store = AlertStore.open(resolve(this.deps.dataDir, 'alerts'), config.historySize);
    this.#store = store;
    const engine = new AlertEngine(config.rules, {
      ...(this.deps.now ? { now: this.deps.now } : {}),
      onChange: (c) => this.#onChange(c),
    });
    engine.restore(store.loadAlerts(), store.loadSilences());
    this.#engine = engine;

    const targets = new Set<string>();
    const retry = { maxRetryMs: config.maxRetryDelay, maxQueued: config.maxQueued, store, log };
    if (this.deps.minRetryMs !== undefined) Object.assign(retry, { minRetryMs: this.deps.minRetryMs });
    for (const n of config.notify) {
      // Named by URL, so reordering the config keeps each receiver's queue.
      const target = `webhook:${createHash('sha256').update(n.webhook).digest('hex').slice(0, 16)}`;
      targets.add(target);
      const patterns = (n.rules ?? ['*']).map(globMatcher);
      this.#hooks.push({ target, rules: (name) => patterns.some((m) => m(name)) });
      this.#deliverers.set(
        target,
        new Deliverer({ target, send: webhookSender(n.webhook, n.headers), ...retry }),
      );
    }
    if (this.deps.influx) {
      const influx = this.deps.influx();
      targets.add(INFLUX_TARGET);
      this.#deliverers.set(
        INFLUX_TARGET,
        new Deliverer({ target: INFLUX_TARGET, send: influxSender(influx), ...retry }),
      );
    }
    for (const t of store.targets()) {
      if (!targets.has(t))
        log.warn(
          { target: t, dropped: store.dropTarget(t) },
          'alert receiver no longer configured: its queue is dropped',
        );
    }
    for (const d of this.#deliverers.values()) d.start();

    // The broker keeps retained messages in memory: a restart publishes the active ones again.
    for (const a of engine.active()) if (a.state === 'firing') this.#publishAlert(a);
    this.#announceRules();

    bus.on(this, 'readings', (rs) => engine.readings(rs));
    bus.on(this, 'availability', (device, state) =>
      engine.availability(device, state, registry.get(device)?.tags),
    );
    this.#timer = setInterval(() => this.#tick(), this.deps.tickMs ?? 1000);
    this.#timer.unref();
    for (const w of alertWarnings(config.rules)) log.warn({ path: w.path }, w.message);
    log.info({ rules: engine.ruleCount, restored: engine.active().length }, 'alerts started');
  }

  async stop(): Promise<void> {
    this.deps.bus.removeAll(this);
    clearInterval(this.#timer);
    await Promise.all([...this.#deliverers.values()].map((d) => d.stop()));
    this.#deliverers.clear();
    await this.#store?.close();
    this.#store = undefined;
  }

  health(): ModuleHealth {
    const queued: Record<string, number> = {};
    for (const [t, d] of this.#deliverers) queued[t] = d.queued;
    return { alerts: { firing: this.active().filter((a) => a.state === 'firing').length, queued } };
  }

  // --- API ---

  active(): Alert[] {
    return this.#engine?.active() ?? [];
  }

  history(): Alert[] {
    return this.#store?.history() ?? [];
  }

  acknowledge(rule: string, device: string, sensor: string, by?: string): Alert | undefined {
    return this.engine.acknowledge(rule, device, sensor, by);
  }

  silence(s: Omit<Silence, 'id' | 'createdAt'>): Silence {
    const silence = this.engine.silence(s);
    this.#store?.putSilence(silence);
    return silence;
  }

  unsilence(id: string): boolean {
    const found = this.engine.unsilence(id);
    if (found) this.#store?.removeSilence(id);
    return found;
  }

  silences(): Silence[] {
    return this.#engine?.silences() ?? [];
  }

  // --- effects ---

  #tick(): void {
    const engine = this.#engine;
    if (!engine) return;
    const before = new Set(engine.silences().map((s) => s.id));
    engine.tick();
    for (const s of engine.silences()) before.delete(s.id);
    for (const id of before) this.#store?.removeSilence(id);
    if (!engine.hasStaleRules) return;
    for (const d of this.deps.registry.list()) {
      for (const s of Object.values(d.sensors)) engine.staleness(d.id, s.sensor, s.metric, s.stale, d.tags);
    }
  }

  #onChange(c: AlertChange): void {
    const store = this.#store;
    const engine = this.#engine;
    if (!store || !engine) return;
    const a = c.alert;
    const stateChange = c.event === 'state' && a.state !== 'pending' && c.active === (a.state === 'firing');
    const enqueue: Array<{ target: string; body: unknown }> = [];
    if (c.notify)
      for (const h of this.#hooks) if (h.rules(a.rule)) enqueue.push({ target: h.target, body: a });
    if (stateChange && this.#deliverers.has(INFLUX_TARGET)) enqueue.push({ target: INFLUX_TARGET, body: a });
    const stored = c.active ? engine.stored(a.rule, a.device, a.sensor) : undefined;
    try {
      store.commit({
        ...(stored ? { put: stored } : { remove: [a.rule, a.device, a.sensor] }),
        ...(stateChange ? { history: a } : {}),
        enqueue,
      });
    } catch (err) {
      this.deps.log.error({ err, rule: a.rule, device: a.device }, 'alert state could not be written');
    }
    for (const { target } of enqueue) this.#deliverers.get(target)?.poke();
    if (a.state === 'pending') return;
    this.#publishAlert(a);
    if (stateChange) {
      const n = (this.#firingByRule.get(a.rule) ?? 0) + (a.state === 'firing' ? 1 : -1);
      this.#firingByRule.set(a.rule, Math.max(0, n));
      this.#publishRuleState(a.rule);
    }
  }

  #publishAlert(a: Alert): void {
    this.deps
      .publish(topics.alert(a.rule, a.device, a.sensor), JSON.stringify(a), true)
      .catch(() => undefined);
  }

  /** Home Assistant: one binary sensor per rule, on while any of its alerts fires. */
  #announceRules(): void {
    const ha = this.deps.homeassistant;
    if (!ha) return;
    for (const a of this.active())
      if (a.state === 'firing') this.#firingByRule.set(a.rule, (this.#firingByRule.get(a.rule) ?? 0) + 1);
    for (const rule of this.deps.config.rules) {
      const objectId = `alert_${rule.name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
      const config = {
        name: `Alert ${rule.name}`,
        unique_id: `sensorhub_${objectId}`,
        object_id: `sensorhub_${objectId}`,
        state_topic: topics.alertRule(rule.name),
        value_template: '{{ value_json.state }}',
        json_attributes_topic: topics.alertRule(rule.name),
        device_class: 'problem',
        availability_topic: topics.status,
        device: { identifiers: ['sensorhub'], name: 'sensor-hub' },
      };
      this.deps
        .publish(`${ha.prefix}/binary_sensor/sensorhub/${objectId}/config`, JSON.stringify(config), true)
        .catch(() => undefined);
      this.#publishRuleState(rule.name);
    }
  }

  #publishRuleState(rule: string): void {
    if (!this.deps.homeassistant) return;
    const firing = this.#firingByRule.get(rule) ?? 0;
    const payload = JSON.stringify({ state: firing > 0 ? 'ON' : 'OFF', firing });
    this.deps.publish(topics.alertRule(rule), payload, true).catch(() => undefined);
  }
}

/** One alert change as a point of measurement `alerts`; the timestamp is the change's own (microseconds). */
export function alertLine(a: Alert): string {
  // Rule names, ids, kinds, states and severities are of [A-Za-z0-9_.-]: nothing to escape.
  const tags = `rule=${a.rule},device=${a.device},sensor=${a.sensor},severity=${a.severity},state=${a.state}`;
  const fields = [`id="${a.id}"`, `kind="${a.kind}"`];
  if (a.value !== null && Number.isFinite(a.value)) fields.push(`value=${a.value}`);
  if (a.metric !== null) fields.push(`metric="${a.metric.replace(/["\\]/g, '\\$&')}"`);
  return `alerts,${tags} ${fields.join(',')} ${Math.round(a.since) * 1000}`;
}

function influxSender(influx: InfluxHttp) {
  return async (body: unknown): Promise<SendResult> => {
    const res = await influx.write(alertLine(body as Alert), 10_000);
    if (res.status >= 200 && res.status < 300) return 'ok';
    // 400: InfluxDB names this point as unreadable; a resend would be refused the same way.
    return res.status === 400 ? 'drop' : 'retry';
  };
}
