import { Broker, type BrokerOptions } from '../mqtt/broker.js';
import type { HubModule, ModuleHealth } from './module.js';

/** The embedded MQTT broker as a module: listening from start() to stop(). */
export class BrokerModule implements HubModule {
  readonly name = 'broker';
  readonly broker: Broker;

  constructor(private readonly opts: BrokerOptions) {
    this.broker = new Broker(opts);
  }

  start(): Promise<void> {
    return this.broker.start();
  }

  stop(): Promise<void> {
    return this.broker.stop();
  }

  health(): ModuleHealth {
    // host and auth let the dashboard's first-run page show a device how to connect.
    return {
      mqtt: {
        host: this.opts.host,
        port: this.broker.port,
        auth: this.opts.users.length > 0,
        clients: this.broker.connectedClients,
      },
    };
  }
}
