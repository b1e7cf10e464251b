import { randomUUID } from 'node:crypto';
import type { AlertRule } from '../config/alerts.js';
import type { Availability } from '../core/bus.js';
import type { Reading } from '../core/reading.js';
import { globMatcher, isLiteral, type Matcher } from './glob.js';
import { type Alert, type AlertChange, DEVICE_LEVEL, type Silence, type StoredAlert } from './types.js';

/** A rule with its matchers built once. */
interface Compiled {
  rule: AlertRule;
  device: Matcher;
  sensor: Matcher;
  metric: Matcher;
  tags: Array<[key: string, value: Matcher]>;
}

/** One rule applied to one series: its alert while pending or firing, and a rate rule's samples. */
interface Entry {
  c: Compiled;
  inst: Instance | undefined;
  samples: Sample[] | undefined;
}

interface Sample {
  ts: number;
  value: number;
}

interface Instance {
  alert: Alert;
  notified: boolean;
}

/** The rules that apply to one series, found once per device, sensor and metric. */
interface SeriesRules {
  metric: string;
  entries: Entry[];
}

export interface EngineOptions {
  now?: () => number;
  newId?: () => string;
  /** Every change: the module publishes, persists and queues notifications from here. */
  onChange(change: AlertChange): void;
}

const SEVERITY_ORDER = { critical: 0, warning: 1, info: 2 } as const;
/** Samples a rate rule keeps per series at most: spaced per/RATE_SAMPLES apart. */
const RATE_SAMPLES = 32;
const NONE: Entry[] = [];

/**
 * The alert engine: per rule and series, pending → firing → resolved. Pure: the
 * clock is injected and every effect goes through onChange. A reading costs a map
 * lookup per device and sensor, then only the rules that match that series (found
 * once, from rules indexed by metric), so a thousand rules cost about what the few
 * that apply cost.
 */
export class AlertEngine {
  readonly #now: () => number;
  readonly #newId: () => string;
  readonly #onChange: (c: AlertChange) => void;
  /** Rules by literal metric name, and rules whose metric is a glob (or absent). */
  readonly #byMetric = new Map<string, Compiled[]>();
  readonly #anyMetric: Compiled[] = [];
  readonly #staleRules: Compiled[] = [];
  readonly #offlineRules: Compiled[] = [];
  readonly #rules = new Map<string, Compiled>();
  /** device -> sensor -> the rules of that series. */
  readonly #series = new Map<string, Map<string, SeriesRules>>();
  /** Alerts pending or firing, by rule, device and sensor. */
  readonly #active = new Map<string, Instance>();
  readonly #silences = new Map<string, Silence>();
  /** Offline rules' entries by device. */
  readonly #offline = new Map<string, Entry[]>();

  constructor(rules: readonly AlertRule[], opts: EngineOptions) {
    this.#now = opts.now ?? Date.now;
    this.#newId = opts.newId ?? randomUUID;
    this.#onChange = opts.onChange;
    for (const rule of rules) {
      const c: Compiled = {
        rule,
        device: globMatcher(rule.match.device),
        sensor: globMatcher(rule.match.sensor),
        metric: globMatcher(rule.match.metric),
        tags: Object.entries(rule.match.tags ?? {}).map(([k, v]) => [k, globMatcher(v)]),
      };
      this.#rules.set(rule.name, c);
      if (rule.kind === 'offline') this.#offlineRules.push(c);
      else if (rule.kind === 'stale') this.#staleRules.push(c);
      else if (isLiteral(rule.match.metric)) {
        const list = this.#byMetric.get(rule.match.metric) ?? [];
        list.push(c);
        this.#byMetric.set(rule.match.metric, list);
      } else this.#anyMetric.push(c);
    }
  }

  get ruleCount(): number {
    return this.#rules.size;
  }

  /** Whether sensors' staleness matters (the module polls the registry only then). */
  get hasStaleRules(): boolean {
    return this.#staleRules.length > 0;
  }

  // --- inputs ---

