import uPlot from 'uplot';
import { type CurrentRates, getJson, type HubStatus, type RateSample } from '../api.js';
import { h, type Unmount } from '../dom.js';
import type { LiveStore } from '../live.js';
import { chartTheme, onThemeChange, themedAxis } from '../theme.js';
import { formatValue } from '../units.js';
import { summarize } from './overview.js';

const POLL_MS = 2000;
/** The window the rate chart shows; the hub keeps at least this much rate history. */
const WINDOW_MS = 5 * 60_000;

/** The hub's answer in one shape: current rates and the history of the ingest rate. */
export function readRates(s: HubStatus): { current: CurrentRates; history: RateSample[] | undefined } {
  if (Array.isArray(s.rates)) {
    const last = s.rates.at(-1)?.perSecond ?? 0;
    return {
      current: { readingsPerSec: last, storedPerSec: 0, quarantinedPerSec: 0, ...s.current },
      history: s.rates,
    };
  }
  return { current: s.rates, history: undefined };
}

const n = (v: number) => v.toLocaleString('en-US');

/** The hub itself: ingest rate (with its recent history), write queue and spool, InfluxDB, MQTT. */
export function mountHealth(root: HTMLElement, store: LiveStore): Unmount {
  const tiles = h('div', { class: 'tiles' });
  const plotBox = h('div', { class: 'plot', id: 'rate-plot' });
  const legend = h('ul', { class: 'legend', id: 'rate-legend' });
  const error = h('p', { class: 'error', hidden: '' });
  root.append(
    h('h2', {}, 'Hub'),
    error,
    tiles,
    h('div', { class: 'chart' }, h('h3', {}, 'Readings per second, last 5 minutes'), plotBox, legend),
  );
  // Samples seen by this page: used only when the hub sends no rate history.
  const local: RateSample[] = [];
  let plot: uPlot | undefined;
  let data: uPlot.AlignedData = [[], []];
  let now = Date.now();

  const tile = (key: string, label: string, value: string | Node, bad = false, detail?: string) =>
    h(
      'div',
      { class: `tile${bad ? ' bad' : ''}`, 'data-tile': key },
      h('span', { class: 'label' }, label),
      h('b', {}, value),
      ...(detail ? [h('span', { class: 'detail' }, detail)] : []),
    );
  const withUnit = (value: string, unit: string) => {
    const b = document.createDocumentFragment();
    b.append(value, ' ', h('small', {}, unit));
    return b;
  };

  const build = () => {
    plot?.destroy();
    const t = chartTheme();
    const axis = themedAxis(t);
    plot = new uPlot(
      {
        width: Math.max(200, plotBox.clientWidth || 800),
        height: 200,
        scales: {
          x: { time: true, range: () => [(now - WINDOW_MS) / 1000, now / 1000] },
          // A rate starts at zero: an axis from 480 to 520 would make noise look like an outage.
          y: { range: (_u, _min, max) => [0, max > 0 ? uPlot.rangeNum(0, max, 0.1, true)[1]! : 1] },
        },
        series: [{}, { label: 'ingest', stroke: t.line, fill: t.band, width: 2, points: { show: false } }],
        axes: [
          { ...axis, space: 80 },
          { ...axis, size: 50 },
        ],
        legend: { show: false },
        hooks: {
          draw: [
            (u) => {
              plotBox.dataset.ymin = String(u.scales.y?.min);
              plotBox.dataset.ymax = String(u.scales.y?.max);
            },
          ],
        },
      },
      data,
      plotBox,
    );
  };
  const resize = new ResizeObserver(() =>
    plot?.setSize({ width: Math.max(200, plotBox.clientWidth), height: 200 }),
  );
  resize.observe(plotBox);
  const unTheme = onThemeChange(build);

  const poll = async () => {
    try {
      const s = await getJson<HubStatus>('/api/hub');
      error.hidden = true;
      now = s.now;
      const { current, history } = readRates(s);
      const queued = s.writeQueue?.readings ?? s.influx.queued;
      const sum = summarize([...store.devices.values()].map((d) => d.state));
      tiles.replaceChildren(
        tile('ingest', 'Ingest', withUnit(current.readingsPerSec.toFixed(1), 'readings/s')),
        tile('stored', 'Stored', withUnit(current.storedPerSec.toFixed(1), 'readings/s')),
        tile('influx', 'InfluxDB', s.influx.reachable ? 'up' : 'down', !s.influx.reachable),
        tile(
          'queue',
          'Write queue',
          withUnit(n(queued), queued === 1 ? 'reading' : 'readings'),
          queued > 10_000,
        ),
        tile(
          'spool',
          'Spool',
          s.influx.spoolBytes === undefined ? '–' : withUnit((s.influx.spoolBytes / 1e6).toFixed(1), 'MB'),
        ),
        tile('clients', 'MQTT clients', String(s.mqtt.clients)),
        tile('devices', 'Devices', String(sum.total), false, sum.text.split(' · ').slice(1).join(' · ')),
        tile('quarantined', 'Quarantined', String(s.quarantined ?? 0), current.quarantinedPerSec > 0),
        tile(
          'stream',
          'Live stream',
          store.connected ? 'connected' : 'reconnecting',
          !store.connected,
          `${n(store.received)} readings since this page opened`,
        ),
        ...(s.influx.lastError ? [tile('error', 'Last write error', s.influx.lastError, true)] : []),
      );
      let samples = history;
      if (!samples) {
        local.push({ t: s.now, perSecond: current.readingsPerSec });
        while (local.length > 0 && local[0]!.t < s.now - WINDOW_MS) local.shift();
        samples = local;
      }
      samples = samples.filter((p) => p.t >= s.now - WINDOW_MS);
      data = [samples.map((p) => p.t / 1000), samples.map((p) => p.perSecond)];
      plotBox.dataset.samples = String(samples.length);
      plotBox.dataset.source = history ? 'hub' : 'page';
      plotBox.dataset.first = String(samples[0]?.t ?? '');
      const peak = Math.max(0, ...samples.map((p) => p.perSecond));
      legend.replaceChildren(
        h(
          'li',
          { style: `--swatch: ${chartTheme().line}` },
          'ingest ',
          h('b', {}, formatValue(current.readingsPerSec)),
          ' readings/s now · peak ',
          h('b', {}, formatValue(peak)),
        ),
      );
      if (!plot) build();
      else plot.setData(data);
    } catch (err) {
      error.textContent = `hub not answering: ${(err as Error).message}`;
      error.hidden = false;
    }
  };
  void poll();
  const timer = setInterval(poll, POLL_MS);
  return () => {
    clearInterval(timer);
    resize.disconnect();
    unTheme();
    plot?.destroy();
  };
}
