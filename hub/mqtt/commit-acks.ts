import type { Logger } from 'pino';

type Done = (err: Error | null) => void;

/**
 * Acknowledgements waiting for a spool commit. The publishes of one commit share its
 * promise: one reaction per commit calls them all, instead of one each. A failed commit
 * acknowledges nothing: done(err) makes Aedes close the connection without a PUBACK, so
 * the device resends (to this hub once it stores again, or to another).
 */
export class CommitAcks {
  readonly #waiting = new Map<Promise<void>, Done[]>();

  constructor(private readonly log: Logger) {}

  /** Calls `done` once `pending` settles: with null when it resolves, with the error when it rejects. */
  after(pending: Promise<void>, done: Done): void {
    let list = this.#waiting.get(pending);
    if (!list) {
      const all: Done[] = [];
      list = all;
      this.#waiting.set(pending, all);
      const release = (err?: unknown) => {
        this.#waiting.delete(pending);
        const e = err === undefined ? null : err instanceof Error ? err : new Error(String(err));
        if (e) this.log.debug({ err: e.message, publishes: all.length }, 'publishes refused, not stored');
        for (let i = 0; i < all.length; i++) all[i]!(e);
      };
      pending.then(
        () => release(),
        (err: unknown) => release(err ?? new Error('ingest failed')),
      );
    }
    list.push(done);
  }

  /** Commits waited for now. */
  get pending(): number {
    return this.#waiting.size;
  }
}
