import type { Logger } from 'pino';
import type { AlertStore } from './store.js';

/** What one attempt gave: delivered, retry later, or dropped (the receiver named the data as wrong). */
export type SendResult = 'ok' | 'retry' | 'drop';

export interface DelivererOptions {
  target: string;
  store: AlertStore;
  send(body: unknown, signal: AbortSignal): Promise<SendResult>;
  log: Logger;
  minRetryMs?: number;
  maxRetryMs: number;
  /** Past this many queued, the oldest are dropped (and counted) as new ones come. */
  maxQueued: number;
}

/**
 * Sends one receiver's queue in order, one at a time: the next change goes only after
 * the receiver accepted the one before, so it sees every change once and in order
 * (a resend after a lost answer carries the same `id`). A failure waits with capped
 * exponential backoff and tries the same notification again.
 */
export class Deliverer {
  #running = false;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;
  readonly #abort = new AbortController();
  #delay: number;
  #loop: Promise<void> | undefined;
  failures = 0;
  dropped = 0;
  lastError: string | undefined;

  /** Queued on disk: counted once at start, then kept here (counting the queue is a scan). */
  #queued: number;

  constructor(private readonly opts: DelivererOptions) {
    this.#delay = opts.minRetryMs ?? 500;
    this.#queued = opts.store.queued(opts.target);
  }

  get queued(): number {
    return this.#queued;
  }

  start(): void {
    this.#running = true;
    this.#loop = this.#run().catch((err) =>
      this.opts.log.error({ err, target: this.opts.target }, 'delivery stopped'),
    );
  }

  /** One more was queued: send it now unless waiting out a backoff. */
  poke(): void {
    this.#queued++;
    const over = this.#queued - this.opts.maxQueued;
    if (over > 0) this.#trim(over);
    if (this.#wake && !this.#timer) this.#wake();
  }

  #trim(n: number): void {
    for (let i = 0; i < n; i++) {
      const first = this.opts.store.first(this.opts.target);
      if (!first) return;
      if (this.opts.store.delivered(this.opts.target, first.seq)) this.#queued--;
      this.dropped++;
    }
    this.opts.log.warn(
      { target: this.opts.target, dropped: n },
      'alert queue full: oldest notifications dropped',
    );
  }

  async #run(): Promise<void> {
    const { store, target } = this.opts;
    while (this.#running) {
      const next = store.first(target);
      if (!next) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        this.#wake = undefined;
        continue;
      }
      let result: SendResult;
      try {
        result = await this.opts.send(next.body, this.#abort.signal);
      } catch (err) {
        result = 'retry';
        this.lastError = (err as Error).message;
      }
      if (!this.#running) return;
      if (result === 'retry') {
        this.failures++;
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          this.#timer = setTimeout(resolve, this.#delay);
        });
        this.#timer = undefined;
        this.#wake = undefined;
        this.#delay = Math.min(this.#delay * 2, this.opts.maxRetryMs);
        continue;
      }
      if (result === 'drop') this.dropped++;
      if (store.delivered(target, next.seq)) this.#queued--;
      this.#delay = this.opts.minRetryMs ?? 500;
      this.lastError = undefined;
    }
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#running = false;
    this.#abort.abort();
    clearTimeout(this.#timer);
    this.#wake?.();
    await this.#loop;
  }
}

/** POSTs one notification as JSON; any answer but 2xx is retried (401 and 5xx are the receiver's state, not the data's). */
export function webhookSender(url: string, headers: Record<string, string> = {}, timeoutMs = 10_000) {
  return async (body: unknown, signal: AbortSignal): Promise<SendResult> => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
      signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
    });
    await res.arrayBuffer().catch(() => undefined);
    return res.ok ? 'ok' : 'retry';
  };
}
