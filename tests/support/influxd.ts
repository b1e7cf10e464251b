import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { type ManagedInfluxd, startManagedInfluxd } from '../../hub/storage/managed-influxd.js';

export interface TestInfluxd {
  url: string;
  dataDir: string;
  /** Runs InfluxQL and returns the series of the first statement. */
  query(
    db: string,
    q: string,
  ): Promise<Array<{ name: string; columns: string[]; values: unknown[][]; tags?: Record<string, string> }>>;
  /** Number of points in a measurement (or all of a database with /.*​/). */
  count(db: string, measurement?: string): Promise<number>;
  stop(): Promise<void>;
  restart(): Promise<void>;
  proc: ManagedInfluxd;
  /** Credentials for query() and count() once auth-enabled has a user. */
  auth?: { username: string; password: string };
}

/** A real influxd on a free port with a throwaway data folder. */
export async function startTestInfluxd(
  port = 0,
  extra: { maxBodySize?: number; authEnabled?: boolean } = {},
): Promise<TestInfluxd> {
  const dataDir = mkdtempSync(join(tmpdir(), 'hub-influxd-'));
  const log = pino({ level: 'silent' });
  let proc = await startManagedInfluxd({ binary: 'influxd', dataDir, port, log, ...extra });
  const fixedPort = Number(new URL(proc.url).port);
  const self: TestInfluxd = {
    url: proc.url,
    dataDir,
    proc,
    async query(db, q) {
      const u = new URL('/query', proc.url);
      u.searchParams.set('db', db);
      u.searchParams.set('q', q);
      u.searchParams.set('epoch', 'ms');
      if (self.auth) {
        u.searchParams.set('u', self.auth.username);
        u.searchParams.set('p', self.auth.password);
      }
      const res = await fetch(u);
      const body = (await res.json()) as { results: Array<{ series?: never[]; error?: string }> };
      const first = body.results[0];
      if (first?.error) throw new Error(first.error);
      return first?.series ?? [];
    },
    async count(db, measurement = '/.*/') {
      const series = await self.query(db, `SELECT count(value) FROM ${measurement}`);
      return series.reduce((n, s) => n + Number(s.values[0]?.[1] ?? 0), 0);
    },
    async stop() {
      await proc.stop();
    },
    async restart() {
      proc = await startManagedInfluxd({ binary: 'influxd', dataDir, port: fixedPort, log, ...extra });
      self.proc = proc;
    },
  };
  const stop = self.stop;
  self.stop = async () => {
    await stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  return self;
}

let n = 0;
/** A database name no other test in this run uses. */
export function uniqueDb(prefix = 't'): string {
  n++;
  return `${prefix}_${process.pid}_${n}_${Math.random().toString(36).slice(2, 7)}`;
}
