import { mkdirSync } from 'node:fs';
import { open, type RootDatabase } from 'lmdb';

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

/**
 * The durable queue between the pipeline and InfluxDB (issue 5). LMDB rather than a
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
  #roomWaiters: Array<() => void> = [];
  #closed = false;
  /** Called after each commit (the writer picks new chunks up from here). */
  onCommit: (() => void) | undefined;

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
  get settling(): boolean {
    return this.#group !== undefined || this.#notDurable > 0;
  }
  /** Bytes appended but not yet committed (a bound on what the hub holds in memory). */
  get uncommittedBytes(): number {
    return this.#uncommittedBytes;
  }
  get full(): boolean {
    return this.bytes >= this.opts.maxBytes;
  }

  /**
   * Adds lines (each ending in "\n") to the current group. The promise resolves once
   * the group is durable. All appends of one event-loop turn share one group.
   */
  append(lines: string, count: number): Promise<void> {
    return this.appendWith(count, (buf, at) =>
      // The most UTF-8 bytes a JS string of this length takes.
      at + lines.length * 3 > buf.length ? -1 : at + buf.write(lines, at, 'utf8'),
    );
  }

  /**
   * Like `append`, for a writer that puts its lines straight into the group's buffer:
   * `write(buf, at)` returns where they end, or -1 when they might not fit (the
   * buffer then grows and `write` is asked again).
   */
  appendWith(count: number, write: (buf: Buffer, at: number) => number): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('spool closed'));
    let g = this.#group;
    if (!g) {
      let resolve!: () => void;
      let reject!: (e: unknown) => void;
      const done = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      // A QoS 0 publisher never awaits this promise; a failed commit is logged by the caller of commit.
      done.catch(() => undefined);
      g = {
        // As large as the last group (bursts come in runs): no doubling and copying each turn.
        buf: Buffer.allocUnsafe(this.#groupBytes),
        len: HEADER,
        count: 0,
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
    const buf = g.buf.subarray(0, g.len);
    buf.writeUInt32LE(g.count, 0);
    buf.writeDoubleLE(g.firstAt, 4);
    const seq = this.#nextSeq++;
    this.#notDurable++;
    const committed = this.db.put(seq, buf);
    // Once the put is committed the lines are out of the JS heap (in LMDB's map): the
    // memory bound counts them only until then, while a PUBACK also waits for fsync.
    const release = () => {
      this.#uncommittedBytes -= g.len - HEADER;
    };
    committed.then(release, release);
    const durable = this.opts.fsync ? committed.then(() => this.db.flushed) : committed;
    durable.then(
      () => {
        this.#notDurable--;
        this.#readings += g.count;
        this.#bytes += buf.length;
        g.resolve();
        this.onCommit?.();
      },
      (err) => {
        this.#notDurable--;
        g.reject(err);
      },
    );
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
    for (const c of chunks) {
      this.#readings -= c.count;
      this.#bytes -= c.body.length + HEADER;
      void this.db.remove(c.seq);
    }
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
    await this.db.committed;
    await this.db.flushed;
    await this.db.close();
    const ws = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const w of ws) w();
  }
}
