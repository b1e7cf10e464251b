import { type DeviceState, getJson } from '../api.js';
import { type Range, rangeWindow, SensorChart } from '../chart.js';
import { ago, h, type Unmount } from '../dom.js';
import type { LiveStore } from '../live.js';
import { onThemeChange } from '../theme.js';
import { converter, formatValue, onUnitsChange } from '../units.js';
import { deviceAdmin } from './device-admin.js';

const HOUR = 3_600_000;
const RANGES: Array<{ label: string; spanMs: number }> = [
  { label: '15 min', spanMs: 15 * 60_000 },
  { label: '1 h', spanMs: HOUR },
  { label: '24 h', spanMs: 24 * HOUR },
  { label: '7 d', spanMs: 7 * 24 * HOUR },
];
/** The shortest automatic range: a device heard seconds ago still gets a readable chart. */
const AUTO_MIN_SPAN = 5000;

const toLocalInput = (ts: number) => {
  const d = new Date(ts - new Date(ts).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
};

/**
 * The range a device page opens with ("auto"): from the device's first reading while
 * it is younger than an hour, so a new device fills the chart instead of being a
 * sliver at its right edge; the last hour after that; and for a device that has been
 * silent for longer, the shortest usual range that still holds its last reading.
 */
export function autoRange(firstTs: number | undefined, lastTs: number | undefined, now = Date.now()): Range {
  if (lastTs !== undefined && now - lastTs > HOUR) {
    const spanMs = RANGES.find((r) => r.spanMs > now - lastTs)?.spanMs ?? 7 * 24 * HOUR;
    return { spanMs, from: now - spanMs, to: now };
  }
  if (firstTs !== undefined && now - firstTs < HOUR) {
    // A little room before the first point, so it is not drawn on the axis.
    const startAt = Math.min(firstTs - Math.max(2000, (now - firstTs) * 0.03), now - AUTO_MIN_SPAN);
    return { spanMs: HOUR, startAt, from: startAt, to: now };
  }
  return { spanMs: HOUR, from: now - HOUR, to: now };
}

/** One device: its state and sensors, each with a history chart joined to live readings. */
export function mountDevice(root: HTMLElement, store: LiveStore, id: string, only?: string): Unmount {
  const title = h('h2', {}, id);
  const meta = h('p', { class: 'meta' });
  const buttons = [
    h('button', { type: 'button', 'data-range': 'auto', title: 'from the first reading, up to 1 h' }, 'Auto'),
    ...RANGES.map((r) => h('button', { type: 'button', 'data-range': r.label }, r.label)),
  ];
  const customFrom = h('input', { type: 'datetime-local', 'aria-label': 'from', id: 'range-from' });
  const customTo = h('input', { type: 'datetime-local', 'aria-label': 'to', id: 'range-to' });
  const apply = h('button', { type: 'button', 'data-range': 'custom' }, 'Custom');
  const error = h('p', { class: 'error', hidden: '' });
  const notice = h('p', { class: 'notice', hidden: '' });
  const charts = h('div', { class: 'charts' });
  const toolbar = h(
    'section',
    { class: 'toolbar ranges', hidden: '' },
    ...buttons,
    h('span', { class: 'sep' }, 'or'),
    customFrom,
    customTo,
    apply,
  );
  const adminBox = h('div');
  root.append(
    h('p', {}, h('a', { href: '#/' }, '← all devices')),
    title,
    meta,
    notice,
    adminBox,
    toolbar,
    error,
    charts,
  );

  const list: SensorChart[] = [];
  let range: Range = autoRange(undefined, undefined);
  let chosen = 'auto';
  const select = (label: string) => {
    chosen = label;
    for (const b of [...buttons, apply]) b.classList.toggle('active', b.dataset.range === label);
  };
  /** The from/to fields show the range on screen, whichever button chose it. */
  const showRange = () => {
    const w = rangeWindow(range);
    if (document.activeElement !== customFrom) customFrom.value = toLocalInput(w.from);
    if (document.activeElement !== customTo) customTo.value = toLocalInput(w.to);
  };

  const load = async () => {
    error.hidden = true;
    showRange();
    try {
      await Promise.all(list.map((c) => c.load(range)));
    } catch (err) {
      error.textContent = (err as Error).message;
      error.hidden = false;
    }
  };

  const lastOf = (d: DeviceState): number | undefined => {
    const ts = Object.values(d.sensors).map((s) => s.ts);
    return ts.length ? Math.max(...ts) : d.lastSeen;
  };

  /**
   * Auto: the data decides where the range starts (a device restored after a restart
   * has no first-seen time, and one that sends its own timestamps may be older than
   * it); the registry's first-seen time refines the first interval's start.
   */
  const loadAuto = async () => {
    const d = store.devices.get(id);
    const last = d ? lastOf(d) : undefined;
    range = autoRange(undefined, last);
    select('auto');
    await load();
    if (chosen !== 'auto' || range.spanMs !== HOUR) return;
    const first = Math.min(...list.map((c) => c.firstTs ?? Number.POSITIVE_INFINITY));
    const w = rangeWindow(range);
    if (!Number.isFinite(first) || first <= w.from + (w.to - w.from) * 0.1) return;
    const every = Math.max(0, ...list.map((c) => c.every));
    const seen = d?.firstSeen;
    const exact = seen !== undefined && seen >= first && seen < first + Math.max(every, 1) ? seen : first;
    range = autoRange(exact, last);
    await load();
  };

  buttons.forEach((b) => {
    b.addEventListener('click', () => {
      const label = b.dataset.range!;
      if (label === 'auto') {
        void loadAuto();
        return;
      }
      const spanMs = RANGES.find((r) => r.label === label)!.spanMs;
      range = { spanMs, from: Date.now() - spanMs, to: Date.now() };
      select(label);
      void load();
    });
  });
  apply.addEventListener('click', () => {
    const from = Date.parse(customFrom.value);
    const to = Date.parse(customTo.value);
    if (!Number.isFinite(from) || !Number.isFinite(to) || from >= to) {
      error.textContent = 'Custom range: choose a start before the end.';
      error.hidden = false;
      return;
    }
    range = { from, to };
    select('custom');
    void load();
  });

  const paintMeta = (d: DeviceState | undefined) => {
    if (!d) return;
    title.replaceChildren(d.name ?? d.id, ...(d.name ? [' ', h('small', { class: 'device-id' }, d.id)] : []));
    const values = Object.values(d.sensors)
      .sort((a, b) => a.sensor.localeCompare(b.sensor))
      .map((s) => {
        const c = converter(s.unit, s.metric);
        return `${s.sensor} ${formatValue(c.fn(s.value))}${c.label ? ` ${c.label}` : ''}`;
      })
      .join(' · ');
    const tags = Object.entries(d.tags).filter(([k]) => k !== 'location');
    meta.replaceChildren(
      h('span', { class: `state state-${d.state}`, id: 'device-state' }, d.state),
      ` last seen ${ago(d.lastSeen)}${d.location ? ` · ${d.location}` : ''} · `,
      h('span', { class: 'now' }, values),
      ...(tags.length
        ? [
            ' ',
            h(
              'span',
              { class: 'tags' },
              ...tags.map(([k, v]) => h('span', { class: 'tag' }, v ? `${k}: ${v}` : k)),
            ),
          ]
        : []),
    );
    for (const c of list) {
      const s = Object.hasOwn(d.sensors, c.sensor) ? d.sensors[c.sensor] : undefined;
      if (s) c.setLast(s.value);
    }
  };

  const unknown = (
    text = `The hub does not know a device "${id}". It may have been removed, or it has not sent a reading yet. `,
  ) => {
    root.replaceChildren(
      h('p', {}, h('a', { href: '#/' }, '← all devices')),
      h('h2', {}, id),
      h('div', { class: 'error', id: 'unknown-device' }, text, h('a', { href: '#/' }, 'Back to all devices')),
    );
  };

  let cancelled = false;
  void (async () => {
    // The hub's registry (restored from storage after a restart) names the sensors.
    const d =
      store.devices.get(id) ??
      (await getJson<DeviceState>(`/api/devices/${encodeURIComponent(id)}`).catch(() => undefined));
    if (cancelled) return;
    if (!d) {
      unknown();
      return;
    }
    toolbar.hidden = false;
    adminBox.replaceWith(
      deviceAdmin(d, {
        removed: () => {
          store.forget(id);
          location.hash = `#/?removed=${encodeURIComponent(id)}`;
        },
        saved: (next) => {
          store.update(next);
          paintMeta(store.devices.get(id) ?? next);
          notice.textContent = 'Saved.';
          notice.hidden = false;
        },
      }),
    );
    for (const s of Object.values(d.sensors).sort((a, b) => a.sensor.localeCompare(b.sensor))) {
      if (only && s.sensor !== only) continue;
      const c = new SensorChart(id, s.sensor, s.metric, s.unit);
      list.push(c);
      charts.append(c.el);
    }
    paintMeta(store.devices.get(id) ?? d);
    await loadAuto();
  })();

  const unReading = store.onReading((r) => {
    if (r.device === id) for (const c of list) if (c.sensor === r.sensor) c.add(r);
  });
  const unsub = store.subscribe((dirty) => {
    if (dirty.has(id) && store.removed.has(id)) {
      // Removed in another window: this page must not go on offering its controls.
      for (const c of list) c.destroy();
      list.length = 0;
      unknown(`${id} was removed from the hub. If it publishes again, it comes back. `);
      return;
    }
    if (dirty.has(id)) paintMeta(store.devices.get(id));
    if (range.spanMs !== undefined) showRange();
  });
  const unUnits = onUnitsChange(() => {
    paintMeta(store.devices.get(id));
    for (const c of list) c.redraw();
  });
  const unTheme = onThemeChange(() => {
    for (const c of list) c.rebuild();
  });
  return () => {
    cancelled = true;
    unReading();
    unsub();
    unUnits();
    unTheme();
    for (const c of list) c.destroy();
  };
}
