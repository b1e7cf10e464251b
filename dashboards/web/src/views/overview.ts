import type { DeviceState } from '../api.js';
import { ago, h, type Unmount } from '../dom.js';
import type { LiveStore } from '../live.js';
import { drawSparkline } from '../sparkline.js';
import { onThemeChange } from '../theme.js';
import { converter, formatValue, onUnitsChange } from '../units.js';
import { firstRun } from './first-run.js';

interface Row {
  el: HTMLTableRowElement;
  name: HTMLAnchorElement;
  id: HTMLElement;
  state: HTMLElement;
  seen: HTMLElement;
  sensors: HTMLElement;
  cells: Map<string, { value: HTMLElement; unit: HTMLElement; spark: HTMLCanvasElement }>;
}

const setText = (el: HTMLElement, text: string) => {
  if (el.textContent !== text) el.textContent = text;
};

/** Every state a device can be in, in the order the summary names them. */
export const STATES = ['online', 'stale', 'offline', 'waiting'] as const;

/**
 * "10 devices · 2 online · … · 8 waiting": every state counted, so the parts add up
 * to the total (waiting: known from config or storage, not heard since the start).
 */
export function summarize(states: Iterable<string>): { total: number; text: string } {
  const by = new Map<string, number>(STATES.map((s) => [s, 0]));
  let total = 0;
  for (const s of states) {
    by.set(s, (by.get(s) ?? 0) + 1);
    total++;
  }
  return {
    total,
    text: `${total} ${total === 1 ? 'device' : 'devices'} · ${[...by].map(([s, n]) => `${n} ${s}`).join(' · ')}`,
  };
}

/**
 * Every device with its state, last values and a 15-minute trend; filter by text and
 * state. Rows are built once and patched; only rows on screen are repainted.
 */
