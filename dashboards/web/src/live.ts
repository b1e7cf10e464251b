import {
  apiUrl,
  type DeviceState,
  type DeviceStateName,
  getJson,
  type QuarantineEntry,
  type Reading,
  type Trends,
} from './api.js';

/** How often views repaint at most: readings arrive far faster than a person can read them. */
const REPAINT_MS = 500;
/** The overview's trend: the last TREND_SPAN_MS in TREND_POINTS buckets. */
const TREND_SPAN_MS = 15 * 60_000;
const TREND_POINTS = 30;

export interface Trend {
  every: number;
  ts: number[];
  values: number[];
  counts: number[];
}

type Listener = (dirty: ReadonlySet<string>) => void;

/**
 * Everything live the dashboard knows: devices with their last values, a short trend
 * per sensor, kept current from the hub's SSE stream. Readings only mark devices
 * dirty; listeners run at most every REPAINT_MS with the set of devices that changed.
 */
export class LiveStore {
  readonly devices = new Map<string, DeviceState>();
  readonly trends = new Map<string, Trend>();
  readonly #dirty = new Set<string>();
  readonly #listeners = new Set<Listener>();
  readonly #readingListeners = new Set<(r: Reading) => void>();
  readonly #quarantineListeners = new Set<(e: QuarantineEntry) => void>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #source: EventSource | undefined;
  #trendEvery = 30_000;
  /** Readings received since the page loaded (shown in the header; read by the benchmark). */
  received = 0;
  skipped = 0;
  connected = false;
  /** False until the stream answered once (open or error): "connecting", not "reconnecting". */
  tried = false;
  /** True once the device list came from the hub (an empty list then means "no devices yet"). */
  loaded = false;

  async start(): Promise<void> {
    this.#connect();
    await this.reload();
  }

  async reload(): Promise<void> {
    // Devices first: the overview is useful before the trends (one heavier query) arrive.
    const trendsP = getJson<Trends>('/api/trends', {
      from: `-${TREND_SPAN_MS / 60_000}m`,
      points: TREND_POINTS,
    }).catch(() => undefined);
    const list = await getJson<{ devices: DeviceState[] }>('/api/devices');
    for (const d of list.devices) {
      const known = this.devices.get(d.id);
      if (known) {
        // The stream may already have brought newer values than this snapshot.
        for (const [k, s] of Object.entries(d.sensors)) {
          const mine = known.sensors[k];
          if (!mine || mine.ts < s.ts) known.sensors[k] = s;
        }
        if (known.state === 'waiting') known.state = d.state;
      } else this.devices.set(d.id, d);
      this.#dirty.add(d.id);
    }
    this.loaded = true;
    this.#schedule(true);
    const trends = await trendsP;
    if (trends) {
      this.#trendEvery = trends.every;
      for (const s of trends.series) {
        const key = `${s.device}/${s.sensor}`;
        const live = this.trends.get(key);
        const t: Trend = { every: trends.every, ts: s.ts, values: s.values, counts: s.ts.map(() => 1) };
        // Live buckets after the last stored one are kept.
        if (live)
          for (let i = 0; i < live.ts.length; i++)
            if (live.ts[i]! > (s.ts.at(-1) ?? 0)) {
              t.ts.push(live.ts[i]!);
              t.values.push(live.values[i]!);
              t.counts.push(live.counts[i]!);
            }
        this.trends.set(key, t);
      }
    }
    this.#schedule();
  }

