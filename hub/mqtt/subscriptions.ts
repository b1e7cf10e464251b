/**
 * The broker's own index of its clients' subscriptions, to answer two questions per
 * message cheaply: does anyone listen under a prefix (the hub skips building what nobody
 * receives), and must a device's publish go through Aedes's routing (which costs as much
 * as the rest of the broker's work per message). Aedes holds the subscriptions that
 * deliver; this index only mirrors their filters, by client id.
 */
import { topicMatches } from '../core/topic.js';

/**
 * Topics whose routing decision is remembered, at most: a device fleet's distinct topics,
 * with room; past it the memory starts over (a miss costs one walk over the filters).
 */
export const ROUTED_CACHE = 100_000;

export class SubscriptionIndex {
  /** client id -> topic filters it subscribed to; only clients with at least one filter. */
  readonly #filters = new Map<string, Set<string>>();
  /** watched topic prefix -> how many subscribed filters can match under it */
  readonly #listeners = new Map<string, number>();
  /** topic -> whether a subscribed filter matches it; cleared when subscriptions change. */
  readonly #routed = new Map<string, boolean>();

  constructor(private readonly cacheBound = ROUTED_CACHE) {}

  /** Notes filters a client subscribed to (again: counted once). */
  add(clientId: string, filters: readonly string[]): void {
    let set = this.#filters.get(clientId);
    if (!set) {
      set = new Set();
      this.#filters.set(clientId, set);
    }
    for (const f of filters) {
      if (set.has(f)) continue;
      set.add(f);
      this.#count(f, 1);
    }
    if (set.size === 0) this.#filters.delete(clientId);
  }

  /** Drops the given filters of a client, or all of them. */
  remove(clientId: string, filters?: readonly string[]): void {
    const set = this.#filters.get(clientId);
    if (!set) return;
    for (const f of filters ?? [...set]) {
      if (set.delete(f)) this.#count(f, -1);
    }
    if (set.size === 0) this.#filters.delete(clientId);
  }

  /**
   * A client connected: its filters are those Aedes holds for its session now, a
   * returning persistent session's restored ones, none for a new or clean one (which
   * ends the session the client id had before, and with it that session's filters).
   */
  connected(clientId: string, sessionFilters: readonly string[]): void {
    this.remove(clientId);
    if (sessionFilters.length > 0) this.add(clientId, sessionFilters);
  }

  /**
   * A client left. A persistent session keeps its subscriptions while its client is
   * away: Aedes queues QoS 1 publishes for it, so they are still routed.
   */
  disconnected(clientId: string, clean: boolean): void {
    if (clean) this.remove(clientId);
  }

  /** The filters held for a client (for tests and diagnostics). */
  filtersOf(clientId: string): string[] {
    return [...(this.#filters.get(clientId) ?? [])];
  }

  /** Topics whose routing decision is remembered now. */
  get cachedTopics(): number {
    return this.#routed.size;
  }

  /**
   * Whether any client subscribed to a filter that can match a topic under `prefix`
   * (e.g. "hub/readings"). The count is kept up to date on every change once a prefix
   * was asked for, so this is one lookup.
   */
  hasListeners(prefix: string): boolean {
    let n = this.#listeners.get(prefix);
    if (n === undefined) {
      n = 0;
      const levels = prefix.split('/');
      for (const set of this.#filters.values()) {
        for (const f of set) if (filterCouldMatch(f.split('/'), levels)) n++;
      }
      this.#listeners.set(prefix, n);
    }
    return n > 0;
  }

  /**
   * Whether a device's publish must go through the broker's routing: it is retained, or
   * some subscription (of a connected client, or of a persistent session whose client is
   * away) matches its topic. Errs towards routing: a topic starting with "$" routes.
   * Called per message: a cache hit is one Map lookup.
   */
  mustRoute(topic: string, retain: boolean): boolean {
    if (retain) return true;
    if (this.#filters.size === 0) return false;
    let hit = this.#routed.get(topic);
    if (hit === undefined) {
      if (this.#routed.size >= this.cacheBound) this.#routed.clear();
      hit = topic.startsWith('$') || this.#anyFilterMatches(topic);
      this.#routed.set(topic, hit);
    }
    return hit;
  }

  #anyFilterMatches(topic: string): boolean {
    for (const set of this.#filters.values()) {
      for (const f of set) if (topicMatches(f, topic)) return true;
    }
    return false;
  }

  #count(filter: string, delta: number): void {
    this.#routed.clear();
    const levels = filter.split('/');
    for (const [prefix, n] of this.#listeners) {
      if (filterCouldMatch(levels, prefix.split('/'))) this.#listeners.set(prefix, n + delta);
    }
  }
}

/** True when a filter can match some topic that starts with the levels of `prefix`. */
export function filterCouldMatch(filter: readonly string[], prefix: readonly string[]): boolean {
  for (let i = 0; i < prefix.length; i++) {
    const f = filter[i];
    if (f === '#') return true;
    if (f === undefined) return false;
    if (f !== '+' && f !== prefix[i]) return false;
  }
  return true;
}
