/**
 * InfluxDB keeps one point per series and timestamp: a second reading of the same
 * sensor in the same millisecond would overwrite the first. When the hub assigns the
 * time (the device sent none), it makes each series' times strictly increasing in
 * steps of 1 µs, and timestamps are written with microsecond precision. Times a
 * device sends are kept as they are: the same time twice is the same measurement.
 */
export class SeriesClock {
  /** device -> sensor -> last time (nested maps: no key string built per reading) */
  readonly #last = new Map<string, Map<string, number>>();
  #series = 0;

  /** Bounds the memory a flood of distinct series ids can take; past it the maps start over. */
  constructor(private readonly maxSeries = 200_000) {}

  next(device: string, sensor: string, ts: number): number {
    let sensors = this.#last.get(device);
    if (!sensors) {
      if (this.#series >= this.maxSeries) {
        this.#last.clear();
        this.#series = 0;
      }
      sensors = new Map();
      this.#last.set(device, sensors);
    }
    const last = sensors.get(sensor);
    if (last === undefined) this.#series++;
    const t = last !== undefined && ts <= last ? Math.round((last + 0.001) * 1000) / 1000 : ts;
    sensors.set(sensor, t);
    return t;
  }
}
