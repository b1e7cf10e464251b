import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { EventBus } from '../core/bus.js';

/** Bytes a slow stream client may have buffered before its readings are skipped. */
const MAX_BUFFERED = 1024 * 1024;

interface StreamClient {
  res: ServerResponse;
  /** Only this device's events; undefined: all. */
  device: string | undefined;
  skipped: number;
}

const frame = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

/**
 * GET /api/stream: server-sent events, one `reading` event per canonical reading
 * (optionally only ?device=), plus `availability` and `quarantine` events.
 * A client that cannot keep up loses readings rather than growing the hub's memory;
 * it is told how many with a `skipped` event.
 *
 * One set of bus listeners serves every client: each event is turned into its frame
 * once, and a client gets the frames of one message in one write.
 */
export function registerStream(app: FastifyInstance, bus: EventBus): void {
  const clients = new Set<StreamClient>();
  const owner = {};

  const send = (c: StreamClient, text: string, events: number) => {
    if (c.res.writableLength > MAX_BUFFERED) {
      c.skipped += events;
      return;
    }
    if (c.skipped > 0) {
      text = `event: skipped\ndata: ${c.skipped}\n\n${text}`;
      c.skipped = 0;
    }
    c.res.write(text);
  };
  const listen = () => {
    bus.on(owner, 'readings', (rs) => {
      const frames = rs.map((r) => frame('reading', r));
      for (const c of clients) {
        if (!c.device) send(c, frames.join(''), frames.length);
        else {
          const mine = frames.filter((_, i) => rs[i]!.device === c.device);
          if (mine.length > 0) send(c, mine.join(''), mine.length);
        }
      }
    });
    bus.on(owner, 'availability', (device, state, ts) => {
      const text = frame('availability', { device, state, ts });
      for (const c of clients) if (!c.device || c.device === device) send(c, text, 1);
    });
    bus.on(owner, 'quarantine', (e) => {
      const text = frame('quarantine', e);
      for (const c of clients) if (!c.device || c.device === e.device) send(c, text, 1);
    });
  };

  app.get<{ Querystring: { device?: string } }>('/api/stream', (req, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(': connected\n\n');
    const client: StreamClient = { res, device: req.query.device, skipped: 0 };
    if (clients.size === 0) listen();
    clients.add(client);
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    const close = () => {
      clearInterval(ping);
      if (clients.delete(client) && clients.size === 0) bus.removeAll(owner);
    };
    req.raw.on('close', close);
    res.on('error', close);
  });
}
