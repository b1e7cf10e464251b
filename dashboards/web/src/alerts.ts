import { getJson, sendJson } from './api.js';

/** Mirrors hub/alerts/types.ts (Alert): one entry of GET /api/alerts. */
export interface Alert {
  id: string;
  rule: string;
  device: string;
  sensor: string;
  metric: string | null;
  kind: string;
  state: 'pending' | 'firing' | 'resolved';
  value: number | null;
  unit: string | null;
  severity: Severity;
  since: number;
  activeSince: number;
  acknowledged: boolean;
  acknowledgedAt?: number;
  acknowledgedBy?: string;
  silenced: boolean;
}

export type Severity = 'critical' | 'warning' | 'info';

export interface Silence {
  id: string;
  rule?: string;
  device?: string;
  createdAt: number;
  until: number;
  comment?: string;
}

export interface AlertsAnswer {
  alerts: Alert[];
  history: Alert[];
  silences: Silence[];
}

/** A device-level alert (offline) is about every sensor of its device. */
export const DEVICE_LEVEL = '_device';

const SEVERITY_ORDER: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };

/** Firing first, then by severity, then oldest first: what needs a person most comes first. */
export function sortAlerts(alerts: readonly Alert[]): Alert[] {
  return [...alerts].sort(
    (a, b) =>
      (a.state === 'firing' ? 0 : 1) - (b.state === 'firing' ? 0 : 1) ||
      (SEVERITY_ORDER[a.severity] ?? 3) - (SEVERITY_ORDER[b.severity] ?? 3) ||
      a.since - b.since,
  );
}

/** The number of firing alerts and the worst severity among them (the header's badge). */
export function firingSummary(alerts: readonly Alert[]): { count: number; worst: Severity | undefined } {
  let worst: Severity | undefined;
  let count = 0;
  for (const a of alerts) {
    if (a.state !== 'firing') continue;
    count++;
    if (worst === undefined || SEVERITY_ORDER[a.severity] < SEVERITY_ORDER[worst]) worst = a.severity;
  }
  return { count, worst };
}

export interface FiringPeriod {
  rule: string;
  severity: Severity;
  from: number;
  /** Undefined while it still fires. */
  to: number | undefined;
}

/**
 * When alerts of one sensor fired, from the hub's change history (firing and resolved,
 * newest first) and the alerts firing now. A resolved change whose firing fell out of
 * the history starts at its activeSince (when the condition first held). Device-level
 * alerts (offline) count for every sensor of the device.
 */
export function firingPeriods(
  history: readonly Alert[],
  active: readonly Alert[],
  device: string,
  sensor: string,
): FiringPeriod[] {
  const mine = (a: Alert) => a.device === device && (a.sensor === sensor || a.sensor === DEVICE_LEVEL);
  const key = (a: Alert) => `${a.rule}\0${a.sensor}`;
  const open = new Map<string, Alert>();
  const out: FiringPeriod[] = [];
  const changes = history.filter(mine).sort((a, b) => a.since - b.since);
  for (const a of changes) {
    if (a.state === 'firing') {
      if (!open.has(key(a))) open.set(key(a), a);
    } else if (a.state === 'resolved') {
      const start = open.get(key(a));
      open.delete(key(a));
      out.push({ rule: a.rule, severity: a.severity, from: start?.since ?? a.activeSince, to: a.since });
    }
  }
  for (const a of active) {
    if (a.state !== 'firing' || !mine(a)) continue;
    const start = open.get(key(a));
    out.push({
      rule: a.rule,
      severity: a.severity,
      from: Math.min(start?.since ?? a.since, a.since),
      to: undefined,
    });
  }
  return out.sort((a, b) => a.from - b.from);
}

/** How often the dashboard asks the hub for its alerts. */
const POLL_MS = 3000;

type Listener = () => void;

/**
 * The hub's alerts as the dashboard knows them, polled from GET /api/alerts (alerts
 * change rarely; readings come by the stream). Actions refresh at once.
 */
export class AlertFeed {
  alerts: Alert[] = [];
  history: Alert[] = [];
  silences: Silence[] = [];
  /** The last failure to ask the hub; cleared by the next answer. */
  error: string | undefined;
  loaded = false;
  readonly #listeners = new Set<Listener>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #seq = 0;

  start(): void {
    void this.refresh();
  }

  subscribe(fn: Listener): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  async refresh(): Promise<void> {
    clearTimeout(this.#timer);
    const seq = ++this.#seq;
    try {
      const a = await getJson<AlertsAnswer>('/api/alerts');
      // An answer overtaken by a newer request (after an action) is not shown.
      if (seq !== this.#seq) return;
      this.alerts = sortAlerts(a.alerts);
      this.history = a.history;
      this.silences = a.silences;
      this.error = undefined;
      this.loaded = true;
    } catch (err) {
      if (seq !== this.#seq) return;
      this.error = (err as Error).message;
    }
    for (const fn of this.#listeners) fn();
    this.#timer = setTimeout(() => void this.refresh(), POLL_MS);
  }

  async acknowledge(a: Alert, by?: string): Promise<void> {
    const path = ['', 'api', 'alerts', a.rule, a.device, a.sensor, 'ack'].map(encodeURIComponent).join('/');
    try {
      await sendJson('POST', path, by ? { by } : {});
    } finally {
      await this.refresh();
    }
  }

  async silence(s: { rule?: string; device?: string; for: string; comment?: string }): Promise<void> {
    try {
      await sendJson('POST', '/api/silences', s);
    } finally {
      await this.refresh();
    }
  }

  async unsilence(id: string): Promise<void> {
    try {
      await sendJson('DELETE', `/api/silences/${encodeURIComponent(id)}`);
    } finally {
      await this.refresh();
    }
  }
}
