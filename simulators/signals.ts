import { SIGNAL_KINDS, SIGNAL_UNITS, type SignalKind } from '../hub/core/simulation.js';
import { childSeed, gaussian, seededRandom } from './random.js';

export { SIGNAL_KINDS, SIGNAL_UNITS, type SignalKind };

const DAY_MS = 86_400_000;

/**
 * One device's signals as functions of time: a diurnal temperature cycle with
 * device-specific base and phase, humidity that falls as temperature rises, a slow
 * pressure walk, daylight, motion events, a draining battery. Deterministic for a
 * given seed and sequence of times.
 */
export class DeviceSignals {
  readonly #rand: () => number;
  readonly #base: number;
  readonly #phase: number;
  #pressure: number;
  #co2: number;
  #battery: number;

  constructor(seed: number, index: number) {
    this.#rand = seededRandom(childSeed(seed, index));
    this.#base = 17 + this.#rand() * 8;
    this.#phase = (this.#rand() - 0.5) * 2 * 3_600_000;
    this.#pressure = 100_000 + this.#rand() * 3000;
    this.#co2 = 420 + this.#rand() * 200;
    this.#battery = 60 + this.#rand() * 40;
  }

  /** 0 at 06:00 local-ish, 1 at 15:00: the shape of a day. */
  #day(t: number): number {
    return Math.sin((2 * Math.PI * (((t + this.#phase) % DAY_MS) - 9 * 3_600_000)) / DAY_MS);
  }

  sample(kind: SignalKind, t: number): number {
    const r = this.#rand;
    switch (kind) {
      case 'temperature':
        return round(this.#base + 4 * this.#day(t) + 0.1 * gaussian(r), 2);
      case 'humidity':
        return round(Math.min(100, Math.max(0, 55 - 12 * this.#day(t) + 0.5 * gaussian(r))), 1);
      case 'pressure':
        this.#pressure += 2 * gaussian(r);
        this.#pressure = Math.min(104_000, Math.max(96_000, this.#pressure));
        return round(this.#pressure, 0);
      case 'illuminance':
        return round(Math.max(0, 20_000 * this.#day(t) * (0.7 + 0.3 * r())), 0);
      case 'motion':
        return r() < 0.05 ? 1 : 0;
      case 'battery':
        this.#battery = Math.max(0, this.#battery - 0.0005);
        return round(this.#battery, 1);
      case 'co2':
        this.#co2 = Math.min(3000, Math.max(400, this.#co2 + 3 * gaussian(r)));
        return round(this.#co2, 0);
      case 'voltage':
        return round(3.3 + 0.02 * gaussian(r), 3);
    }
  }

  /** A uniform random number from this device's stream (for dropouts). */
  random(): number {
    return this.#rand();
  }
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
