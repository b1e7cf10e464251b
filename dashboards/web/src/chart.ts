import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { metricDef } from '../../../hub/core/metrics.js';
import { apiUrl, getJson, type History, type Reading } from './api.js';
import { h } from './dom.js';
import { chartTheme, themedAxis } from './theme.js';
import { converter, formatValue } from './units.js';

export interface Range {
  /** Span back from now for live ranges; undefined for a fixed (custom) range. */
  spanMs?: number;
  /** A live range that starts here until it is spanMs long (a young device's first reading). */
  startAt?: number;
  from: number;
  to: number;
}

/** The window a range covers now: live ranges move with the clock. */
export function rangeWindow(range: Range, now = Date.now()): { from: number; to: number } {
  if (range.spanMs === undefined) return { from: range.from, to: range.to };
  return { from: Math.max(range.startAt ?? Number.NEGATIVE_INFINITY, now - range.spanMs), to: now };
}

/** Readings a CSV export takes raw at most (the history API refuses over 10,000 raw points). */
const RAW_EXPORT_MAX = 9000;

/** Live readings are drawn at most this often per chart. */
const LIVE_REPAINT_MS = 1000;

/** Quantities in percent: their axis never runs past 100 (nor below 0). */
const PERCENT_UNITS = new Set(['%', '%RH']);

/**
 * A sensor that is on or off (motion, contact, a button or bell): declared so in the
 * metric table, or a dimensionless sensor whose readings are all 0 or 1.
 */
export function isBinary(metric: string, unit: string, values: readonly number[]): boolean {
  const def = metricDef(metric);
  if (def) return def.unit === '1' && def.min === 0 && def.max === 1;
  return unit === '1' && values.length > 0 && values.every((v) => v === 0 || v === 1 || Number.isNaN(v));
}

/** "humidity" once when the sensor is named after its metric, "t1 · temperature" otherwise. */
export function chartTitle(sensor: string, metric: string): { name: string; sub: string } {
  return { name: sensor, sub: metric === sensor ? '' : metric };
}

const fmtTime = (ms: number) =>
  new Date(ms).toLocaleString(undefined, {
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });

/**
 * One sensor's chart: server-aggregated history (mean line inside a min–max band, or
 * on/off steps for a binary sensor) from /api/readings, joined by live readings when
 * the range ends now. Hovering shows the time, value and unit under the cursor.
 */
export class SensorChart {
  readonly el: HTMLElement;
  readonly #caption: HTMLElement;
  readonly #plotBox: HTMLElement;
  readonly #unitEl: HTMLElement;
  readonly #csv: HTMLAnchorElement;
  readonly #tooltip: HTMLElement;
  readonly #resize: ResizeObserver;
  #plot: uPlot | undefined;
  #plotKey = '';
  #ts: number[] = [];
  #mean: number[] = [];
  #min: number[] = [];
  #max: number[] = [];
  #range: Range | undefined;
  #every = 0;
  /** Readings in the loaded range (the sum of the intervals' counts). */
  #readings = 0;
  #source = 'raw';
  #pending = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #loadSeq = 0;
  /** The sensor's last reading as the registry or the stream has it: the header shows the same. */
  #last: number | undefined;
  /** The x range drawn, in seconds (uPlot's time unit); read by the scale's range function. */
  #x: [number, number] = [0, 1];

  constructor(
    readonly device: string,
    readonly sensor: string,
    readonly metric: string,
    readonly unit: string,
  ) {
    this.#caption = h('p', { class: 'caption' }, 'loading…');
    this.#plotBox = h('div', { class: 'plot' });
    this.#tooltip = h('div', { class: 'tooltip', hidden: '', role: 'status' });
    this.#unitEl = h('small', { class: 'unit' });
    // The hub's Content-Disposition names the file (device, sensor and range).
    this.#csv = h('a', { class: 'csv', download: '', href: '#' }, 'Export CSV');
    // The link always exports the range on screen, also after a live range moved on.
    this.#csv.addEventListener('click', () => this.#updateCsv());
    const title = chartTitle(sensor, metric);
    this.el = h(
      'div',
      { class: 'chart', 'data-sensor': sensor },
      h(
        'div',
        { class: 'chart-head' },
        h('h3', {}, title.name, ' ', h('small', {}, title.sub ? `${title.sub} · ` : '', this.#unitEl)),
        this.#csv,
      ),
      this.#plotBox,
      this.#caption,
    );
    let lastWidth = 0;
    this.#resize = new ResizeObserver(() => {
      const w = this.#width();
      if (this.#plot && w !== lastWidth) {
        lastWidth = w;
        this.#plot.setSize({ width: w, height: this.#height() });
      }
    });
    this.#resize.observe(this.#plotBox);
  }

  /** The first timestamp in the loaded data (for the device view's automatic range). */
  get firstTs(): number | undefined {
    return this.#ts[0];
  }

  /** The aggregation interval of the loaded data in ms; 0 for raw points. */
  get every(): number {
    return this.#every;
  }

