/**
 * InfluxDB keeps one point per series and timestamp: a second reading of the same
 * sensor in the same millisecond would overwrite the first. When the hub assigns the
 * time (the device sent none), it makes each series' times strictly increasing in
 * steps of 1 µs, and timestamps are written with microsecond precision. Times a
 * device sends are kept as they are: the same time twice is the same measurement.
 */
export class SeriesClock {
  readonly #last = new Map<string, number>();

  /** Bounds the memory a flood of distinct series ids can take; past it the map starts over. */
  constructor(private readonly maxSeries = 200_000) {}

  next(device: string, sensor: string, ts: number): number {
    const key = `${device}\u0000${sensor}`;
    const last = this.#last.get(key);
    const t = last !== undefined && ts <= last ? Math.round((last + 0.001) * 1000) / 1000 : ts;
    if (last === undefined && this.#last.size >= this.maxSeries) this.#last.clear();
    this.#last.set(key, t);
    return t;
  }
}
