import type { Logger } from 'pino';
import type { DeviceRegistry } from '../registry.js';
import type { KnownSensor } from '../storage/known-sensors.js';
import type { HubModule, ModuleHealth } from './module.js';

/**
 * The device registry as a module. At start, the sensors storage knows are listed
 * again (none when storage could not be asked), so history and the dashboard have them before they speak again.
 */
export class RegistryModule implements HubModule {
  readonly name = 'registry';

  constructor(
    readonly registry: DeviceRegistry,
    private readonly known: () => Promise<readonly KnownSensor[] | undefined>,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    this.registry.start();
    try {
      const known = await this.known();
      if (!known) return;
      const n = this.registry.restore(known);
      this.log.info({ sensors: n }, 'devices restored from InfluxDB');
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not restore devices from InfluxDB');
    }
  }

  stop(): void {
    this.registry.stop();
  }

  health(): ModuleHealth {
    return { devices: this.registry.size };
  }
}
