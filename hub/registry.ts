import type { Availability, EventBus } from './core/bus.js';
import type { DeviceSettings, DeviceState, SensorState } from './core/device-state.js';
import type { Reading } from './core/reading.js';
import { IntervalLearner } from './registry-staleness.js';
import type { KnownSensor } from './storage/known-sensors.js';

/** Why a reading of a new device or sensor is refused: the registry is full. */
export type AdmitRefusal = 'device_limit' | 'sensor_limit';

/** A record keyed by external ids: no inherited keys, "__proto__" is an own key like any other. */
const byId = <T>(): Record<string, T> => Object.create(null) as Record<string, T>;

/** A sensor's last stored reading, as InfluxDB returns it at start. */
export type RestoredSensor = KnownSensor;

export interface DeclaredDevice {
  id: string;
  name?: string | undefined;
  location?: string | undefined;
  tags: Record<string, string>;
  expectedInterval?: number | undefined;
  sensors?: Record<string, { expectedInterval?: number | undefined }>;
}

export interface RegistryOptions {
  /** Stale after this many expected intervals without a reading. */
  staleAfter?: number;
  /** How often sensors are checked; 0 disables the timer (tests call checkStale). */
  checkEveryMs?: number;
  /** Expected interval of sensors without their own. */
  expectedIntervalMs?: number | undefined;
  /** Silence after which a device is offline even while its connection stays open. */
  offlineAfterMs?: number;
  /** Devices the registry holds at most (declared ones included and always admitted). */
  maxDevices?: number;
  /** Sensors per device at most. */
  maxSensorsPerDevice?: number;
  now?: () => number;
  /** A device the hub has not known before (not declared, not restored from storage) appeared. */
  onNewDevice?: (device: string) => void;
}

/** What the hub keeps per sensor it has had readings from since start. */
interface Series {
  learner: IntervalLearner;
  state: SensorState;
}

/**
 * Devices and their sensors as the hub has seen them: a device appears on its first
 * reading or availability message (or when declared in config). It goes online with
 * a reading or its own "online" (LWT, ESPHome status, Homie $state, Z2M availability),
 * and offline with its own "offline" or when the MQTT connection it published
 * through is lost. Silence counts too, since a gateway or a script can keep its
 * connection open while the sensors behind it went quiet: a device whose every
 * sensor is stale is `stale`, and one silent for offlineAfter is `offline`.
 */
export class DeviceRegistry {
  readonly #devices = new Map<string, DeviceState>();
  /** MQTT client id -> devices it published for. */
  readonly #byClient = new Map<string, Set<string>>();
  /**
   * device -> sensor -> its learner and state (the state is also in the device's
   * `sensors`, the object the API serves): the hot path looks a sensor up here, in a
   * Map, since a lookup by a new string in a dictionary object first interns it.
   */
  readonly #series = new Map<string, Map<string, Series>>();
  /** The last device noteClient() recorded, and for which client (one publisher's run). */
  #noted: { clientId: string; device: string } = { clientId: '', device: '' };
  readonly #declared = new Map<string, DeclaredDevice>();
  /** Names and labels set through the API, by device; applied when the device appears too. */
  readonly #settings = new Map<string, DeviceSettings>();
  /** Sensors per device (d.sensors has no size of its own). */
  readonly #sensorCount = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  readonly #now: () => number;
  readonly #maxDevices: number;
  readonly #maxSensors: number;

