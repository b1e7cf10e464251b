import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Reading } from '../../hub/core/reading.js';
import { InfluxHttp } from '../../hub/storage/influx-http.js';
import { InfluxWriter, type WriterOptions } from '../../hub/storage/influx-writer.js';
import { eventually } from '../support/hub.js';

// A stand-in InfluxDB /write endpoint whose answers a test scripts; the real influxd
// is exercised by the integration tests.
type Handler = (body: string, res: ServerResponse) => void;
const servers: Array<{ close(): void }> = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

async function fakeInflux(handler: Handler) {
  const bodies: string[] = [];
  const srv = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      bodies.push(body);
      handler(body, res);
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  servers.push({ close: () => srv.close() });
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, bodies };
}

const reading = (i: number): Reading => ({
  device: 'd',
  sensor: 's',
  metric: 'temperature',
  value: i,
  unit: 'Cel',
  ts: 1_700_000_000_000 + i,
  source: 'mqtt',
  quality: 'good',
});
const readings = (n: number) => Array.from({ length: n }, (_, i) => reading(i));
const opts: WriterOptions = {
  batchSize: 100,
  flushInterval: 30,
  maxInFlight: 2,
  maxQueued: 1000,
  timeout: 2000,
};
const log = pino({ level: 'silent' });
const lines = (bodies: string[]) => bodies.flatMap((b) => b.split('\n').filter(Boolean));

describe('InfluxWriter', () => {
  it('sends full batches at once and a partial batch after the flush interval', async () => {
    const srv = await fakeInflux((_b, res) => res.writeHead(204).end());
    const w = new InfluxWriter(new InfluxHttp({ url: srv.url, database: 'db' }), opts, log);
    w.enqueue(readings(250));
    await eventually(() => lines(srv.bodies).length === 250);
    expect(srv.bodies.map((b) => b.split('\n').length)).toEqual([100, 100, 50]);
    expect(await w.drain(1000)).toBe(0);
  });

  it('retries 503 and refused connections until the server takes the batch, losing nothing', async () => {
    let fails = 3;
    const srv = await fakeInflux((_b, res) => {
      if (fails-- > 0) res.writeHead(503, { 'retry-after': '0' }).end('{"error":"busy"}');
      else res.writeHead(204).end();
    });
    let retries = 0;
    const w = new InfluxWriter(new InfluxHttp({ url: srv.url, database: 'db' }), opts, log, {
      retry: () => retries++,
    });
    w.enqueue(readings(10));
    expect(await w.drain(5000)).toBe(0);
    expect(retries).toBe(3);
    expect(new Set(lines(srv.bodies.slice(-1))).size).toBe(10);

    const refused = new InfluxWriter(
      new InfluxHttp({ url: 'http://127.0.0.1:1', database: 'db' }),
      opts,
      log,
    );
    refused.enqueue(readings(5));
    expect(await refused.drain(300)).toBe(5);
    expect(refused.lastError).toMatch(/ECONNREFUSED|fetch failed/);
  });

  it('splits a batch the server finds too large', async () => {
    const srv = await fakeInflux((body, res) => {
      if (body.split('\n').length > 30) res.writeHead(413).end('{"error":"Request Entity Too Large"}');
      else res.writeHead(204).end();
    });
    const w = new InfluxWriter(new InfluxHttp({ url: srv.url, database: 'db' }), opts, log);
    w.enqueue(readings(100));
    expect(await w.drain(5000)).toBe(0);
    const accepted = srv.bodies.filter((b) => b.split('\n').length <= 30);
    expect(new Set(lines(accepted)).size).toBe(100);
  });

  it('hands refused points to the rejected hook instead of retrying forever', async () => {
    const srv = await fakeInflux((_b, res) =>
      res.writeHead(400).end('{"error":"partial write: field type conflict"}'),
    );
    const rejected: number[] = [];
    const w = new InfluxWriter(new InfluxHttp({ url: srv.url, database: 'db' }), opts, log, {
      rejected: (ls, status) => rejected.push(ls.length, status),
    });
    w.enqueue(readings(3));
    expect(await w.drain(2000)).toBe(0);
    expect(rejected).toEqual([3, 400]);
    expect(srv.bodies).toHaveLength(1);
  });

  it('drops and counts what does not fit in maxQueued', async () => {
    const dropped: number[] = [];
    const w = new InfluxWriter(
      new InfluxHttp({ url: 'http://127.0.0.1:1', database: 'db' }),
      { ...opts, maxQueued: 1000 },
      log,
      { dropped: (n) => dropped.push(n) },
    );
    expect(w.enqueue(readings(900))).toBe(900);
    expect(w.enqueue(readings(300))).toBe(100);
    expect(dropped).toEqual([200]);
    expect(w.queued).toBe(1000);
    await w.drain(10);
  });
});