export function mountOverview(root: HTMLElement, store: LiveStore): Unmount {
  const search = h('input', {
    type: 'search',
    placeholder: 'Filter devices, sensors, locations…',
    id: 'filter',
  });
  const stateSel = h('select', { id: 'state-filter' });
  for (const s of ['all', ...STATES]) stateSel.append(h('option', { value: s }, s));
  const counts = h('span', { class: 'counts', id: 'counts' });
  const body = h('tbody');
  const empty = h('div', { hidden: '' });
  const removed = new URLSearchParams(location.hash.split('?')[1] ?? '').get('removed');
  const notice = h('p', { class: 'notice', hidden: '' }, removed ? `Removed ${removed}.` : '');
  if (removed) notice.hidden = false;
  const noMatch = h('p', { class: 'empty', hidden: '' }, 'No device matches this filter.');
  const table = h(
    'table',
    { class: 'devices cards' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', {}, 'Device'),
        h('th', {}, 'State'),
        h('th', {}, 'Last seen'),
        h('th', {}, 'Sensors'),
      ),
    ),
    body,
  );
  const toolbar = h('section', { class: 'toolbar' }, search, stateSel, counts);
  root.append(notice, toolbar, table, noMatch, empty);

  const rows = new Map<string, Row>();
  const visible = new Set<string>();
  const io = new IntersectionObserver((entries) => {
    for (const e of entries) {
      const id = (e.target as HTMLElement).dataset.device!;
      if (e.isIntersecting) {
        visible.add(id);
        paint(id);
      } else visible.delete(id);
    }
  });

  const matches = (d: DeviceState): boolean => {
    const want = stateSel.value;
    if (want !== 'all' && d.state !== want) return false;
    const q = search.value.trim().toLowerCase();
    if (!q) return true;
    const hay = [d.id, d.name, d.location, ...Object.keys(d.sensors), ...Object.values(d.tags)]
      .join(' ')
      .toLowerCase();
    return q.split(/\s+/).every((w) => hay.includes(w));
  };

  const rowFor = (d: DeviceState): Row => {
    let r = rows.get(d.id);
    if (r) return r;
    const state = h('span', { class: 'state' });
    const seen = h('span', { class: 'seen' });
    const sensors = h('div', { class: 'sensors' });
    const name = h('a', { href: `#/device/${encodeURIComponent(d.id)}`, class: 'device-link' }, d.id);
    const idEl = h('small', {});
    const el = h(
      'tr',
      { 'data-device': d.id },
      h('td', {}, name, idEl),
      h('td', { 'data-label': 'State' }, state),
      h('td', { 'data-label': 'Last seen' }, seen),
      h('td', {}, sensors),
    );
    r = { el, name, id: idEl, state, seen, sensors, cells: new Map() };
    rows.set(d.id, r);
    io.observe(el);
    return r;
  };

  function paint(id: string): void {
    const d = store.devices.get(id);
    const r = rows.get(id);
    if (!d || !r) return;
    // Writes only what changed: each write invalidates style for the row.
    setText(r.name, d.name ?? d.id);
    const sub = [d.name ? d.id : '', d.location ?? ''].filter(Boolean).join(' · ');
    setText(r.id, sub ? ` ${sub}` : '');
    if (r.el.dataset.state !== d.state) {
      r.state.textContent = d.state;
      r.state.className = `state state-${d.state}`;
      r.el.dataset.state = d.state;
    }
    setText(r.seen, ago(d.lastSeen));
    for (const s of Object.values(d.sensors).sort((a, b) => a.sensor.localeCompare(b.sensor))) {
      let c = r.cells.get(s.sensor);
      if (!c) {
        c = {
          value: h('span', { class: 'value' }),
          unit: h('span', { class: 'unit' }),
          spark: h('canvas', { class: 'spark' }),
        };
        r.cells.set(s.sensor, c);
        r.sensors.append(
          h(
            'a',
            {
              class: 'sensor',
              href: `#/device/${encodeURIComponent(id)}/${encodeURIComponent(s.sensor)}`,
              'data-sensor': s.sensor,
            },
            h('span', { class: 'name' }, s.sensor),
            c.value,
            c.unit,
            c.spark,
          ),
        );
      }
      const conv = converter(s.unit, s.metric);
      setText(c.value, formatValue(conv.fn(s.value)));
      setText(c.unit, conv.label);
      const t = store.trends.get(`${id}/${s.sensor}`);
      if (t) drawSparkline(c.spark, t.values.map(conv.fn), d.state === 'online' ? lineColor : '#999');
    }
  }

  let lineColor =
    getComputedStyle(document.documentElement).getPropertyValue('--chart-line').trim() || '#2f7ed8';
  let shownCount = 0;
  function layout(): void {
    const list = [...store.devices.values()].sort((a, b) => a.id.localeCompare(b.id));
    const shown = list.filter(matches).map((d) => rowFor(d).el);
    body.replaceChildren(...shown);
    shownCount = shown.length;
    // No device at all: the first-run page says how to connect one.
    const none = store.loaded && list.length === 0;
    if (none && empty.hidden) {
      empty.replaceChildren(firstRun());
      empty.hidden = false;
    } else if (!none && !empty.hidden) {
      empty.hidden = true;
      empty.replaceChildren();
    }
    toolbar.hidden = none;
    table.hidden = none || shown.length === 0;
    noMatch.hidden = list.length === 0 || shown.length > 0;
    updateCounts();
  }

  function updateCounts(): void {
    const sum = summarize([...store.devices.values()].map((d) => d.state));
    setText(counts, `${sum.text} · showing ${shownCount}`);
  }

  layout();
  let known = store.devices.size;
  let loaded = store.loaded;
  const unsub = store.subscribe((dirty) => {
    const filtering = search.value.trim() !== '' || stateSel.value !== 'all';
    if (store.devices.size !== known || loaded !== store.loaded || (filtering && dirty.size > 0)) {
      known = store.devices.size;
      loaded = store.loaded;
      layout();
    } else updateCounts();
    for (const id of dirty) if (visible.has(id)) paint(id);
    // "Last seen" ages even without readings.
    for (const id of visible)
      if (!dirty.has(id)) rows.get(id)!.seen.textContent = ago(store.devices.get(id)?.lastSeen);
  });
  search.addEventListener('input', layout);
  stateSel.addEventListener('change', layout);
  const unUnits = onUnitsChange(() => {
    for (const id of visible) paint(id);
  });
  const unTheme = onThemeChange(() => {
    lineColor =
      getComputedStyle(document.documentElement).getPropertyValue('--chart-line').trim() || lineColor;
    for (const id of visible) paint(id);
  });
  return () => {
    unsub();
    unUnits();
    unTheme();
    io.disconnect();
  };
}
