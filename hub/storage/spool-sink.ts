import type { Reading } from '../core/reading.js';
import { writeLine } from './line-protocol.js';
import type { Spool } from './spool.js';

/** spool_full: the spool is at its cap; storage_error: its commit failed (e.g. a full disk). */
export type DropReason = 'spool_full' | 'storage_error';

const NONE: readonly Reading[] = [];

/**
 * Admission into the spool: a reading from a QoS 1 publish is always appended (its
 * publisher was held back before the pipeline while the spool was full); any other
 * reading (QoS 0, boards) is dropped and counted when the spool is full, so memory and
 * disk stay bounded. The lines of one message are one record.
 */
export class SpoolSink {
  /** The readings being appended (one writer function for all, not a closure per message). */
  #readings: readonly Reading[] = NONE;
  readonly #write = (buf: Buffer, at: number): number => {
    const rs = this.#readings;
    let o = at;
    for (let i = 0; i < rs.length && o >= 0; i++) o = writeLine(rs[i]!, buf, o);
    return o;
  };

  constructor(
    private readonly spool: Spool,
    private readonly dropped: (n: number, reason: DropReason) => void,
  ) {}

  /** Whether a QoS 1/2 publish must wait for room before it is decoded. */
  get full(): boolean {
    return this.spool.full;
  }

  waitForRoom(): Promise<void> {
    return this.spool.waitForRoom();
  }

  /**
   * Appends one message's readings and returns what its publish must wait for before
   * it is acknowledged and the next packets of its connection are read: for QoS 1/2
   * the commit of its readings; for QoS 0 nothing, unless commits fall behind (then
   * the publisher is slowed too, so the hub's memory stays bounded).
   */
  accept(rs: readonly Reading[], qos: 0 | 1 | 2): Promise<void> | undefined {
    if (rs.length === 0) return undefined;
    const spool = this.spool;
    if (qos === 0 && spool.full) {
      this.dropped(rs.length, 'spool_full');
      return undefined;
    }
    this.#readings = rs;
    let committed: Promise<void>;
    try {
      committed = spool.appendWith(rs.length, this.#write, qos > 0);
    } finally {
      this.#readings = NONE;
    }
    if (qos > 0) return committed;
    if (spool.uncommittedBytes > spool.opts.maxUncommittedBytes) return committed;
    return undefined;
  }
}
