import type { HubHandle } from '../hub.js';
import { WaitTimeoutError } from './waits.js';

/** An InfluxQL string literal. */
const literal = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
/** An InfluxQL identifier. */
const ident = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** Points of a device (and sensor, metric) that InfluxDB answers for now. */
export async function queryCount(
  hub: HubHandle,
  m: { device: string; sensor?: string; metric?: string },
): Promise<number> {
  const where = [`device = ${literal(m.device)}`, ...(m.sensor ? [`sensor = ${literal(m.sensor)}`] : [])];
  const from = m.metric ? ident(m.metric) : '/.*/';
  const url = new URL('/query', hub.influxUrl);
  url.searchParams.set('db', hub.config.influx.database);
  url.searchParams.set('q', `SELECT count(value) FROM ${from} WHERE ${where.join(' AND ')}`);
  const headers: Record<string, string> = {};
  const { username, password } = hub.config.influx;
  if (username)
    headers.authorization = `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}`;
  const res = await fetch(url, { headers });
  if (!res.ok) throw new Error(`InfluxDB answered ${res.status} to a count query`);
  const body = (await res.json()) as {
    results: Array<{ error?: string; series?: Array<{ values: unknown[][] }> }>;
  };
  const r = body.results[0];
  if (r?.error) throw new Error(`InfluxDB: ${r.error}`);
  return (r?.series ?? []).reduce((n, s) => n + Number(s.values[0]?.[1] ?? 0), 0);
}

/** Polls until InfluxDB holds `count` points of the match, flushing the hub between polls. */
export async function storedCount(
  hub: HubHandle,
  m: { device: string; sensor?: string; metric?: string },
  count: number,
  timeoutMs: number,
  flush: () => Promise<unknown>,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = 0;
  let lastError: unknown;
  for (;;) {
    try {
      await flush();
      last = await queryCount(hub, m);
      if (last >= count) return last;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const what = [m.device, m.sensor].filter(Boolean).join('/') + (m.metric ? ` (${m.metric})` : '');
      throw new WaitTimeoutError(
        `InfluxDB holds ${last} of ${count} points of ${what} after ${timeoutMs} ms` +
          (lastError ? `; last error: ${(lastError as Error).message}` : ''),
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
