import type { Logger } from 'pino';
import { METRIC_TO_HA } from '../devices/ha-classes.js';
import type { EventBus } from './core/bus.js';
import type { DeviceState } from './core/device-state.js';
import type { Reading } from './core/reading.js';
import { topics } from './core/topics.js';
import type { HubModule } from './modules/module.js';
import type { DeviceRegistry } from './registry.js';

export interface DiscoveryOptions {
  prefix: string;
  publish(topic: string, payload: string, retain: boolean): Promise<void>;
  /**
   * homeassistant.retireAfter: a device without a reading for this long has its configs
   * cleared (Home Assistant then removes its entities); 0 (the default): never, only
   * clear(device) does.
   */
  retireAfterMs?: number;
  now?: () => number;
  log?: Pick<Logger, 'info' | 'warn'>;
}

/** Longest wait between two retirement checks. */
const RETIRE_CHECK_MAX_MS = 3_600_000;

/**
 * Home Assistant MQTT discovery (home-assistant.io/integrations/mqtt, "Discovery"):
 * one retained config per normalized sensor, published on its first reading, at
 * `<prefix>/<component>/<device>/<sensor>/config`. The state topic is the hub's
 * canonical `hub/readings/<device>/<sensor>`, availability the hub's retained
 * `hub/devices/<device>/availability`. Units are the canonical ones in HA's spelling,
 * so HA never converts twice. Metrics HA has no class for are announced without one.
 */
export class HomeAssistantDiscovery implements HubModule {
  readonly name = 'homeassistant';
  /** Device -> `<sensor>/<metric>` -> its config topic, for what was announced since start. */
  readonly #announced = new Map<string, Map<string, string>>();
  /** Devices whose configs retirement cleared: not cleared again until they speak. */
  readonly #retired = new Set<string>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly bus: EventBus,
    private readonly registry: DeviceRegistry,
    private readonly opts: DiscoveryOptions,
  ) {}

  start(): void {
    this.bus.on(this, 'readings', (rs) => {
      for (const r of rs) this.#announce(r);
    });
    const after = this.opts.retireAfterMs ?? 0;
    if (after > 0) {
      const every = Math.min(Math.max(Math.floor(after / 10), 1000), RETIRE_CHECK_MAX_MS);
      this.#timer = setInterval(() => void this.retire(), every);
      this.#timer.unref();
    }
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.bus.removeAll(this);
  }

  /**
   * Removes a device from Home Assistant: an empty retained payload on each of its config
   * topics (HA's discovery removal), those announced since start and those its known
   * sensors had in an earlier run (HA remembers entities across restarts of the hub).
   * Its next reading announces it again. Returns the topics cleared. For
   * DELETE /api/devices/:id and for retirement.
   */
  async clear(device: string): Promise<string[]> {
    const cleared = new Set(this.#announced.get(device)?.values());
    const known = this.registry.get(device)?.sensors;
    if (known) for (const s of Object.values(known)) cleared.add(this.configFor({ ...s, device }).topic);
    this.#announced.delete(device);
    const list = [...cleared];
    await Promise.all(list.map((t) => this.opts.publish(t, '', true)));
    return list;
  }

  /**
   * Clears the configs of every device silent for homeassistant.retireAfter (once per
   * silence: a device that speaks again is announced and may retire again). Returns the
   * devices retired now.
   */
  async retire(): Promise<string[]> {
    const after = this.opts.retireAfterMs ?? 0;
    if (after <= 0) return [];
    const now = (this.opts.now ?? Date.now)();
    const gone: string[] = [];
    for (const d of this.registry.list()) {
      if (this.#retired.has(d.id) || d.lastSeen === undefined || now - d.lastSeen <= after) continue;
      this.#retired.add(d.id);
      gone.push(d.id);
    }
    for (const id of gone) {
      const topics = await this.clear(id);
      this.opts.log?.info(
        { device: id, configs: topics.length },
        'Home Assistant discovery cleared: device retired',
      );
    }
    return gone;
  }

  /** The config payload for one reading's sensor (exported for tests and docs). */
  configFor(r: Pick<Reading, 'device' | 'sensor' | 'metric' | 'unit'>): {
    topic: string;
    config: Record<string, unknown>;
  } {
    const ha = Object.hasOwn(METRIC_TO_HA, r.metric) ? METRIC_TO_HA[r.metric] : undefined;
    const component = ha?.component ?? 'sensor';
    const dev = this.registry.get(r.device);
    const objectId = r.sensor.replace(/[^A-Za-z0-9_-]/g, '_');
    const config: Record<string, unknown> = {
      name: r.sensor,
      unique_id: `sensorhub_${r.device}_${objectId}`,
      object_id: `${r.device}_${objectId}`,
      state_topic: topics.reading(r.device, r.sensor),
      availability_topic: topics.availability(r.device),
      device: {
        identifiers: [`sensorhub_${r.device}`],
        name: dev?.name ?? r.device,
        ...(dev?.location ? { suggested_area: dev.location } : {}),
        via_device: 'sensorhub',
      },
    };
    if (component === 'binary_sensor') {
      config.value_template = "{{ 'ON' if value_json.value > 0 else 'OFF' }}";
    } else {
      config.value_template = '{{ value_json.value }}';
      config.unit_of_measurement = ha?.unit ?? (r.unit === '1' ? undefined : r.unit);
      if (ha?.stateClass) config.state_class = ha.stateClass;
    }
    if (ha?.deviceClass) config.device_class = ha.deviceClass;
    if (config.unit_of_measurement === undefined) delete config.unit_of_measurement;
    return { topic: `${this.opts.prefix}/${component}/${r.device}/${objectId}/config`, config };
  }

  /** Publishes the configs of a device's announced sensors again (its display name changed). */
  async refresh(device: DeviceState): Promise<void> {
    const sends: Array<Promise<void>> = [];
    const mine = this.#announced.get(device.id);
    for (const s of Object.values(device.sensors)) {
      if (!mine?.has(`${s.sensor}/${s.metric}`)) continue;
      const { topic, config } = this.configFor({ ...s, device: device.id });
      sends.push(this.opts.publish(topic, JSON.stringify(config), true));
    }
    await Promise.all(sends);
  }

  #announce(r: Reading): void {
    let mine = this.#announced.get(r.device);
    const key = `${r.sensor}/${r.metric}`;
    if (mine?.has(key)) return;
    if (!mine) {
      mine = new Map();
      this.#announced.set(r.device, mine);
      this.#retired.delete(r.device);
    }
    const { topic, config } = this.configFor(r);
    mine.set(key, topic);
    void this.opts.publish(topic, JSON.stringify(config), true).catch(() => undefined);
  }
}
