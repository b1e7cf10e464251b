import { createWriteStream, mkdirSync, renameSync, statSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { EventBus } from './core/bus.js';
import { QUARANTINE_REASONS, type QuarantineReason } from './core/errors.js';
import { LogBudget } from './core/log-budget.js';
import type { QuarantineEntry } from './core/quarantine-entry.js';
import type { RawMessage } from './core/raw-message.js';
import { isValidId } from './core/reading.js';

export interface QuarantineOptions {
  /** JSON-lines file every entry is appended to; rotated once at maxFileBytes. */
  file?: string | undefined;
  maxFileBytes?: number;
  /** Entries kept in memory for the API. */
  keep?: number;
  /** Raw bytes kept per entry. */
  maxRawBytes?: number;
  /** Told the bytes the file took, and each entry it could not take (for the metrics). */
  counted?: { fileBytes(n: number): void; fileDropped(n: number): void };
  /** Wait before a failed file is opened again. */
  reopenAfterMs?: number;
  /** Quarantined payloads logged per window (default 10 a minute); the rest are summed up in one line. */
  logBudget?: { perWindow?: number; windowMs?: number };
}

/**
 * Where what the hub cannot read ends up: counted by reason, kept in a ring for
 * GET /api/quarantine, appended to a JSON-lines file, and announced on the bus
 * (the broker republishes it on hub/quarantine/<device>). The file never holds the
 * hub up: while the disk is behind (write() said so) entries are not written but
 * counted, until 'drain'; a failed file is logged, entries are counted as dropped,
 * and it is opened again a while later.
 */
export class Quarantine {
  readonly #ring: QuarantineEntry[] = [];
  readonly #counts = new Map<QuarantineReason, number>();
  #file: WriteStream | undefined;
  /** write() returned false: nothing more until 'drain'. */
  #blocked = false;
  #reopenAt = 0;
  #stopped = false;
  #fileBytes = 0;
  #written = 0;
  #dropped = 0;
  readonly #keep: number;
  readonly #maxRaw: number;
  readonly #maxFile: number;
  readonly #logBudget: LogBudget;

  constructor(
    private readonly bus: EventBus,
    private readonly log: Logger,
    private readonly opts: QuarantineOptions = {},
  ) {
    this.#keep = opts.keep ?? 1000;
    this.#maxRaw = opts.maxRawBytes ?? 4096;
    this.#maxFile = opts.maxFileBytes ?? 64 * 1024 * 1024;
    for (const r of Object.keys(QUARANTINE_REASONS) as QuarantineReason[]) this.#counts.set(r, 0);
    this.#logBudget = new LogBudget(log, { ...opts.logBudget, summary: 'payloads quarantined' });
  }

  start(): void {
    if (!this.opts.file) return;
    mkdirSync(dirname(this.opts.file), { recursive: true });
    try {
      this.#fileBytes = statSync(this.opts.file).size;
    } catch {
      this.#fileBytes = 0;
    }
    this.#open();
  }

  #open(): void {
    const path = this.opts.file!;
    const f = createWriteStream(path, { flags: 'a' });
    f.on('error', (err) => {
      this.log.error({ err, file: path }, 'quarantine file write failed; entries are dropped from the file');
      if (this.#file !== f) return;
      this.#file = undefined;
      this.#blocked = false;
      this.#reopenAt = Date.now() + (this.opts.reopenAfterMs ?? 10_000);
    });
    f.on('drain', () => {
      if (this.#file === f) this.#blocked = false;
    });
    this.#file = f;
    this.#blocked = false;
  }

  /** Bytes the file took since start. */
  get fileBytesWritten(): number {
    return this.#written;
  }

  /** The file's state: `behind` while the disk catches up, `failed` until it is opened again. */
  get fileState(): 'off' | 'writing' | 'behind' | 'failed' {
    if (!this.opts.file || this.#stopped) return 'off';
    if (!this.#file) return 'failed';
    return this.#blocked ? 'behind' : 'writing';
  }

  /** Entries not written to the file since start (backpressure or a failed file). */
  get fileDropped(): number {
    return this.#dropped;
  }

  add(
    msg: RawMessage,
    device: string | undefined,
    reason: QuarantineReason,
    detail: string,
  ): QuarantineEntry {
    const raw = msg.payload.length > this.#maxRaw ? msg.payload.subarray(0, this.#maxRaw) : msg.payload;
    const entry: QuarantineEntry = {
      device: device && isValidId(device) ? device : '_unknown',
      topic: msg.topic.slice(0, 256),
      reason,
      detail,
      payload: raw.toString('base64'),
      size: msg.payload.length,
      truncated: raw.length < msg.payload.length,
      receivedAt: msg.receivedAt,
      ...(msg.clientId === undefined ? {} : { clientId: msg.clientId }),
    };
    this.#counts.set(reason, (this.#counts.get(reason) ?? 0) + 1);
    this.#ring.push(entry);
    if (this.#ring.length > this.#keep) this.#ring.shift();
    this.#append(entry);
    // A device spoofing the hub's own topics is a warning; an unreadable payload is news.
    this.#logBudget.event(
      reason === 'reserved_topic' ? 'warn' : 'info',
      reason,
      { device: entry.device, topic: entry.topic, reason, detail, clientId: msg.clientId },
      reason === 'reserved_topic' ? 'publish under a reserved topic refused' : 'payload quarantined',
    );
    this.bus.emit('quarantine', entry);
    return entry;
  }

  #append(entry: QuarantineEntry): void {
    if (!this.opts.file || this.#stopped) return;
    if (!this.#file && Date.now() >= this.#reopenAt) this.#open();
    if (!this.#file || this.#blocked) {
      this.#dropped++;
      this.opts.counted?.fileDropped(1);
      return;
    }
    const line = `${JSON.stringify(entry)}\n`;
    const bytes = Buffer.byteLength(line);
    if (this.#fileBytes + bytes > this.#maxFile) {
      this.#file.end();
      try {
        renameSync(this.opts.file, `${this.opts.file}.1`);
      } catch {
        // nothing to rotate
      }
      this.#open();
      this.#fileBytes = 0;
    }
    this.#fileBytes += bytes;
    const ok = this.#file!.write(line, this.#wrote(bytes));
    if (!ok) this.#blocked = true;
  }

  /** The callback of one write: counts its bytes once they are on their way to the disk. */
  #wrote(bytes: number) {
    return (err?: Error | null) => {
      if (err) return;
      this.#written += bytes;
      this.opts.counted?.fileBytes(bytes);
    };
  }

  /** Newest first. */
  recent(limit = 100, device?: string): QuarantineEntry[] {
    const out: QuarantineEntry[] = [];
    for (let i = this.#ring.length - 1; i >= 0 && out.length < limit; i--) {
      const e = this.#ring[i]!;
      if (!device || e.device === device) out.push(e);
    }
    return out;
  }

  counts(): Record<QuarantineReason, number> {
    return Object.fromEntries(this.#counts) as Record<QuarantineReason, number>;
  }

  total(): number {
    let n = 0;
    for (const v of this.#counts.values()) n += v;
    return n;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#logBudget.flush();
    const f = this.#file;
    this.#file = undefined;
    if (f && !f.destroyed) await new Promise<void>((r) => f.end(r));
  }
}
