import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseDuration } from '../core/duration.js';
import { HubError } from '../core/errors.js';
import type { AlertsApi } from '../modules/alerts.js';
import { idParam, notFound, parseParams, text } from './params.js';

const GLOB = /^[A-Za-z0-9_.\-*?]{1,256}$/;
/** A silence lasts a year at most: longer is a rule to remove, not a silence. */
const MAX_SILENCE_MS = 366 * 86_400_000;

const alertParams = z.object({
  rule: idParam('rule'),
  device: idParam('device'),
  sensor: idParam('sensor'),
});
const ackBody = z.object({ by: z.string().max(128).optional() }).optional();
const silenceBody = z.object({
  rule: z.string().regex(GLOB, { error: 'rule: expected a rule name or glob' }).optional(),
  device: z.string().regex(GLOB, { error: 'device: expected a device id or glob' }).optional(),
  for: z.union([z.string().max(32), z.number()], { error: 'for: expected a duration such as "1h"' }),
  comment: z.string().max(1024).optional(),
});
const silenceParams = z.object({ id: text('id') });

/**
 * GET /api/alerts, POST /api/alerts/:rule/:device/:sensor/ack, and the silences:
 * GET/POST /api/silences, DELETE /api/silences/:id.
 */
export function alertRoutes(api: AlertsApi) {
  return (app: FastifyInstance): void => {
    app.get('/api/alerts', async () => ({
      alerts: api.active(),
      history: api.history(),
      silences: api.silences(),
    }));

    app.post('/api/alerts/:rule/:device/:sensor/ack', async (req) => {
      const p = parseParams(alertParams, req.params);
      const body = parseParams(ackBody, req.body ?? undefined) ?? {};
      return (
        api.acknowledge(p.rule, p.device, p.sensor, body.by) ??
        notFound(`no active alert ${p.rule}/${p.device}/${p.sensor}`)
      );
    });

    app.get('/api/silences', async () => ({ silences: api.silences() }));

    app.post('/api/silences', async (req, reply) => {
      const b = parseParams(silenceBody, req.body);
      const ms = parseDuration(b.for);
      if (ms === undefined || ms <= 0 || ms > MAX_SILENCE_MS)
        throw new HubError('HUB_BAD_REQUEST', 'for: expected a duration from 1ms to 366d, such as "1h"');
      const s = api.silence({
        ...(b.rule !== undefined ? { rule: b.rule } : {}),
        ...(b.device !== undefined ? { device: b.device } : {}),
        ...(b.comment !== undefined ? { comment: b.comment } : {}),
        until: Date.now() + ms,
      });
      return reply.code(201).send(s);
    });

    app.delete('/api/silences/:id', async (req, reply) => {
      const { id } = parseParams(silenceParams, req.params);
      if (!api.unsilence(id)) return notFound(`no silence ${id}`);
      return reply.code(204).send();
    });
  };
}
