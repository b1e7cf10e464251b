import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { HubError } from '../core/errors.js';
import { installAuth } from './auth.js';
import { installErrorHandling, notFound } from './errors.js';
import { type LoginOptions, Sessions } from './login.js';
import type { HttpDeps, RouteModule } from './route-module.js';
import { ROUTE_MODULES } from './routes.js';

export type { HttpDeps, RouteModule } from './route-module.js';

export interface HttpServerOptions extends HttpDeps {
  host: string;
  port: number;
  token?: string | undefined;
  /** Dashboard sign-in (http.users with passwords from mqtt.passwordFile). */
  login?: LoginOptions;
  /** HTTPS (http.protocol: https). */
  tls?: { cert: string; key: string; ca?: string };
  /** The route modules to register (default ROUTE_MODULES). */
  routes?: readonly RouteModule[];
  /** Extra routes (the dashboard) register here. */
  plugins?: Array<(app: FastifyInstance) => Promise<void> | void>;
}

/**
 * Builds the HTTP server without listening: fastify with zod validation, auth, the
 * error handler, then every route module and plugin (tests call it with inject()).
 */
export async function createHttpApp(
  opts: Omit<HttpServerOptions, 'host' | 'port'>,
): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    ...(opts.tls ? { https: opts.tls } : {}),
    forceCloseConnections: true,
    // A URL the router cannot decode (`/%zz`) is the client's mistake; fastify's own
    // answer would echo it.
    frameworkErrors: (_err, _req, reply) => {
      void (reply as unknown as FastifyReply)
        .code(400)
        .send({ error: 'HUB_BAD_REQUEST', message: 'the request URL cannot be read' });
    },
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  const sessions = opts.login && new Sessions(opts.login);
  installAuth(app, opts.token, sessions);
  installErrorHandling(app, opts.log);

  const deps: HttpDeps = {
    ...opts,
    ...(sessions ? { sessions } : {}),
    secureCookies: opts.tls !== undefined,
  };
  for (const routes of opts.routes ?? ROUTE_MODULES) await routes(app, deps);
  // Under /api a route that does not exist still needs the token, so a spelling of a
  // real route the router does not match (`/api/devices/`) answers as the real one would.
  app.get('/api/*', async () => notFound('not found'));
  for (const p of opts.plugins ?? []) await p(app);
  return app;
}

/** The HTTP server of createHttpApp, listening on host and port. */
export async function startHttp(opts: HttpServerOptions): Promise<{ app: FastifyInstance; port: number }> {
  const app = await createHttpApp(opts);
  try {
    await app.listen({ host: opts.host, port: opts.port });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new HubError(
        'HUB_PORT_IN_USE',
        `HTTP port ${opts.host}:${opts.port} is in use (another process holds it; set http.port)`,
      );
    }
    throw err;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  opts.log.info({ host: opts.host, port }, 'HTTP listening');
  return { app, port };
}
