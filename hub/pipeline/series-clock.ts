/**
 * InfluxDB keeps one point per series and timestamp: a second reading of the same
 * sensor in the same millisecond would overwrite the first. When the hub assigns the
 * time (the device sent none), it makes each series' times strictly increasing in
 * steps of 1 µs, and timestamps are written with microsecond precision. Times a
 * device sends are kept as they are: the same time twice is the same measurement.
 */
export class SeriesClock {
  /**
   * device -> sensor -> slot in #times (nested maps: no key string built per reading).
   * The times sit in a Float64Array, not in the maps: a time is no small integer, so
   * each one set into a map would be a new heap number, garbage in the old generation
   * once replaced; one per reading made the old generation fill up quickly.
   */
  readonly #slots = new Map<string, Map<string, number>>();
  #times = new Float64Array(1024);
  #series = 0;

  /** Bounds the memory a flood of distinct series ids can take; past it the maps start over. */
  constructor(private readonly maxSeries = 200_000) {}

  next(device: string, sensor: string, ts: number): number {
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
        const grown = new Float64Array(this.#times.length * 2);
        grown.set(this.#times);
        this.#times = grown;
      }
      this.#times[slot] = ts;
      return ts;
    }
    const last = this.#times[slot]!;
    const t = ts <= last ? Math.round((last + 0.001) * 1000) / 1000 : ts;
    this.#times[slot] = t;
    return t;
  }
}
