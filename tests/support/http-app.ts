// The HTTP API on a real port with an in-memory registry and quarantine and a fake
// InfluxDB that records the queries it is sent (the unit layer of the API tests).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { EventBus } from '../../hub/core/bus.js';
import type { Reading } from '../../hub/core/reading.js';
import { type HttpDeps, startHttp } from '../../hub/http/server.js';
import { DeviceAdminModule } from '../../hub/modules/device-admin.js';
import { createMetrics } from '../../hub/prometheus.js';
import { Quarantine } from '../../hub/quarantine.js';
import { DeviceRegistry } from '../../hub/registry.js';
import type { InfluxHttp } from '../../hub/storage/influx-http.js';

export interface TestHttp {
  app: FastifyInstance;
  url: string;
  port: number;
  bus: EventBus;
  registry: DeviceRegistry;
  /** InfluxQL the routes sent. */
  queries: string[];
  reading(device: string, sensor: string, value?: number): Reading;
  stop(): Promise<void>;
}

export async function startTestHttp(
  opts: {
    token?: string;
    maxStreamClients?: number;
    stream?: HttpDeps['stream'];
    healthy?: boolean;
    plugins?: Array<(app: FastifyInstance) => Promise<void> | void>;
  } = {},
): Promise<TestHttp> {
  const log = pino({ level: process.env.HUB_TEST_LOG ?? 'silent' });
  const bus = new EventBus(log);
  const registry = new DeviceRegistry(bus, [], { checkEveryMs: 0 });
  registry.start();
  const quarantine = new Quarantine(bus, log);
  const queries: string[] = [];
  const influx = {
    rows: async (q: string) => {
      queries.push(q);
      return [{ time: Date.now() - 1000, value: 21.5 }];
    },
    query: async (q: string) => {
      queries.push(q);
      return [];
    },
  } as unknown as InfluxHttp;
  const devices = new DeviceAdminModule({
    dataDir: mkdtempSync(join(tmpdir(), 'hub-http-')),
    registry,
    log,
    clearRetained: async () => undefined,
    forgetReported: () => undefined,
  });
  await devices.start();
  const { app, port } = await startHttp({
    devices,
    host: '127.0.0.1',
    port: 0,
    token: opts.token,
    maxStreamClients: opts.maxStreamClients,
    stream: opts.stream,
    log,
    bus,
    registry,
    quarantine,
    metrics: createMetrics(),
    influx,
    plugins: opts.plugins ?? [],
    health: async () => ({ ok: opts.healthy ?? true, influx: { url: 'http://secret-host:8086', queued: 3 } }),
  });
  const reading = (device: string, sensor: string, value = 21.5): Reading => {
    const r: Reading = {
      device,
      sensor,
      metric: 'temperature',
      value,
      unit: 'Cel',
      ts: Date.now(),
      source: 'mqtt',
      quality: 'good',
    };
    bus.emit('readings', [r]);
    return r;
  };
  return {
    app,
    port,
    url: `http://127.0.0.1:${port}`,
    bus,
    registry,
    queries,
    reading,
    stop: async () => {
      await app.close();
      registry.stop();
    },
  };
}

/** One request written byte for byte on a socket: the request target exactly as given. */
export async function rawGet(
  port: number,
  target: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => {
      const extra = Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      s.write(`GET ${target} HTTP/1.1\r\nHost: x\r\n${extra}Connection: close\r\n\r\n`);
    });
    let text = '';
    s.setEncoding('latin1');
    const finish = () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    };
    s.on('data', (d) => {
      text += d;
      // A live stream never ends: its headers are the answer.
      if (text.includes('\r\n\r\n') && /content-type: text\/event-stream/i.test(text)) {
        s.destroy();
        finish();
      }
    });
    s.on('end', finish);
    s.on('error', reject);
    s.setTimeout(5000, () => s.destroy(new Error(`no answer to GET ${target}`)));
  });
}
