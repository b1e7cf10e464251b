import { parseDuration } from '../core/duration.js';
import { isValidId } from '../core/reading.js';
import { HubError } from '../errors.js';

/** Caps that keep one history request from hurting the server. */
export const HISTORY_LIMITS = {
  maxRangeMs: 400 * 86_400_000,
  maxPoints: 10_000,
  minEveryMs: 1000,
} as const;

export interface HistoryQuery {
  device: string;
  sensor: string;
  from: number;
  to: number;
  /** Aggregation interval in ms; 0 = raw points. */
  every: number;
}

/** Reads a time as epoch ms, an ISO 8601 string, "now", or a negative duration from now ("-1h"). */
export function parseTime(v: string, now: number): number | undefined {
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

function bad(message: string): never {
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
  if (q.every !== undefined) {
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

const quoteIdent = (s: string) => `"${s.replace(/["\\]/g, '\\$&')}"`;
const quoteString = (s: string) => `'${s.replace(/['\\]/g, '\\$&')}'`;

/** InfluxQL for a history query. Identifiers were checked against the id alphabet and are quoted anyway. */
export function historyInfluxQL(metric: string, q: HistoryQuery): string {
  const where = `device = ${quoteString(q.device)} AND sensor = ${quoteString(q.sensor)} AND time >= ${Math.floor(q.from)}ms AND time <= ${Math.floor(q.to)}ms`;
  if (q.every === 0) {
    return `SELECT value FROM ${quoteIdent(metric)} WHERE ${where} ORDER BY time ASC LIMIT ${HISTORY_LIMITS.maxPoints}`;
  }
  return `SELECT mean(value) AS mean, min(value) AS min, max(value) AS max, count(value) AS count FROM ${quoteIdent(metric)} WHERE ${where} GROUP BY time(${Math.floor(q.every)}ms) fill(none)`;
}
