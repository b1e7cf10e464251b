import { mkdirSync, statfsSync } from 'node:fs';
import { open, type RootDatabase } from 'lmdb';
import type { Logger } from 'pino';

export interface SpoolOptions {
  /** Folder of the LMDB environment. */
  dir: string;
  /** Bytes of line protocol the spool holds at most; past it, it is full. */
  maxBytes: number;
  /**
   * true: an append is acknowledged once fsync'd (survives power loss).
   * false: once committed to the OS (survives a crash or kill -9 of the hub, not of the machine).
   */
  fsync: boolean;
  /** Bytes accepted but not yet committed before even QoS 0 publishers are slowed. */
  maxUncommittedBytes: number;
  /**
   * Free bytes the spool leaves on its filesystem: a commit that would leave less is
   * refused like a failed one. LMDB must never meet a full disk: lmdb-js 3.5 handles
   * ENOSPC in its write thread badly (garbled sizes, then a glibc abort of the process).
   */
  minFreeBytes: number;
  /** Told once when commits start failing and once when they work again. */
  log?: Logger | undefined;
}

/** Whether the spool can take readings now; `error` says why not. */
export interface SpoolHealth {
  ok: boolean;
  /** The last commit error, with the free space of the spool's filesystem at that time. */
  error?: string;
  /** Epoch ms of the first failed commit of the current failure. */
  since?: number;
}

/** A committed group of lines: one LMDB record. */
export interface Chunk {
  seq: number;
  count: number;
  /** Epoch ms when the first line of the chunk was appended (for ingest latency). */
  firstAt: number;
  /** Line protocol, one reading per line, each ending in "\n". */
  body: Buffer;
}

interface Group {
  /** Header, then the lines as UTF-8, written as they are appended. */
  buf: Buffer;
  /** Bytes of buf in use. */
  len: number;
  count: number;
  /** Readings of the group that no publisher waits for (QoS 0, boards): lost if the commit fails. */
  unawaited: number;
  firstAt: number;
  done: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

// Each record: 4-byte little-endian line count, 8-byte double time of the first append,
// then the lines. Keys are increasing
// integers, so LMDB's key order is arrival order and replay after a restart is a range scan.
const HEADER = 12;
/** A group is committed once it holds this much, even within one turn. */
const GROUP_MAX_BYTES = 512 * 1024;
/** The smallest first buffer of a group; it doubles as lines arrive. */
const GROUP_FIRST_BYTES = 16 * 1024;
/** Wait before the first commit after a failed one; it doubles up to RETRY_MAX_MS while commits fail. */
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2000;
/** Free space is asked again after this long, or sooner when it may be running out. */
const FREE_RECHECK_MS = 100;

const noop = () => undefined;

/**
 * Marks a failed lmdb write as handled. lmdb-js rejects with "Commit failed" and puts
 * the real error in a second promise, `commitError`, which nobody else awaits.
 */
function handled(err: unknown): Promise<unknown> {
  const inner = (err as { commitError?: Promise<unknown> } | undefined)?.commitError;
  return inner
    ? inner.then(
        () => err,
        (e: unknown) => e,
      )
    : Promise.resolve(err);
}

/**
 * The durable queue between the pipeline and InfluxDB. LMDB rather than a
 * hand-written log: it installs as a prebuilt binary, is crash-safe by design
 * (copy-on-write B-tree, no recovery step), reuses the pages of removed records so
 * the file does not grow without end, and lmdb-js already batches every put of one
 * event-loop turn into one transaction. Here the hub adds a second level of group
 * commit: all lines appended during one turn become ONE record, so a burst of 5000
 * QoS 1 publishes costs one put and one sync, and every PUBACK of that turn waits
 * on the same promise.
 */
export class Spool {
  #nextSeq = 1;
  #readings = 0;
  #bytes = 0;
  #group: Group | undefined;
  #uncommittedBytes = 0;
  /** Size of the next group's first buffer. */
  #groupBytes = GROUP_FIRST_BYTES;
  /** Groups committed or being committed whose durability is not yet confirmed. */
  #notDurable = 0;
  /** Bytes handed to LMDB and not yet committed (they still need room on disk). */
  #queuedBytes = 0;
  /** The filesystem's free bytes when last asked, and what commits may have taken since. */
  #free: { bytes: number; at: number; written: number } | undefined;
  #roomWaiters: Array<() => void> = [];
  #closed = false;
  /** Set while commits fail: groups are refused until retryAt, then one is tried. */
  #failure: { error: string; since: number; retryAt: number; delay: number } | undefined;
  /** Records whose removal failed (a full disk refuses deletes too): removed with the next commit. */
  #unremoved: number[] = [];
  /** Called after each commit (the writer picks new chunks up from here). */
  onCommit: (() => void) | undefined;
  /**
   * A group's commit failed (or was refused while commits fail); `lost` of its
   * readings had nobody waiting for them (QoS 0, boards).
   */
  onFailed: ((lost: number, error: string) => void) | undefined;

