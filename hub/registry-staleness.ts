/**
 * When a sensor is late. Its expected interval is the configured one
 * (devices[].sensors.<id>.expectedInterval, then devices[].expectedInterval, then
 * registry.expectedInterval), else learned: the median of its last gaps between
 * readings, so one burst or one outage does not move it much. It is `stale` when
 * nothing came for staleAfter × that interval (Koenkk/zigbee2mqtt#27652 asks for
 * exactly this: a device that is online but whose sensor stopped reporting).
 */
export class IntervalLearner {
  readonly #gaps: number[] = [];
  #last: number | undefined;
  /** Gaps kept; an odd number gives a true median. */
  static readonly WINDOW = 9;
  /** Gaps needed before the learned interval is trusted. */
  static readonly MIN_GAPS = 2;

  #median: number | undefined;

  note(ts: number): void {
    if (this.#last !== undefined) {
      const gap = ts - this.#last;
      // Readings of one message (gap 0) or replays out of order teach nothing.
      if (gap > 0) {
        this.#gaps.push(gap);
        if (this.#gaps.length > IntervalLearner.WINDOW) this.#gaps.shift();
        // Computed here, once per gap, not on every read of `interval`.
        if (this.#gaps.length >= IntervalLearner.MIN_GAPS) {
          const sorted = [...this.#gaps].sort((a, b) => a - b);
          this.#median = sorted[Math.floor(sorted.length / 2)];
        }
      }
    }
    this.#last = ts;
  }

  /** Median gap in ms, or undefined until enough gaps were seen. */
  get interval(): number | undefined {
    return this.#median;
  }
}
