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

/**
 * Ingest, storage and quarantine rates for the hub health view: cheaper for the
 * browser than scraping /metrics and differencing counters itself.
 */
export class HubRates {
  readonly #readings = new RateWindow(11);
  readonly #stored = new RateWindow(11);
  readonly #quarantined = new RateWindow(11);

  constructor(private readonly bus: EventBus) {}

  start(): void {
    this.bus.on(this, 'readings', (rs) => this.#readings.add(rs.length, Date.now()));
    this.bus.on(this, 'stored', (n) => this.#stored.add(n, Date.now()));
    this.bus.on(this, 'quarantine', () => this.#quarantined.add(1, Date.now()));
  }

  stop(): void {
    this.bus.removeAll(this);
  }

  snapshot(now = Date.now()): { readingsPerSec: number; storedPerSec: number; quarantinedPerSec: number } {
    return {
      readingsPerSec: this.#readings.perSecond(now),
      storedPerSec: this.#stored.perSecond(now),
      quarantinedPerSec: this.#quarantined.perSecond(now),
    };
  }
}
