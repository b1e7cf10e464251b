import type { RouteModule } from './route-module.js';

/**
 * GET /healthz: 200 or 503 for load balancers and systemd, answered to everyone; the
 * body's details (URLs, errors) only with the token.
 */
export const healthRoutes: RouteModule = (app, deps) => {
  app.get('/healthz', { config: { access: 'health' } }, async (req, reply) => {
    const h = await deps.health();
    return reply.code(h.ok ? 200 : 503).send(req.authorized ? h : { ok: h.ok });
  });
};
