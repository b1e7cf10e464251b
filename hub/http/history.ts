import { z } from 'zod';
import { type CsvValue, toCsv } from './csv.js';
import { notFound } from './errors.js';
import { text } from './params.js';
import {
  autoEvery,
  bad,
  everyForRollups,
  historyInfluxQL,
  historyParts,
  parseHistoryQuery,
  parseTime,
  pickSource,
} from './query.js';
import type { RouteModule } from './route-module.js';

const readingsQuery = z.object({
  device: text('device').optional(),
  sensor: text('sensor').optional(),
  from: text('from').optional(),
  to: text('to').optional(),
  every: text('every').optional(),
  points: text('points').optional(),
  format: z.enum(['json', 'csv'], { error: 'format: expected json or csv' }).optional(),
});
const trendsQuery = z.object({ from: text('from').optional(), points: text('points').optional() });

/** Caps of /api/trends: one query for every sensor, so it is kept short and coarse. */
const TREND_LIMITS = { maxRangeMs: 7 * 86_400_000, maxPoints: 60 } as const;

/**
 * A computed aggregate to 6 significant digits: a mean of 22.54 and 22.54 is
 * 22.540000000000003 in floating point, and no sensor measures to more digits.
 */
export const round6 = (v: unknown) =>
  typeof v === 'number' && Number.isFinite(v) && v !== 0 ? Number(v.toPrecision(6)) : v;

/** An epoch-ms time for a file name: 20261207T001500Z. */
const fileTime = (ms: number) => new Date(ms).toISOString().replace(/[-:]|\.\d{3}/g, '');

/**
 * GET /api/readings (one sensor's history, aggregated server side) and GET /api/trends
 * (a short coarse trend of every known sensor, for the overview's sparklines).
 */
export const historyRoutes: RouteModule = (app, deps) => {
  app.get('/api/readings', { schema: { querystring: readingsQuery } }, async (req, reply) => {
    const query = req.query;
    const q = parseHistoryQuery(query);
    // The registry is the allow-list: only ids the hub has seen reach InfluxQL. Own
    // keys only: `constructor` is an id, not the sensors object's prototype.
    const sensors = deps.registry.get(q.device)?.sensors;
    const sensor = sensors && Object.hasOwn(sensors, q.sensor) ? sensors[q.sensor] : undefined;
    if (!sensor) return notFound(`no sensor ${q.device}/${q.sensor}`);
    const now = Date.now();
    const rollups = deps.rollups ?? [];
    const rawKeeps = deps.rawKeepsMs ?? Number.POSITIVE_INFINITY;
    if (query.every === 'auto') q.every = everyForRollups(q, rollups, now, rawKeeps);
    const parts = historyParts(q, pickSource(q, rollups, now, rawKeeps), now);
    const points: Array<Record<string, unknown>> = [];
    for (const part of parts) {
      for (const { time, ...rest } of await deps.influx.rows(
        historyInfluxQL(sensor.metric, part.query, part.source),
      ))
        points.push(
          rest.mean === undefined
            ? { ts: time as number, ...rest }
            : { ts: time as number, ...rest, mean: round6(rest.mean) },
        );
    }
    const first = parts[0]!.source;
    if (query.format === 'csv') {
      const aggregated = q.every > 0;
      const name = deps.registry.get(q.device)?.name ?? '';
      const header = ['time', 'ts', 'device', 'name', 'sensor', 'metric', 'unit'];
      const fields = aggregated ? ['mean', 'min', 'max', 'count'] : ['value'];
      const rows = points.map((p): CsvValue[] => [
        new Date(p.ts as number).toISOString(),
        p.ts as number,
        q.device,
        name,
        q.sensor,
        sensor.metric,
        sensor.unit,
        ...fields.map((f) => p[f] as CsvValue),
      ]);
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header(
          'content-disposition',
          `attachment; filename="${q.device}_${q.sensor}_${fileTime(q.from)}_${fileTime(q.to)}.csv"`,
        )
        .send(toCsv([...header, ...fields], rows));
    }
    return {
      device: q.device,
      sensor: q.sensor,
      metric: sensor.metric,
      unit: sensor.unit,
      from: q.from,
      to: q.to,
      every: q.every,
      source: first.kind === 'raw' ? 'raw' : first.rollup.name,
      // A rollup answer ends with raw data for the intervals not rolled up yet.
      ...(parts.length > 1 ? { rawFrom: parts[1]!.query.from } : {}),
      points,
    };
  });

  app.get('/api/trends', { schema: { querystring: trendsQuery } }, async (req) => {
    const query = req.query;
    const now = Date.now();
    const from = parseTime(query.from ?? '-1h', now) ?? bad('from: expected a time such as -1h');
    if (from >= now) bad('from must be in the past');
    if (now - from > TREND_LIMITS.maxRangeMs) bad('from: the trend range is at most 7 days');
    const points = Number(query.points ?? 30);
    if (!Number.isInteger(points) || points < 2 || points > TREND_LIMITS.maxPoints)
      bad(`points: expected a whole number from 2 to ${TREND_LIMITS.maxPoints}`);
    const every = autoEvery(now - from, points);
    const found = await deps.influx.query(
      `SELECT mean(value) FROM /.*/ WHERE time >= ${Math.floor(from)}ms GROUP BY time(${every}ms), device, sensor fill(none)`,
    );
    const series = found
      .filter((s) => s.tags?.device && s.tags.sensor && deps.registry.has(s.tags.device))
      .map((s) => ({
        device: s.tags!.device!,
        sensor: s.tags!.sensor!,
        ts: s.values.map((v) => v[0] as number),
        values: s.values.map((v) => round6(v[1]) as number),
      }));
    return { from, to: now, every, series };
  });
};
