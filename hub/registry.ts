import type { Availability, EventBus } from './core/bus.js';
import type { Reading } from './core/reading.js';

export interface SensorState {
  sensor: string;
  metric: string;
  unit: string;
  value: number;
  ts: number;
  lastSeen: number;
  quality: Reading['quality'];
}

export interface DeviceState {
  id: string;
  name?: string | undefined;
  location?: string | undefined;
  tags: Record<string, string>;
  source: Reading['source'] | undefined;
  state: Availability | 'unknown';
  /** True while everything known of this device came from storage (no reading since start). */
  restored?: boolean;
  firstSeen: number | undefined;
  lastSeen: number | undefined;
  sensors: Record<string, SensorState>;
}

export interface RestoredSensor {
  device: string;
  sensor: string;
  metric: string;
  unit: string;
  source: string;
  value: number;
  ts: number;
}

export interface DeclaredDevice {
  id: string;
  name?: string | undefined;
  location?: string | undefined;
  tags: Record<string, string>;
}

/**
 * Devices and their sensors as the hub has seen them: a device appears on its first
 * reading (or when declared in config), goes online with it, and goes offline when
 * the MQTT connection it published through closes.
 */
export class DeviceRegistry {
  readonly #devices = new Map<string, DeviceState>();
  /** MQTT client id -> devices it published for. */
  readonly #byClient = new Map<string, Set<string>>();

  constructor(
    private readonly bus: EventBus,
    declared: readonly DeclaredDevice[] = [],
  ) {
    for (const d of declared) {
      this.#devices.set(d.id, {
        id: d.id,
        name: d.name,
        location: d.location,
        tags: { ...d.tags, ...(d.location ? { location: d.location } : {}) },
        source: undefined,
        state: 'unknown',
        firstSeen: undefined,
        lastSeen: undefined,
        sensors: {},
      });
    }
  }

  start(): void {
    this.bus.on(this, 'readings', (rs) => this.#onReadings(rs));
  }

  stop(): void {
    this.bus.removeAll(this);
  }

  #onReadings(rs: readonly Reading[]): void {
    const now = Date.now();
    for (const r of rs) {
      let d = this.#devices.get(r.device);
      if (!d) {
        d = {
          id: r.device,
          tags: {},
          source: r.source,
          state: 'unknown',
          firstSeen: now,
          lastSeen: now,
          sensors: {},
        };
        this.#devices.set(r.device, d);
      }
      d.source = r.source;
      d.restored = undefined;
      d.firstSeen ??= now;
      d.lastSeen = now;
      d.sensors[r.sensor] = {
        sensor: r.sensor,
        metric: r.metric,
        unit: r.unit,
        value: r.value,
        ts: r.ts,
        lastSeen: now,
        quality: r.quality,
      };
      if (d.state !== 'online') this.setState(r.device, 'online');
    }
  }

  /** Remembers which connection a device publishes through, for offline detection. */
  noteClient(clientId: string, device: string): void {
    let set = this.#byClient.get(clientId);
    if (!set) {
      set = new Set();
      this.#byClient.set(clientId, set);
    }
    set.add(device);
  }

  clientGone(clientId: string, clean: boolean): void {
    const set = this.#byClient.get(clientId);
    this.#byClient.delete(clientId);
    if (clean) return;
    for (const device of set ?? []) this.setState(device, 'offline');
  }

  setState(device: string, state: Availability): void {
    const d = this.#devices.get(device);
    if (!d || d.state === state) return;
    d.state = state;
    this.bus.emit('availability', device, state, Date.now());
  }

  get(id: string): DeviceState | undefined {
    return this.#devices.get(id);
  }

  has(id: string): boolean {
    return this.#devices.has(id);
  }

  list(): DeviceState[] {
    return [...this.#devices.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  /**
   * Adds devices and sensors known from storage (their last stored reading), so a
   * restarted hub lists them and answers history for them before they speak again.
   * What arrived live since start wins over what storage says.
   */
  restore(known: readonly RestoredSensor[]): number {
    let added = 0;
    for (const k of known) {
      let d = this.#devices.get(k.device);
      if (!d) {
        d = {
          id: k.device,
          tags: {},
          source: undefined,
          state: 'unknown',
          firstSeen: undefined,
          lastSeen: undefined,
          sensors: {},
        };
        this.#devices.set(k.device, d);
        d.restored = true;
      }
      if (d.sensors[k.sensor]) continue;
      d.source ??= k.source as Reading['source'];
      d.sensors[k.sensor] = {
        sensor: k.sensor,
        metric: k.metric,
        unit: k.unit,
        value: k.value,
        ts: k.ts,
        lastSeen: k.ts,
        quality: 'good',
      };
      if (d.restored) d.lastSeen = Math.max(d.lastSeen ?? 0, k.ts);
      added++;
    }
    return added;
  }

  tagsOf(): Map<string, Record<string, string>> {
    const m = new Map<string, Record<string, string>>();
    for (const d of this.#devices.values()) if (Object.keys(d.tags).length > 0) m.set(d.id, d.tags);
    return m;
  }
}
