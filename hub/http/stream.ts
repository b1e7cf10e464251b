import type { FastifyInstance } from 'fastify';
import type { EventBus } from '../core/bus.js';

/** Bytes a slow stream client may have buffered before its readings are skipped. */
const MAX_BUFFERED = 1024 * 1024;

/**
 * GET /api/stream: server-sent events, one `reading` event per canonical reading
 * (optionally only ?device=), plus `availability` and `quarantine` events.
 * A client that cannot keep up loses readings rather than growing the hub's memory;
 * it is told how many with a `skipped` event.
 */
export function registerStream(app: FastifyInstance, bus: EventBus): void {
  app.get<{ Querystring: { device?: string } }>('/api/stream', (req, reply) => {
    const device = req.query.device;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(': connected\n\n');
    const owner = {};
    let skipped = 0;
    const send = (event: string, data: unknown) => {
      if (res.writableLength > MAX_BUFFERED) {
        skipped++;
        return;
      }
      if (skipped > 0) {
        res.write(`event: skipped\ndata: ${skipped}\n\n`);
        skipped = 0;
      }
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    bus.on(owner, 'readings', (rs) => {
      for (const r of rs) if (!device || r.device === device) send('reading', r);
    });
    bus.on(owner, 'availability', (d, state, ts) => {
      if (!device || d === device) send('availability', { device: d, state, ts });
    });
    bus.on(owner, 'quarantine', (e) => {
      if (!device || e.device === device) send('quarantine', e);
    });
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    const close = () => {
      clearInterval(ping);
      bus.removeAll(owner);
    };
    req.raw.on('close', close);
    res.on('error', close);
  });
}
