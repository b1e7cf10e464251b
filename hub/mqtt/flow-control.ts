/**
 * When the broker reads its clients. Two reasons not to read one:
 *
 * - held: the hub is behind on a client's QoS 0 publishes (the spool is catching up); the
 *   client is not read until the promise it waits for settles. Holding the connection, not
 *   the message: a held QoS 0 publish would keep its parser and callback state alive, and
 *   one socket read can carry thousands, whereas a paused client's backlog simply stays
 *   in the kernel's socket buffer.
 * - fairness: Aedes handles a whole socket read of QoS 0 publishes in one go, and all
 *   readable sockets in one poll phase, so a burst could keep the event loop for a
 *   second; InfluxDB responses, spool commits and HTTP would wait that long. After
 *   SLICE_MS of ingest every client is paused, and they are resumed one by one on later
 *   turns of the event loop, the one that used up the slice last.
 */

/** Longest stretch of QoS 0 ingest before other work (writes, commits, HTTP) gets a turn. */
export const SLICE_MS = 20;

/** What flow control needs of a connection. */
export interface Pausable {
  readonly closed: boolean;
  /** Stops reading the connection. */
  pause(): void;
  /** Reads it again. */
  resume(): void;
}

export interface FlowClock {
  /** Milliseconds, monotonic. */
  now(): number;
  /**
   * Runs `fn` after the I/O waiting now has had its turn. setImmediate, not a timer: the
   * poll phase in between runs what waited, without the 1 ms floor of setTimeout.
   */
  soon(fn: () => void): void;
}

const realClock: FlowClock = {
  now: () => performance.now(),
  soon: (fn) => {
    setImmediate(fn);
  },
};

export class FlowControl<C extends Pausable> {
  /** Clients not read until a promise settles. */
  readonly #held = new WeakSet<C>();
  /** Clients paused for fairness, in the order they get their next turn. */
  readonly #waiting = new Set<C>();
  #turnArmed = false;
  #sliceStart = 0;
  // Bound once: overSlice runs per message and must not allocate.
  readonly #endSlice = () => {
    this.#sliceStart = 0;
  };
  readonly #turn = () => this.#nextTurn();

  /**
   * @param clients every client to pause when a slice is used up (the connected ones)
   */
  constructor(
    private readonly clients: () => Iterable<C>,
    private readonly clock: FlowClock = realClock,
    private readonly sliceMs = SLICE_MS,
  ) {}

  /** Stops reading `client` until `until` settles, whether it resolves or rejects. */
  hold(client: C, until: Promise<unknown>): void {
    if (this.#held.has(client)) return;
    this.#held.add(client);
    client.pause();
    const resume = () => {
      this.#held.delete(client);
      this.#resume(client);
    };
    until.then(resume, resume);
  }

  /** True once the current stretch of ingest has run longer than the slice. Called per message. */
  overSlice(): boolean {
    const now = this.clock.now();
    if (this.#sliceStart === 0) {
      this.#sliceStart = now;
      this.clock.soon(this.#endSlice);
      return false;
    }
    return now - this.#sliceStart > this.sliceMs;
  }

  /** Pauses every client and queues it for a later turn, so other work runs first. */
  yieldAll(): void {
    if (this.#turnArmed) return;
    for (const client of this.clients()) {
      client.pause();
      // A client already waiting keeps its place; the one that used up the slice goes last.
      this.#waiting.add(client);
    }
    this.#turnArmed = true;
    this.clock.soon(this.#turn);
  }

  /** A client that left: it is not waited for or resumed. */
  forget(client: C): void {
    this.#waiting.delete(client);
  }

  /** Clients waiting for their turn (for tests and diagnostics). */
  get waiting(): number {
    return this.#waiting.size;
  }

  /** Reads a paused client again, unless it is closed, still held, or waiting for its turn. */
  #resume(client: C): void {
    if (client.closed || this.#held.has(client) || this.#waiting.has(client)) return;
    client.resume();
  }

  /** Resumes waiting clients one by one until one of them uses up the new slice. */
  #nextTurn(): void {
    this.#turnArmed = false;
    this.#sliceStart = 0;
    for (const client of this.#waiting) {
      this.#waiting.delete(client);
      this.#resume(client);
      // That client's backlog used up the slice: yieldAll queued everyone again.
      if (this.#turnArmed) return;
    }
  }
}
