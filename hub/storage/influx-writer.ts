import type { Logger } from 'pino';
import type { InfluxHttp } from './influx-http.js';
import type { Chunk, Spool } from './spool.js';
import { classify, measurementOf, timestampOf, type WriteVerdict } from './write-errors.js';

export interface WriterOptions {
  batchSize: number;
  flushInterval: number;
  maxInFlight: number;
  timeout: number;
  /** Duration of the raw retention policy, when the hub knows it (finds points beyond it). */
  retentionMs?: number | undefined;
  /** Cap of the backoff between retries of a failed or refused write (default 15 s). */
  maxRetryDelay?: number | undefined;
}

/**
 * ok: the last write was confirmed (or none failed yet); retrying: InfluxDB did not
 * answer or answered 5xx/429/408; refused: it refused the request itself (401, 403,
 * 404, a redirect, ...): the readings stay in the spool until it accepts them.
 */
export type WriterState = 'ok' | 'retrying' | 'refused';

export type StorageRejectReason =
  | 'influx_type_conflict'
  | 'influx_retention'
  | 'influx_rejected'
  | 'influx_too_large';

export interface WriterHooks {
  /** InfluxDB confirmed `count` points, from these spool chunks (each knows when it reached the hub). */
  stored?(count: number, requestMs: number, chunks: readonly Chunk[]): void;
  /** Points InfluxDB refuses for good: they leave the spool into the quarantine. */
  quarantined?(lines: readonly string[], reason: StorageRejectReason, detail: string): void;
  retry?(reason: string): void;
  /** InfluxDB refused a write request (not its points) with this HTTP status. */
  refused?(status: number): void;
  /** The writer's state changed (logged once per change, not per retry). */
  state?(state: WriterState, reason: string | undefined): void;
  /** InfluxDB says the database does not exist (a fresh influxd): create it and its policies. */
  missingDatabase?(): Promise<void>;
}

/** Chunks leave the spool once every piece of the batch they were sent in is written or quarantined. */
interface AckGroup {
  chunks: Chunk[];
  count: number;
  open: number;
}

/** One write request: whole chunks (fast path), or lines after a split. */
interface Job {
  ack: AckGroup;
  /** The chunks' lines, sent one after another (never joined into one buffer). */
  body?: readonly Buffer[];
  lines?: string[];
  count: number;
}

const BACKOFF_BASE_MS = 100;
const BACKOFF_MAX_MS = 15_000;

const STATE_LOG: Record<WriterState, string> = {
  ok: 'InfluxDB accepts writes again',
  retrying: 'InfluxDB write failed, retrying; readings wait in the spool',
  refused: 'InfluxDB refuses write requests; readings stay in the spool and are retried',
};

/**
 * Takes committed chunks from the spool and writes them to InfluxDB: a request goes
 * out when batchSize readings are ready or flushInterval has passed; at most
 * maxInFlight run at once, so the writer holds at most (maxInFlight + retries) x
 * batchSize lines in memory, whatever the spool holds on disk. Connection errors,
 * timeouts, 5xx and 429 are retried with capped exponential backoff and full jitter,
 * honouring Retry-After; so are refusals of the request (401, 403, 404, redirects);
 * 413 halves the batch; a 400 that names points quarantines only the offending
 * points (see write-errors.ts). Nothing leaves the spool before InfluxDB confirmed it.
 */
export class InfluxWriter {
  #cursor = 0;
  #handedOut = 0;
  readonly #retry: Job[] = [];
  #inFlight = 0;
  #timer: NodeJS.Timeout | undefined;
  #backoffTimer: NodeJS.Timeout | undefined;
  #attempt = 0;
  #stopped = false;
  #lastError: string | undefined;
  /** Set while the database is prepared: no write goes out meanwhile. */
  #exclusive: Promise<void> | undefined;
  #state: WriterState = 'ok';
  #stateSince = Date.now();

  constructor(
    private readonly http: InfluxHttp,
    private readonly spool: Spool,
    private readonly opts: WriterOptions,
    private readonly log: Logger,
    private readonly hooks: WriterHooks = {},
  ) {}

  start(): void {
    this.spool.onCommit = () => this.#schedule();
    this.#schedule();
  }

  /** Readings not yet confirmed by InfluxDB (on disk, or about to be). */
  get queued(): number {
    return this.spool.readings;
  }
  get inFlight(): number {
    return this.#inFlight;
  }
  get lastError(): string | undefined {
    return this.#lastError;
  }
  get state(): WriterState {
    return this.#state;
  }
  /** Epoch ms of the last change of state. */
  get stateSince(): number {
    return this.#stateSince;
  }

