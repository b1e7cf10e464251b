import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Reading } from '../../hub/core/reading.js';
import { InfluxHttp } from '../../hub/storage/influx-http.js';
import { InfluxWriter, type WriterHooks, type WriterOptions } from '../../hub/storage/influx-writer.js';
import { toLine } from '../../hub/storage/line-protocol.js';
import { Spool } from '../../hub/storage/spool.js';
import { eventually } from '../support/hub.js';

// A stand-in InfluxDB /write endpoint whose answers a test scripts; the real influxd
// is exercised by the integration tests.
type Handler = (body: string, res: ServerResponse) => void;
const servers: Array<{ close(): void }> = [];
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const s of servers.splice(0)) s.close();
  for (const c of cleanups.splice(0)) await c();
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
const opts: WriterOptions = { batchSize: 100, flushInterval: 30, maxInFlight: 2, timeout: 2000 };
const log = pino({ level: 'silent' });
const lines = (bodies: string[]) => bodies.flatMap((b) => b.split('\n').filter(Boolean));

/** A writer over a real spool in a throwaway folder. */
async function writerFor(
  url: string,
  hooks: WriterHooks = {},
  maxBytes = 64 * 1024 * 1024,
  extra: Partial<WriterOptions> = {},
  logger = log,
) {
  const dir = mkdtempSync(join(tmpdir(), 'spool-unit-'));
  const spool = await Spool.open({
    dir,
    maxBytes,
    fsync: false,
    maxUncommittedBytes: 1024 * 1024,
    minFreeBytes: 1024 * 1024,
  });
  const w = new InfluxWriter(
    new InfluxHttp({ url, database: 'db' }),
    spool,
    { ...opts, ...extra },
    logger,
    hooks,
  );
  w.start();
  cleanups.push(async () => {
    await w.drain(0);
    await spool.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const add = (n: number, from = 0) => {
    let s = '';
    for (let i = from; i < from + n; i++) s += `${toLine(reading(i))}\n`;
    return spool.append(s, n);
  };
  return { w, spool, add };
}

describe('InfluxWriter over the spool', () => {
  it('sends full batches at once and a partial batch after the flush interval', async () => {
    const srv = await fakeInflux((_b, res) => res.writeHead(204).end());
    // A flush interval far longer than the five commits take, so only the last 50 wait for it.
    const { w, spool, add } = await writerFor(srv.url, {}, undefined, { flushInterval: 1000 });
    // Five commits of 50: a request takes whole spool records until it has batchSize lines.
    for (let i = 0; i < 5; i++) await add(50, i * 50);
    await eventually(() => lines(srv.bodies).length === 250);
    expect(srv.bodies.map((b) => lines([b]).length)).toEqual([100, 100, 50]);
    expect(await w.drain(1000)).toBe(0);
    expect(spool.readings).toBe(0);
  });

  it('retries 503 and refused connections; nothing leaves the spool until confirmed', async () => {
    let fails = 3;
    const srv = await fakeInflux((_b, res) => {
      if (fails-- > 0) res.writeHead(503, { 'retry-after': '0' }).end('{"error":"busy"}');
      else res.writeHead(204).end();
    });
    let retries = 0;
    const { w, add } = await writerFor(srv.url, { retry: () => retries++ });
    await add(10);
    expect(await w.drain(5000)).toBe(0);
    expect(retries).toBe(3);
    expect(new Set(lines(srv.bodies.slice(-1))).size).toBe(10);

    const refused = await writerFor('http://127.0.0.1:1');
    await refused.add(5);
    expect(await refused.w.drain(300)).toBe(5);
    expect(refused.spool.readings).toBe(5);
    expect(refused.w.lastError).toMatch(/ECONNREFUSED/);
  });

  it('gives up on a request that gets no answer within the timeout and sends it again', async () => {
    let hang = true;
    const srv = await fakeInflux((_b, res) => {
      if (hang) {
        hang = false; // the first request never gets its answer
        return;
      }
      res.writeHead(204).end();
    });
    const reasons: string[] = [];
    const { w, spool, add } = await writerFor(srv.url, { retry: (r) => reasons.push(r) }, undefined, {
      timeout: 300,
    });
    await add(10);
    expect(await w.drain(5000)).toBe(0);
    expect(reasons).toEqual([expect.stringMatching(/no answer within 300 ms \(ETIMEDOUT\)/)]);
    expect(spool.readings).toBe(0);
    expect(srv.bodies.map((b) => lines([b]).length)).toEqual([10, 10]);
  });

  it('splits a batch the server finds too large', async () => {
    const srv = await fakeInflux((body, res) => {
      if (lines([body]).length > 30) res.writeHead(413).end('{"error":"Request Entity Too Large"}');
      else res.writeHead(204).end();
    });
    const { w, add } = await writerFor(srv.url);
    await add(100);
    expect(await w.drain(5000)).toBe(0);
    const accepted = srv.bodies.filter((b) => lines([b]).length <= 30);
    expect(new Set(lines(accepted)).size).toBe(100);
  });

  it('quarantines only the point the server refuses (found by halving), without retrying forever', async () => {
    const srv = await fakeInflux((body, res) => {
      if (body.includes('value=7 ')) res.writeHead(400).end('{"error":"unable to parse: bad point"}');
      else res.writeHead(204).end();
    });
    const refused: string[] = [];
    const { w, add } = await writerFor(srv.url, { quarantined: (ls, reason) => refused.push(reason, ...ls) });
    await add(16);
    expect(await w.drain(2000)).toBe(0);
    expect(refused).toHaveLength(2);
    expect(refused[0]).toBe('influx_rejected');
    expect(refused[1]).toMatch(/ value=7 /);
    // 1 full request + 2 per halving level (16 -> 8 -> 4 -> 2 -> 1).
    expect(srv.bodies.length).toBeLessThanOrEqual(9);
  });

  it('a refused request (401) keeps the readings in the spool, retried with backoff; one log line per change of state', async () => {
    let refusals = 5;
    const srv = await fakeInflux((_b, res) => {
      if (refusals-- > 0) res.writeHead(401).end('{"error":"authorization failed"}');
      else res.writeHead(204).end();
    });
    const logged: Array<{ level: number; msg: string }> = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => logged.push(JSON.parse(l)) });
    const states: string[] = [];
    const statuses: number[] = [];
    const quarantined: string[] = [];
    const { w, spool, add } = await writerFor(
      srv.url,
      {
        state: (s) => states.push(s),
        refused: (status) => statuses.push(status),
        quarantined: (ls) => quarantined.push(...ls),
      },
      undefined,
      { maxRetryDelay: 50 },
      logger,
    );
    await add(40);
    await eventually(() => w.state === 'refused');
    expect(w.lastError).toBe('401 authorization failed');
    expect(spool.readings).toBe(40);
    expect(await w.drain(5000)).toBe(0);
    expect(quarantined).toEqual([]);
    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    expect(states).toEqual(['refused', 'ok']);
    expect(logged.map((l) => l.msg)).toEqual([
      'InfluxDB refuses write requests; readings stay in the spool and are retried',
      'InfluxDB accepts writes again',
    ]);
    // Every request carried the whole batch: no halving, nothing split off.
    expect(srv.bodies.map((b) => lines([b]).length)).toEqual([40, 40, 40, 40, 40, 40]);
  });

  it('reports the spool full at its cap', async () => {
    const { spool, add } = await writerFor('http://127.0.0.1:1', {}, 1024 * 1024);
    expect(spool.full).toBe(false);
    await add(20_000);
    expect(spool.full).toBe(true);
    expect(spool.readings).toBe(20_000);
  });
});
