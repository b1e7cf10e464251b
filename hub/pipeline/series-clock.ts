/**
 * InfluxDB keeps one point per series and timestamp: a second reading of the same
 * sensor in the same millisecond would overwrite the first. Timestamps are written
 * with microsecond precision, and this clock keeps each series' times apart:
 * - a hub-assigned time (the device sent none) is made strictly increasing, in steps of 1 µs;
 * - a device time in the same millisecond as the series' previous device time (and not
 *   after the time given to that one) gets the next free microsecond: devices that send
 *   whole seconds (Tasmota's `Time`) or milliseconds several times in one of them;
 * - a reading identical to the previous one of its series (same device time, same
 *   value) is a resend of the same measurement: `deviceTime` says so (NaN), and it is
 *   not stored twice.
 * A device time older than the previous one's millisecond (a replay, a backfill) is
 * kept as it is. Past 1000 readings in one millisecond the times run on into the
 * next one: nothing is overwritten, the order is kept.
 */
export class SeriesClock {
  /**
   * device -> sensor -> slot in the arrays below (nested maps: no key string built per
   * reading). Times and values sit in Float64Arrays, not in the maps: a time is no small
   * integer, so each one set into a map would be a new heap number, garbage in the old
   * generation once replaced; one per reading made the old generation fill up quickly.
   */
  readonly #slots = new Map<string, Map<string, number>>();
  /** The last time given out per series (ms, with µs steps); NaN: none yet. */
  #times = new Float64Array(1024);
  /** The last device time as sent (ms); NaN when the hub assigned the last time. */
  #given = new Float64Array(1024);
  /** The value of the last reading with a device time. */
  #values = new Float64Array(1024);
  #series = 0;

  /** Bounds the memory a flood of distinct series ids can take; past it the maps start over. */
  constructor(private readonly maxSeries = 200_000) {}

  #slot(device: string, sensor: string): number {
    let sensors = this.#slots.get(device);
    if (!sensors) {
      if (this.#series >= this.maxSeries) {
        this.#slots.clear();
        this.#series = 0;
      }
      sensors = new Map();
      this.#slots.set(device, sensors);
    }
    let slot = sensors.get(sensor);
    if (slot === undefined) {
      slot = this.#series++;
      sensors.set(sensor, slot);
      if (slot >= this.#times.length) {
        this.#times = grow(this.#times);
        this.#given = grow(this.#given);
        this.#values = grow(this.#values);
      }
      this.#times[slot] = Number.NaN;
      this.#given[slot] = Number.NaN;
    }
    return slot;
  }

  /** A hub-assigned time (the receive time): strictly increasing per series. */
  next(device: string, sensor: string, ts: number): number {
    const slot = this.#slot(device, sensor);
    const last = this.#times[slot]!;
    // NaN (a new series) compares false: the time is taken as it is.
    const t = ts <= last ? step(last) : ts;
    this.#times[slot] = t;
    this.#given[slot] = Number.NaN;
    return t;
  }

  /** The time to store a device-timed reading at, or NaN when it repeats the previous reading. */
  deviceTime(device: string, sensor: string, ts: number, value: number): number {
    const slot = this.#slot(device, sensor);
    const given = this.#given[slot]!;
    if (ts === given && value === this.#values[slot]) return Number.NaN;
    const last = this.#times[slot]!;
    // The millisecond compared with: the previous device time, or the last hub time.
    const ref = Number.isNaN(given) ? last : given;
    const t = ts <= last && Math.floor(ts) >= Math.floor(ref) ? step(last) : ts;
    this.#times[slot] = t;
    this.#given[slot] = ts;
    this.#values[slot] = value;
    return t;
  }
}

/** One microsecond later, rounded to whole microseconds (the precision written). */
const step = (t: number) => Math.round((t + 0.001) * 1000) / 1000;

function grow(a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> {
  const grown = new Float64Array(a.length * 2);
  grown.set(a);
  return grown;
}
