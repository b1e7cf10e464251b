import http from 'node:http';
import https from 'node:https';
import { InfluxDB, escape as influxEscape } from 'influx';
import type { IBackoffStrategy } from 'influx/lib/src/backoff/backoff.js';
import { HubError } from '../core/errors.js';

/** An InfluxQL identifier in double quotes, with quotes and backslashes escaped. */
export const quoteIdent = (s: string) => influxEscape.quoted(s);

/**
 * The `influx` pool takes a host out of rotation after a failure and answers "No host
 * available" until its backoff ends, even when the server is back. The hub has one
 * server and its own retry policy, so a failed host is back in rotation at once.
 */
const noBackoff: IBackoffStrategy = { getDelay: () => 0, next: () => noBackoff, reset: () => noBackoff };

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
 * and no retry of its own: the writer owns the retry policy. Queries and
 * administration go through the `influx` package (`client`); writes are hand-written
 * line protocol over node:http, because `writePoints` measured about 3x slower on
 * the hot path.
 */
export class InfluxHttp {
  readonly #headers: Record<string, string> = {};
  /** node:http or node:https, as the URL says. */
  readonly #transport: typeof http | typeof https;
  /** Connections kept open between writes (what fetch's own pool does for the other calls). */
  readonly #agent: http.Agent;
  /** Queries and administration (databases, retention policies, continuous queries). */
  readonly client: InfluxDB;

  constructor(readonly target: InfluxTarget) {
    const url = new URL(target.url);
    const tls = url.protocol === 'https:';
    this.client = new InfluxDB({
      host: url.hostname,
      port: Number(url.port || (tls ? 443 : 80)),
      protocol: tls ? 'https' : 'http',
      database: target.database,
      ...(target.username === undefined
        ? {}
        : { username: target.username, password: target.password ?? '' }),
      pool: { maxRetries: 0, backoff: noBackoff, requestTimeout: 60_000 },
    });
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
    await this.#guard(this.client.createDatabase(this.target.database), timeoutMs);
  }

  /**
   * Runs an administration call of the `influx` client with a timeout, its errors in
   * the same words as a query's. (The client's own request timeout is the long
   * backstop; each call here is bounded by `timeoutMs`.)
   */
  async #guard<T>(call: Promise<T>, timeoutMs: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`InfluxDB: no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([call, timeout]);
    } catch (err) {
      throw influxError(err);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs an administration call of `client` (retention policies, continuous queries) with a timeout. */
  adminCall<T>(call: (client: InfluxDB) => Promise<T>, timeoutMs = 10_000): Promise<T> {
    return this.#guard(call(this.client), timeoutMs);
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
    let body: { results?: Array<{ series?: InfluxSeries[]; error?: string }>; error?: string };
    try {
      body = await this.client.queryRaw(q, {
        precision: 'ms',
        method,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw influxError(err);
    }
    const first = body.results?.[0];
    const error = body.error ?? first?.error;
    if (error) throw new Error(`InfluxDB: ${error}`);
    return first?.series ?? [];
  }
}

/** The server's own words for a refused query ("InfluxDB: <error>"), whichever way it came back. */
function influxError(err: unknown): Error {
  const e = err as Error & { res?: { statusCode?: number } };
  if (e.message?.startsWith('InfluxDB')) return e;
  const status = e.res?.statusCode;
  if (status !== undefined) {
    const body = e.message.replace(/^A \d+ .*? error occurred: /, '');
    let said: string | undefined;
    try {
      said = (JSON.parse(body) as { error?: string }).error;
    } catch {
      // not JSON: a proxy's page, say
    }
    return new Error(said ? `InfluxDB: ${said}` : `InfluxDB answered ${status}: ${body.slice(0, 200)}`);
  }
  return Object.assign(new Error(`InfluxDB query failed: ${e.message}`), { cause: err });
}