  #connect(): void {
    const es = new EventSource(apiUrl('/api/stream'));
    this.#source = es;
    const conn = (up: boolean) => {
      this.connected = up;
      this.tried = true;
      this.#schedule();
    };
    es.onopen = () => conn(true);
    es.onerror = () => conn(false);
    es.addEventListener('reading', (ev) => this.#onReading(JSON.parse((ev as MessageEvent<string>).data)));
    es.addEventListener('availability', (ev) => {
      const a = JSON.parse((ev as MessageEvent<string>).data) as { device: string; state: DeviceStateName };
      const d = this.devices.get(a.device);
      if (d) {
        d.state = a.state;
        this.#mark(a.device);
      }
    });
    es.addEventListener('removed', (ev) => {
      const { device } = JSON.parse((ev as MessageEvent<string>).data) as { device: string };
      this.forget(device);
    });
    es.addEventListener('quarantine', (ev) => {
      const e = JSON.parse((ev as MessageEvent<string>).data) as QuarantineEntry;
      for (const l of this.#quarantineListeners) l(e);
    });
    es.addEventListener('skipped', (ev) => {
      this.skipped += Number((ev as MessageEvent<string>).data) || 0;
    });
  }

  #onReading(r: Reading): void {
    this.received++;
    this.removed.delete(r.device);
    let d = this.devices.get(r.device);
    if (!d) {
      // A sensor id is external: "__proto__" must stay an own key, as in the hub's JSON.
      d = {
        id: r.device,
        tags: {},
        source: r.source,
        state: 'online',
        firstSeen: Date.now(),
        lastSeen: undefined,
        sensors: Object.create(null) as DeviceState['sensors'],
      };
      this.devices.set(r.device, d);
    }
    d.state = 'online';
    d.lastSeen = Date.now();
    d.restored = false;
    const known = d.sensors[r.sensor];
    d.sensors[r.sensor] = {
      ...r,
      lastSeen: d.lastSeen,
      stale: false,
      expectedInterval: known?.expectedInterval ?? null,
      intervalSource: known?.intervalSource ?? null,
    };
    this.#addToTrend(`${r.device}/${r.sensor}`, r.ts, r.value);
    for (const l of this.#readingListeners) l(r);
    this.#mark(r.device);
  }

  #addToTrend(key: string, ts: number, value: number): void {
    let t = this.trends.get(key);
    if (!t) {
      t = { every: this.#trendEvery, ts: [], values: [], counts: [] };
      this.trends.set(key, t);
    }
    const bucket = Math.floor(ts / t.every) * t.every;
    const last = t.ts.length - 1;
    if (last >= 0 && t.ts[last] === bucket) {
      const n = t.counts[last]! + 1;
      t.values[last] = t.values[last]! + (value - t.values[last]!) / n;
      t.counts[last] = n;
    } else if (last < 0 || bucket > t.ts[last]!) {
      t.ts.push(bucket);
      t.values.push(value);
      t.counts.push(1);
      while (t.ts.length > 0 && t.ts[0]! < bucket - TREND_SPAN_MS) {
        t.ts.shift();
        t.values.shift();
        t.counts.shift();
      }
    }
  }

  #mark(device: string): void {
    this.#dirty.add(device);
    this.#schedule();
  }

  #schedule(now = false): void {
    if (this.#timer !== undefined) {
      if (!now) return;
      clearTimeout(this.#timer);
    }
    this.#timer = setTimeout(
      () => {
        requestAnimationFrame(() => {
          this.#timer = undefined;
          const dirty = new Set(this.#dirty);
          this.#dirty.clear();
          for (const l of this.#listeners) l(dirty);
        });
      },
      now ? 0 : REPAINT_MS,
    );
  }

  /** Devices removed (here or in another window) since the page loaded; a new reading brings one back. */
  readonly removed = new Set<string>();

  /** A device removed from the hub: gone from every view now, not at the next reload. */
  forget(id: string): void {
    this.removed.add(id);
    if (!this.devices.delete(id)) return;
    for (const key of [...this.trends.keys()]) if (key.startsWith(`${id}/`)) this.trends.delete(key);
    this.#mark(id);
  }

  /** A device's new name or tags (as the hub answered a change). */
  update(next: Pick<DeviceState, 'id'> & Partial<DeviceState>): void {
    const d = this.devices.get(next.id);
    if (!d) return;
    if ('name' in next) d.name = next.name;
    if (next.tags) d.tags = next.tags;
    this.#mark(next.id);
  }

  /** Called at most every REPAINT_MS with the devices that changed. */
  subscribe(fn: Listener): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Every reading as it arrives (for a live chart that keeps its own buffer and repaint pace). */
  onReading(fn: (r: Reading) => void): () => void {
    this.#readingListeners.add(fn);
    return () => this.#readingListeners.delete(fn);
  }

  onQuarantine(fn: (e: QuarantineEntry) => void): () => void {
    this.#quarantineListeners.add(fn);
    return () => this.#quarantineListeners.delete(fn);
  }

  stop(): void {
    this.#source?.close();
    clearTimeout(this.#timer);
  }
}
