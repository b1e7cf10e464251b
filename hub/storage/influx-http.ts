import http from 'node:http';
import https from 'node:https';
import { HubError } from '../core/errors.js';

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
  /** node:http or node:https, as the URL says. */
  readonly #transport: typeof http | typeof https;
  /** Connections kept open between writes (what fetch's own pool does for the other calls). */
  readonly #agent: http.Agent;

  constructor(readonly target: InfluxTarget) {
    const tls = new URL(target.url).protocol === 'https:';
    this.#transport = tls ? https : http;
    this.#agent = new (tls ? https.Agent : http.Agent)({ keepAlive: true, maxSockets: 16 });
    if (target.username !== undefined) {
      this.#headers.authorization = `Basic ${Buffer.from(`${target.username}:${target.password ?? ''}`).toString('base64')}`;
    }
  }

  #url(path: string, params: Record<string, string>): string {
    const u = new URL(path, this.target.url);
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
    return u.toString();
  }

  /** Closes the connections kept open for writes. */
  close(): void {
    this.#agent.destroy();
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

  /**
   * Posts line protocol with microsecond timestamps; several buffers are sent one
   * after another as one body. Through node:http, not fetch: fetch copies a buffer
   * body before sending it, and the writer sends hundreds of kilobytes many times a
   * second. Rejects on network errors and timeouts only (`cause` has the error code).
   */
  write(
    body: string | readonly Buffer[],
    timeoutMs: number,
  ): Promise<{ status: number; body: string; retryAfter?: string }> {
    const parts = typeof body === 'string' ? [Buffer.from(body)] : body;
    let length = 0;
    for (const p of parts) length += p.length;
    const url = this.#url('/write', { db: this.target.database, precision: 'u' });
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const fail = (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(Object.assign(new Error(`write to InfluxDB failed: ${err.message}`), { cause: err }));
      };
      const req = this.#transport.request(
        url,
        {
          method: 'POST',
          agent: this.#agent,
          headers: {
            ...this.#headers,
            'content-type': 'text/plain; charset=utf-8',
            'content-length': length,
          },
        },
        (res) => {
          const got: Buffer[] = [];
          res.on('data', (c: Buffer) => got.push(c));
          res.on('error', fail);
          res.on('end', () => {
            clearTimeout(timer);
            const status = res.statusCode ?? 0;
            const text = Buffer.concat(got).toString('utf8');
            const retryAfter = res.headers['retry-after'];
            resolve(retryAfter === undefined ? { status, body: text } : { status, body: text, retryAfter });
          });
        },
      );
      timer = setTimeout(
        () =>
          req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })),
        timeoutMs,
      );
      req.on('error', fail);
      for (const p of parts) req.write(p);
      req.end();
    });
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
