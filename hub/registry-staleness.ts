/**
 * When a sensor is late. Its expected interval is the configured one
 * (devices[].sensors.<id>.expectedInterval, then devices[].expectedInterval, then
 * registry.expectedInterval), else learned: the median of its last gaps between
 * readings, so one burst or one outage does not move it much. It is `stale` when
 * nothing came for staleAfter × that interval (Koenkk/zigbee2mqtt#27652 asks for
 * exactly this: a device that is online but whose sensor stopped reporting).
 */
/** Where a median is worked out: one buffer for every learner. */
const scratch = new Float64Array(9);

export class IntervalLearner {
  /** Gaps kept; an odd number gives a true median. */
  static readonly WINDOW = scratch.length;
  /** Gaps needed before the learned interval is trusted. */
  static readonly MIN_GAPS = 2;
  /**
   * The last WINDOW gaps, a ring; noted for every reading, so nothing is allocated
   * there. A plain array: a hub keeps one learner per sensor (tens of thousands on a large hub),
   * and a typed array of its own would cost each of them about 400 bytes more
   * (array buffer, backing store) than these nine slots.
   */
  readonly #gaps = new Array<number>(IntervalLearner.WINDOW).fill(0);
  #count = 0;
  #next = 0;
  #last: number | undefined;

  #median: number | undefined;
  #dirty = false;

  /** Notes a reading's time (for every reading: only records the gap). */
  note(ts: number): void {
    const last = this.#last;
    this.#last = ts;
    if (last === undefined) return;
    const gap = ts - last;
    // Readings of one message (gap 0) or replays out of order teach nothing.
    if (!(gap > 0)) return;
    this.#gaps[this.#next] = gap;
    this.#next = (this.#next + 1) % IntervalLearner.WINDOW;
    if (this.#count < IntervalLearner.WINDOW) this.#count++;
    this.#dirty = true;
  }

  /** Median gap in ms, or undefined until enough gaps were seen. */
  get interval(): number | undefined {
    const n = this.#count;
    if (this.#dirty && n >= IntervalLearner.MIN_GAPS) {
      // Worked out when asked (staleness checks, the API), not per reading.
      const sorted = scratch.subarray(0, n);
      for (let i = 0; i < n; i++) sorted[i] = this.#gaps[i]!;
      sorted.sort();
      this.#median = sorted[n >> 1];
    }
    this.#dirty = false;
    return this.#median;
  }
}
