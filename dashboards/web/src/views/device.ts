import { type DeviceState, getJson } from '../api.js';
import { type Range, SensorChart } from '../chart.js';
import { ago, h, type Unmount } from '../dom.js';
import type { LiveStore } from '../live.js';
import { converter, formatValue, onUnitsChange } from '../units.js';

const RANGES: Array<{ label: string; spanMs: number }> = [
  { label: '15 min', spanMs: 15 * 60_000 },
  { label: '1 h', spanMs: 3_600_000 },
  { label: '24 h', spanMs: 86_400_000 },
  { label: '7 d', spanMs: 7 * 86_400_000 },
];

const toLocalInput = (ts: number) => {
  const d = new Date(ts - new Date(ts).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
};

/** One device: its state and sensors, each with a history chart joined to live readings. */
export function mountDevice(root: HTMLElement, store: LiveStore, id: string, only?: string): Unmount {
  const title = h('h2', {}, id);
  const meta = h('p', { class: 'meta' });
  const buttons = RANGES.map((r) => h('button', { type: 'button', 'data-range': r.label }, r.label));
  const customFrom = h('input', { type: 'datetime-local', 'aria-label': 'from' });
  const customTo = h('input', { type: 'datetime-local', 'aria-label': 'to' });
  const apply = h('button', { type: 'button', 'data-range': 'custom' }, 'Custom');
  const error = h('p', { class: 'error', hidden: '' });
  const charts = h('div', { class: 'charts' });
  root.append(
    h('p', {}, h('a', { href: '#/' }, '← all devices')),
    title,
    meta,
    h(
      'section',
      { class: 'toolbar ranges' },
      ...buttons,
      h('span', { class: 'sep' }, 'or'),
      customFrom,
      customTo,
      apply,
    ),
    error,
    charts,
  );

  const list: SensorChart[] = [];
  let range: Range = { spanMs: 3_600_000, from: Date.now() - 3_600_000, to: Date.now() };
  const select = (label: string) => {
    for (const b of [...buttons, apply]) b.classList.toggle('active', b.dataset.range === label);
  };

  const load = async () => {
    error.hidden = true;
    try {
      await Promise.all(list.map((c) => c.load(range)));
    } catch (err) {
      error.textContent = (err as Error).message;
      error.hidden = false;
    }
  };

  buttons.forEach((b, i) => {
    b.addEventListener('click', () => {
      const spanMs = RANGES[i]!.spanMs;
      range = { spanMs, from: Date.now() - spanMs, to: Date.now() };
      select(b.dataset.range!);
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
  customFrom.value = toLocalInput(Date.now() - 86_400_000);
  customTo.value = toLocalInput(Date.now());
  select('1 h');

  const paintMeta = (d: DeviceState | undefined) => {
    if (!d) {
      meta.textContent = 'unknown device';
      return;
    }
    const values = Object.values(d.sensors)
      .map((s) => {
        const c = converter(s.unit, s.metric);
        return `${s.sensor} ${formatValue(c.fn(s.value))} ${c.label}`;
      })
      .join(' · ');
    meta.replaceChildren(
      h('span', { class: `state state-${d.state}`, id: 'device-state' }, d.state),
      ` last seen ${ago(d.lastSeen)}${d.location ? ` · ${d.location}` : ''} · `,
      h('span', { class: 'now' }, values),
    );
  };

  let cancelled = false;
  void (async () => {
    // The hub's registry (restored from storage after a restart) names the sensors.
    const d =
      store.devices.get(id) ??
      (await getJson<DeviceState>(`/api/devices/${encodeURIComponent(id)}`).catch(() => undefined));
    if (cancelled) return;
    paintMeta(d);
    if (!d) return;
    for (const s of Object.values(d.sensors).sort((a, b) => a.sensor.localeCompare(b.sensor))) {
      if (only && s.sensor !== only) continue;
      const c = new SensorChart(id, s.sensor, s.metric, s.unit);
      list.push(c);
      charts.append(c.el);
    }
    await load();
  })();

  const unReading = store.onReading((r) => {
    if (r.device === id) for (const c of list) if (c.sensor === r.sensor) c.add(r);
  });
  const unsub = store.subscribe((dirty) => {
    if (dirty.has(id)) paintMeta(store.devices.get(id));
  });
  const unUnits = onUnitsChange(() => {
    paintMeta(store.devices.get(id));
    for (const c of list) c.redraw();
  });
  return () => {
    cancelled = true;
    unReading();
    unsub();
    unUnits();
    for (const c of list) c.destroy();
  };
}
