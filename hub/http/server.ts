import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { EventBus } from '../core/bus.js';
import { HubError, type HubErrorCode } from '../core/errors.js';
import type { HubMetrics } from '../prometheus.js';
import type { Quarantine } from '../quarantine.js';
import type { DeviceRegistry } from '../registry.js';
import type { InfluxHttp } from '../storage/influx-http.js';
import { installAuth } from './auth.js';
import { registerHistory } from './history.js';
import { type LoginOptions, registerLogin, Sessions } from './login.js';
import { idParam, notFound, parseParams, text } from './params.js';
import type { Rollup } from './query.js';
import { HubRates } from './rates.js';
import { registerStream, type StreamOptions } from './stream.js';

export interface HttpDeps {
  host: string;
  port: number;
  token?: string | undefined;
  /** Dashboard sign-in (http.users with passwords from mqtt.passwordFile). */
  login?: LoginOptions;
  /** HTTPS (http.protocol: https). */
  tls?: { cert: string; key: string; ca?: string };
  log: Logger;
  bus: EventBus;
  registry: DeviceRegistry;
  quarantine: Quarantine;
  metrics: HubMetrics;
  influx: InfluxHttp;
  health(): Promise<{ ok: boolean; [k: string]: unknown }>;
  /** Rollups the history API may read from (see query.ts pickSource). */
  rollups?: readonly Rollup[];
  /** How far back raw readings are kept (Infinity when unknown). */
  rawKeepsMs?: number;
  /** Live-stream clients served at once (http.maxStreamClients). */
  maxStreamClients?: number;
  /** The live stream's buffer bound and stall time (tests shorten them). */
  stream?: Omit<StreamOptions, 'maxClients'>;
  /** Extra routes (the dashboard) register here. */
  plugins?: Array<(app: FastifyInstance) => Promise<void> | void>;
}

/** HTTP status of each error code the API answers with. */
const STATUS: Partial<Record<HubErrorCode, number>> = {
  HUB_BAD_REQUEST: 400,
  HUB_UNAUTHORIZED: 401,
  HUB_FORBIDDEN: 403,
  HUB_NOT_FOUND: 404,
  HUB_STREAM_FULL: 503,
};

export async function startHttp(deps: HttpDeps): Promise<{ app: FastifyInstance; port: number }> {
  const app = Fastify({
    logger: false,
    ...(deps.tls ? { https: deps.tls } : {}),
    forceCloseConnections: true,
    // A URL the router cannot decode (`/%zz`) is the client's mistake; fastify's own
    // answer would echo it.
    frameworkErrors: (_err, _req, reply) => {
      void (reply as unknown as FastifyReply)
        .code(400)
        .send({ error: 'HUB_BAD_REQUEST', message: 'the request URL cannot be read' });
    },
  });

  const sessions = deps.login && new Sessions(deps.login);
  installAuth(app, deps.token, sessions);
  registerLogin(app, sessions, deps.tls !== undefined);

  app.setErrorHandler((err, req, reply) => {
    const status = err instanceof HubError ? STATUS[err.code] : undefined;
    if (status !== undefined && err instanceof HubError) {
      return reply.code(status).send({ error: err.code, message: err.message });
    }
    // fastify's own refusals of a request (bad content type, body too large): the client's mistake.
    const code = (err as { statusCode?: number }).statusCode;
    // The static files' refusals (a `..` path is 403): not found, like any unknown route.
    if (code === 403 || code === 404) {
      return reply.code(404).send({ error: 'HUB_NOT_FOUND', message: 'not found' });
    }
    if (code !== undefined && code >= 400 && code < 500) {
      return reply.code(code).send({ error: 'HUB_BAD_REQUEST', message: (err as Error).message });
    }
    // The message may hold paths, queries or InfluxDB's answer: it goes to the log only.
    deps.log.error({ err, reqId: req.id, route: req.routeOptions.url }, 'request failed');
    return reply
      .code(500)
      .send({ error: 'HUB_INTERNAL', message: `internal error (request ${req.id}); see the hub log` });
  });

  // Says nothing about what exists: not the URL, not whether a token would help.
  app.setNotFoundHandler((_req, reply) =>
    reply.code(404).send({ error: 'HUB_NOT_FOUND', message: 'not found' }),
  );

  app.get('/healthz', { config: { access: 'health' } }, async (req, reply) => {
    const h = await deps.health();
    return reply.code(h.ok ? 200 : 503).send(req.authorized ? h : { ok: h.ok });
  });

  app.get('/metrics', async (_req, reply) => {
    // Device states are counted at scrape time: cheaper than on every change.
    for (const [state, n] of Object.entries(deps.registry.countByState()))
      deps.metrics.devices.set({ state }, n);
    return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  app.get('/api/devices', async () => ({ devices: deps.registry.list() }));

  const deviceParams = z.object({ id: idParam('id') });
  app.get('/api/devices/:id', async (req) => {
    const { id } = parseParams(deviceParams, req.params);
    return deps.registry.get(id) ?? notFound(`no device ${id}`);
  });

  registerHistory(app, {
    registry: deps.registry,
    influx: deps.influx,
    rollups: deps.rollups ?? [],
    ...(deps.rawKeepsMs === undefined ? {} : { rawKeepsMs: deps.rawKeepsMs }),
  });

  // The health view polls this: unlike /healthz it answers 200 while InfluxDB is down.
  const rates = new HubRates(deps.bus);
  rates.start();
  app.addHook('onClose', async () => rates.stop());
  app.get('/api/hub', async () => ({ ...(await deps.health()), rates: rates.snapshot(), now: Date.now() }));

  const quarantineQuery = z.object({
    limit: text('limit')
      .regex(/^\d{1,6}$/, { error: 'limit: expected a whole number' })
      .optional(),
    device: idParam('device').optional(),
  });
  // Raw payloads may carry what a device should not have sent: admins only.
  app.get('/api/quarantine', { config: { access: 'admin' } }, async (req) => {
    const q = parseParams(quarantineQuery, req.query);
    const limit = Math.min(1000, Math.max(1, Number(q.limit ?? 100)));
    return { counts: deps.quarantine.counts(), entries: deps.quarantine.recent(limit, q.device) };
  });

  registerStream(app, deps.bus, { ...deps.stream, maxClients: deps.maxStreamClients ?? 100 });
  // Under /api a route that does not exist still needs the token, so a spelling of a
  // real route the router does not match (`/api/devices/`) answers as the real one would.
  app.get('/api/*', async () => notFound('not found'));
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
