import { escape as influxEscape } from 'influx';
import { parseDuration } from '../core/duration.js';
import { HubError } from '../core/errors.js';
import { isValidId } from '../core/reading.js';
import type { Rollup } from '../storage/retention.js';

export type { Rollup } from '../storage/retention.js';

/** Caps that keep one history request from hurting the server. */
const HISTORY_LIMITS = {
  maxRangeMs: 400 * 86_400_000,
  maxPoints: 10_000,
  minEveryMs: 1000,
} as const;

/** Intervals `every=auto` chooses from: round numbers an operator reads at a glance. */
const NICE_STEPS_MS = [
  1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400,
].map((s) => s * 1000);

/** The smallest round interval that keeps (to - from) / every at or under `points`. */
export function autoEvery(rangeMs: number, points: number): number {
  const want = rangeMs / points;
  return NICE_STEPS_MS.find((s) => s >= want) ?? Math.ceil(want / 86_400_000) * 86_400_000;
}

export interface HistoryQuery {
  device: string;
  sensor: string;
  from: number;
  to: number;
  /** Aggregation interval in ms; 0 = raw points. */
  every: number;
}

/** The span of a JavaScript Date (±100,000,000 days), well inside what InfluxDB stores. */
const MAX_TIME_MS = 8.64e15;

/** Reads a time as epoch ms, an ISO 8601 string, "now", or a negative duration from now ("-1h"). */
export function parseTime(v: string, now: number): number | undefined {
  const t = readTime(v, now);
  return t !== undefined && Number.isFinite(t) && Math.abs(t) <= MAX_TIME_MS ? t : undefined;
}

function readTime(v: string, now: number): number | undefined {
  if (v === 'now') return now;
  const rel = /^-(.+)$/.exec(v);
  if (rel) {
    const d = parseDuration(rel[1]!);
    return d === undefined ? undefined : now - d;
  }
  if (/^\d+$/.test(v)) return Number(v);
  const t = Date.parse(v);
  return Number.isFinite(t) ? t : undefined;
}

/** Refuses a request with HTTP 400 and the reason. */
export function bad(message: string): never {
  throw new HubError('HUB_BAD_REQUEST', message);
}

export function parseHistoryQuery(q: Record<string, string | undefined>, now = Date.now()): HistoryQuery {
  const device = q.device ?? bad('device is required');
  const sensor = q.sensor ?? bad('sensor is required');
  if (!isValidId(device)) bad('device: expected an id of [A-Za-z0-9_.-]{1,64}');
  if (!isValidId(sensor)) bad('sensor: expected an id of [A-Za-z0-9_.-]{1,64}');
  const to =
    q.to === undefined
      ? now
      : (parseTime(q.to, now) ?? bad(`to: cannot read ${JSON.stringify(q.to)} as a time`));
  const from =
    q.from === undefined
      ? to - 3_600_000
      : (parseTime(q.from, now) ?? bad(`from: cannot read ${JSON.stringify(q.from)} as a time`));
  if (from >= to) bad('from must be before to');
  if (to - from > HISTORY_LIMITS.maxRangeMs)
    bad(`the range is longer than ${HISTORY_LIMITS.maxRangeMs / 86_400_000} days`);
  let every = 0;
  if (q.every === 'auto') {
    const points = q.points === undefined ? 600 : Number(q.points);
    if (!Number.isInteger(points) || points < 10 || points > 2000)
      bad('points: expected a whole number from 10 to 2000');
    every = autoEvery(to - from, points);
  } else if (q.every !== undefined) {
    every =
      parseDuration(q.every) ??
      bad(`every: expected a duration such as "1m", got ${JSON.stringify(q.every)}`);
    if (every < HISTORY_LIMITS.minEveryMs) bad(`every must be at least ${HISTORY_LIMITS.minEveryMs} ms`);
    if ((to - from) / every > HISTORY_LIMITS.maxPoints) {
      bad(
        `${Math.ceil((to - from) / every)} intervals is more than ${HISTORY_LIMITS.maxPoints}; choose a larger every`,
      );
    }
  }
  return { device, sensor, from, to, every };
}

/**
 * An InfluxQL string literal: quote and backslash escaped, a newline (a literal
 * cannot hold one) as backslash-n. Not `influx`'s `escape.stringLit`, which escapes
 * only the quote: a backslash before a quote, or a newline, ends its literal early
 * (the history-api test's ids then fail to parse as one statement).
 */
export const quoteString = (s: string) => `'${s.replace(/['\\]/g, '\\$&').replace(/\n/g, '\\n')}'`;

export type HistorySource = { kind: 'raw' } | { kind: 'rollup'; rollup: Rollup };

/** A range at least this long reads a rollup when one fits: raw points would be thousands per interval. */
export const LONG_RANGE_MS = 86_400_000;

/**
 * How long after an interval ends its rollup point is trusted to exist: the
 * continuous query runs when the interval is over, and takes a moment.
 */
