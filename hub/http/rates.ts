import type { EventBus } from '../core/bus.js';

/** Per-second counts over a sliding window of whole seconds. */
class RateWindow {
  readonly #buckets: number[];
  #second = 0;

  constructor(private readonly seconds: number) {
    this.#buckets = new Array(seconds).fill(0);
  }

  add(n: number, now: number): void {
    this.#roll(now);
    this.#buckets[this.#second % this.seconds]! += n;
  }

  /** Mean per second over the last full seconds (the current one is still filling). */
  perSecond(now: number): number {
    this.#roll(now);
    let sum = 0;
    for (let i = 1; i < this.seconds; i++)
      sum += this.#buckets[(this.#second - i + this.seconds) % this.seconds]!;
    return sum / (this.seconds - 1);
  }

  #roll(now: number): void {
    const s = Math.floor(now / 1000);
    if (this.#second === 0) this.#second = s;
    for (let k = 0; this.#second < s && k <= this.seconds; k++) {
      this.#second++;
      this.#buckets[this.#second % this.seconds] = 0;
    }
    this.#second = s;
  }
}

/** One point of the message-rate history: readings per second over the interval ending at `t` (epoch ms). */
export interface RateSample {
  t: number;
  perSecond: number;
}

export interface RateHistoryOptions {
  /** Time between samples (default 5 s). */
  sampleMs?: number;
  /** How far back samples are kept (default 5 minutes); the ring holds keepMs / sampleMs of them. */
  keepMs?: number;
}

/**
 * Ingest, storage and quarantine rates for the hub health view: cheaper for the
 * browser than scraping /metrics and differencing counters itself. It also keeps the
 * ingest rate of the last minutes in a ring of fixed size, so a chart opened now
 * starts with the recent past instead of empty.
 */
export class HubRates {
  readonly #readings = new RateWindow(11);
  readonly #stored = new RateWindow(11);
  readonly #quarantined = new RateWindow(11);
  readonly #ring: RateSample[];
  #next = 0;
  #filled = 0;
  #sinceSample = 0;
  #lastSample = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #sampleMs: number;

  constructor(
    private readonly bus: EventBus,
    opts: RateHistoryOptions = {},
  ) {
    this.#sampleMs = opts.sampleMs ?? 5000;
    this.#ring = new Array(Math.max(1, Math.ceil((opts.keepMs ?? 300_000) / this.#sampleMs)));
  }

  start(now = Date.now()): void {
    this.bus.on(this, 'readings', (rs) => {
      this.#sinceSample += rs.length;
      this.#readings.add(rs.length, Date.now());
    });
    this.bus.on(this, 'stored', (n) => this.#stored.add(n, Date.now()));
    this.bus.on(this, 'quarantine', () => this.#quarantined.add(1, Date.now()));
    this.#lastSample = now;
    this.#timer = setInterval(() => this.sample(), this.#sampleMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.bus.removeAll(this);
  }

  /** Closes the current interval: readings counted since the last sample over the time since it. */
  sample(now = Date.now()): void {
    const seconds = (now - this.#lastSample) / 1000;
    if (seconds <= 0) return;
    this.#ring[this.#next] = { t: now, perSecond: roundRate(this.#sinceSample / seconds) };
    this.#next = (this.#next + 1) % this.#ring.length;
    this.#filled = Math.min(this.#filled + 1, this.#ring.length);
    this.#sinceSample = 0;
    this.#lastSample = now;
  }

  /** The kept samples, oldest first. */
  history(): RateSample[] {
    const out: RateSample[] = [];
    const n = this.#ring.length;
    for (let i = this.#filled; i > 0; i--) out.push(this.#ring[(this.#next - i + n) % n]!);
    return out;
  }

  snapshot(now = Date.now()): { readingsPerSec: number; storedPerSec: number; quarantinedPerSec: number } {
    return {
      readingsPerSec: this.#readings.perSecond(now),
      storedPerSec: this.#stored.perSecond(now),
      quarantinedPerSec: this.#quarantined.perSecond(now),
    };
  }
}

/** Rates to 3 decimals: a chart needs no more, and JSON stays short. */
const roundRate = (v: number) => Math.round(v * 1000) / 1000;
