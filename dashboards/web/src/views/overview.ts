import type { DeviceState } from '../api.js';
import { ago, h, type Unmount } from '../dom.js';
import type { LiveStore } from '../live.js';
import { drawSparkline } from '../sparkline.js';
import { converter, formatValue, onUnitsChange } from '../units.js';

interface Row {
  el: HTMLTableRowElement;
  state: HTMLElement;
  seen: HTMLElement;
  sensors: HTMLElement;
  cells: Map<string, { value: HTMLElement; unit: HTMLElement; spark: HTMLCanvasElement }>;
}

const setText = (el: HTMLElement, text: string) => {
  if (el.textContent !== text) el.textContent = text;
};

const STATE_LABEL: Record<string, string> = {
  online: 'online',
  stale: 'stale',
  offline: 'offline',
  waiting: 'waiting',
};

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
  for (const s of ['all', 'online', 'stale', 'offline']) stateSel.append(h('option', { value: s }, s));
  const counts = h('span', { class: 'counts' });
  const body = h('tbody');
  const empty = h(
    'p',
    { class: 'empty' },
    'No devices yet. Publish to sensors/<device>/<sensor> or run `sensor-hub simulate`.',
  );
  const table = h(
    'table',
    { class: 'devices' },
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
  root.append(h('section', { class: 'toolbar' }, search, stateSel, counts), table, empty);

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
    const el = h(
      'tr',
      { 'data-device': d.id },
      h('td', {}, name, d.location ? h('small', {}, ` ${d.location}`) : ''),
      h('td', {}, state),
      h('td', {}, seen),
      h('td', {}, sensors),
    );
    r = { el, state, seen, sensors, cells: new Map() };
    rows.set(d.id, r);
    io.observe(el);
    return r;
  };

  function paint(id: string): void {
    const d = store.devices.get(id);
    const r = rows.get(id);
    if (!d || !r) return;
    // Writes only what changed: each write invalidates style for the row.
    if (r.el.dataset.state !== d.state) {
      r.state.textContent = STATE_LABEL[d.state] ?? d.state;
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
      if (t) drawSparkline(c.spark, t.values.map(conv.fn), d.state === 'online' ? '#2f7ed8' : '#999');
    }
  }

  let shownCount = 0;
  function layout(): void {
    const list = [...store.devices.values()].sort((a, b) => a.id.localeCompare(b.id));
    const shown = list.filter(matches).map((d) => rowFor(d).el);
    body.replaceChildren(...shown);
    shownCount = shown.length;
    empty.hidden = list.length > 0;
    updateCounts();
  }

  function updateCounts(): void {
    const byState: Record<string, number> = { online: 0, stale: 0, offline: 0, waiting: 0 };
    for (const d of store.devices.values()) byState[d.state] = (byState[d.state] ?? 0) + 1;
    setText(
      counts,
      `${store.devices.size} devices · ${byState.online} online · ${byState.stale} stale · ${byState.offline} offline · showing ${shownCount}`,
    );
  }

  layout();
  let known = store.devices.size;
  const unsub = store.subscribe((dirty) => {
    const filtering = search.value.trim() !== '' || stateSel.value !== 'all';
    if (store.devices.size !== known || (filtering && dirty.size > 0)) {
      known = store.devices.size;
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
  return () => {
    unsub();
    unUnits();
    io.disconnect();
  };
}
