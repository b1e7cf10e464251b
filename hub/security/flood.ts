import type { Pausable } from '../mqtt/flow-control.js';

/**
 * Flood protection of the broker: per-client rates applied as backpressure (the client is
 * read more slowly, nothing it sent is dropped), and a ban of a client id that
 * reconnects too often (a crash loop, or two devices fighting over one id).
 */

export interface RateLimits {
  /** Publishes per second; 0: no limit. */
  messagesPerSecond: number;
  /** Bytes per second; 0: no limit. */
  bytesPerSecond: number;
}

/**
 * A reader that two parties pause: flow control (the hub is behind, fairness) and the
 * rate limit. It reads only when neither holds it, so a resume by one does not undo
 * the other's pause.
 */
export class GatedReader implements Pausable {
  #flowPaused = false;
  #limited = false;
  constructor(private readonly inner: Pausable) {}
  get closed(): boolean {
    return this.inner.closed;
  }
  pause(): void {
    this.#flowPaused = true;
    this.inner.pause();
  }
  resume(): void {
    this.#flowPaused = false;
    if (!this.#limited) this.inner.resume();
  }
  /** Paused by the rate limit until lift(). */
  limit(): void {
    this.#limited = true;
    this.inner.pause();
  }
  lift(): void {
    this.#limited = false;
    if (!this.#flowPaused && !this.inner.closed) this.inner.resume();
  }
  get limited(): boolean {
    return this.#limited;
  }
}

/**
 * A token bucket per client and per quantity (a second's worth of burst). Spending past
 * it pauses the client for as long as the debt takes to refill, then reads it again:
 * the client's TCP window fills and it slows down, as a fair broker should make it.
 */
export class ClientRate {
  #msgs: number;
  #bytes: number;
  #at: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly reader: GatedReader,
    private readonly limits: RateLimits,
    private readonly onLimited: () => void,
    private readonly now: () => number = performance.now.bind(performance),
  ) {
    this.#msgs = limits.messagesPerSecond;
    this.#bytes = limits.bytesPerSecond;
    this.#at = this.now();
  }

  #refill(): void {
    const t = this.now();
    const dt = (t - this.#at) / 1000;
    this.#at = t;
    const { messagesPerSecond: m, bytesPerSecond: b } = this.limits;
    if (m > 0) this.#msgs = Math.min(m, this.#msgs + dt * m);
    if (b > 0) this.#bytes = Math.min(b, this.#bytes + dt * b);
  }

  /** Bytes read from the client. */
  bytes(n: number): void {
    if (this.limits.bytesPerSecond === 0) return;
    this.#bytes -= n;
    if (this.#bytes < 0) this.#check();
  }

  /** One publish from the client. */
  message(): void {
    if (this.limits.messagesPerSecond === 0) return;
    this.#msgs -= 1;
    if (this.#msgs < 0) this.#check();
  }

  #check(): void {
    if (this.#timer) return;
    this.#refill();
    const { messagesPerSecond: m, bytesPerSecond: b } = this.limits;
    const waitS = Math.max(
      m > 0 && this.#msgs < 0 ? -this.#msgs / m : 0,
      b > 0 && this.#bytes < 0 ? -this.#bytes / b : 0,
    );
    if (waitS <= 0) return;
    this.reader.limit();
    this.onLimited();
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#refill();
        this.reader.lift();
      },
      Math.ceil(waitS * 1000),
    );
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

export interface ReconnectLimits {
  maxReconnects: number;
  reconnectWindow: number;
  banFor: number;
}

/** Client ids whose connects are tracked at once; past it the oldest are forgotten. */
const TRACKED = 50_000;

/** Counts connects per client id in a sliding window and bans one that connects too often. */
export class ReconnectGuard {
  readonly #seen = new Map<string, number[]>();
  readonly #banned = new Map<string, number>();

  constructor(
    private readonly limits: ReconnectLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records a connect; false while `clientId` is banned (or this connect bans it). */
  connect(clientId: string): boolean {
    const t = this.now();
    const until = this.#banned.get(clientId);
    if (until !== undefined) {
      if (t < until) return false;
      this.#banned.delete(clientId);
    }
    const from = t - this.limits.reconnectWindow;
    const times = (this.#seen.get(clientId) ?? []).filter((x) => x > from);
    times.push(t);
    this.#seen.delete(clientId);
    this.#seen.set(clientId, times);
    if (this.#seen.size > TRACKED) this.#seen.delete(this.#seen.keys().next().value!);
    if (times.length > this.limits.maxReconnects) {
      this.#banned.set(clientId, t + this.limits.banFor);
      if (this.#banned.size > TRACKED) this.#banned.delete(this.#banned.keys().next().value!);
      this.#seen.delete(clientId);
      return false;
    }
    return true;
  }

  isBanned(clientId: string): boolean {
    const until = this.#banned.get(clientId);
    return until !== undefined && this.now() < until;
  }
}