  async load(range: Range): Promise<void> {
    const seq = ++this.#loadSeq;
    this.#range = range;
    const w = rangeWindow(range);
    const hist = await getJson<History>('/api/readings', {
      device: this.device,
      sensor: this.sensor,
      from: Math.floor(w.from),
      to: Math.ceil(w.to),
      every: 'auto',
      points: Math.min(2000, Math.max(60, Math.round(this.#width() / 2))),
    });
    if (seq !== this.#loadSeq) return;
    this.#every = hist.every;
    this.#readings = hist.points.reduce((n, p) => n + (p.count ?? 1), 0);
    this.#source = hist.source;
    this.#ts = hist.points.map((p) => p.ts);
    this.#mean = hist.points.map((p) => p.mean ?? p.value ?? Number.NaN);
    this.#min = hist.points.map((p) => p.min ?? p.value ?? Number.NaN);
    this.#max = hist.points.map((p) => p.max ?? p.value ?? Number.NaN);
    this.#updateCsv();
    this.redraw();
  }

  /** The sensor's current value (from the device registry), shown as the caption's "last". */
  setLast(value: number): void {
    if (this.#last === value) return;
    this.#last = value;
    this.#paintCaption();
  }

  /** A live reading: kept if the range ends now; drawn at the next live repaint. */
  add(r: Reading): void {
    this.#last = r.value;
    if (!this.#range || this.#range.spanMs === undefined) return;
    if (r.ts <= (this.#ts.at(-1) ?? 0)) return;
    this.#ts.push(r.ts);
    this.#mean.push(r.value);
    this.#min.push(r.value);
    this.#max.push(r.value);
    if (this.#pending) return;
    this.#pending = true;
    this.#timer = setTimeout(() => {
      this.#pending = false;
      this.redraw();
    }, LIVE_REPAINT_MS);
  }

  #width(): number {
    return Math.max(200, Math.floor(this.#plotBox.clientWidth || 800));
  }

  #height(): number {
    return this.#width() < 500 ? 180 : 220;
  }

  /**
   * The export holds every reading of the range when there are few enough for the
   * API's raw limit (10,000, with room for the readings arriving live), else the
   * intervals the chart shows (mean, min, max, count).
   */
  #updateCsv(): void {
    if (!this.#range) return;
    const w = rangeWindow(this.#range);
    const raw = this.#every === 0 || this.#readings <= RAW_EXPORT_MAX;
    this.#csv.href = apiUrl('/api/readings', {
      device: this.device,
      sensor: this.sensor,
      from: Math.floor(w.from),
      to: Math.ceil(w.to),
      ...(raw ? {} : { every: `${this.#every}ms` }),
      format: 'csv',
    });
    this.#csv.dataset.kind = raw ? 'raw' : 'intervals';
  }

  #binary(): boolean {
    return isBinary(this.metric, this.unit, [...this.#min, ...this.#max]);
  }

  #paintCaption(): void {
    const conv = converter(this.unit, this.metric);
    const n = this.#ts.length;
    const last = this.#last ?? this.#mean.at(-1);
    const how = this.#binary()
      ? this.#every
        ? `on/off per ${fmtEvery(this.#every)}`
        : 'on/off'
      : this.#every
        ? `mean and min–max per ${fmtEvery(this.#every)}`
        : 'raw';
    this.#caption.dataset.points = String(n);
    this.#caption.textContent =
      n === 0
        ? `no data in this range${last === undefined ? '' : ` · last ${formatValue(conv.fn(last))} ${conv.label}`}`
        : `${n} ${n === 1 ? 'point' : 'points'} · ${how} · ${this.#source} · last ${last === undefined ? '–' : formatValue(conv.fn(last))} ${conv.label}`;
  }

  redraw(): void {
    const range = this.#range;
    if (!range) return;
    const { from, to } = rangeWindow(range);
    let cut = 0;
    while (cut < this.#ts.length && this.#ts[cut]! < from) cut++;
    if (cut > 0) for (const a of [this.#ts, this.#mean, this.#min, this.#max]) a.splice(0, cut);
    const conv = converter(this.unit, this.metric);
    const binary = this.#binary();
    this.#unitEl.textContent = binary ? 'on/off' : conv.label;
    this.el.dataset.kind = binary ? 'binary' : 'number';
    // A binary sensor shows whether it was on at all in each interval: the mean of a
    // bell that rang once would draw a band at 0.5 that never happened.
    const data: uPlot.AlignedData = binary
      ? [this.#ts.map((t) => t / 1000), this.#max]
      : [
          this.#ts.map((t) => t / 1000),
          this.#min.map(conv.fn),
          this.#max.map(conv.fn),
          this.#mean.map(conv.fn),
        ];
    this.#paintCaption();
    const c = this.#caption.dataset;
    c.from = String(Math.floor(from));
    c.to = String(Math.ceil(to));
    if (this.#ts.length > 0) {
      c.first = String(this.#ts[0]);
      c.last = String(this.#ts.at(-1));
    } else {
      delete c.first;
      delete c.last;
    }
    this.#x = [from / 1000, to / 1000];
    const key = `${conv.label}|${binary}`;
    if (!this.#plot || this.#plotKey !== key) {
      this.#plot?.destroy();
      this.#plotKey = key;
      this.#plot = new uPlot(this.#options(binary, conv.label), data, this.#plotBox);
      this.#plot.over.append(this.#tooltip);
    } else {
      this.#plot.setData(data);
    }
  }

  /** Builds the chart anew, e.g. in the other colour scheme. */
  rebuild(): void {
    this.#plot?.destroy();
    this.#plot = undefined;
    this.redraw();
  }

  #options(binary: boolean, label: string): uPlot.Options {
    const t = chartTheme();
    const axis = themedAxis(t);
    const percent = PERCENT_UNITS.has(this.unit);
    const yRange: uPlot.Scale.Range = binary
      ? () => [0, 1.05]
      : (_u, min, max) => {
          if (min === null || max === null || !Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
          const [lo, hi] = uPlot.rangeNum(min, max, 0.1, true);
          if (!percent) return [lo!, hi!];
          return [Math.max(0, lo!), Math.min(100, hi!)];
        };
    const series: uPlot.Series[] = binary
      ? [
          {},
          {
            label,
            stroke: t.line,
            fill: t.band,
            width: 2,
            paths: uPlot.paths.stepped!({ align: 1 }),
            points: { show: false },
          },
        ]
      : [
          {},
          { label: 'min', stroke: t.minmax, width: 1, points: { show: false } },
          { label: 'max', stroke: t.minmax, width: 1, points: { show: false } },
          // uPlot's default shows point markers only when points are sparse, so a
          // lone reading is visible rather than an empty chart.
          { label, stroke: t.line, width: 2 },
        ];
    return {
      width: this.#width(),
      height: this.#height(),
      scales: { x: { time: true, range: () => this.#x }, y: { range: yRange } },
      series,
      ...(binary ? {} : { bands: [{ series: [2, 1], fill: t.band }] }),
      axes: [
        // Room for a whole time label per tick: denser ticks overlap on a phone.
        { ...axis, space: 80 },
        {
          ...axis,
          size: (_u, values) => 16 + 7 * Math.max(2, ...(values ?? []).map((v) => String(v).length)),
          ...(binary
            ? {
                splits: () => [0, 1],
                values: (_u: uPlot, vs: number[]) => vs.map((v) => (v >= 1 ? 'on' : 'off')),
              }
            : {}),
        },
      ],
      legend: { show: false },
      cursor: { y: false, points: { show: true } },
      hooks: {
        setCursor: [(u) => this.#showTooltip(u, binary, label)],
        // The drawn y range, for a person's check in the page (and the browser tests).
        draw: [
          (u) => {
            this.#plotBox.dataset.ymin = String(u.scales.y?.min);
            this.#plotBox.dataset.ymax = String(u.scales.y?.max);
          },
        ],
      },
    };
  }

  #showTooltip(u: uPlot, binary: boolean, label: string): void {
    const i = u.cursor.idx;
    const left = u.cursor.left ?? -1;
    if (i === null || i === undefined || left < 0 || this.#ts[i] === undefined) {
      this.#tooltip.hidden = true;
      return;
    }
    const conv = converter(this.unit, this.metric);
    const unit = label ? ` ${label}` : '';
    const ts = this.#ts[i]!;
    const rows: Array<Node | string> = [h('span', { class: 't' }, fmtTime(ts))];
    const mean = this.#mean[i]!;
    const lo = this.#min[i]!;
    const hi = this.#max[i]!;
    if (binary) {
      rows.push(h('b', {}, hi >= 1 ? 'on' : 'off'), ` (${formatValue(hi)})`);
      if (this.#every && lo !== hi) rows.push(' · changed in this interval');
    } else if (lo === hi || Number.isNaN(lo)) {
      rows.push(h('b', {}, `${formatValue(conv.fn(mean))}${unit}`));
    } else {
      rows.push(
        h('b', {}, `${formatValue(conv.fn(mean))}${unit}`),
        ` mean · ${formatValue(conv.fn(lo))}–${formatValue(conv.fn(hi))}`,
      );
    }
    this.#tooltip.replaceChildren(...rows);
    this.#tooltip.hidden = false;
    const box = u.over.clientWidth;
    const tw = this.#tooltip.offsetWidth;
    const x = left + 12 + tw > box ? Math.max(0, left - 12 - tw) : left + 12;
    this.#tooltip.style.left = `${x}px`;
    this.#tooltip.style.top = `${Math.max(0, (u.cursor.top ?? 0) - 40)}px`;
  }

  destroy(): void {
    clearTimeout(this.#timer);
    this.#resize.disconnect();
    this.#plot?.destroy();
  }
}

function fmtEvery(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${ms / 1000} s`;
}
