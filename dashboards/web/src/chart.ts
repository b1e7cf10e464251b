import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { getJson, type History, type Reading } from './api.js';
import { h } from './dom.js';
import { converter, formatValue } from './units.js';

export interface Range {
  /** Span back from now for live ranges; undefined for a fixed (custom) range. */
  spanMs?: number;
  from: number;
  to: number;
}

/** Live readings are drawn at most this often per chart. */
const LIVE_REPAINT_MS = 1000;

/**
 * One sensor's chart: server-aggregated history (mean line inside a min–max band)
 * from /api/readings, joined by live readings when the range ends now.
 */
export class SensorChart {
  readonly el: HTMLElement;
  readonly #caption: HTMLElement;
  readonly #plotBox: HTMLElement;
  #plot: uPlot | undefined;
  #ts: number[] = [];
  #mean: number[] = [];
  #min: number[] = [];
  #max: number[] = [];
  #range: Range | undefined;
  #every = 0;
  #source = 'raw';
  #pending = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #loadSeq = 0;
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
    this.el = h(
      'div',
      { class: 'chart', 'data-sensor': sensor },
      h('h3', {}, `${sensor} `, h('small', {}, metric)),
      this.#plotBox,
      this.#caption,
    );
  }

  async load(range: Range): Promise<void> {
    const seq = ++this.#loadSeq;
    this.#range = range;
    const width = Math.max(300, this.#plotBox.clientWidth || 800);
    const hist = await getJson<History>('/api/readings', {
      device: this.device,
      sensor: this.sensor,
      from: Math.floor(range.from),
      to: Math.floor(range.to),
      every: 'auto',
      points: Math.min(2000, Math.max(60, Math.round(width / 2))),
    });
    if (seq !== this.#loadSeq) return;
    this.#every = hist.every;
    this.#source = hist.source;
    this.#ts = hist.points.map((p) => p.ts);
    this.#mean = hist.points.map((p) => p.mean ?? p.value ?? Number.NaN);
    this.#min = hist.points.map((p) => p.min ?? p.value ?? Number.NaN);
    this.#max = hist.points.map((p) => p.max ?? p.value ?? Number.NaN);
    this.redraw();
  }

  /** A live reading: kept if the range ends now; drawn at the next live repaint. */
  add(r: Reading): void {
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

  redraw(): void {
    const range = this.#range;
    if (!range) return;
    const now = Date.now();
    const from = range.spanMs === undefined ? range.from : now - range.spanMs;
    const to = range.spanMs === undefined ? range.to : now;
    let cut = 0;
    while (cut < this.#ts.length && this.#ts[cut]! < from) cut++;
    if (cut > 0) for (const a of [this.#ts, this.#mean, this.#min, this.#max]) a.splice(0, cut);
    const conv = converter(this.unit, this.metric);
    const data: uPlot.AlignedData = [
      this.#ts.map((t) => t / 1000),
      this.#min.map(conv.fn),
      this.#max.map(conv.fn),
      this.#mean.map(conv.fn),
    ];
    const n = this.#ts.length;
    const last = this.#mean.at(-1);
    this.#caption.dataset.points = String(n);
    this.#caption.textContent =
      n === 0
        ? 'no data in this range'
        : `${n} ${n === 1 ? 'point' : 'points'} · ${this.#every ? `mean and min–max per ${fmtEvery(this.#every)}` : 'raw'} · ${this.#source} · last ${last === undefined ? '–' : formatValue(conv.fn(last))} ${conv.label}`;
    const width = Math.max(300, this.#plotBox.clientWidth || 800);
    this.#x = [from / 1000, to / 1000];
    if (!this.#plot || this.#plot.series[3]?.label !== conv.label) {
      this.#plot?.destroy();
      this.#plot = new uPlot(
        {
          width,
          height: 220,
          scales: { x: { time: true, range: () => this.#x } },
          series: [
            {},
            { label: 'min', stroke: 'rgba(47,126,216,0.35)', width: 1, points: { show: false } },
            { label: 'max', stroke: 'rgba(47,126,216,0.35)', width: 1, points: { show: false } },
            // uPlot's default shows point markers only when points are sparse, so a
            // lone reading is visible rather than an empty chart.
            { label: conv.label, stroke: '#2f7ed8', width: 2 },
          ],
          bands: [{ series: [2, 1], fill: 'rgba(47,126,216,0.12)' }],
          axes: [{}, { label: conv.label, size: 80, labelGap: 4 }],
          legend: { show: false },
        },
        data,
        this.#plotBox,
      );
    } else {
      this.#plot.setData(data);
    }
  }

  destroy(): void {
    clearTimeout(this.#timer);
    this.#plot?.destroy();
  }
}

function fmtEvery(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${ms / 1000} s`;
}
