import { RejectError } from './errors.js';

/** A decimal number as text: "21.5", "-3", "1e3" (no hex, no blanks). */
export const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
/** ISO 8601 date-time without "Z" or an offset, as Tasmota and many scripts send it. */
const ZONELESS = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?$/;
const ZONED = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}([.,]\d+)?)?\s*(Z|[+-]\d{2}(:?\d{2})?)$/i;

const formats = new Map<string, Intl.DateTimeFormat>();

function formatFor(zone: string): Intl.DateTimeFormat {
  let f = formats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formats.set(zone, f);
  }
  return f;
}

/** Whether Intl knows the IANA zone name ("UTC", "Europe/Berlin"). */
export function isValidZone(zone: string): boolean {
  try {
    formatFor(zone);
    return true;
  } catch {
    return false;
  }
}

/** Offset of a zone from UTC at an instant, in ms (Europe/Berlin in summer: +7_200_000). */
function offsetAt(zone: string, utcMs: number): number {
  const parts: Record<string, number> = {};
  for (const p of formatFor(zone).formatToParts(new Date(utcMs))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  const asUtc = Date.UTC(
    parts.year!,
    parts.month! - 1,
    parts.day!,
    parts.hour!,
    parts.minute!,
    parts.second!,
  );
  return asUtc - Math.floor(utcMs / 1000) * 1000;
}

/**
 * Wall-clock fields read in a zone to epoch ms. Two passes settle the offset around
 * DST changes; a time inside the spring-forward gap lands one hour later, as most
 * libraries (and Temporal's "compatible" disambiguation) do.
 */
export function zonedToEpoch(fields: number[], zone: string): number {
  const [y, mo, d, h, mi, s, ms] = fields as [number, number, number, number, number, number, number];
  const wall = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  if (zone === 'UTC') return wall;
  const first = offsetAt(zone, wall);
  let t = wall - first;
  const second = offsetAt(zone, t);
  if (second !== first) t = wall - second;
  return t;
}

/**
 * Reads a device time: epoch ms, epoch s (numbers below 1e11), or an ISO 8601
 * string. A string with "Z" or an offset is exact; one without (Tasmota's "Time")
 * is wall-clock time in `zone` (config `time.zone`, default UTC, as Telegraf's
 * json_timezone). The seconds heuristic applies to numbers only: an ISO string
 * for 1970 stays in 1970 (and is then clamped as too old).
 */
export function parseDeviceTime(v: unknown, zone = 'UTC'): number {
  let ms: number;
  const numeric = typeof v === 'number' || (typeof v === 'string' && NUMBER.test(v.trim()));
  if (numeric) {
    ms = Number(v);
    // 1e11 ms is March 1973 and 1e11 s is year 5138: below it, a value is seconds.
    if (Number.isFinite(ms) && ms >= 0 && ms < 1e11) ms *= 1000;
  } else if (typeof v === 'string') {
    const s = v.trim();
    const m = ZONELESS.exec(s);
    if (m) {
      const frac = m[7] ? Number(`0.${m[7]}`) * 1000 : 0;
      const fields = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0));
      const [, mo, d, h, mi, sec] = fields as [number, number, number, number, number, number];
      if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        throw new RejectError('invalid_timestamp', `cannot read ${JSON.stringify(s.slice(0, 40))} as a time`);
      ms = zonedToEpoch([...fields, Math.floor(frac)], zone);
    } else if (ZONED.test(s)) {
      ms = Date.parse(s.replace(' ', 'T'));
    } else {
      throw new RejectError(
        'invalid_timestamp',
        `cannot read ${JSON.stringify(s.slice(0, 40))} as a time (expected epoch ms/s or ISO 8601)`,
      );
    }
  } else {
    throw new RejectError('invalid_timestamp', `timestamp is ${v === null ? 'null' : typeof v}`);
  }
  // A negative number is no time; a date string before 1970 is a real date (a clock
  // that never synced, read in a zone east of UTC): the time step clamps it.
  if (!Number.isFinite(ms) || (ms < 0 && numeric))
    throw new RejectError('invalid_timestamp', `cannot read ${JSON.stringify(v)} as a time`);
  return Math.round(ms);
}
