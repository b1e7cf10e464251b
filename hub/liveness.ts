import type { DeviceRegistry } from './registry.js';

export interface LivenessOptions {
  /** Silence after which an online device is shown as stale. */
  staleAfter: number;
  /** Silence after which a device is offline, even while its MQTT connection stays open. */
  offlineAfter: number;
  /** How often silence is checked. */
  checkEvery?: number;
}

/**
 * Marks devices stale, then offline, when their readings stop. A gateway or a
 * script can keep its MQTT connection open while a sensor behind it went quiet,
 * so the connection alone (registry.clientGone) cannot tell; silence can.
 */
export class Liveness {
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly registry: DeviceRegistry,
    private readonly opts: LivenessOptions,
  ) {}

  start(): void {
    const every = this.opts.checkEvery ?? Math.max(250, Math.min(5000, this.opts.staleAfter / 4));
    this.#timer = setInterval(() => this.check(), every);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One pass over the registry; public so tests can drive it without waiting. */
  check(now = Date.now()): void {
    for (const d of this.registry.list()) {
      if (d.lastSeen === undefined || d.state === 'offline') continue;
      const silent = now - d.lastSeen;
      if (silent > this.opts.offlineAfter) this.registry.setState(d.id, 'offline');
      else if (silent > this.opts.staleAfter && d.state !== 'stale') this.registry.setState(d.id, 'stale');
    }
  }
}