  private constructor(
    private readonly db: RootDatabase<Buffer, number>,
    readonly opts: SpoolOptions,
  ) {}

  static async open(opts: SpoolOptions): Promise<Spool> {
    mkdirSync(opts.dir, { recursive: true });
    const db = open<Buffer, number>({
      path: opts.dir,
      encoding: 'binary',
      compression: false,
      // With event-turn batching lmdb-js keeps a promise of its own per transaction and
      // rejects it, unhandled, when the commit fails (a full disk). The spool already
      // makes one record per turn, and lmdb-js still batches a turn's writes (commitDelay 0).
      eventTurnBatching: false,
      // Room for the cap plus LMDB's own overhead (freed pages are reused, not returned).
      mapSize: Math.max(64 * 1024 * 1024, opts.maxBytes * 2 + 32 * 1024 * 1024),
    });
    const spool = new Spool(db, opts);
    // Replay: what is on disk was accepted and not confirmed by InfluxDB.
    for (const { key, value } of db.getRange({})) {
      spool.#readings += value.readUInt32LE(0);
      spool.#bytes += value.length;
      spool.#nextSeq = key + 1;
    }
    return spool;
  }

  /** Readings on disk, not yet confirmed by InfluxDB. */
  get readings(): number {
    return this.#readings;
  }
  /** Bytes on disk, plus bytes waiting for the next commit. */
  get bytes(): number {
    return this.#bytes + this.#uncommittedBytes;
  }
  /** True while appended lines are not yet durable (and so not yet counted in `readings`). */
  get committing(): boolean {
    return this.#group !== undefined || this.#notDurable > 0;
  }
  /** Bytes appended but not yet committed (a bound on what the hub holds in memory). */
  get uncommittedBytes(): number {
    return this.#uncommittedBytes;
  }
  get full(): boolean {
    return this.bytes >= this.opts.maxBytes;
  }
  get health(): SpoolHealth {
    const f = this.#failure;
    return f ? { ok: false, error: f.error, since: f.since } : { ok: true };
  }

  /**
   * Adds lines (each ending in "\n") to the current group. The promise resolves once
   * the group is durable and rejects when its commit failed (the lines are not kept).
   * All appends of one event-loop turn share one group. `awaited`: someone waits for
   * the promise (a QoS 1 publisher, who then resends); otherwise the lines count as
   * lost (onFailed) if the commit fails.
   */
  append(lines: string, count: number, awaited = true): Promise<void> {
    return this.appendWith(
      count,
      (buf, at) =>
        // The most UTF-8 bytes a JS string of this length takes.
        at + lines.length * 3 > buf.length ? -1 : at + buf.write(lines, at, 'utf8'),
      awaited,
    );
  }

