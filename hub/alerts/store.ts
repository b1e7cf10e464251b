import { mkdirSync } from 'node:fs';
import { type Database, open, type RootDatabase } from 'lmdb';
import type { Alert, Silence, StoredAlert } from './types.js';

type AlertKey = [rule: string, device: string, sensor: string];
type QueueKey = [target: string, seq: number];

/** One change written at once: the alert's state, its history entry and its notifications. */
export interface StoreChange {
  put?: StoredAlert;
  remove?: AlertKey;
  history?: Alert;
  enqueue?: ReadonlyArray<{ target: string; body: unknown }>;
}

/**
 * The alerts' state on disk (LMDB, beside the spool): alerts pending and firing,
 * silences, recent history and the delivery queues of every receiver. A change is one
 * transaction: an alert is never marked firing without its notifications queued, nor
 * queued twice, whatever moment the process dies at.
 */
export class AlertStore {
  #seq = 0;
  #historySeq = 0;

  private constructor(
    private readonly root: RootDatabase,
    private readonly alerts: Database<StoredAlert, AlertKey>,
    private readonly silencesDb: Database<Silence, string>,
    private readonly historyDb: Database<Alert, number>,
    private readonly queue: Database<unknown, QueueKey>,
    private readonly historySize: number,
  ) {
    for (const key of queue.getKeys({ reverse: true, limit: 1 })) this.#seq = key[1];
    for (const key of historyDb.getKeys({ reverse: true, limit: 1 })) this.#historySeq = key;
  }

  static open(dir: string, historySize: number): AlertStore {
    mkdirSync(dir, { recursive: true });
    const root = open({ path: dir, maxDbs: 8, eventTurnBatching: false });
    return new AlertStore(
      root,
      root.openDB<StoredAlert, AlertKey>({ name: 'alerts' }),
      root.openDB<Silence, string>({ name: 'silences' }),
      root.openDB<Alert, number>({ name: 'history' }),
      root.openDB<unknown, QueueKey>({ name: 'queue' }),
      historySize,
    );
  }

  loadAlerts(): StoredAlert[] {
    return [...this.alerts.getRange({})].map((e) => e.value);
  }

  loadSilences(): Silence[] {
    return [...this.silencesDb.getRange({})].map((e) => e.value);
  }

  /** The most recent history, newest first. */
  history(limit = this.historySize): Alert[] {
    return [...this.historyDb.getRange({ reverse: true, limit })].map((e) => e.value);
  }

  commit(c: StoreChange): void {
    this.root.transactionSync(() => {
      if (c.put) this.alerts.putSync([c.put.alert.rule, c.put.alert.device, c.put.alert.sensor], c.put);
      if (c.remove) this.alerts.removeSync(c.remove);
      if (c.history) {
        this.historyDb.putSync(++this.#historySeq, c.history);
        const oldest = this.#historySeq - this.historySize;
        for (const key of this.historyDb.getKeys({ end: oldest + 1 })) this.historyDb.removeSync(key);
      }
      for (const { target, body } of c.enqueue ?? []) this.queue.putSync([target, ++this.#seq], body);
    });
  }

  putSilence(s: Silence): void {
    this.silencesDb.putSync(s.id, s);
  }

  removeSilence(id: string): void {
    this.silencesDb.removeSync(id);
  }

  /** The oldest undelivered notification of a receiver. */
  first(target: string): { seq: number; body: unknown } | undefined {
    for (const { key, value } of this.queue.getRange({
      start: [target, 0],
      end: [target, Number.MAX_SAFE_INTEGER],
      limit: 1,
    }))
      return { seq: key[1], body: value };
    return undefined;
  }

  /** Removes a sent notification; false when it was gone already (dropped by the cap meanwhile). */
  delivered(target: string, seq: number): boolean {
    return this.queue.removeSync([target, seq]);
  }

  queued(target: string): number {
    return this.queue.getKeysCount({ start: [target, 0], end: [target, Number.MAX_SAFE_INTEGER] });
  }

  /** Receivers with something queued (a receiver no longer configured shows here). */
  targets(): string[] {
    const out = new Set<string>();
    for (const key of this.queue.getKeys({})) out.add(key[0]);
    return [...out];
  }

  /** Drops every queued notification of a receiver; returns how many. */
  dropTarget(target: string): number {
    let n = 0;
    this.root.transactionSync(() => {
      for (const key of this.queue.getKeys({ start: [target, 0], end: [target, Number.MAX_SAFE_INTEGER] })) {
        this.queue.removeSync(key);
        n++;
      }
    });
    return n;
  }

  async close(): Promise<void> {
    await this.root.close();
  }
}
