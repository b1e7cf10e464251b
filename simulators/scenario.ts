import { childSeed, gaussian, seededRandom } from './random.js';

/**
 * One sample of a scenario: a value at an offset from the scenario's start, or a
 * malformed payload sent in its place (`bad`).
 */
export type ScenarioPoint =
  | { offsetMs: number; value: number; bad?: undefined }
  | { offsetMs: number; value?: undefined; bad: string };

export interface ScenarioOptions {
  /** The level the scenario starts at. */
  start: number;
  /** Sampling interval: one point every `every` ms (default 1000). */
  every?: number;
  /** Seed of the noise, the dropouts and the bad payloads (default 1). */
  seed?: number;
}

/** Payloads a decoder must refuse, one of each kind the hub quarantines. */
export const BAD_PAYLOADS: readonly string[] = [
  'not-a-number',
  '{"value":',
  'NaN',
  '',
  '{"value":"warm"}',
  '[1,2,3]',
  '\u00ff\u00fe',
];

type Segment = { ms: number; at(t: number, level: number): number | 'silent' | 'bad' };

/**
 * A scripted signal for one sensor: levels, ramps, steps, spikes, flapping around a
 * threshold, silences, dropouts and bad payloads, in the order they are added.
 * Deterministic: the same script and seed give the same points, so an alert test can
 * say exactly which sample crosses its threshold.
 *
 * ```ts
 * const s = new Scenario({ start: 20, every: 1000 })
 *   .hold(5_000).ramp(30, 10_000).spike(45, 2_000).flap(30, 1, 8_000).silence(20_000);
 * ```
 */
export class Scenario {
  readonly every: number;
  readonly seed: number;
  readonly #segments: Array<Segment & { from: number }> = [];
  #level: number;
  #noise = 0;
  #dropout = 0;

  constructor(opts: ScenarioOptions) {
    if (!Number.isFinite(opts.start)) throw new RangeError('start must be a finite number');
    this.every = opts.every ?? 1000;
    if (!(this.every > 0)) throw new RangeError('every must be > 0 ms');
    this.seed = opts.seed ?? 1;
    this.#level = opts.start;
  }

  /** Where the level ends after the segments so far. */
  get level(): number {
    return this.#level;
  }

  /** Length of the script in ms. */
  get durationMs(): number {
    return this.#segments.reduce((n, s) => n + s.ms, 0);
  }

  #add(ms: number, at: Segment['at'], end = this.#level): this {
    if (!(ms >= 0) || !Number.isFinite(ms))
      throw new RangeError(`a segment's length must be >= 0 ms, got ${ms}`);
    this.#segments.push({ ms, at, from: this.#level });
    this.#level = end;
    return this;
  }

  /** Stays at the current level for `ms`. */
  hold(ms: number): this {
    return this.#add(ms, (_t, level) => level);
  }

  /** Moves linearly from the current level to `to` over `ms`. */
  ramp(to: number, ms: number): this {
    return this.#add(ms, (t, from) => from + ((to - from) * t) / Math.max(1, ms), to);
  }

  /** Jumps to `to` and stays there for `ms` (0: the jump only, for what follows). */
  step(to: number, ms = 0): this {
    return this.#add(ms, () => to, to);
  }

  /** Goes to `peak` for `ms`, then back to the level before it. */
  spike(peak: number, ms: number): this {
    return this.#add(ms, () => peak);
  }

  /**
   * Alternates between level + amplitude and level - amplitude every `period` ms for
   * `ms` (default period: two samples), as a sensor does that sits on a threshold.
   */
  flap(around: number, amplitude: number, ms: number, period = 2 * this.every): this {
    return this.#add(
      ms,
      (t) => (Math.floor(t / (period / 2)) % 2 === 0 ? around + amplitude : around - amplitude),
      around,
    );
  }

  /** Sends nothing for `ms`: a device that went quiet (for stale and offline rules). */
  silence(ms: number): this {
    return this.#add(ms, () => 'silent');
  }

  /** Sends `count` malformed payloads (one per sample) in place of values. */
  bad(count = BAD_PAYLOADS.length): this {
    return this.#add(count * this.every, () => 'bad');
  }

  /** Adds Gaussian noise of this standard deviation to every value (seeded). */
  noise(sd: number): this {
    this.#noise = sd;
    return this;
  }

  /** Drops each sample with this chance (seeded): a lossy radio link. */
  dropouts(chance: number): this {
    if (!(chance >= 0 && chance <= 1)) throw new RangeError('dropouts: a chance between 0 and 1');
    this.#dropout = chance;
    return this;
  }

  /** Every point of the script, in order. */
  points(): ScenarioPoint[] {
    const rand = seededRandom(childSeed(this.seed, 0));
    const out: ScenarioPoint[] = [];
    let offset = 0;
    let badIndex = 0;
    for (const seg of this.#segments) {
      for (let t = 0; t < seg.ms; t += this.every) {
        const v = seg.at(t, seg.from);
        // Drawn for every sample, so adding noise or dropouts does not shift the others.
        const drop = rand();
        const jitter = gaussian(rand);
        if (v === 'silent' || drop < this.#dropout) continue;
        if (v === 'bad') {
          out.push({ offsetMs: offset + t, bad: BAD_PAYLOADS[badIndex++ % BAD_PAYLOADS.length]! });
          continue;
        }
        const value = this.#noise > 0 ? round(v + this.#noise * jitter) : round(v);
        out.push({ offsetMs: offset + t, value });
      }
      offset += seg.ms;
    }
    return out;
  }
}

/** Rounded to 6 digits, so a ramp's 20.000000000000004 is 20 on the wire. */
const round = (v: number) => Math.round(v * 1e6) / 1e6;
