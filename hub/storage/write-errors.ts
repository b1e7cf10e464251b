/**
 * What to do with an InfluxDB write response. InfluxDB 1.x answers a batch with some
 * bad points by writing the good ones and returning 400 with, e.g.,
 *   {"error":"partial write: field type conflict: input field \"value\" on measurement
 *    \"temperature\" is type integer, already exists as type float dropped=3"}
 *   {"error":"partial write: points beyond retention policy dropped=2"}
 *   {"error":"unable to parse 'x y': invalid field format"}
 * Writing the same point twice changes nothing (same series and timestamp), so the
 * writer may always resend the rest of a batch.
 */
export type WriteVerdict =
  | { kind: 'ok' }
  | { kind: 'retry'; retryAfterMs?: number; reason: string }
  | { kind: 'refused'; status: number; retryAfterMs?: number; reason: string }
  | { kind: 'split'; reason: string }
  | { kind: 'type_conflict'; measurements: string[]; reason: string }
  | { kind: 'retention'; reason: string }
  | { kind: 'bad'; reason: string }
  | { kind: 'no_database'; reason: string };

/**
 * Answers that are about the points of the batch: InfluxDB 1.x ("unable to parse",
 * "partial write: ..."), 2.x ({"code":"invalid","message":"unable to parse ..."}, 422
 * "partial write") and 3.x ("parsing failed ...", "partial write of line protocol",
 * with the offending "line_number"/"original_line"). Any other refusal is of the
 * request itself (credentials, permissions, a missing bucket, a proxy), and
 * splitting the batch would only quarantine good readings.
 */
const NAMES_POINTS =
  /unable to parse|partial write|field type conflict|beyond retention policy|invalid field|invalid tag|invalid number|invalid boolean|bad timestamp|missing (?:tag|field|measurement)|parsing failed|line_number|original_line|max-values-per-tag/i;

/**
 * Who is wrong, from InfluxDB's answer to a write: the server for now (retry), the
 * request (refused: retried with backoff, readings stay in the spool), or some
 * points (split, quarantine only those).
 */
export function classify(status: number, body: string, retryAfter?: string): WriteVerdict {
  if (status === 204 || status === 200) return { kind: 'ok' };
  const text = errorText(body);
  const reason = `${status} ${text}`;
  const ms = parseRetryAfter(retryAfter);
  const after = ms === undefined ? {} : { retryAfterMs: ms };
  // InfluxDB 1.x's own answer for a database that is not there (yet): the hub creates it.
  // 2.x/3.x "bucket not found" names no database the hub can create: a request refusal.
  if (status === 404 && /database not found/.test(body)) return { kind: 'no_database', reason };
  if (status === 413) return { kind: 'split', reason };
  if (status >= 500 || status === 429 || status === 408) return { kind: 'retry', ...after, reason };
  if ((status === 400 || status === 422) && NAMES_POINTS.test(body)) {
    if (/field type conflict/.test(body)) {
      const measurements = [...text.matchAll(/on measurement "([^"]*)"/g)].map((m) => m[1]!);
      return { kind: 'type_conflict', measurements, reason };
    }
    if (/beyond retention policy/.test(body)) return { kind: 'retention', reason };
    return { kind: 'bad', reason };
  }
  // 401, 403, 404, 3xx (a proxy's redirect), other 2xx and 4xx: nothing says a point is wrong.
  return { kind: 'refused', status, ...after, reason };
}

function errorText(body: string): string {
  try {
    const j = JSON.parse(body) as { error?: unknown; message?: unknown };
    if (typeof j.error === 'string') return j.error;
    if (typeof j.message === 'string') return j.message; // InfluxDB 2.x
  } catch {
    // not JSON
  }
  return body.trim().slice(0, 500);
}

export function parseRetryAfter(v: string | undefined): number | undefined {
  if (!v) return undefined;
  const secs = Number(v);
  if (Number.isFinite(secs)) return Math.min(Math.max(0, secs) * 1000, 60_000);
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.min(Math.max(0, at - Date.now()), 60_000) : undefined;
}

/** The measurement of a line-protocol line (up to the first unescaped comma or space). */
export function measurementOf(line: string): string {
  let i = 0;
  for (; i < line.length; i++) {
    const c = line[i];
    if (c === '\\') i++;
    else if (c === ',' || c === ' ') break;
  }
  return line.slice(0, i).replace(/\\(.)/g, '$1');
}

/** The timestamp at the end of a line, in epoch ms (the hub writes microseconds, precision=u). */
export function timestampOf(line: string): number {
  return Number(line.slice(line.lastIndexOf(' ') + 1)) / 1000;
}

/** The device tag of a line, for the quarantine entry. */
export function deviceOf(line: string): string | undefined {
  const m = /[, ]device=((?:[^,= \\]|\\.)+)/.exec(line);
  return m?.[1]?.replace(/\\(.)/g, '$1');
}
