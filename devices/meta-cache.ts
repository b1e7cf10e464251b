/**
 * Metadata decoders learn from retained topics (Homie `$unit`/`$datatype`, the
 * Zigbee2MQTT device list, Home Assistant discovery configs), kept per key with a
 * fixed bound: a device that invents endless property names must not grow the hub
 * without limit. The least recently used entry goes first (a Map keeps insertion
 * order; a hit re-inserts).
 */
export class MetaCache {
  readonly #map = new Map<string, unknown>();
  constructor(readonly limit = 20_000) {}

  get<T>(key: string): T | undefined {
    const v = this.#map.get(key);
    if (v === undefined) return undefined;
    this.#map.delete(key);
    this.#map.set(key, v);
    return v as T;
  }

  set(key: string, value: unknown): void {
    this.#map.delete(key);
    this.#map.set(key, value);
    while (this.#map.size > this.limit) {
      const oldest = this.#map.keys().next().value as string;
      this.#map.delete(oldest);
    }
  }

  /** Keys under a prefix (e.g. every device of one Zigbee2MQTT bridge). */
  keys(prefix: string): string[] {
    const out: string[] = [];
    for (const k of this.#map.keys()) if (k.startsWith(prefix)) out.push(k);
    return out;
  }

  get size(): number {
    return this.#map.size;
  }
}
