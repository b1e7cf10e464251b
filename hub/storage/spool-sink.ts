import type { Reading } from '../core/reading.js';
import { writeLine } from './line-protocol.js';
import type { Spool } from './spool.js';

/** spool_full: the spool is at its cap; storage_error: its commit failed (e.g. a full disk). */
export type DropReason = 'spool_full' | 'storage_error';

const NONE: readonly Reading[] = [];

/**
 * Admission into the spool, bounded so that nothing acknowledged is lost: a reading from a QoS 1
 * publish is always appended (its publisher was held back before the pipeline
 * while the spool was full); any other reading (QoS 0, boards) is dropped and
 * counted when the spool is full. The lines of one message are one string.
 */
export class SpoolSink {
  /** QoS of the message being ingested now (the pipeline runs synchronously). */
  qos: 0 | 1 | 2 = 0;
  /** The commit promise of the last append: a publish's PUBACK waits for it. */
  #last: Promise<void> | undefined;
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

  accept(rs: readonly Reading[]): void {
    if (this.qos === 0 && this.spool.full) {
      this.dropped(rs.length, 'spool_full');
      return;
    }
    this.#readings = rs;
    this.#last = this.spool.appendWith(rs.length, this.#write, this.qos > 0);
    this.#readings = NONE;
  }

  /**
   * What a publish must wait for before it is acknowledged and the next packets of
   * its connection are read: for QoS 1/2 the commit of its readings; for QoS 0
   * nothing, unless commits fall behind (then the publisher is slowed too, so the
   * hub's memory stays bounded).
   */
  waitFor(qos: 0 | 1 | 2): Promise<void> | undefined {
    const last = this.#last;
    this.#last = undefined;
    if (qos > 0) return last;
    if (this.spool.uncommittedBytes > this.spool.opts.maxUncommittedBytes) return last;
    return undefined;
  }

  /** Called before each message: forget the previous message's append. */
  reset(): void {
    this.#last = undefined;
  }
}
