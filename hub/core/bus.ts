import type { Logger } from 'pino';
import type { QuarantineEntry } from './quarantine-entry.js';
import type { Reading } from './reading.js';

/**
 * online: readings arrive; stale: every sensor missed registry.staleAfter expected
 * intervals (still connected, maybe); offline: the device said so, its MQTT connection
 * was lost, or it was silent for registry.offlineAfter. Only online/offline go out on
 * MQTT (the retained topic's contract).
 */
export type Availability = 'online' | 'stale' | 'offline';

/** Every event of the hub, with its payload. One map, so a typo is a compile error. */
export interface HubEvents {
  /** Normalized readings from one incoming message (one or more). */
  readings: [readings: readonly Reading[]];
  /** Something could not be read; it is kept with its reason. */
  quarantine: [entry: QuarantineEntry];
  /**
   * A device's availability changed. A single sensor's staleness has no event: it is the
   * `stale` flag in the registry (GET /api/devices), and a device whose sensors are all
   * stale turns `stale` here.
   */
  availability: [device: string, state: Availability, ts: number];
  /** Storage confirmed a batch. */
  stored: [count: number];
  /** An operator removed a device (DELETE /api/devices/:id); its next message makes it new. */
  deviceRemoved: [device: string];
}

type Listener<K extends keyof HubEvents> = (...args: HubEvents[K]) => void;
/** Every event has at most four arguments: listeners are called without building an array. */
type Call = (a?: unknown, b?: unknown, c?: unknown, d?: unknown) => void;

/**
 * A typed event bus. A listener that throws is logged and the other listeners still
 * run: one broken consumer must not take the pipeline down. Hand-written rather than
 * an EventEmitter because 'readings' fires for every message: no argument arrays, no
 * domain or error-event handling on that path.
 */
export class EventBus {
  /** Per event, its listeners; replaced (never changed in place) on on/removeAll, so an emit in progress is not disturbed. */
  readonly #listeners = new Map<keyof HubEvents, ReadonlyArray<[owner: object, fn: Call]>>();

  constructor(private readonly log: Logger) {}

  on<K extends keyof HubEvents>(owner: object, event: K, listener: Listener<K>): void {
    this.#listeners.set(event, [...(this.#listeners.get(event) ?? []), [owner, listener as unknown as Call]]);
  }

  emit<K extends keyof HubEvents>(event: K, ...args: HubEvents[K]): void;
  emit(event: keyof HubEvents, a?: unknown, b?: unknown, c?: unknown, d?: unknown): void {
    const list = this.#listeners.get(event);
    if (!list) return;
    for (let i = 0; i < list.length; i++) {
      try {
        list[i]![1](a, b, c, d);
      } catch (err) {
        this.log.error({ err, event }, 'bus listener failed');
      }
    }
  }

  /** Removes every listener an owner added: each module calls this in its stop(). */
  removeAll(owner: object): void {
    for (const [event, list] of this.#listeners) {
      const kept = list.filter(([o]) => o !== owner);
      if (kept.length === 0) this.#listeners.delete(event);
      else if (kept.length !== list.length) this.#listeners.set(event, kept);
    }
  }

  listenerCount(event: keyof HubEvents): number {
    return this.#listeners.get(event)?.length ?? 0;
  }
}
