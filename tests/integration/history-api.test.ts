import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { historyInfluxQL } from '../../hub/http/query.js';
import type { HubHandle } from '../../hub/hub.js';
import { InfluxHttp } from '../../hub/storage/influx-http.js';
import { eventually, startTestHub } from '../support/hub.js';
import { startTestInfluxd, type TestInfluxd, uniqueDb } from '../support/influxd.js';

let influx: TestInfluxd;
let hub: HubHandle;
const database = uniqueDb('hist');

const get = async (path: string) => {
  const res = await fetch(`${hub.httpUrl}${path}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> & { message?: string } };
};

const ingest = (device: string, sensor: string, value: number, ts: number) =>
  hub.ingest({
    topic: `sensors/${device}/${sensor}`,
    payload: Buffer.from(JSON.stringify({ value, ts })),
    receivedAt: Date.now(),
    source: 'mqtt',
  });

beforeAll(async () => {
  influx = await startTestInfluxd();
  hub = await startTestHub(influx.url, { influx: { database } });
  const now = Date.now();
  // 20 minutes of one reading per 10 s.
  for (let i = 120; i >= 1; i--) ingest('lab', 'temperature', 20 + (i % 6), now - i * 10_000);
  ingest('lab', 'pressure', 101_325, now - 1000);
  await hub.flush();
});
afterAll(async () => {
  await hub?.stop();
  await influx?.stop();
});

describe('history API', () => {
  it('aggregates server side with every=auto and says where the data came from', async () => {
    const { status, body } = await get(
      '/api/readings?device=lab&sensor=temperature&from=-30m&every=auto&points=60',
    );
    expect(status).toBe(200);
    expect(body.every).toBe(30_000);
    expect(body.source).toBe('raw');
    const points = body.points as Array<{ mean: number; min: number; max: number; count: number }>;
    expect(points.length).toBeGreaterThanOrEqual(39);
    expect(points.length).toBeLessThanOrEqual(61);
    expect(points.reduce((n, p) => n + p.count, 0)).toBe(120);
    for (const p of points) expect(p.min).toBeLessThanOrEqual(p.max);
  });

  it('refuses requests that would hurt the server, with a reason', async () => {
    const cases: Array<[string, RegExp]> = [
      ['/api/readings?device=lab&sensor=temperature&from=-500d', /400 days/],
      ['/api/readings?device=lab&sensor=temperature&from=-30d&every=1s', /more than 10000/],
      ['/api/readings?device=lab&sensor=temperature&every=auto&points=100000', /points/],
      ['/api/readings?device=lab&sensor=temperature&every=10ms', /at least/],
      [
        `/api/readings?device=${encodeURIComponent("lab' OR 1=1 --")}&sensor=temperature`,
        /device: expected an id/,
      ],
      [
        `/api/readings?device=lab&sensor=${encodeURIComponent('t"; DROP DATABASE x')}`,
        /sensor: expected an id/,
      ],
      ['/api/readings?device=lab&sensor=temperature&from=yesterday', /from: cannot read/],
      ['/api/trends?from=-30d', /7 days/],
    ];
    for (const [path, message] of cases) {
      const { status, body } = await get(path);
      expect(status, path).toBe(400);
      expect(body.message, path).toMatch(message);
    }
  });

  it('answers 404 for ids the registry does not know, without asking InfluxDB', async () => {
    const { status, body } = await get('/api/readings?device=nobody&sensor=temperature');
    expect(status).toBe(404);
    expect(body.message).toContain('nobody/temperature');
  });

  it('keeps an id with quotes or backslashes inside its literal on a real InfluxDB', async () => {
    const db = new InfluxHttp({ url: influx.url, database });
    const q = { from: Date.now() - 3_600_000, to: Date.now(), every: 0 };
    const own = await db.rows(historyInfluxQL('temperature', { ...q, device: 'lab', sensor: 'temperature' }));
    expect(own.length).toBe(120);
    // Each would select every device's points if it escaped its literal.
    for (const device of [
      "x' OR device =~ /.*/ OR device = 'y",
      "x\\' OR device =~ /.*/ OR device = 'y",
      'x\\',
      "lab'\nSELECT value FROM temperature --",
    ]) {
      const rows = await db.rows(historyInfluxQL('temperature', { ...q, device, sensor: 'temperature' }));
      expect(rows, device).toEqual([]);
    }
    db.close();
  });

  it('gives a coarse trend of every sensor in one call', async () => {
    const { body } = await get('/api/trends?from=-15m&points=30');
    const series = body.series as Array<{ device: string; sensor: string; values: number[] }>;
    const t = series.find((s) => s.device === 'lab' && s.sensor === 'temperature');
    expect(t?.values.length).toBeGreaterThanOrEqual(25);
  });

  it('reports ingest rates and storage state for the health view', async () => {
    const { body } = await get('/api/hub');
    expect(body.influx).toMatchObject({ reachable: true, queued: 0 });
    expect(body.current).toHaveProperty('readingsPerSec');
    expect(Array.isArray(body.rates)).toBe(true);
    expect(body.writeQueue).toEqual({ readings: 0 });
  });

  it('serves the built dashboard at / with no outside URLs', async () => {
    const res = await fetch(`${hub.httpUrl}/`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<main id="view">');
    const assets = [...html.matchAll(/(?:src|href)="\.\/(assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThanOrEqual(2);
    for (const a of assets) {
      const r = await fetch(`${hub.httpUrl}/${a}`);
      expect(r.status, a).toBe(200);
      expect(await r.text()).not.toMatch(/https?:\/\/(?!127\.0\.0\.1|localhost|www\.w3\.org)[a-z]/i);
    }
  });

  it('lists devices known from InfluxDB after a restart, before they speak again', async () => {
    await hub.stop();
    hub = await startTestHub(influx.url, { influx: { database } });
    const { status, body } = await get('/api/devices/lab');
    expect(status).toBe(200);
    expect(body).toMatchObject({
      restored: true,
      sensors: { temperature: { metric: 'temperature', unit: 'Cel' } },
    });
    const hist = await get('/api/readings?device=lab&sensor=pressure&from=-1h');
    expect((hist.body.points as unknown[]).length).toBe(1);
    ingest('lab', 'temperature', 22, Date.now());
    await eventually(async () => (await get('/api/devices/lab')).body.state === 'online');
  });
});
