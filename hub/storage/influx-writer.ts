import type { Logger } from 'pino';
import type { Reading } from '../core/reading.js';
import type { InfluxHttp } from './influx-http.js';
import { toLine } from './line-protocol.js';

export interface WriterOptions {
  batchSize: number;
  flushInterval: number;
  maxInFlight: number;
  maxQueued: number;
  timeout: number;
}

export interface WriterHooks {
  stored?(count: number, latencyMs: number): void;
  /** InfluxDB refused these lines for good (4xx other than 404/413/429). */
  rejected?(lines: readonly string[], status: number, body: string): void;
  dropped?(count: number, reason: 'queue_full'): void;
  retry?(reason: string): void;
}

const BACKOFF_BASE_MS = 100;
const BACKOFF_MAX_MS = 15_000;

/**
 * Batches readings into line-protocol writes: a batch goes out when it is full or
 * when flushInterval has passed since its first line; at most maxInFlight requests
 * run at once. Failed batches stay at the head of the queue and are retried with
 * capped exponential backoff and full jitter, honouring Retry-After. Because the
 * hub assigns every timestamp, writing a batch twice changes nothing in InfluxDB.
 */
export class InfluxWriter {
  readonly #batches: string[][] = [];
  #queued = 0;
  #inFlight = 0;
  #timer: NodeJS.Timeout | undefined;
  #backoffTimer: NodeJS.Timeout | undefined;
  #attempt = 0;
  #stopped = false;
  #idleWaiters: Array<() => void> = [];
  #lastError: string | undefined;

  constructor(
    private readonly http: InfluxHttp,
    private readonly opts: WriterOptions,
    private readonly log: Logger,
    private readonly hooks: WriterHooks = {},
  ) {}

  get queued(): number {
    return this.#queued;
  }
  get inFlight(): number {
    return this.#inFlight;
  }
  get lastError(): string | undefined {
    return this.#lastError;
  }

  /** Queues readings; returns how many were accepted (the rest are dropped and counted). */
  enqueue(readings: readonly Reading[]): number {
    let accepted = readings.length;
    if (this.#queued + accepted > this.opts.maxQueued) {
      accepted = Math.max(0, this.opts.maxQueued - this.#queued);
      this.hooks.dropped?.(readings.length - accepted, 'queue_full');
    }
    for (let i = 0; i < accepted; i++) this.#push(toLine(readings[i]!));
    if (accepted > 0) this.#schedule();
    return accepted;
  }

  #push(line: string): void {
    let last = this.#batches[this.#batches.length - 1];
    if (!last || last.length >= this.opts.batchSize) {
      last = [];
      this.#batches.push(last);
    }
    last.push(line);
    this.#queued++;
  }