  /**
   * Like `append`, for a writer that puts its lines straight into the group's buffer:
   * `write(buf, at)` returns where they end, or -1 when they might not fit (the
   * buffer then grows and `write` is asked again).
   */
  appendWith(count: number, write: (buf: Buffer, at: number) => number, awaited = true): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('spool closed'));
    let g = this.#group;
    if (!g) {
      let resolve!: () => void;
      let reject!: (e: unknown) => void;
      const done = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      // A QoS 0 publisher never awaits this promise: its lines lost to a failed commit are counted by onFailed.
      done.catch(() => undefined);
      g = {
        // As large as the last group (bursts come in runs): no doubling and copying each turn.
        buf: Buffer.allocUnsafe(this.#groupBytes),
        len: HEADER,
        count: 0,
        unawaited: 0,
        firstAt: Date.now(),
        done,
        resolve,
        reject,
      };
      this.#group = g;
      setImmediate(() => this.#commit());
    }
    // Written into the record's buffer now: no strings are kept (and joined) until the commit.
    let end = write(g.buf, g.len);
    while (end < 0) {
      const grown = Buffer.allocUnsafe(g.buf.length * 2);
      g.buf.copy(grown, 0, 0, g.len);
      g.buf = grown;
      end = write(g.buf, g.len);
    }
    const written = end - g.len;
    g.len = end;
    g.count += count;
    if (!awaited) g.unawaited += count;
    this.#uncommittedBytes += written;
    // Aedes parses a client's whole socket backlog in one macrotask when every publish
    // is handled synchronously (QoS 0), so "one turn" can be huge: cut the group here
    // to keep the buffer held in memory small.
    if (g.len - HEADER >= GROUP_MAX_BYTES) this.#commit();
    return g.done;
  }

  #commit(): void {
    const g = this.#group;
    this.#group = undefined;
    if (!g) return;
    this.#groupBytes = Math.min(GROUP_MAX_BYTES * 2, Math.max(GROUP_FIRST_BYTES, g.len + (g.len >> 3)));
    const f = this.#failure;
    if (f && Date.now() < f.retryAt) {
      // Commits fail (a full disk): refused without trying, until the next retry is due.
      this.#uncommittedBytes -= g.len - HEADER;
      this.#lose(g, f.error);
      return;
    }
    const short = this.#shortOfSpace(g.len);
    if (short) {
      this.#uncommittedBytes -= g.len - HEADER;
      this.#failed(g, new Error(short));
      return;
    }
    const buf = g.buf.subarray(0, g.len);
    buf.writeUInt32LE(g.count, 0);
    buf.writeDoubleLE(g.firstAt, 4);
    const seq = this.#nextSeq++;
    this.#notDurable++;
    const committed = this.db.put(seq, buf);
    // Deletes refused by an earlier failure go with this transaction.
    if (this.#unremoved.length > 0) this.#removeSeqs(this.#unremoved.splice(0));
    // Once the put is committed the lines are out of the JS heap (in LMDB's map): the
    // memory bound counts them only until then, while a PUBACK also waits for fsync.
    this.#queuedBytes += g.len;
    const release = () => {
      this.#uncommittedBytes -= g.len - HEADER;
      this.#queuedBytes -= g.len;
    };
    committed.then(release, release);
    const durable = this.opts.fsync ? committed.then(() => this.db.flushed) : committed;
    durable.then(
      () => {
        this.#notDurable--;
        this.#readings += g.count;
        this.#bytes += buf.length;
        if (this.#failure) this.#recovered();
        g.resolve();
        this.onCommit?.();
      },
      (err: unknown) => {
        this.#notDurable--;
        this.#failed(g, err);
      },
    );
  }

  /** A commit failed: its lines are gone (not kept for a retry: a QoS 1 publisher resends them). */
  #failed(g: Group, err: unknown): void {
    const now = Date.now();
    const prev = this.#failure;
    const delay = prev ? Math.min(RETRY_MAX_MS, prev.delay * 2) : RETRY_MIN_MS;
    const f = { error: this.#describe(err), since: prev?.since ?? now, retryAt: now + delay, delay };
    this.#failure = f;
    this.#lose(g, f.error);
    // The waiters are told now; the cause (lmdb-js reports it a moment later) is for the report.
    void handled(err).then((cause) => {
      if (cause !== err) f.error = this.#describe(cause);
      if (!prev) {
        this.opts.log?.error(
          { err: f.error, dir: this.opts.dir },
          'spool commit failed: publishes get no PUBACK and readings are refused until it works again',
        );
      }
    });
  }

  #lose(g: Group, error: string): void {
    this.onFailed?.(g.unawaited, error);
    g.reject(new Error(`spool commit failed: ${error}`));
  }

  #recovered(): void {
    const f = this.#failure;
    this.#failure = undefined;
    this.opts.log?.info({ failedForMs: f ? Date.now() - f.since : 0 }, 'spool commits work again');
  }

