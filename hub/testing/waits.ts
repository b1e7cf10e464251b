import type { EventBus } from '../core/bus.js';
import type { QuarantineEntry } from '../core/quarantine-entry.js';
import type { Reading } from '../core/reading.js';

/** What a wait matches: fields of a reading (value also as a test), or a predicate. */
export type ReadingMatch =
  | (Partial<Omit<Reading, 'value' | 'tags'>> & { value?: number | ((value: number) => boolean) })
  | ((reading: Reading) => boolean);

export interface WaitOptions {
  /** Default 5000 ms. */
  timeoutMs?: number;
  /** Only readings that arrive after the call (default: also those since the hub started). */
  fresh?: boolean;
}

/** A wait ran out of time; the message says what was seen instead. */
export class WaitTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WaitTimeoutError';
  }
}

/** Readings kept for waits that look back; the oldest go first past this. */
const KEPT = 10_000;

export function describeMatch(match: ReadingMatch): string {
  if (typeof match === 'function')
    return match.name ? `a reading passing ${match.name}` : 'a reading passing the predicate';
  const parts = Object.entries(match).map(([k, v]) =>
    typeof v === 'function' ? `${k} passing the test` : `${k}=${JSON.stringify(v)}`,
  );
  return parts.length > 0 ? `a reading with ${parts.join(', ')}` : 'any reading';
}

export function matches(match: ReadingMatch, r: Reading): boolean {
  if (typeof match === 'function') return match(r);
  for (const [k, want] of Object.entries(match)) {
    if (want === undefined) continue;
    const got = (r as unknown as Record<string, unknown>)[k];
    if (k === 'value' && typeof want === 'function') {
      if (!(want as (v: number) => boolean)(r.value)) return false;
    } else if (got !== want) return false;
  }
  return true;
}

/**
 * The readings and quarantine entries a test hub saw, and waits on them that end in a
 * WaitTimeoutError saying what arrived instead.
 */
export class ReadingLog {
  readonly #readings: Reading[] = [];
  readonly #quarantined: QuarantineEntry[] = [];
  #dropped = 0;
  readonly #waiters = new Set<(r: Reading) => void>();
  readonly #cancels = new Set<() => void>();

  constructor(bus: EventBus) {
    bus.on(this, 'readings', (rs) => {
      for (const r of rs) {
        this.#readings.push(r);
        for (const w of this.#waiters) w(r);
      }
      if (this.#readings.length > KEPT) {
        const n = this.#readings.length - KEPT;
        this.#readings.splice(0, n);
        this.#dropped += n;
      }
    });
    bus.on(this, 'quarantine', (q) => {
      this.#quarantined.push(q);
      if (this.#quarantined.length > 1000) this.#quarantined.shift();
    });
  }

  /** The readings seen so far (the last 10,000). */
  readings(match?: ReadingMatch): Reading[] {
    return match ? this.#readings.filter((r) => matches(match, r)) : [...this.#readings];
  }

  /** The quarantine entries seen so far (the last 1000). */
  quarantined(): QuarantineEntry[] {
    return [...this.#quarantined];
  }

  /** Resolves with the `count` first matching readings. */
  waitFor(match: ReadingMatch, count: number, opts: WaitOptions = {}): Promise<Reading[]> {
    const timeoutMs = opts.timeoutMs ?? 5000;
    const found = opts.fresh ? [] : this.#readings.filter((r) => matches(match, r)).slice(0, count);
    if (found.length >= count) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const end = () => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        this.#cancels.delete(cancel);
      };
      const waiter = (r: Reading) => {
        if (!matches(match, r)) return;
        found.push(r);
        if (found.length < count) return;
        end();
        resolve(found);
      };
      const cancel = () => {
        end();
        reject(new WaitTimeoutError(`the hub stopped while waiting for ${describeMatch(match)}`));
      };
      const timer = setTimeout(() => {
        end();
        reject(new WaitTimeoutError(this.#explain(match, count, found.length, timeoutMs)));
      }, timeoutMs);
      this.#waiters.add(waiter);
      this.#cancels.add(cancel);
    });
  }

  #explain(match: ReadingMatch, count: number, got: number, timeoutMs: number): string {
    const want = count === 1 ? describeMatch(match) : `${count} of ${describeMatch(match)}`;
    const seen = this.#readings.length + this.#dropped;
    const sensors = [...new Set(this.#readings.map((r) => `${r.device}/${r.sensor}`))];
    const last = this.#readings.at(-1);
    const q = this.#quarantined.at(-1);
    return [
      `no ${want} within ${timeoutMs} ms (matched ${got})`,
      `seen ${seen} readings${sensors.length ? ` of ${sensors.slice(0, 10).join(', ')}${sensors.length > 10 ? ', ...' : ''}` : ''}`,
      ...(last ? [`last: ${JSON.stringify(last)}`] : []),
      ...(this.#quarantined.length
        ? [`quarantined ${this.#quarantined.length} (last: ${q!.topic} ${q!.reason}: ${q!.detail})`]
        : []),
    ].join('; ');
  }

  /** Stops listening; waits still pending fail at once rather than at their timeout. */
  close(bus: EventBus): void {
    bus.removeAll(this);
    for (const c of [...this.#cancels]) c();
  }
}
