import { Broker, type BrokerOptions } from '../mqtt/broker.js';
import type { HubModule, ModuleHealth } from './module.js';

/** The embedded MQTT broker as a module: listening from start() to stop(). */
export class BrokerModule implements HubModule {
  readonly name = 'broker';
  readonly broker: Broker;

  constructor(opts: BrokerOptions) {
    this.broker = new Broker(opts);
  }

  start(): Promise<void> {
    return this.broker.start();
  }

  stop(): Promise<void> {
    return this.broker.stop();
  }

  health(): ModuleHealth {
    return { mqtt: { port: this.broker.port, clients: this.broker.connectedClients } };
  }
}