  #schedule(): void {
    if (this.#backoffTimer) return;
    const first = this.#batches[0];
    if (!first || first.length === 0) return;
    if (
      this.#inFlight < this.opts.maxInFlight &&
      (this.#batches.length > 1 || first.length >= this.opts.batchSize)
    ) {
      this.#pump(false);
    } else {
      this.#armTimer();
    }
  }

  #armTimer(): void {
    if (this.#timer || this.#backoffTimer || !this.#batches[0]?.length) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#pump(true);
    }, this.opts.flushInterval);
  }

  /** Sends what can be sent now. `partial` allows a batch that is not full. */
  #pump(partial: boolean): void {
    while (this.#inFlight < this.opts.maxInFlight && !this.#backoffTimer) {
      const first = this.#batches[0];
      if (!first || first.length === 0) break;
      if (!partial && first.length < this.opts.batchSize && this.#batches.length === 1) break;
      this.#batches.shift();
      void this.#send(first);
    }
    this.#armTimer();
    this.#checkIdle();
  }

  async #send(batch: string[]): Promise<void> {
    this.#inFlight++;
    const started = performance.now();
    let outcome: 'ok' | 'retry' | 'rejected' | 'split' = 'retry';
    let retryAfterMs: number | undefined;
    try {
      const res = await this.http.write(batch.join('\n'), this.opts.timeout);
      if (res.status === 204 || res.status === 200) outcome = 'ok';
      else if (res.status === 404 && /database not found/.test(res.body)) {
        // The server lost or never had the database (a fresh or restarted influxd).
        await this.http.ensureDatabase().catch(() => undefined);
        this.#lastError = `404 ${res.body.trim()}`;
      } else if (res.status === 413) outcome = 'split';
      else if (res.status >= 500 || res.status === 429 || res.status === 408) {
        this.#lastError = `${res.status} ${res.body.trim()}`;
        retryAfterMs = parseRetryAfter(res.retryAfter);
      } else {
        outcome = 'rejected';
        this.#lastError = `${res.status} ${res.body.trim()}`;
        this.log.error(
          { status: res.status, body: res.body.slice(0, 500), points: batch.length },
          'write rejected',
        );
        this.hooks.rejected?.(batch, res.status, res.body);
      }
    } catch (err) {
      this.#lastError = (err as Error).message;
      if ((err as { cause?: { code?: string } }).cause?.code)
        this.#lastError += ` (${(err as { cause: { code: string } }).cause.code})`;
    }
    this.#inFlight--;
    this.#queued -= batch.length;

    if (outcome === 'ok') {
      this.#attempt = 0;
      this.#lastError = undefined;
      this.hooks.stored?.(batch.length, performance.now() - started);
    } else if (outcome === 'split') {
      if (batch.length === 1) {
        this.hooks.rejected?.(batch, 413, 'a single point is larger than the server accepts');
      } else {
        const mid = Math.ceil(batch.length / 2);
        this.#requeueFront(batch.slice(mid));
        this.#requeueFront(batch.slice(0, mid));
      }
    } else if (outcome === 'retry') {
      this.#requeueFront(batch);
      this.hooks.retry?.(this.#lastError ?? 'unknown');
      if (this.#attempt === 0) this.log.warn({ err: this.#lastError }, 'InfluxDB write failed, retrying');
      this.#attempt++;
      const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(this.#attempt, 16));
      const delay = Math.max(retryAfterMs ?? 0, Math.random() * cap);
      if (!this.#backoffTimer && !this.#stopped) {
        this.#backoffTimer = setTimeout(() => {
          this.#backoffTimer = undefined;
          this.#pump(true);
        }, delay);
      }
      this.#checkIdle();
      return;
    }
    this.#pump(this.#stopped);
  }

  #requeueFront(batch: string[]): void {
    this.#batches.unshift(batch);
    this.#queued += batch.length;
  }

  #checkIdle(): void {
    if (this.#queued === 0 && this.#inFlight === 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Writes everything queued now, including partial batches. */
  flushNow(): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#pump(true);
  }

  /**
   * Sends everything queued and waits until InfluxDB confirmed it, or until the
   * timeout. Returns the number of readings still unwritten.
   */
  async drain(timeoutMs: number): Promise<number> {
    this.#stopped = true;
    if (this.#backoffTimer) {
      clearTimeout(this.#backoffTimer);
      this.#backoffTimer = undefined;
    }
    const deadline = Date.now() + timeoutMs;
    while (this.#queued > 0 || this.#inFlight > 0) {
      if (Date.now() >= deadline) break;
      this.flushNow();
      await Promise.race([
        new Promise<void>((r) => this.#idleWaiters.push(r)),
        new Promise((r) => setTimeout(r, Math.min(250, Math.max(1, deadline - Date.now())))),
      ]);
    }
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#backoffTimer) clearTimeout(this.#backoffTimer);
    this.#timer = undefined;
    this.#backoffTimer = undefined;
    return this.#queued;
  }
}

function parseRetryAfter(v: string | undefined): number | undefined {
  if (!v) return undefined;
  const secs = Number(v);
  if (Number.isFinite(secs)) return Math.min(secs * 1000, 60_000);
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.min(Math.max(0, at - Date.now()), 60_000) : undefined;
}
