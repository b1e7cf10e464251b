import { parseDuration } from '../core/duration.js';
import { HubError } from '../core/errors.js';
import { isValidId } from '../core/reading.js';
import { quoteIdent } from '../storage/influx-http.js';

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

/** An InfluxQL string literal: quote and backslash escaped, a newline (a literal cannot hold one) as backslash-n. */
export const quoteString = (s: string) => `'${s.replace(/['\\]/g, '\\$&').replace(/\n/g, '\\n')}'`;

/**
 * Where a history query reads from: the raw measurement, or a rollup (a retention
 * policy holding mean/min/max/count per interval, written by a continuous query or
 * the hub). Rollups are declared, not discovered, so a request can never name one.
 */
export interface Rollup {
  name: string;
  retentionPolicy: string;
  intervalMs: number;
  /** How far back the rollup holds data. */
  keepsMs: number;
}

export type HistorySource = { kind: 'raw' } | { kind: 'rollup'; rollup: Rollup };

/**
 * Raw data for raw points or when no rollup fits; otherwise the coarsest rollup whose
 * interval divides `every` and which still holds the start of the range.
 */
export function pickSource(q: HistoryQuery, rollups: readonly Rollup[], now = Date.now()): HistorySource {
  if (q.every === 0) return { kind: 'raw' };
  const fits = rollups
    .filter((r) => r.intervalMs <= q.every && q.every % r.intervalMs === 0 && q.from >= now - r.keepsMs)
    .sort((a, b) => b.intervalMs - a.intervalMs);
  return fits[0] ? { kind: 'rollup', rollup: fits[0] } : { kind: 'raw' };
}

/** InfluxQL for a history query. Identifiers were checked against the id alphabet and are quoted anyway. */
export function historyInfluxQL(
  metric: string,
  q: HistoryQuery,
  source: HistorySource = { kind: 'raw' },
): string {
  const where = `device = ${quoteString(q.device)} AND sensor = ${quoteString(q.sensor)} AND time >= ${Math.floor(q.from)}ms AND time <= ${Math.floor(q.to)}ms`;
  const group = `GROUP BY time(${Math.floor(q.every)}ms) fill(none)`;
  if (source.kind === 'rollup') {
    const from = `${quoteIdent(source.rollup.retentionPolicy)}.${quoteIdent(metric)}`;
    return `SELECT mean(mean) AS mean, min(min) AS min, max(max) AS max, sum(count) AS count FROM ${from} WHERE ${where} ${group}`;
  }
  if (q.every === 0) {
    return `SELECT value FROM ${quoteIdent(metric)} WHERE ${where} ORDER BY time ASC LIMIT ${HISTORY_LIMITS.maxPoints}`;
  }
  return `SELECT mean(value) AS mean, min(value) AS min, max(value) AS max, count(value) AS count FROM ${quoteIdent(metric)} WHERE ${where} ${group}`;
}
