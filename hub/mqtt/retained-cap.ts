import type { Logger } from 'pino';

/** Default of mqtt.maxRetained. */
export const MAX_RETAINED = 10_000;

/** How often, at most, a refused retained publish is logged (each one is counted). */
const WARN_EVERY_MS = 60_000;

/**
 * Caps the topics devices' publishes retain: a retained publish to a topic not retained
 * yet, past `cap` topics, is delivered and ingested but not retained (counted, and logged
 * at most once a minute). The hub's own retained topics (availability, discovery, status)
 * are not counted: they are bounded by the registry.
 */
export class RetainedCap {
  readonly #topics = new Set<string>();
  #refused = 0;
  #warnedAt = 0;

  constructor(
    private readonly log: Logger,
    private readonly cap = MAX_RETAINED,
    private readonly onRefused?: () => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether a retained publish from `clientId` may be retained; false: send it on without retaining. */
  admit(clientId: string, topic: string, payload: { length: number }): boolean {
    if (payload.length === 0) {
      // An empty retained publish clears the topic [MQTT-3.3.1-10].
      this.#topics.delete(topic);
      return true;
    }
    if (this.#topics.has(topic)) return true;
    if (this.#topics.size < this.cap) {
      this.#topics.add(topic);
      return true;
    }
    this.#refused++;
    this.onRefused?.();
    const now = this.now();
    if (now - this.#warnedAt >= WARN_EVERY_MS) {
      this.#warnedAt = now;
      this.log.warn(
        { reason: 'retained_cap', topic: topic.slice(0, 128), clientId, refused: this.#refused },
        `retained publish not retained: ${this.cap} topics are retained already (mqtt.maxRetained)`,
      );
    }
    return false;
  }
}