  constructor(
    private readonly bus: EventBus,
    declared: readonly DeclaredDevice[] = [],
    private readonly opts: RegistryOptions = {},
  ) {
    this.#now = opts.now ?? Date.now;
    this.#maxDevices = opts.maxDevices ?? Number.POSITIVE_INFINITY;
    this.#maxSensors = opts.maxSensorsPerDevice ?? Number.POSITIVE_INFINITY;
    for (const d of declared) {
      this.#declared.set(d.id, d);
      this.#devices.set(d.id, {
        id: d.id,
        name: d.name,
        location: d.location,
        tags: this.#declaredTags(d),
        declared: true,
        source: undefined,
        state: 'waiting',
        firstSeen: undefined,
        lastSeen: undefined,
        sensors: byId(),
      });
    }
  }

  start(): void {
    this.bus.on(this, 'readings', (rs) => this.#onReadings(rs, true));
    const every = this.opts.checkEveryMs ?? 5000;
    if (every > 0) {
      this.#timer = setInterval(() => this.checkStale(), every);
      this.#timer.unref();
    }
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.bus.removeAll(this);
  }

  #device(id: string, fromStorage = false): DeviceState {
    let d = this.#devices.get(id);
    if (!d) {
      if (!fromStorage) this.opts.onNewDevice?.(id);
      d = {
        id,
        tags: {},
        source: undefined,
        state: 'waiting',
        firstSeen: undefined,
        lastSeen: undefined,
        sensors: byId(),
      };
      this.#devices.set(id, d);
      if (this.#settings.has(id)) this.#applySettings(d);
    }
    return d;
  }

  /** The config's tags of a declared device, its location among them; a null-prototype copy. */
  #declaredTags(decl: DeclaredDevice | undefined): Record<string, string> {
    const tags = byId<string>();
    if (!decl) return tags;
    for (const [k, v] of Object.entries(decl.tags)) tags[k] = v;
    if (decl.location) tags.location = decl.location;
    return tags;
  }

  #applySettings(d: DeviceState): void {
    const decl = this.#declared.get(d.id);
    const set = this.#settings.get(d.id);
    d.name = set?.name ?? decl?.name;
    if (d.name === undefined) delete d.name;
    const tags = this.#declaredTags(decl);
    for (const [k, v] of Object.entries(set?.tags ?? {})) tags[k] = v;
    d.tags = tags;
  }

  /**
   * Sets (or, with undefined, clears) the name and labels an operator gave a device;
   * applied now when the device is known, else when it appears. Returns its state.
   */
  setSettings(id: string, settings: DeviceSettings | undefined): DeviceState | undefined {
    if (settings && (settings.name !== undefined || Object.keys(settings.tags ?? {}).length > 0))
      this.#settings.set(id, settings);
    else this.#settings.delete(id);
    const d = this.#devices.get(id);
    if (d) this.#applySettings(d);
    return d && this.#refresh(d);
  }

  /** Whether the config declares this device (a device or a board). */
  isDeclared(id: string): boolean {
    return this.#declared.has(id);
  }

  /** The config's tag keys of a device (operators cannot override them through the API). */
  declaredTagKeys(id: string): string[] {
    return Object.keys(this.#declaredTags(this.#declared.get(id)));
  }

  /**
   * Forgets a device that is not declared: its state, sensors, learned intervals, the
   * connections it published through and its settings. The next reading or
   * availability message of it makes it a new device. Returns what was known of it.
   */
  remove(id: string): DeviceState | undefined {
    if (this.#declared.has(id)) return undefined;
    const d = this.#devices.get(id);
    if (!d) return undefined;
    this.#devices.delete(id);
    this.#series.delete(id);
    this.#sensorCount.delete(id);
    this.#settings.delete(id);
    for (const set of this.#byClient.values()) set.delete(id);
    if (this.#noted.device === id) this.#noted = { clientId: '', device: '' };
    this.bus.emit('deviceRemoved', id);
    return d;
  }

  #addSensor(d: DeviceState, s: SensorState): void {
    d.sensors[s.sensor] = s;
    this.#sensorCount.set(d.id, (this.#sensorCount.get(d.id) ?? 0) + 1);
  }

  /**
   * Whether a reading of this device and sensor may be stored: known ones always; a
   * new device while fewer than maxDevices are known, a new sensor while its device
   * has fewer than maxSensorsPerDevice. An admitted new sensor is listed at once (its
   * reading follows in the same call), so the sensors of one message count one by one.
   */
  admit(
    r: Pick<Reading, 'device' | 'sensor' | 'metric' | 'unit' | 'value' | 'ts' | 'quality'>,
  ): AdmitRefusal | undefined {
    // The hot path: a known sensor (one lookup per map, no string built).
    if (this.#series.get(r.device)?.has(r.sensor)) return undefined;
    let d = this.#devices.get(r.device);
    if (!d) {
      if (this.#devices.size >= this.#maxDevices) return 'device_limit';
      d = this.#device(r.device);
    }
    if (d.sensors[r.sensor] !== undefined) return undefined;
    if ((this.#sensorCount.get(d.id) ?? 0) >= this.#maxSensors) return 'sensor_limit';
    const s: SensorState = {
      sensor: r.sensor,
      metric: r.metric,
      unit: r.unit,
      value: r.value,
      ts: r.ts,
      lastSeen: this.#now(),
      quality: r.quality,
      stale: false,
      expectedInterval: null,
      intervalSource: null,
    };
    this.#applyInterval(d.id, r.sensor, s);
    this.#addSensor(d, s);
    return undefined;
  }

  /** The caps, for messages that name them. */
  get limits(): { maxDevices: number; maxSensorsPerDevice: number } {
    return { maxDevices: this.#maxDevices, maxSensorsPerDevice: this.#maxSensors };
  }

  /** Readings report-on-change dropped: the sensor is alive though nothing new is stored. */
  seen(rs: readonly Reading[]): void {
    this.#onReadings(rs, false);
  }

  #onReadings(rs: readonly Reading[], stored: boolean): void {
    const now = this.#now();
    // On the hot path (every reading): the state objects are updated in place, and the
    // device of a message (nearly always one) and its learners are looked up once.
    let d: DeviceState | undefined;
    let series: Map<string, Series> | undefined;
    for (const r of rs) {
      if (d?.id !== r.device) {
        d = this.#device(r.device);
        d.source = r.source;
        d.restored = undefined;
        d.firstSeen ??= now;
        d.lastSeen = now;
        series = this.#series.get(r.device);
        if (!series) {
          series = new Map();
          this.#series.set(r.device, series);
        }
      }
      let entry = series!.get(r.sensor);
      let isNew = false;
      if (!entry) {
        // First reading since start: the sensor may be known from storage (restore).
        let state = d.sensors[r.sensor];
        isNew = state === undefined;
        if (!state) {
          state = {
            sensor: r.sensor,
            metric: r.metric,
            unit: r.unit,
            value: r.value,
            ts: r.ts,
            lastSeen: now,
            quality: r.quality,
            stale: false,
            expectedInterval: null,
            intervalSource: null,
          };
          this.#addSensor(d, state);
        }
        entry = { learner: new IntervalLearner(), state };
        series!.set(r.sensor, entry);
      }
      const { learner, state: s } = entry;
      learner.note(now);
      if (stored && !isNew) {
        s.metric = r.metric;
        s.unit = r.unit;
        s.value = r.value;
        s.ts = r.ts;
        s.quality = r.quality;
      }
      s.lastSeen = now;
      s.stale = false;
      // Configured intervals are fixed; learned ones are brought up to date when read (#refresh).
      if (isNew) this.#applyInterval(r.device, r.sensor, s, learner);
      if (d.state !== 'online') this.#set(d, 'online', 'reading');
    }
  }

  #applyInterval(device: string, sensor: string, s: SensorState, learner?: IntervalLearner): void {
    const decl = this.#declared.get(device);
    // Own keys only: a sensor named "constructor" has no declared settings of Object's.
    const own = decl?.sensors && Object.hasOwn(decl.sensors, sensor) ? decl.sensors[sensor] : undefined;
    const configured = own?.expectedInterval ?? decl?.expectedInterval ?? this.opts.expectedIntervalMs;
    if (configured !== undefined) {
      s.expectedInterval = configured;
      s.intervalSource = 'config';
      return;
    }
    const learned = (learner ?? this.#series.get(device)?.get(sensor)?.learner)?.interval;
    s.expectedInterval = learned ?? null;
    s.intervalSource = learned === undefined ? null : 'learned';
  }

  /** Brings the learned intervals of a device's sensors up to date (they are learned per reading, worked out when read). */
  #refresh(d: DeviceState): DeviceState {
    if (this.opts.expectedIntervalMs !== undefined) return d;
    for (const id in d.sensors) this.#applyInterval(d.id, id, d.sensors[id]!);
    return d;
  }

  /**
   * Marks sensors stale that missed staleAfter × their expected interval, then
   * devices: stale when every sensor is, offline after offlineAfter of silence.
   * Devices known only from storage wait for their first reading. Returns how many
   * sensors are stale.
   */
  checkStale(): number {
    const now = this.#now();
    const factor = this.opts.staleAfter ?? 3;
    const offlineAfter = this.opts.offlineAfterMs ?? 600_000;
    let n = 0;
    for (const d of this.#devices.values()) {
      let stale = 0;
      const sensors = Object.values(this.#refresh(d).sensors);
      for (const s of sensors) {
        if (s.expectedInterval !== null && !s.stale && now - s.lastSeen > factor * s.expectedInterval) {
          s.stale = true;
          s.quality = 'stale';
        }
        if (s.stale) stale++;
      }
      n += stale;
      // A board's port tells its availability (a board of buttons may rightly be quiet).
      if (d.restored || d.lastSeen === undefined || d.state === 'offline' || d.source === 'firmata') continue;
      if (now - d.lastSeen > offlineAfter) this.#set(d, 'offline', 'silence');
      else if (d.state === 'online' && sensors.length > 0 && stale === sensors.length)
        this.#set(d, 'stale', 'silence');
    }
    return n;
  }

  /**
   * Adds devices and sensors known from storage (their last stored reading), so a
   * restarted hub lists them and answers history for them before they speak again.
   * What arrived live since start wins over what storage says.
   */
  restore(known: readonly RestoredSensor[]): number {
    let added = 0;
    for (const k of known) {
      const existed = this.#devices.has(k.device);
      // The caps hold for what storage remembers too (they may have been lowered since).
      if (!existed && this.#devices.size >= this.#maxDevices) continue;
      const d = this.#device(k.device, true);
      if (!existed) d.restored = true;
      if (d.sensors[k.sensor] || (this.#sensorCount.get(d.id) ?? 0) >= this.#maxSensors) continue;
      d.source ??= k.source as Reading['source'];
      const s: SensorState = {
        sensor: k.sensor,
        metric: k.metric,
        unit: k.unit,
        value: k.value,
        ts: k.ts,
        lastSeen: k.ts,
        quality: 'good',
        stale: false,
        expectedInterval: null,
        intervalSource: null,
      };
      this.#applyInterval(k.device, k.sensor, s);
      this.#addSensor(d, s);
      if (d.restored) d.lastSeen = Math.max(d.lastSeen ?? 0, k.ts);
      added++;
    }
    return added;
  }

  /** Remembers which connection a device publishes through, for offline detection. */
  noteClient(clientId: string, device: string): void {
    const noted = this.#noted;
    if (noted.clientId === clientId && noted.device === device) return;
    noted.clientId = clientId;
    noted.device = device;
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
    // The same id may connect again: its next device must be recorded anew.
    if (this.#noted.clientId === clientId) this.#noted = { clientId: '', device: '' };
    if (clean) return;
    for (const device of set ?? []) {
      const d = this.#devices.get(device);
      if (d) this.#set(d, 'offline', 'connection');
    }
  }

  /**
   * A device's own availability message (LWT, status topic); creates the device when
   * new and there is room (maxDevices). Returns false when it was ignored for the cap.
   */
  setAvailability(device: string, state: Availability): boolean {
    if (!this.#devices.has(device) && this.#devices.size >= this.#maxDevices) return false;
    this.#set(this.#device(device), state, 'device');
    return true;
  }

  setState(device: string, state: Availability): void {
    const d = this.#devices.get(device);
    if (d) this.#set(d, state, 'connection');
  }

  #set(d: DeviceState, state: Availability, source: DeviceState['stateSource']): void {
    d.stateSource = source;
    if (d.state === state) return;
    d.state = state;
    this.bus.emit('availability', d.id, state, this.#now());
  }

  get(id: string): DeviceState | undefined {
    const d = this.#devices.get(id);
    return d && this.#refresh(d);
  }

  has(id: string): boolean {
    return this.#devices.has(id);
  }

  get size(): number {
    return this.#devices.size;
  }

  /** Devices by state, without sorting the list (read at every /metrics scrape). */
  countByState(): Record<DeviceState['state'], number> {
    const n = { online: 0, stale: 0, offline: 0, waiting: 0 };
    for (const d of this.#devices.values()) n[d.state]++;
    return n;
  }

  list(): DeviceState[] {
    return [...this.#devices.values()].map((d) => this.#refresh(d)).sort((a, b) => a.id.localeCompare(b.id));
  }

  /**
   * The InfluxDB tags of each device: the config's only. Labels set through the API
   * are for people; as tags they would split a device's history into new series.
   */
  tagsOf(): Map<string, Record<string, string>> {
    const m = new Map<string, Record<string, string>>();
    for (const decl of this.#declared.values()) {
      const tags = this.#declaredTags(decl);
      if (Object.keys(tags).length > 0) m.set(decl.id, tags);
    }
    return m;
  }
}
