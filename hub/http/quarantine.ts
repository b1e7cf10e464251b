import { z } from 'zod';
import { idParam, text } from './params.js';
import type { RouteModule } from './route-module.js';

const quarantineQuery = z.object({
  limit: text('limit')
    .regex(/^\d{1,6}$/, { error: 'limit: expected a whole number' })
    .optional(),
  device: idParam('device').optional(),
});

/**
 * GET /api/quarantine: counts by reason and the newest entries (optionally of one device).
 * Raw payloads may carry what a device should not have sent: admins only.
 */
export const quarantineRoutes: RouteModule = (app, deps) => {
  app.get(
    '/api/quarantine',
    { schema: { querystring: quarantineQuery }, config: { access: 'admin' } },
    async (req) => {
      const q = req.query;
      const limit = Math.min(1000, Math.max(1, Number(q.limit ?? 100)));
      return { counts: deps.quarantine.counts(), entries: deps.quarantine.recent(limit, q.device) };
    },
  );
};
