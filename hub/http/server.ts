import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { EventBus } from '../core/bus.js';
import { HubError } from '../errors.js';
import type { HubMetrics } from '../metrics.js';
import type { Quarantine } from '../quarantine.js';
import type { DeviceRegistry } from '../registry.js';
import type { InfluxHttp } from '../storage/influx-http.js';
import { registerHistory } from './history.js';
import type { Rollup } from './query.js';
import { HubRates } from './rates.js';
import { registerStream } from './stream.js';

export interface HttpDeps {
  host: string;
  port: number;
  token?: string | undefined;
  log: Logger;
  bus: EventBus;
  registry: DeviceRegistry;
  quarantine: Quarantine;
  metrics: HubMetrics;
  influx: InfluxHttp;
  health(): Promise<{ ok: boolean; [k: string]: unknown }>;
  /** Rollups the history API may read from (see query.ts pickSource). */
  rollups?: readonly Rollup[];
  /** Extra routes (the dashboard) register here. */
  plugins?: Array<(app: FastifyInstance) => Promise<void> | void>;
}

export async function startHttp(deps: HttpDeps): Promise<{ app: FastifyInstance; port: number }> {
  const app = Fastify({ logger: false, forceCloseConnections: true });

  if (deps.token) {
    const expected = `Bearer ${deps.token}`;
    app.addHook('onRequest', async (req, reply) => {
      // Data lives under /api and /metrics; the dashboard's static files hold none, and
      // the page passes the token on to the API (?token= works for EventSource too).
      if (!req.url.startsWith('/api/') && !req.url.startsWith('/metrics')) return;
      const q = (req.query ?? {}) as Record<string, string>;
      if (req.headers.authorization !== expected && q.token !== deps.token) {
        return reply
          .code(401)
          .send({ error: 'unauthorized', message: 'send Authorization: Bearer <http.token>' });
      }
    });
  }

  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof HubError && err.code === 'HUB_BAD_REQUEST') {
      return reply.code(400).send({ error: err.code, message: err.message });
    }
    deps.log.error({ err }, 'request failed');
    return reply.code(500).send({ error: 'internal', message: (err as Error).message });
  });

  app.get('/healthz', async (_req, reply) => {
    const h = await deps.health();
    return reply.code(h.ok ? 200 : 503).send(h);
  });

  app.get('/metrics', async (_req, reply) => {
    // Device states are counted at scrape time: cheaper than on every change.
    for (const [state, n] of Object.entries(deps.registry.countByState()))
      deps.metrics.devices.set({ state }, n);
    return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  app.get('/api/devices', async () => ({ devices: deps.registry.list() }));

  app.get<{ Params: { id: string } }>('/api/devices/:id', async (req, reply) => {
    const d = deps.registry.get(req.params.id);
    return d ? d : reply.code(404).send({ error: 'not_found', message: `no device ${req.params.id}` });
  });

  registerHistory(app, { registry: deps.registry, influx: deps.influx, rollups: deps.rollups ?? [] });

  // The health view polls this: unlike /healthz it answers 200 while InfluxDB is down.
  const rates = new HubRates(deps.bus);
  rates.start();
  app.addHook('onClose', async () => rates.stop());
  app.get('/api/hub', async () => ({ ...(await deps.health()), rates: rates.snapshot(), now: Date.now() }));

  app.get<{ Querystring: { limit?: string; device?: string } }>('/api/quarantine', async (req) => {
    const limit = Math.min(1000, Math.max(1, Number(req.query.limit ?? 100) || 100));
    return { counts: deps.quarantine.counts(), entries: deps.quarantine.recent(limit, req.query.device) };
  });

  registerStream(app, deps.bus);
  for (const p of deps.plugins ?? []) await p(app);

  try {
    await app.listen({ host: deps.host, port: deps.port });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new HubError(
        'HUB_PORT_IN_USE',
        `HTTP port ${deps.host}:${deps.port} is in use (set http.port or HUB_HTTP_PORT)`,
      );
    }
    throw err;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : deps.port;
  deps.log.info({ host: deps.host, port }, 'HTTP listening');
  return { app, port };
}
