import type { RouteModule } from './route-module.js';

/** GET /metrics: the Prometheus exposition. */
export const metricsRoutes: RouteModule = (app, deps) => {
  app.get('/metrics', async (_req, reply) => {
    // Device states are counted at scrape time: cheaper than on every change.
    for (const [state, n] of Object.entries(deps.registry.countByState()))
      deps.metrics.devices.set({ state }, n);
    return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
};
