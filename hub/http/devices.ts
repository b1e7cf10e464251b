import { notFound } from './errors.js';
import { deviceParams } from './params.js';
import type { RouteModule } from './route-module.js';

/** GET /api/devices and /api/devices/:id: the registry's view of each device and its sensors. */
export const devicesRoutes: RouteModule = (app, deps) => {
  app.get('/api/devices', async () => ({ devices: deps.registry.list() }));

  app.get('/api/devices/:id', { schema: { params: deviceParams } }, async (req) => {
    const { id } = req.params;
    return deps.registry.get(id) ?? notFound(`no device ${id}`);
  });
};
