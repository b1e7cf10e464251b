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
}

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
  readonly #announced = new Set<string>();

  constructor(
    private readonly bus: EventBus,
    private readonly registry: DeviceRegistry,
    private readonly opts: DiscoveryOptions,
  ) {}

  start(): void {
    this.bus.on(this, 'readings', (rs) => {
      for (const r of rs) this.#announce(r);
    });
  }

  stop(): void {
    this.bus.removeAll(this);
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

  /**
   * Removes a device's entities from Home Assistant: an empty retained payload on each
   * config topic deletes the entity there and the retained config in the broker. Its
   * sensors are announced again if the device comes back.
   */
  async forget(device: DeviceState): Promise<void> {
    const clears: Array<Promise<void>> = [];
    for (const s of Object.values(device.sensors)) {
      this.#announced.delete(`${device.id}/${s.sensor}/${s.metric}`);
      clears.push(this.opts.publish(this.configFor({ ...s, device: device.id }).topic, '', true));
    }
    await Promise.all(clears);
  }

  /** Publishes the configs of a device's announced sensors again (its display name changed). */
  async refresh(device: DeviceState): Promise<void> {
    const sends: Array<Promise<void>> = [];
    for (const s of Object.values(device.sensors)) {
      if (!this.#announced.has(`${device.id}/${s.sensor}/${s.metric}`)) continue;
      const { topic, config } = this.configFor({ ...s, device: device.id });
      sends.push(this.opts.publish(topic, JSON.stringify(config), true));
    }
    await Promise.all(sends);
  }

  #announce(r: Reading): void {
    const key = `${r.device}/${r.sensor}/${r.metric}`;
    if (this.#announced.has(key)) return;
    this.#announced.add(key);
    const { topic, config } = this.configFor(r);
    void this.opts.publish(topic, JSON.stringify(config), true);
  }
}
