import { EventEmitter } from 'node:events';
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
  /** A device's availability changed. */
  availability: [device: string, state: Availability, ts: number];
  /** A sensor missed its expected interval (stale = true), or reported again (false). */
  stale: [device: string, sensor: string, stale: boolean, ts: number];
  /** Storage confirmed a batch. */
  stored: [count: number];
}

type Listener<K extends keyof HubEvents> = (...args: HubEvents[K]) => void;

/**
 * A typed event bus over EventEmitter. A listener that throws is logged and the
 * other listeners still run: one broken consumer must not take the pipeline down.
 */
export class EventBus {
  readonly #emitter = new EventEmitter({ captureRejections: false });
  readonly #owners = new Map<object, Array<[keyof HubEvents, (...args: unknown[]) => void]>>();

  constructor(private readonly log: Logger) {
    this.#emitter.setMaxListeners(100);
  }

  on<K extends keyof HubEvents>(owner: object, event: K, listener: Listener<K>): void {
    const guarded = (...args: unknown[]) => {
      try {
        listener(...(args as HubEvents[K]));
      } catch (err) {
        this.log.error({ err, event }, 'bus listener failed');
      }
    };
    this.#emitter.on(event, guarded);
    const list = this.#owners.get(owner) ?? [];
    list.push([event, guarded]);
    this.#owners.set(owner, list);
  }

  emit<K extends keyof HubEvents>(event: K, ...args: HubEvents[K]): void {
    this.#emitter.emit(event, ...args);
  }

  /** Removes every listener an owner added: each module calls this in its stop(). */
  removeAll(owner: object): void {
    for (const [event, fn] of this.#owners.get(owner) ?? []) {
      this.#emitter.off(event, fn);
    }
    this.#owners.delete(owner);
  }

  listenerCount(event: keyof HubEvents): number {
    return this.#emitter.listenerCount(event);
  }
}