export const ROLLUP_GRACE_MS = 60_000;

/**
 * Raw data for raw points or when no rollup fits; otherwise the coarsest rollup whose
 * interval divides `every` and which still holds the start of the range, used when
 * the range is long (LONG_RANGE_MS) or starts before raw data is kept (`rawKeepsMs`).
 */
export function pickSource(
  q: HistoryQuery,
  rollups: readonly Rollup[],
  now = Date.now(),
  rawKeepsMs = Number.POSITIVE_INFINITY,
): HistorySource {
  if (q.every === 0) return { kind: 'raw' };
  const beyondRaw = q.from < now - rawKeepsMs;
  if (q.to - q.from < LONG_RANGE_MS && !beyondRaw) return { kind: 'raw' };
  const fits = rollups
    .filter((r) => r.intervalMs <= q.every && q.every % r.intervalMs === 0 && q.from >= now - r.keepsMs)
    .sort((a, b) => b.intervalMs - a.intervalMs);
  return fits[0] ? { kind: 'rollup', rollup: fits[0] } : { kind: 'raw' };
}

/**
 * For `every=auto` on a range that starts before raw data is kept: the interval
 * raised to the finest rollup that still holds the range, so the answer is not empty
 * because the chosen interval was finer than any rollup. Otherwise `every` unchanged.
 */
export function everyForRollups(
  q: HistoryQuery,
  rollups: readonly Rollup[],
  now = Date.now(),
  rawKeepsMs = Number.POSITIVE_INFINITY,
): number {
  if (q.every === 0 || q.from >= now - rawKeepsMs) return q.every;
  if (rollups.some((r) => q.every % r.intervalMs === 0 && q.from >= now - r.keepsMs)) return q.every;
  const finest = rollups
    .filter((r) => q.from >= now - r.keepsMs)
    .sort((a, b) => a.intervalMs - b.intervalMs)[0];
  return finest ? Math.ceil(q.every / finest.intervalMs) * finest.intervalMs : q.every;
}

/** One InfluxQL query of a history answer, over [from, to] of one source. */
export interface HistoryPart {
  source: HistorySource;
  query: HistoryQuery;
}

/**
 * The queries of one history answer. A rollup lacks its newest intervals (written
 * when each is over, ROLLUP_GRACE_MS later), so a rollup read is stitched: rollup
 * points up to the last `every` boundary they cover completely, raw data from there
 * to `to`. The boundary is aligned to `every` (InfluxDB aligns GROUP BY time to the
 * epoch), so no returned interval mixes the two sources.
 */
export function historyParts(q: HistoryQuery, source: HistorySource, now = Date.now()): HistoryPart[] {
  if (source.kind === 'raw') return [{ source, query: q }];
  const { intervalMs } = source.rollup;
  const complete = Math.floor((now - ROLLUP_GRACE_MS) / intervalMs) * intervalMs;
  const cut = Math.floor(complete / q.every) * q.every;
  if (cut <= q.from) return [{ source: { kind: 'raw' }, query: q }];
  if (cut > q.to) return [{ source, query: q }];
  return [
    { source, query: { ...q, to: cut - 1 } },
    { source: { kind: 'raw' }, query: { ...q, from: cut } },
  ];
}

/**
 * InfluxQL for a history query; every identifier and literal goes through the
 * `influx` escapes. Over a rollup the mean is weighted by each interval's count
 * (sum of mean x count over sum of count), min is the min of mins, max the max of
 * maxes, count the sum of counts.
 */
export function historyInfluxQL(
  metric: string,
  q: HistoryQuery,
  source: HistorySource = { kind: 'raw' },
): string {
  const time = `time >= ${Math.floor(q.from)}ms AND time <= ${Math.floor(q.to)}ms`;
  const where = `device = ${quoteString(q.device)} AND sensor = ${quoteString(q.sensor)} AND ${time}`;
  const group = `GROUP BY time(${Math.floor(q.every)}ms) fill(none)`;
  if (source.kind === 'rollup') {
    const from = `${influxEscape.quoted(source.rollup.retentionPolicy)}.${influxEscape.quoted(metric)}`;
    const inner = `SELECT "mean" * "count" AS weighted, "count", "min", "max" FROM ${from} WHERE ${where}`;
    return `SELECT sum(weighted) / sum(count) AS mean, min(min) AS min, max(max) AS max, sum(count) AS count FROM (${inner}) WHERE ${time} ${group}`;
  }
  if (q.every === 0) {
    return `SELECT value FROM ${influxEscape.quoted(metric)} WHERE ${where} ORDER BY time ASC LIMIT ${HISTORY_LIMITS.maxPoints}`;
  }
  return `SELECT mean(value) AS mean, min(value) AS min, max(value) AS max, count(value) AS count FROM ${influxEscape.quoted(metric)} WHERE ${where} ${group}`;
}
