import { z } from 'zod';
import { parseDuration } from '../core/duration.js';
import { badRequest, notFound } from './errors.js';
import { idParam, text } from './params.js';
import type { RouteModule } from './route-module.js';

const GLOB = /^[A-Za-z0-9_.\-*?]{1,256}$/;
/** A silence lasts a year at most: longer is a rule to remove, not a silence. */
const MAX_SILENCE_MS = 366 * 86_400_000;

const alertParams = z.object({ rule: idParam('rule'), device: idParam('device'), sensor: idParam('sensor') });
const ackBody = z
  .object({ by: z.string().max(128, { error: 'by: longer than 128 characters' }).optional() })
  .nullish();
const silenceBody = z.object({
  rule: z.string().regex(GLOB, { error: 'rule: expected a rule name or glob' }).optional(),
  device: z.string().regex(GLOB, { error: 'device: expected a device id or glob' }).optional(),
  for: z.union([z.string().max(32), z.number()], { error: 'for: expected a duration such as "1h"' }),
  comment: z.string().max(1024, { error: 'comment: longer than 1024 characters' }).optional(),
});
const silenceParams = z.object({ id: text('id') });

/**
 * GET /api/alerts (pending and firing, recent history, silences),
 * POST /api/alerts/:rule/:device/:sensor/ack, and the silences: GET and POST
 * /api/silences, DELETE /api/silences/:id.
 */
export const alertsRoutes: RouteModule = (app, deps) => {
  const api = deps.alerts;
  if (!api) return;
  app.get('/api/alerts', async () => ({
    alerts: api.active(),
    history: api.history(),
    silences: api.silences(),
  }));

  app.post(
    '/api/alerts/:rule/:device/:sensor/ack',
    { schema: { params: alertParams, body: ackBody } },
    async (req) => {
      const { rule, device, sensor } = req.params;
      return (
        api.acknowledge(rule, device, sensor, req.body?.by) ??
        notFound(`no active alert ${rule}/${device}/${sensor}`)
      );
    },
  );

  app.get('/api/silences', async () => ({ silences: api.silences() }));

  app.post('/api/silences', { schema: { body: silenceBody } }, async (req, reply) => {
    const b = req.body;
    const ms = parseDuration(b.for);
    if (ms === undefined || ms <= 0 || ms > MAX_SILENCE_MS)
      return badRequest('for: expected a duration from 1ms to 366d, such as "1h"');
    const s = api.silence({
      ...(b.rule !== undefined ? { rule: b.rule } : {}),
      ...(b.device !== undefined ? { device: b.device } : {}),
      ...(b.comment !== undefined ? { comment: b.comment } : {}),
      until: Date.now() + ms,
    });
    return reply.code(201).send(s);
  });

  app.delete('/api/silences/:id', { schema: { params: silenceParams } }, async (req, reply) => {
    if (!api.unsilence(req.params.id)) return notFound(`no silence ${req.params.id}`);
    return reply.code(204).send();
  });
};
