/**
 * A clock a test moves by hand. Simulators that take one stamp what they send with its
 * time and send on `advance()`, so a test decides when a sample happens and which
 * timestamp it carries. The hub's own clock (receive times, stale and offline checks)
 * is real time: payload formats with a timestamp (json, multi, tasmota, zigbee2mqtt,
 * user-properties) carry the test clock's time, plain payloads cannot. The hub replaces a
 * device time older than time.maxPastAge (7 days) or ahead by more than
 * time.maxFutureSkew (5 min) with the receive time: start the clock within that window.
 */
export class TestClock {
  #now: number;
  readonly #listeners = new Set<(now: number) => Promise<void>>();

  constructor(start = Date.now()) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  /** Moves the clock forward; resolves once every simulator has sent what fell due. */
  async advance(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new RangeError(`a clock only moves forward, got ${ms} ms`);
    this.#now += ms;
    await Promise.all([...this.#listeners].map((l) => l(this.#now)));
  }

  /** For simulators: called with the new time on each advance. Returns the unsubscribe. */
  onAdvance(listener: (now: number) => Promise<void>): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
