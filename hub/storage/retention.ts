import { type InfluxHttp, quoteIdent } from './influx-http.js';

export interface RetentionConfig {
  manage: boolean;
  raw: string;
  minute: string;
  hour: string;
}

/** Names the dashboard, the HTTP API and Grafana exports query (README, "Retention and rollups"). */
export const RP_RAW = 'raw';
export const ROLLUPS = [
  { rp: 'rollup_1m', every: '1m', key: 'minute', cq: 'cq_rollup_1m' },
  { rp: 'rollup_1h', every: '1h', key: 'hour', cq: 'cq_rollup_1h' },
] as const;

/** "30d" -> ms; INF -> undefined. */
export function rpMillis(d: string): number | undefined {
  const m = /^(\d+)([hdw])$/.exec(d);
  if (!m) return undefined;
  return Number(m[1]) * { h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as 'h' | 'd' | 'w'];
}

/**
 * Retention and downsampling in InfluxDB 1.x itself: raw points in RP "raw" (the
 * database default, so plain writes land there), and continuous queries that keep
 * mean/min/max/count of `value` per minute and per hour, under the same measurement
 * names, in RPs "rollup_1m" and "rollup_1h". Idempotent: CREATE on an existing RP
 * fails, so it is followed by ALTER; CREATE CONTINUOUS QUERY on an existing one with
 * the same text is accepted.
 */
export async function ensureRetention(influx: InfluxHttp, db: string, cfg: RetentionConfig): Promise<void> {
  if (!cfg.manage) return;
  const rps: Array<[string, string, boolean]> = [
    [RP_RAW, cfg.raw, true],
    ...ROLLUPS.map((r): [string, string, boolean] => [r.rp, cfg[r.key], false]),
  ];
  for (const [name, duration, def] of rps) {
    const tail = `ON ${quoteIdent(db)} DURATION ${duration} REPLICATION 1${def ? ' DEFAULT' : ''}`;
    try {
      await influx.admin(`CREATE RETENTION POLICY ${quoteIdent(name)} ${tail}`);
    } catch {
      await influx.admin(`ALTER RETENTION POLICY ${quoteIdent(name)} ${tail}`);
    }
  }
  const existing = new Set<string>();
  for (const series of await influx.query('SHOW CONTINUOUS QUERIES'))
    if (series.name === db) for (const v of series.values ?? []) existing.add(String(v[0]));
  for (const r of ROLLUPS) {
    if (existing.has(r.cq)) continue;
    await influx.admin(
      `CREATE CONTINUOUS QUERY ${quoteIdent(r.cq)} ON ${quoteIdent(db)} BEGIN ` +
        `SELECT mean("value") AS "mean", min("value") AS "min", max("value") AS "max", count("value") AS "count" ` +
        `INTO ${quoteIdent(db)}.${quoteIdent(r.rp)}.:MEASUREMENT FROM ${quoteIdent(db)}.${quoteIdent(RP_RAW)}./.*/ GROUP BY time(${r.every}), * END`,
    );
  }
}
