import { HubError } from '../errors.js';

/** An InfluxQL identifier in double quotes, with quotes and backslashes escaped. */
export const quoteIdent = (s: string) => `"${s.replace(/["\\]/g, '\\$&')}"`;

export interface InfluxTarget {
  url: string;
  database: string;
  username?: string | undefined;
  password?: string | undefined;
}

export interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

/**
 * The only module that talks to InfluxDB, through the 1.x HTTP API (/ping, /write,
 * /query), which InfluxDB 2.x and 3.x also serve. Every call has its own timeout
 * and no retry of its own: the writer owns the retry policy. (The `influx` package
 * was tried first: its pool disables a host after one failure and answers "No host
 * available" during its own backoff, which hid a recovered server from the writer;
 * and its writePoints measured 3x slower than raw line protocol here.)
 */
export class InfluxHttp {
  readonly #headers: Record<string, string> = {};

  constructor(readonly target: InfluxTarget) {
    if (target.username !== undefined) {
      this.#headers.authorization = `Basic ${Buffer.from(`${target.username}:${target.password ?? ''}`).toString('base64')}`;
    }
  }

  #url(path: string, params: Record<string, string>): string {
    const u = new URL(path, this.target.url);
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
    return u.toString();
  }

  /** True when /ping answers. */
  async ping(timeoutMs = 2000): Promise<boolean> {
    try {
      const res = await fetch(this.#url('/ping', {}), {
        headers: this.#headers,
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.arrayBuffer();
      return res.status === 204 || res.status === 200;
    } catch {
      return false;
    }
  }

  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await this.ping(1000)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new HubError(
      'HUB_INFLUX_UNREACHABLE',
      `InfluxDB at ${this.target.url} did not answer /ping within ${timeoutMs} ms`,
    );
  }

  /** CREATE DATABASE is idempotent in InfluxDB 1.x. */
  async ensureDatabase(timeoutMs = 5000): Promise<void> {
    await this.#query(`CREATE DATABASE ${quoteIdent(this.target.database)}`, 'POST', timeoutMs);
  }

  /** Posts line protocol with microsecond timestamps. Rejects on network errors only. */
  async write(
    body: string | Buffer,
    timeoutMs: number,
  ): Promise<{ status: number; body: string; retryAfter?: string }> {
    const res = await fetch(this.#url('/write', { db: this.target.database, precision: 'u' }), {
      method: 'POST',
      // A Buffer is a valid fetch body; Node 20's lib types just do not say so.
      body: body as RequestInit['body'],
      headers: { ...this.#headers, 'content-type': 'text/plain; charset=utf-8' },
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    const retryAfter = res.headers.get('retry-after') ?? undefined;
    return retryAfter === undefined
      ? { status: res.status, body: text }
      : { status: res.status, body: text, retryAfter };
  }

  /** Runs one InfluxQL statement; times come back as epoch milliseconds. */
  async query(influxql: string, timeoutMs = 10_000): Promise<InfluxSeries[]> {
    return this.#query(influxql, 'GET', timeoutMs);
  }

  /** Runs a statement that changes something (CREATE, ALTER, DROP): InfluxDB 1.x wants POST. */
  async admin(influxql: string, timeoutMs = 10_000): Promise<InfluxSeries[]> {
    return this.#query(influxql, 'POST', timeoutMs);
  }

  /** Rows of every series, with their tags, as plain objects. */
  async rows(influxql: string, timeoutMs = 10_000): Promise<Array<Record<string, unknown>>> {
    const out: Array<Record<string, unknown>> = [];
    for (const s of await this.query(influxql, timeoutMs)) {
      for (const v of s.values) {
        const row: Record<string, unknown> = { ...s.tags };
        s.columns.forEach((c, i) => {
          row[c] = v[i];
        });
        out.push(row);
      }
    }
    return out;
  }

  async #query(q: string, method: 'GET' | 'POST', timeoutMs: number): Promise<InfluxSeries[]> {
    const params = { db: this.target.database, q, epoch: 'ms' };
    const res = await fetch(this.#url('/query', params), {
      method,
      headers: this.#headers,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let body: { results?: Array<{ series?: InfluxSeries[]; error?: string }>; error?: string };
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`InfluxDB answered ${res.status}: ${text.slice(0, 200)}`);
    }
    const first = body.results?.[0];
    const error = body.error ?? first?.error;
    if (error || !res.ok) throw new Error(`InfluxDB: ${error ?? `HTTP ${res.status}`}`);
    return first?.series ?? [];
  }
}