  /**
   * Why a record of `bytes` must not be written now, or undefined. Twice its size:
   * LMDB copies the pages it changes (copy-on-write), and removes need pages too.
   */
  #shortOfSpace(bytes: number): string | undefined {
    const need = this.#queuedBytes + 2 * bytes + this.opts.minFreeBytes;
    const now = Date.now();
    // statfs costs some microseconds: between asks, what was written since is subtracted.
    const known = this.#free;
    if (known && now - known.at < FREE_RECHECK_MS && known.bytes - known.written >= 2 * need) {
      known.written += 2 * bytes;
      return undefined;
    }
    let free: number;
    try {
      const st = statfsSync(this.opts.dir);
      free = st.bavail * st.bsize;
    } catch {
      return undefined; // no answer: let LMDB try
    }
    this.#free = { bytes: free, at: now, written: 2 * bytes };
    if (free >= need) return undefined;
    return `ENOSPC: ${free} bytes free on the spool's filesystem, ${need} needed to commit (spool.minFreeBytes ${this.opts.minFreeBytes})`;
  }

  /** The error of a failed commit, with the free space of the spool's filesystem (a full disk shows as EIO). */
  #describe(cause: unknown): string {
    const e = cause as { message?: string; code?: unknown } | undefined;
    let text = e?.message ?? String(cause);
    if (text.startsWith('ENOSPC: ')) return text;
    if (e?.code !== undefined) text += ` (code ${String(e.code)})`;
    try {
      const st = statfsSync(this.opts.dir);
      text += `; ${st.bavail * st.bsize} bytes free on the spool's filesystem`;
    } catch {
      // the folder itself may be gone
    }
    return text;
  }

  #removeSeqs(seqs: readonly number[]): void {
    for (const seq of seqs) {
      this.db.remove(seq).then(noop, (err: unknown) => {
        void handled(err);
        // After close, what is left is replayed at the next start (harmlessly: same points).
        if (!this.#closed) this.#unremoved.push(seq);
      });
    }
  }

  /** Committed chunks after `afterSeq`, in order, until `maxReadings` is reached. */
  take(afterSeq: number, maxReadings: number): Chunk[] {
    const out: Chunk[] = [];
    let n = 0;
    for (const { key, value } of this.db.getRange({ start: afterSeq + 1 })) {
      const count = value.readUInt32LE(0);
      if (key >= this.#nextSeq) break;
      out.push({ seq: key, count, firstAt: value.readDoubleLE(4), body: value.subarray(HEADER) });
      n += count;
      if (n >= maxReadings) break;
    }
    return out;
  }

  /** InfluxDB confirmed (or the hub quarantined) these chunks: they leave the spool. */
  remove(chunks: readonly Chunk[]): void {
    // After close, what is left is replayed at the next start.
    if (this.#closed) return;
    const seqs: number[] = [];
    for (const c of chunks) {
      this.#readings -= c.count;
      this.#bytes -= c.body.length + HEADER;
      seqs.push(c.seq);
    }
    this.#removeSeqs(seqs);
    if (this.#roomWaiters.length > 0 && !this.full) {
      const ws = this.#roomWaiters;
      this.#roomWaiters = [];
      for (const w of ws) w();
    }
  }

  /** Resolves when the spool is below its cap again. */
  waitForRoom(): Promise<void> {
    if (!this.full) return Promise.resolve();
    return new Promise((r) => this.#roomWaiters.push(r));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#commit();
    this.#closed = true;
    // A failed last commit was reported to its waiters; closing goes on.
    await Promise.resolve(this.db.committed).catch(handled);
    await Promise.resolve(this.db.flushed).catch(handled);
    await this.db.close();
    const ws = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const w of ws) w();
  }
}
