import type { FastifyInstance } from 'fastify';
import { type HttpServerOptions, startHttp } from '../http/server.js';
import type { HubModule } from './module.js';

/** The HTTP API and dashboard; its dependencies are resolved at start (storage opens InfluxDB first). */
export class HttpModule implements HubModule {
  readonly name = 'http';
  #app: FastifyInstance | undefined;
  #port = 0;

  constructor(private readonly deps: () => HttpServerOptions) {}

  get port(): number {
    return this.#port;
  }

  async start(): Promise<void> {
    const { app, port } = await startHttp(this.deps());
    this.#app = app;
    this.#port = port;
  }

  async stop(): Promise<void> {
    await this.#app?.close();
    this.#app = undefined;
  }
}
