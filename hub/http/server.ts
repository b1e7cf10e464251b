import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { EventBus } from '../core/bus.js';
import { HubError } from '../errors.js';
import type { HubMetrics } from '../metrics.js';
import type { Quarantine } from '../quarantine.js';
import type { DeviceRegistry } from '../registry.js';
import type { InfluxHttp } from '../storage/influx-http.js';
import { historyInfluxQL, parseHistoryQuery } from './query.js';
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
  /** Extra routes (the dashboard) register here. */
  plugins?: Array<(app: FastifyInstance) => Promise<void> | void>;
}

export async function startHttp(deps: HttpDeps): Promise<{ app: FastifyInstance; port: number }> {
  const app = Fastify({ logger: false, forceCloseConnections: true });

  if (deps.token) {
    const expected = `Bearer ${deps.token}`;
    app.addHook('onRequest', async (req, reply) => {
      if (req.url === '/healthz') return;
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
    return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  app.get('/api/devices', async () => ({ devices: deps.registry.list() }));

  app.get<{ Params: { id: string } }>('/api/devices/:id', async (req, reply) => {
    const d = deps.registry.get(req.params.id);
    return d ? d : reply.code(404).send({ error: 'not_found', message: `no device ${req.params.id}` });
  });

  app.get<{ Querystring: Record<string, string> }>('/api/readings', async (req, reply) => {
    const q = parseHistoryQuery(req.query);
    const sensor = deps.registry.get(q.device)?.sensors[q.sensor];
    if (!sensor)
      return reply.code(404).send({ error: 'not_found', message: `no sensor ${q.device}/${q.sensor}` });
    const rows = await deps.influx.rows(historyInfluxQL(sensor.metric, q));
    const points = rows.map(({ time, ...rest }) => ({ ts: time as number, ...rest }));
    return {
      device: q.device,
      sensor: q.sensor,
      metric: sensor.metric,
      unit: sensor.unit,
      every: q.every,
      points,
    };
  });

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
