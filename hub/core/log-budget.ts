import type { Logger } from 'pino';

export interface LogBudgetOptions {
  /** Lines logged per window; past it events are only counted. */
  perWindow?: number;
  windowMs?: number;
  /** The summary line of a window in which events were held back. */
  summary: string;
}

type Level = 'info' | 'warn';

/**
 * Logs the first `perWindow` events of each window (a minute by default) and counts the
 * rest, then logs one summary line with the count held back by kind: a flood of bad
 * payloads costs a line a minute, not a line a payload.
 */
export class LogBudget {
  readonly #perWindow: number;
  readonly #windowMs: number;
  #windowStart = 0;
  #logged = 0;
  readonly #held = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    private readonly opts: LogBudgetOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.#perWindow = opts.perWindow ?? 10;
    this.#windowMs = opts.windowMs ?? 60_000;
  }

  /** Logs `msg` at `level` unless this window's lines are used up; `kind` groups what is held back. */
  event(level: Level, kind: string, fields: Record<string, unknown>, msg: string): void {
    const now = this.now();
    if (now - this.#windowStart >= this.#windowMs) {
      this.flush();
      this.#windowStart = now;
      this.#logged = 0;
    }
    if (this.#logged < this.#perWindow) {
      this.#logged++;
      this.log[level](fields, msg);
      return;
    }
    this.#held.set(kind, (this.#held.get(kind) ?? 0) + 1);
    if (!this.#timer) {
      // The summary comes at the end of the window even when the flood stops with it.
      this.#timer = setTimeout(() => this.flush(), this.#windowStart + this.#windowMs - now);
      this.#timer.unref();
    }
  }

  /** Logs the summary of what was held back, if anything was (also at stop). */
  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#held.size === 0) return;
    let total = 0;
    const byKind: Record<string, number> = Object.create(null);
    for (const [k, n] of this.#held) {
      byKind[k] = n;
      total += n;
    }
    this.#held.clear();
    this.log.warn({ suppressed: total, byKind }, `${this.opts.summary}: ${total} more not logged`);
  }
}