  /** Readings from the bus: the hot path. */
  readings(rs: readonly Reading[]): void {
    if (this.#rules.size === 0) return;
    let now: number | undefined;
    for (let i = 0; i < rs.length; i++) {
      const r = rs[i]!;
      const entries = this.#entriesFor(r.device, r.sensor, r.metric, r.tags);
      if (entries.length === 0) continue;
      now ??= this.#now();
      for (let j = 0; j < entries.length; j++) this.#evaluate(entries[j]!, r, now);
    }
  }

  /** A device's availability changed (bus event). */
  availability(device: string, state: Availability, tags?: Readonly<Record<string, string>>): void {
    if (this.#offlineRules.length === 0) return;
    let entries = this.#offline.get(device);
    if (!entries) {
      entries = this.#offlineRules
        .filter((c) => c.device(device) && tagsMatch(c, tags))
        .map((c) => ({
          c,
          inst: this.#active.get(key(c.rule.name, device, DEVICE_LEVEL)),
          samples: undefined,
        }));
      this.#offline.set(device, entries);
    }
    const now = this.#now();
    for (const e of entries) this.#apply(e, device, DEVICE_LEVEL, null, state === 'offline', null, null, now);
  }

  /** A sensor's staleness as the registry sees it (polled while stale rules exist). */
  staleness(
    device: string,
    sensor: string,
    metric: string,
    stale: boolean,
    tags?: Readonly<Record<string, string>>,
  ): void {
    const entries = this.#entriesFor(device, sensor, metric, tags);
    if (entries.length === 0) return;
    const now = this.#now();
    for (const e of entries)
      if (e.c.rule.kind === 'stale') this.#apply(e, device, sensor, metric, stale, null, null, now);
  }

  /** Promotes pending alerts whose `for` has passed, ends silences. Called about once a second. */
  tick(): void {
    const now = this.#now();
    let ended = false;
    for (const [id, s] of this.#silences) {
      if (s.until <= now) {
        this.#silences.delete(id);
        ended = true;
      }
    }
    for (const inst of [...this.#active.values()]) {
      const a = inst.alert;
      if (a.state !== 'pending') continue;
      const c = this.#rules.get(a.rule);
      if (c && now - a.activeSince >= c.rule.for) this.#fire(inst, now);
    }
    if (ended) this.#release();
  }

  /** Firing alerts a silence held back: receivers hear of them now, once. */
  #release(): void {
    for (const inst of this.#active.values()) {
      const a = inst.alert;
      a.silenced = this.#silenced(a);
      if (a.state !== 'firing' || inst.notified || a.silenced) continue;
      inst.notified = true;
      a.id = this.#newId();
      this.#emit(inst, true, true, 'release');
    }
  }

  // --- operator actions ---

  acknowledge(rule: string, device: string, sensor: string, by?: string): Alert | undefined {
    const inst = this.#active.get(key(rule, device, sensor));
    if (!inst) return undefined;
    const a = inst.alert;
    a.acknowledged = true;
    a.acknowledgedAt = this.#now();
    a.acknowledgedBy = by;
    a.id = this.#newId();
    this.#emit(inst, false, true, 'ack');
    return { ...a };
  }

  silence(s: Omit<Silence, 'id' | 'createdAt'>): Silence {
    const silence: Silence = { id: this.#newId(), createdAt: this.#now(), ...s };
    this.#silences.set(silence.id, silence);
    for (const inst of this.#active.values()) inst.alert.silenced = this.#silenced(inst.alert);
    return silence;
  }

  unsilence(id: string): boolean {
    if (!this.#silences.delete(id)) return false;
    this.#release();
    return true;
  }

  silences(): Silence[] {
    const now = this.#now();
    return [...this.#silences.values()].filter((s) => s.until > now);
  }

  /** Pending and firing alerts: firing first, then by severity, then oldest first. */
  active(): Alert[] {
    return [...this.#active.values()]
      .map((i) => ({ ...i.alert }))
      .sort(
        (a, b) =>
          (a.state === 'firing' ? 0 : 1) - (b.state === 'firing' ? 0 : 1) ||
          SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
          a.since - b.since,
      );
  }

  get(rule: string, device: string, sensor: string): Alert | undefined {
    const inst = this.#active.get(key(rule, device, sensor));
    return inst ? { ...inst.alert } : undefined;
  }

  /** Restores what was persisted: alerts of rules that still exist, silences not yet over. */
  restore(alerts: readonly StoredAlert[], silences: readonly Silence[]): void {
    const now = this.#now();
    for (const s of silences) if (s.until > now) this.#silences.set(s.id, s);
    for (const { alert, notified } of alerts) {
      const c = this.#rules.get(alert.rule);
      if (!c || alert.state === 'resolved') continue;
      // The rule may have changed since: its current severity applies.
      const inst: Instance = { alert: { ...alert, severity: c.rule.severity }, notified };
      inst.alert.silenced = this.#silenced(inst.alert);
      this.#active.set(key(alert.rule, alert.device, alert.sensor), inst);
    }
  }

  // --- evaluation ---

  #entriesFor(
    device: string,
    sensor: string,
    metric: string,
    tags: Readonly<Record<string, string>> | undefined,
  ): Entry[] {
    let sensors = this.#series.get(device);
    if (!sensors) {
      sensors = new Map();
      this.#series.set(device, sensors);
    }
    const found = sensors.get(sensor);
    if (found && found.metric === metric) return found.entries;
    const entries = this.#match(device, sensor, metric, tags);
    sensors.set(sensor, { metric, entries });
    return entries;
  }

  #match(device: string, sensor: string, metric: string, tags?: Readonly<Record<string, string>>): Entry[] {
    const candidates = [...(this.#byMetric.get(metric) ?? []), ...this.#anyMetric, ...this.#staleRules];
    const out: Entry[] = [];
    for (const c of candidates) {
      if (!c.device(device) || !c.sensor(sensor) || !c.metric(metric) || !tagsMatch(c, tags)) continue;
      out.push({
        c,
        inst: this.#active.get(key(c.rule.name, device, sensor)),
        samples: c.rule.kind === 'rate' ? [] : undefined,
      });
    }
    return out.length === 0 ? NONE : out;
  }

  #evaluate(e: Entry, r: Reading, now: number): void {
    const rule = e.c.rule;
    const v = r.value;
    // Once active (pending or firing), a condition holds until the value reaches `clear`.
    const active = e.inst !== undefined;
    let holds: boolean;
    let value: number | null = v;
    switch (rule.kind) {
      case 'above':
        holds = active ? v > rule.clear : v > rule.threshold;
        break;
      case 'below':
        holds = active ? v < rule.clear : v < rule.threshold;
        break;
      case 'outside': {
        const [lo, hi] = active ? rule.clear : rule.threshold;
        holds = v < lo || v > hi;
        break;
      }
      case 'rate': {
        value = rateChange(e.samples!, r.ts, v, rule.per);
        const limit = active ? rule.clear : rule.threshold;
        holds = rule.direction === 'above' ? value > limit : value < limit;
        break;
      }
      case 'stale':
        // A reading: the sensor is not stale (the registry clears its flag too).
        if (!active) return;
        holds = false;
        value = null;
        break;
      default:
        return;
    }
    this.#apply(e, r.device, r.sensor, r.metric, holds, value, value === null ? null : r.unit, now);
  }

  #apply(
    e: Entry,
    device: string,
    sensor: string,
    metric: string | null,
    holds: boolean,
    value: number | null,
    unit: string | null,
    now: number,
  ): void {
    const inst = e.inst;
    if (inst) {
      if (holds) {
        // Keep the latest value for the API; only a state change is a notification.
        inst.alert.value = value;
        if (inst.alert.state === 'pending' && now - inst.alert.activeSince >= e.c.rule.for)
          this.#fire(inst, now);
        return;
      }
      e.inst = undefined;
      this.#active.delete(key(inst.alert.rule, device, sensor));
      const a = inst.alert;
      a.value = value ?? a.value;
      if (a.state === 'pending') {
        // Gone before `for`: never fired, nobody is told.
        this.#onChange({ alert: { ...a }, notify: false, active: false, event: 'state' });
        return;
      }
      a.state = 'resolved';
      a.since = now;
      a.id = this.#newId();
      this.#emit(inst, inst.notified, false);
      return;
    }
    if (!holds) return;
    const rule = e.c.rule;
    const alert: Alert = {
      id: this.#newId(),
      rule: rule.name,
      device,
      sensor,
      metric,
      kind: rule.kind,
      state: 'pending',
      value,
      unit: rule.kind === 'stale' || rule.kind === 'offline' ? null : (unit ?? rule.unit ?? null),
      severity: rule.severity,
      since: now,
      activeSince: now,
      acknowledged: false,
      silenced: false,
    };
    alert.silenced = this.#silenced(alert);
    const created: Instance = { alert, notified: false };
    e.inst = created;
    this.#active.set(key(rule.name, device, sensor), created);
    if (rule.for > 0) this.#emit(created, false, true);
    else this.#fire(created, now);
  }

  #fire(inst: Instance, now: number): void {
    const a = inst.alert;
    a.state = 'firing';
    a.since = now;
    a.id = this.#newId();
    a.silenced = this.#silenced(a);
    inst.notified = !a.silenced;
    this.#emit(inst, inst.notified, true);
  }

  #emit(inst: Instance, notify: boolean, active: boolean, event: AlertChange['event'] = 'state'): void {
    this.#onChange({ alert: { ...inst.alert }, notify, active, event });
  }

  #silenced(a: Alert): boolean {
    const now = this.#now();
    for (const s of this.#silences.values()) {
      if (s.until <= now) continue;
      if (s.rule !== undefined && !globMatcher(s.rule)(a.rule)) continue;
      if (s.device !== undefined && !globMatcher(s.device)(a.device)) continue;
      return true;
    }
    return false;
  }

  /** What to persist of one alert (the module writes it with each change). */
  stored(rule: string, device: string, sensor: string): StoredAlert | undefined {
    const inst = this.#active.get(key(rule, device, sensor));
    return inst ? { alert: { ...inst.alert }, notified: inst.notified } : undefined;
  }
}

/** The key of one alert; `\0` is in no id or rule name, so keys cannot collide. */
export const key = (rule: string, device: string, sensor: string) => `${rule}\0${device}\0${sensor}`;

function tagsMatch(c: Compiled, tags: Readonly<Record<string, string>> | undefined): boolean {
  for (const [k, m] of c.tags) {
    const v = tags && Object.hasOwn(tags, k) ? tags[k] : undefined;
    if (v === undefined || !m(v)) return false;
  }
  return true;
}

/**
 * The change of a value within the last `per` (by measurement time): the newest value
 * minus the oldest kept inside the window. Not extrapolated: two close readings never
 * make a big rate. Samples are kept at least per/RATE_SAMPLES apart, so memory stays small.
 */
function rateChange(samples: Sample[], ts: number, value: number, per: number): number {
  while (samples.length > 0 && samples[0]!.ts < ts - per) samples.shift();
  const last = samples[samples.length - 1];
  if (!last || ts - last.ts >= per / RATE_SAMPLES) samples.push({ ts, value });
  return samples.length === 0 ? 0 : value - samples[0]!.value;
}
