import type { EventBus } from '../core/bus.js';
import type { DeviceState } from '../core/device-state.js';
import { topics } from '../core/topics.js';
import type { HubModule } from './module.js';

/**
 * Copies in flight inside Aedes at most, per kind: Aedes queues what it cannot deliver
 * yet without limit, so past this the copy is skipped and counted (the reading itself
 * is stored). Large enough that a dashboard subscriber keeps up with bursts.
 */
export const REPUBLISH_MAX = 2000;

/** The broker as outbound copies use it. */
export interface OutboundBroker {
  publish(topic: string, payload: string, retain?: boolean): Promise<void>;
  /** Whether any subscription could receive a topic under this prefix. */
  hasListeners(prefix: string): boolean;
}

export interface OutboundOptions {
  bus: EventBus;
  broker: OutboundBroker;
  /** Copy every reading to hub/readings/<device>/<sensor>. */
  republish: boolean;
  skipped: { reading(): void; quarantine(): void };
  /** In-flight cap per kind (readings, quarantine copies). */
  maxInFlight?: number;
  /** Started first and stopped last: Home Assistant needs a config before the first state. */
  discovery?: HubModule & {
    clear(device: string): Promise<unknown>;
    refresh(device: DeviceState): Promise<void>;
  };
}

/**
 * Outbound MQTT: canonical copies of readings, retained device availability,
 * quarantine entries and the hub's own retained status, each bounded.
 */
export class OutboundModule implements HubModule {
  readonly name = 'outbound';
  readonly #max: number;
  #readingsInFlight = 0;
  #quarantineInFlight = 0;
  /** One completion callback per kind, not a closure per copy. */
  readonly #readingDone = () => {
    this.#readingsInFlight--;
  };
  readonly #quarantineDone = () => {
    this.#quarantineInFlight--;
  };

  constructor(private readonly opts: OutboundOptions) {
    this.#max = opts.maxInFlight ?? REPUBLISH_MAX;
  }

  get inFlight(): { readings: number; quarantine: number } {
    return { readings: this.#readingsInFlight, quarantine: this.#quarantineInFlight };
  }

  async start(): Promise<void> {
    const { bus, broker, skipped } = this.opts;
    await this.opts.discovery?.start();
    if (this.opts.republish) {
      bus.on(this, 'readings', (rs) => {
        // Checked per message: a JSON copy per reading is most of the republish cost.
        if (!broker.hasListeners(topics.readingsRoot)) return;
        for (const r of rs) {
          if (this.#readingsInFlight >= this.#max) {
            skipped.reading();
            continue;
          }
          this.#readingsInFlight++;
          broker
            .publish(topics.reading(r.device, r.sensor), JSON.stringify(r))
            .then(this.#readingDone, this.#readingDone);
        }
      });
    }
    bus.on(this, 'availability', (device, state) => {
      // The retained topic speaks online/offline only (Home Assistant's availability contract).
      if (state !== 'stale') broker.publish(topics.availability(device), state, true).catch(() => undefined);
    });
    bus.on(this, 'quarantine', (e) => {
      if (this.#quarantineInFlight >= this.#max) {
        skipped.quarantine();
        return;
      }
      this.#quarantineInFlight++;
      broker
        .publish(topics.quarantine(e.device), JSON.stringify(e))
        .then(this.#quarantineDone, this.#quarantineDone);
    });
    await broker.publish(topics.status, 'online', true);
  }

  /**
   * Clears what the hub published retained for a removed device: its availability and
   * its Home Assistant discovery configs (an empty retained payload deletes a retained
   * message). Readings and quarantine copies are not retained.
   */
  async clearDevice(device: DeviceState): Promise<void> {
    await Promise.all([
      this.opts.broker.publish(topics.availability(device.id), '', true),
      this.opts.discovery?.clear(device.id),
    ]);
  }

  /** Announces a renamed device again, so Home Assistant shows its new name. */
  async refreshDevice(device: DeviceState): Promise<void> {
    await this.opts.discovery?.refresh(device);
  }

  async stop(): Promise<void> {
    this.opts.bus.removeAll(this);
    try {
      await this.opts.broker.publish(topics.status, 'offline', true);
    } finally {
      await this.opts.discovery?.stop();
    }
  }
}