  #setState(state: WriterState, reason: string | undefined): void {
    if (state === this.#state) return;
    const was = this.#state;
    this.#state = state;
    this.#stateSince = Date.now();
    if (state === 'ok') this.log.info({ was }, STATE_LOG.ok);
    else this.log.warn({ err: reason, was }, STATE_LOG[state]);
    this.hooks.state?.(state, reason);
  }

  get #available(): number {
    return this.spool.readings - this.#handedOut;
  }

  /**
   * Runs `fn` (create the database and its retention policies) with no write in flight
   * and none sent until it is done: a write landing between CREATE DATABASE and the
   * switch of the default retention policy would go to "autogen", where nothing reads it.
   */
  exclusive(fn: () => Promise<void>): Promise<void> {
    this.#exclusive ??= (async () => {
      const until = Date.now() + this.opts.timeout + 1000;
      while (this.#inFlight > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
      await fn().catch(() => undefined);
    })().finally(() => {
      this.#exclusive = undefined;
      this.#pump(true);
    });
    return this.#exclusive;
  }

  #schedule(): void {
    if (this.#backoffTimer || this.#stopped) return;
    if (this.#retry.length > 0 || this.#available >= this.opts.batchSize) this.#pump(false);
    else this.#armTimer();
  }

  #armTimer(): void {
    if (this.#timer || this.#backoffTimer || this.#stopped) return;
    if (this.#retry.length === 0 && this.#available <= 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#pump(true);
    }, this.opts.flushInterval);
  }

  #next(partial: boolean): Job | undefined {
    const r = this.#retry.shift();
    if (r) return r;
    const avail = this.#available;
    if (avail <= 0 || (!partial && avail < this.opts.batchSize)) return undefined;
    const chunks = this.spool.take(this.#cursor, this.opts.batchSize);
    if (chunks.length === 0) return undefined;
    this.#cursor = chunks[chunks.length - 1]!.seq;
    let count = 0;
    for (const c of chunks) count += c.count;
    this.#handedOut += count;
    const body = chunks.map((c) => c.body);
    return { ack: { chunks, count, open: 1 }, body, count };
  }

  /** Sends what can be sent now. `partial` allows a batch that is not full. */
  #pump(partial: boolean): void {
    if (this.#exclusive) return;
    while (this.#inFlight < this.opts.maxInFlight && !this.#backoffTimer) {
      const job = this.#next(partial);
      if (!job) break;
      void this.#send(job);
    }
    this.#armTimer();
  }

  async #send(job: Job): Promise<void> {
    this.#inFlight++;
    const started = performance.now();
    let verdict: WriteVerdict;
    try {
      const payload = job.body ?? `${job.lines!.join('\n')}\n`;
      const res = await this.http.write(payload, this.opts.timeout);
      verdict = classify(res.status, res.body, res.retryAfter);
    } catch (err) {
      const code = (err as { cause?: { code?: string } }).cause?.code;
      verdict = { kind: 'retry', reason: `${(err as Error).message}${code ? ` (${code})` : ''}` };
    }
    this.#inFlight--;

    switch (verdict.kind) {
      case 'ok':
        this.#attempt = 0;
        this.#lastError = undefined;
        this.#setState('ok', undefined);
        this.hooks.stored?.(job.count, performance.now() - started, job.body ? job.ack.chunks : []);
        this.#piecesDone(job.ack, 1);
        break;
      case 'no_database':
        // A fresh or restarted influxd without our database: create it, then retry.
        await this.exclusive(() =>
          this.hooks.missingDatabase ? this.hooks.missingDatabase() : this.http.ensureDatabase(),
        );
        this.#setState('retrying', verdict.reason);
        this.#backoff(job, verdict.reason);
        return;
      case 'retry':
        this.#setState('retrying', verdict.reason);
        this.#backoff(job, verdict.reason, verdict.retryAfterMs);
        return;
      case 'refused':
        // Wrong credentials, permissions, a missing bucket, a redirect: the points are fine.
        this.hooks.refused?.(verdict.status);
        this.#setState('refused', verdict.reason);
        this.#backoff(job, verdict.reason, verdict.retryAfterMs);
        return;
      case 'split':
        this.#bisect(job, 'influx_too_large', 'a single point is larger than the server accepts (413)');
        break;
      case 'type_conflict': {
        const names = new Set(verdict.measurements);
        this.#quarantineWhere(
          job,
          (l) => names.has(measurementOf(l)),
          'influx_type_conflict',
          verdict.reason,
        );
        break;
      }
      case 'retention': {
        const cutoff = this.opts.retentionMs ? Date.now() - this.opts.retentionMs : undefined;
        if (cutoff === undefined) this.#bisect(job, 'influx_retention', verdict.reason);
        else this.#quarantineWhere(job, (l) => timestampOf(l) < cutoff, 'influx_retention', verdict.reason);
        break;
      }
      case 'bad':
        this.#bisect(job, 'influx_rejected', verdict.reason);
        break;
    }
    if (verdict.kind !== 'ok') this.#lastError = verdict.reason;
    this.#pump(this.#stopped);
  }

  /** Counts pieces of a batch as written or quarantined; the last one removes its chunks from the spool. */
  #piecesDone(ack: AckGroup, pieces: number): void {
    ack.open -= pieces;
    if (ack.open > 0) return;
    this.spool.remove(ack.chunks);
    this.#handedOut -= ack.count;
  }

  #linesOf(job: Job): string[] {
    if (job.lines) return job.lines;
    const text = Buffer.concat(job.body!).toString('utf8');
    return text.slice(0, text.endsWith('\n') ? -1 : undefined).split('\n');
  }

  /** Quarantines the lines matching `bad` and resends the rest (already written ones are overwritten, harmlessly). */
  #quarantineWhere(job: Job, bad: (l: string) => boolean, reason: StorageRejectReason, detail: string): void {
    const lines = this.#linesOf(job);
    const out = lines.filter(bad);
    if (out.length === 0) {
      this.#bisect(job, reason, detail);
      return;
    }
    this.log.warn({ reason, points: out.length, detail }, 'points refused by InfluxDB, quarantined');
    this.hooks.quarantined?.(out, reason, detail);
    const rest = lines.filter((l) => !bad(l));
    if (rest.length === 0) this.#piecesDone(job.ack, 1);
    else this.#retry.unshift({ ack: job.ack, lines: rest, count: rest.length });
  }

  /** Halves a refused batch until each refused point is alone (log2(n) requests per bad point). */
  #bisect(job: Job, reason: StorageRejectReason, detail: string): void {
    const lines = this.#linesOf(job);
    if (lines.length <= 1) {
      this.log.warn({ reason, detail }, 'point refused by InfluxDB, quarantined');
      this.hooks.quarantined?.(lines, reason, detail);
      this.#piecesDone(job.ack, 1);
      return;
    }
    const mid = Math.ceil(lines.length / 2);
    job.ack.open += 1; // one job becomes two
    this.#retry.unshift(
      { ack: job.ack, lines: lines.slice(0, mid), count: mid },
      { ack: job.ack, lines: lines.slice(mid), count: lines.length - mid },
    );
  }

  #backoff(job: Job, reason: string, retryAfterMs?: number): void {
    this.#lastError = reason;
    this.#retry.unshift(job);
    this.hooks.retry?.(reason);
    this.#attempt++;
    const max = this.opts.maxRetryDelay ?? BACKOFF_MAX_MS;
    const cap = Math.min(max, BACKOFF_BASE_MS * 2 ** Math.min(this.#attempt, 16));
    const delay = Math.max(retryAfterMs ?? 0, Math.random() * cap);
    if (this.#backoffTimer || this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#backoffTimer = setTimeout(() => {
      this.#backoffTimer = undefined;
      this.#pump(true);
    }, delay);
  }

  /** InfluxDB answers again (health check): retry now instead of at the end of the backoff. */
  wake(): void {
    if (this.#stopped) return;
    if (this.#backoffTimer) clearTimeout(this.#backoffTimer);
    this.#backoffTimer = undefined;
    this.#pump(true);
  }

  /** Writes everything ready now, including partial batches. */
  flushNow(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pump(true);
  }

  /**
   * Writes what is spooled (and what is about to be committed) and waits until InfluxDB
   * confirmed it, or until the timeout. Returns the readings still in the spool.
   */
  async writeAll(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (
      (this.spool.readings > 0 || this.spool.committing || this.#inFlight > 0) &&
      Date.now() < deadline
    ) {
      this.flushNow();
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.spool.readings;
  }

  /**
   * Stops taking new work after trying to write what is spooled for up to timeoutMs.
   * Whatever is left stays in the spool and is written after the next start.
   */
  async drain(timeoutMs: number): Promise<number> {
    await this.writeAll(timeoutMs);
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#backoffTimer) clearTimeout(this.#backoffTimer);
    this.#timer = undefined;
    this.#backoffTimer = undefined;
    // Requests still in flight finish on their own; wait for them briefly so the spool closes cleanly.
    const until = Date.now() + 2000;
    while (this.#inFlight > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    return this.spool.readings;
  }
}
