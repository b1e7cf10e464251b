import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HubHandle } from '../../hub/hub.js';
import { InfluxHttp } from '../../hub/storage/influx-http.js';
import { ROLLUP_SELECT, ROLLUPS, RP_RAW } from '../../hub/storage/retention.js';
import { startTestHub } from '../support/hub.js';
import { startTestInfluxd, type TestInfluxd, uniqueDb } from '../support/influxd.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
let influx: TestInfluxd;
let hub: HubHandle;
let db: InfluxHttp;
const database = uniqueDb('rollup');
const today = Math.floor(Date.now() / DAY) * DAY;
/** Two days ago, inside raw retention (30 days) and rolled up by hand below. */
const recent = today - 2 * DAY;
/** Sixty days ago: raw points are gone, only rollup points written directly remain. */
const old = today - 60 * DAY;

type Point = { ts: number; mean: number; min: number; max: number; count: number };
const get = async (path: string) => {
  const res = await fetch(`${hub.httpUrl}${path}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> & { points: Point[] } };
};

const ingest = (value: number, ts: number) =>
  hub.ingest({
    topic: 'sensors/lab/temperature',
    payload: Buffer.from(JSON.stringify({ value, ts })),
    receivedAt: Date.now(),
    source: 'mqtt',
  });

const writeRollup = async (rp: string, lines: string[]) => {
  const res = await fetch(`${influx.url}/write?db=${database}&rp=${rp}&precision=ms`, {
    method: 'POST',
    body: lines.join('\n'),
  });
  expect(res.status).toBe(204);
};

beforeAll(async () => {
  influx = await startTestInfluxd();
  hub = await startTestHub(influx.url, { influx: { database } });
  db = new InfluxHttp({ url: influx.url, database });
  // One reading in the first hour, three in the second: the day's mean is 17.5, the mean of
  // the two hourly means would be 15.
  ingest(10, recent + HOUR + 60_000);
  for (const [i, v] of [18, 20, 22].entries()) ingest(v, recent + 2 * HOUR + 60_000 + i * 1000);
  // Today's reading, not rolled up: the answer takes it from raw.
  ingest(30, Date.now() - 1000);
  await hub.flush();
  // What the continuous queries do when each interval is over, run by hand over that day.
  for (const r of ROLLUPS) {
    await db.admin(
      `${ROLLUP_SELECT} INTO "${database}"."${r.name}".:MEASUREMENT FROM "${database}"."${RP_RAW}"./.*/ ` +
        `WHERE time >= ${recent}ms AND time < ${recent + DAY}ms GROUP BY time(${r.every}), *`,
    );
  }
  // Sixty days ago, beyond raw retention: rollup points only.
  const tags = 'device=lab,sensor=temperature,unit=Cel,source=mqtt';
  const oldLines = [
    `temperature,${tags} mean=5,min=4,max=6,count=2i ${old + HOUR}`,
    `temperature,${tags} mean=8,min=7,max=9,count=6i ${old + 2 * HOUR}`,
  ];
  await writeRollup('rollup_1h', oldLines);
  await writeRollup('rollup_1m', oldLines);
});
afterAll(async () => {
  db?.close();
  await hub?.stop();
  await influx?.stop();
});

describe('history over rollups', () => {
  it('reads a 30-day range from rollup_1h, weighting means by count, and the newest day from raw', async () => {
    const { status, body } = await get('/api/readings?device=lab&sensor=temperature&from=-30d&every=1d');
    expect(status).toBe(200);
    expect(body.source).toBe('rollup_1h');
    const cut = Math.floor(Math.floor((Date.now() - 60_000) / HOUR) * HOUR) / DAY;
    expect(body.rawFrom).toBe(Math.floor(cut) * DAY);
    const day = body.points.find((p) => p.ts === recent);
    expect(day).toEqual({ ts: recent, mean: 17.5, min: 10, max: 22, count: 4 });
    const last = body.points.at(-1)!;
    expect(last.ts).toBe(body.rawFrom);
    expect(last).toMatchObject({ mean: 30, min: 30, max: 30, count: 1 });
    expect(body.points.reduce((n, p) => n + p.count, 0)).toBe(5);
  });

  it('reads rollup_1m when the interval is finer than an hour', async () => {
    const { body } = await get(
      `/api/readings?device=lab&sensor=temperature&from=${recent}&to=${recent + DAY}&every=auto&points=600`,
    );
    expect(body.every).toBe(300_000);
    expect(body.source).toBe('rollup_1m');
    expect(body.rawFrom).toBeUndefined();
    expect(body.points).toEqual([
      { ts: recent + HOUR, mean: 10, min: 10, max: 10, count: 1 },
      { ts: recent + 2 * HOUR, mean: 20, min: 18, max: 22, count: 3 },
    ]);
  });

  it('answers ranges beyond raw retention from the rollups', async () => {
    const { body } = await get('/api/readings?device=lab&sensor=temperature&from=-90d&to=-50d&every=1d');
    expect(body.source).toBe('rollup_1h');
    expect(body.points).toEqual([{ ts: old, mean: 7.25, min: 4, max: 9, count: 8 }]);
    // every=auto would pick 15 s here, finer than any rollup: it is raised to a minute.
    const auto = await get(
      `/api/readings?device=lab&sensor=temperature&from=${old + HOUR - 1800_000}&to=${old + 2 * HOUR + 1800_000}&every=auto`,
    );
    expect(auto.body.every).toBe(60_000);
    expect(auto.body.source).toBe('rollup_1m');
    expect(auto.body.points.map((p) => p.count)).toEqual([2, 6]);
  });

  it('keeps short recent ranges on raw data', async () => {
    const { body } = await get('/api/readings?device=lab&sensor=temperature&from=-1h&every=1m');
    expect(body.source).toBe('raw');
    expect(body.points.reduce((n, p) => n + p.count, 0)).toBe(1);
  });
});
