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
  | { kind: 'split'; reason: string }
  | { kind: 'type_conflict'; measurements: string[]; reason: string }
  | { kind: 'retention'; reason: string }
  | { kind: 'bad'; reason: string }
  | { kind: 'no_database'; reason: string };

export function classify(status: number, body: string, retryAfter?: string): WriteVerdict {
  if (status === 204 || status === 200) return { kind: 'ok' };
  const text = errorText(body);
  const reason = `${status} ${text}`;
  if (status === 404 && /database not found/.test(body)) return { kind: 'no_database', reason };
  if (status === 413) return { kind: 'split', reason };
  if (status >= 500 || status === 429 || status === 408) {
    const ms = parseRetryAfter(retryAfter);
    return ms === undefined ? { kind: 'retry', reason } : { kind: 'retry', retryAfterMs: ms, reason };
  }
  if (/field type conflict/.test(body)) {
    const measurements = [...text.matchAll(/on measurement "([^"]*)"/g)].map((m) => m[1]!);
    return { kind: 'type_conflict', measurements, reason };
  }
  if (/beyond retention policy/.test(body)) return { kind: 'retention', reason };
  return { kind: 'bad', reason };
}

function errorText(body: string): string {
  try {
    const j = JSON.parse(body) as { error?: string };
    if (typeof j.error === 'string') return j.error;
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
