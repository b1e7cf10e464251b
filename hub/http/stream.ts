import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import { HubError } from '../core/errors.js';
import { idParam } from './params.js';
import type { RouteModule } from './route-module.js';

export interface StreamOptions {
  /** Clients served at once; one more gets 503 (http.maxStreamClients). */
  maxClients: number;
  /** Bytes a client may have buffered before its readings are skipped. */
  maxBufferedBytes?: number;
  /**
   * How long a client may stay over maxBufferedBytes before it is disconnected: a
   * client that never reads would otherwise hold its buffer and a slot for good.
   */
  stallMs?: number;
}

interface StreamClient {
  res: ServerResponse;
  /** Only this device's events; undefined: all. */
  device: string | undefined;
  skipped: number;
  /** When its buffer last went over the bound (0: it is under). */
  stalledSince: number;
}

const frame = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

const streamQuery = z.object({ device: idParam('device').optional() });

/**
 * GET /api/stream: server-sent events, one `reading` event per canonical reading
 * (optionally only ?device=), plus `availability`, `quarantine` and `removed` (a
 * device removed through the API) events.
 * A client that cannot keep up loses readings rather than growing the hub's memory;
 * it is told how many with a `skipped` event, and it is disconnected when it stays
 * behind for stallMs.
 *
 * One set of bus listeners serves every client: each event is turned into its frame
 * once, and a client gets the frames of one message in one write.
 */
export const streamRoutes: RouteModule = (app, deps) => {
  const bus = deps.bus;
  const opts: StreamOptions = { ...deps.stream, maxClients: deps.maxStreamClients ?? 100 };
  const maxBuffered = opts.maxBufferedBytes ?? 1024 * 1024;
  const stallMs = opts.stallMs ?? 30_000;
  const clients = new Set<StreamClient>();
  const owner = {};

  const send = (c: StreamClient, text: string, events: number) => {
    if (c.res.writableLength > maxBuffered) {
      c.skipped += events;
      const now = Date.now();
      if (c.stalledSince === 0) c.stalledSince = now;
      else if (now - c.stalledSince > stallMs) c.res.destroy();
      return;
    }
    c.stalledSince = 0;
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
    bus.on(owner, 'deviceRemoved', (device) => {
      const text = frame('removed', { device });
      for (const c of clients) if (!c.device || c.device === device) send(c, text, 1);
    });
    bus.on(owner, 'quarantine', (e) => {
      const text = frame('quarantine', e);
      for (const c of clients) if (!c.device || c.device === e.device) send(c, text, 1);
    });
  };

  app.get('/api/stream', { schema: { querystring: streamQuery } }, (req, reply) => {
    const { device } = req.query;
    if (clients.size >= opts.maxClients) {
      void reply.header('retry-after', '10');
      throw new HubError(
        'HUB_STREAM_FULL',
        `the live stream serves ${opts.maxClients} clients at most (http.maxStreamClients); retry later`,
      );
    }
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(': connected\n\n');
    const client: StreamClient = { res, device, skipped: 0, stalledSince: 0 };
    if (clients.size === 0) listen();
    clients.add(client);
    // The ping also finds a stalled client when no events come.
    const ping = setInterval(() => send(client, ': ping\n\n', 0), 15_000);
    const close = () => {
      clearInterval(ping);
      if (clients.delete(client) && clients.size === 0) bus.removeAll(owner);
    };
    req.raw.on('close', close);
    res.on('error', close);
    res.on('close', close);
  });
};
