import { escape as influxEscape } from 'influx';
import type { InfluxHttp } from './influx-http.js';

export interface RetentionConfig {
  manage: boolean;
  raw: string;
  minute: string;
  hour: string;
}

/**
 * A rollup as the history API reads it: a retention policy holding, per interval and
 * under the raw measurement names and tags, the fields `mean`, `min`, `max` and
 * `count` of `value`. Declared by the hub, never named by a request.
 */
export interface Rollup {
  /** What `/api/readings` answers as `source`. */
  name: string;
  retentionPolicy: string;
  intervalMs: number;
  /** How far back the rollup holds data (Infinity for INF). */
  keepsMs: number;
}

/** Names the dashboard, the HTTP API and Grafana exports query (docs/storage.md, "Retention and rollups"). */
export const RP_RAW = 'raw';

/**
 * The one definition of the rollups: the retention policies and continuous queries
 * that write them and the history API that reads them both come from this list.
 */
export const ROLLUPS = [
  { name: 'rollup_1m', every: '1m', intervalMs: 60_000, key: 'minute', cq: 'cq_rollup_1m' },
  { name: 'rollup_1h', every: '1h', intervalMs: 3_600_000, key: 'hour', cq: 'cq_rollup_1h' },
] as const;

/** The fields of every rollup point, as the continuous queries compute them from raw `value`. */
export const ROLLUP_SELECT =
  'SELECT mean("value") AS "mean", min("value") AS "min", max("value") AS "max", count("value") AS "count"';

/** "30d" -> ms; INF -> undefined. */
export function rpMillis(d: string): number | undefined {
  const m = /^(\d+)([hdw])$/.exec(d);
  if (!m) return undefined;
  return Number(m[1]) * { h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as 'h' | 'd' | 'w'];
}

/**
 * The rollups history may read, with how far back each one reaches under this
 * config; none when the hub does not manage retention (a shared InfluxDB may have
 * no such policies).
 */
export function declaredRollups(cfg: RetentionConfig): Rollup[] {
  if (!cfg.manage) return [];
  return ROLLUPS.map((r) => ({
    name: r.name,
    retentionPolicy: r.name,
    intervalMs: r.intervalMs,
    keepsMs: rpMillis(cfg[r.key]) ?? Number.POSITIVE_INFINITY,
  }));
}

/** How far back raw readings reach (Infinity when unknown or INF). */
export function rawKeepsMs(cfg: RetentionConfig): number {
  return (cfg.manage ? rpMillis(cfg.raw) : undefined) ?? Number.POSITIVE_INFINITY;
}

/** The body of a rollup's continuous query: every raw measurement, all tags kept. */
export function rollupCqQuery(db: string, rollup: (typeof ROLLUPS)[number]): string {
  const into = `${influxEscape.quoted(db)}.${influxEscape.quoted(rollup.name)}.:MEASUREMENT`;
  const from = `${influxEscape.quoted(db)}.${influxEscape.quoted(RP_RAW)}./.*/`;
  return `${ROLLUP_SELECT} INTO ${into} FROM ${from} GROUP BY time(${rollup.every}), *`;
}

/**
 * Retention and downsampling in InfluxDB 1.x itself: raw points in RP "raw" (the
 * database default, so plain writes land there), and continuous queries that keep
 * mean/min/max/count of `value` per minute and per hour, under the same measurement
 * names, in RPs "rollup_1m" and "rollup_1h". Idempotent: an existing RP is altered to
 * the configured duration, an existing CQ (by name) is left as it is.
 */
export async function ensureRetention(influx: InfluxHttp, db: string, cfg: RetentionConfig): Promise<void> {
  if (!cfg.manage) return;
  const rps: Array<[string, string, boolean]> = [
    [RP_RAW, cfg.raw, true],
    ...ROLLUPS.map((r): [string, string, boolean] => [r.name, cfg[r.key], false]),
  ];
  const have = new Set(
    (await influx.adminCall((c) => c.showRetentionPolicies(db))).map((p) => String(p.name)),
  );
  for (const [name, duration, isDefault] of rps) {
    const options = { database: db, duration, replication: 1, isDefault };
    await influx.adminCall((c) =>
      have.has(name) ? c.alterRetentionPolicy(name, options) : c.createRetentionPolicy(name, options),
    );
  }
  const existing = new Set<string>();
  for (const series of await influx.query('SHOW CONTINUOUS QUERIES'))
    if (series.name === db) for (const v of series.values ?? []) existing.add(String(v[0]));
  for (const r of ROLLUPS) {
    if (existing.has(r.cq)) continue;
    await influx.adminCall((c) => c.createContinuousQuery(r.cq, rollupCqQuery(db, r), db));
  }
}
