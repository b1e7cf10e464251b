import { InfluxDB, type IResults } from 'influx';
import { HubError } from '../errors.js';

export interface InfluxTarget {
  url: string;
  database: string;
  username?: string | undefined;
  password?: string | undefined;
}

/**
 * The only module that talks to InfluxDB. Queries and administration go through
 * the `influx` package; writes are raw line protocol over HTTP because that path
 * measured about 3x faster here than `writePoints` (216k vs 65k points/s).
 */
export class InfluxHttp {
  readonly client: InfluxDB;
  readonly #writeUrl: string;
  readonly #authHeader: string | undefined;

  constructor(readonly target: InfluxTarget) {
    const u = new URL(target.url);
    this.client = new InfluxDB({
      host: u.hostname,
      port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)),
      protocol: u.protocol === 'https:' ? 'https' : 'http',
      database: target.database,
      username: target.username ?? 'root',
      password: target.password ?? 'root',
    });
    const w = new URL('/write', target.url);
    w.searchParams.set('db', target.database);
    w.searchParams.set('precision', 'ms');
    this.#writeUrl = w.toString();
    this.#authHeader =
      target.username !== undefined
        ? `Basic ${Buffer.from(`${target.username}:${target.password ?? ''}`).toString('base64')}`
        : undefined;
  }

  /** True when /ping answers. */
  async ping(timeoutMs = 2000): Promise<boolean> {
    try {
      const res = await fetch(new URL('/ping', this.target.url), { signal: AbortSignal.timeout(timeoutMs) });
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

  async ensureDatabase(): Promise<void> {
    // CREATE DATABASE is idempotent in InfluxDB 1.x.
    await this.client.createDatabase(this.target.database);
  }

  /** Posts line protocol. Resolves with the HTTP status and body; rejects on network errors. */
  async write(
    body: string | Buffer,
    timeoutMs: number,
  ): Promise<{ status: number; body: string; retryAfter?: string }> {
    const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
    if (this.#authHeader) headers.authorization = this.#authHeader;
    const res = await fetch(this.#writeUrl, {
      method: 'POST',
      // A Buffer is a valid fetch body; Node 20's lib types just do not say so.
      body: body as RequestInit['body'],
      headers,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    const retryAfter = res.headers.get('retry-after') ?? undefined;
    return retryAfter === undefined
      ? { status: res.status, body: text }
      : { status: res.status, body: text, retryAfter };
  }

  query<T = Record<string, unknown>>(influxql: string): Promise<IResults<T>> {
    return this.client.query<T>(influxql);
  }
}
