import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPORT_PATH, renderDashboard } from '../../dashboards/grafana/export.js';
import { GRAFANA_UNITS } from '../../dashboards/grafana/panels.js';
import { METRICS } from '../../hub/core/metrics.js';
import { InfluxHttp } from '../../hub/storage/influx-http.js';
import { startTestInfluxd, type TestInfluxd, uniqueDb } from '../support/influxd.js';

interface Target {
  refId: string;
  query: string;
}
interface Dashboard {
  templating: { list: Array<{ name: string; query: string }> };
  panels: Array<{ title: string; targets: Target[] }>;
}

/**
 * Grafana's expansion of the macros the export uses: a multi-value variable with
 * "All" selected becomes a regex alternation of its values; $timeFilter and
 * $__interval come from the time picker.
 */
function expand(q: string, vars: Record<string, string[]>): string {
  let out = q.replaceAll('$timeFilter', 'time >= now() - 1h').replaceAll('$__interval', '1m');
  for (const [name, values] of Object.entries(vars))
    out = out.replaceAll(`$${name}`, `(${values.join('|')})`);
  return out;
}

describe('Grafana export', () => {
  let influx: TestInfluxd;
  let db: InfluxHttp;
  const database = uniqueDb('grafana');

  beforeAll(async () => {
    influx = await startTestInfluxd();
    db = new InfluxHttp({ url: influx.url, database });
    await db.ensureDatabase();
    // Two devices, three metrics, a reading a minute for the last 30 minutes, in the hub's schema.
    const now = Date.now();
    const lines: string[] = [];
    for (const device of ['gh-1', 'gh-2'])
      for (let i = 0; i < 30; i++) {
        // The hub writes with precision=u (InfluxHttp.write).
        const ts = (now - i * 60_000) * 1000;
        lines.push(`temperature,device=${device},sensor=air,unit=Cel,source=mqtt value=${20 + i / 10} ${ts}`);
        lines.push(`humidity,device=${device},sensor=air,unit=%RH,source=mqtt value=${50 + i / 5} ${ts}`);
        lines.push(`pressure,device=${device},sensor=baro,unit=Pa,source=mqtt value=${101_000 + i} ${ts}`);
      }
    const res = await db.write(lines.join('\n'), 5000);
    expect(res.status).toBe(204);
  });

  afterAll(async () => {
    await influx?.stop();
  });

  it('is the output of `npm run grafana-export` (the committed file is not edited by hand)', () => {
    // Compared as data: the formatter may lay the committed JSON out differently.
    expect(JSON.parse(readFileSync(EXPORT_PATH, 'utf8'))).toEqual(JSON.parse(renderDashboard()));
  });

  it('`npm run grafana-export` writes the tracked file byte for byte, so a clean checkout stays clean', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'grafana-export-')), 'sensor-hub.json');
    await promisify(execFile)('npm', ['run', '--silent', 'grafana-export', '--', '--out', out]);
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(EXPORT_PATH, 'utf8'));
  });

  it('gives the $metric panels a Grafana unit for every canonical unit the hub stores', () => {
    const dash = JSON.parse(readFileSync(EXPORT_PATH, 'utf8')) as {
      panels: Array<{
        title: string;
        targets: Array<{ alias?: string }>;
        fieldConfig: {
          overrides: Array<{ matcher: { options: string }; properties: Array<{ value: string }> }>;
        };
      }>;
    };
    const metric = dash.panels.find((p) => p.title === '$metric')!;
    const unitOf = (seriesName: string) =>
      metric.fieldConfig.overrides.find((o) => new RegExp(o.matcher.options).test(seriesName))?.properties[0]
        ?.value;
    // Series names as Grafana makes them from the aliases, for a sensor of each stored unit.
    for (const t of metric.targets) expect(t.alias).toMatch(/ \[\$tag_unit\]$/);
    expect(unitOf('kitchen/air [Cel]')).toBe('celsius');
    expect(unitOf('kitchen/air max [Cel]')).toBe('celsius');
    expect(unitOf('pm/sds011 [ug/m3]')).toBe('conµgm3');
    expect(unitOf('baro/bme [Pa]')).toBe('si:Pa');
    const canonical = new Set(Object.values(METRICS).map((m) => m.unit));
    for (const u of canonical) expect(unitOf(`d/s [${u}]`), u).toBe(GRAFANA_UNITS[u]);
  });

  it('runs every variable and panel query against real InfluxDB and gets data', async () => {
    const dash = JSON.parse(readFileSync(EXPORT_PATH, 'utf8')) as Dashboard;
    const vars: Record<string, string[]> = {};
    for (const v of dash.templating.list) {
      const series = await db.query(v.query);
      // SHOW MEASUREMENTS answers names in the first column; SHOW TAG VALUES in "value".
      const col = series[0]?.columns.includes('value') ? series[0].columns.indexOf('value') : 0;
      vars[v.name] = (series[0]?.values ?? []).map((row) => String(row[col]));
      expect(vars[v.name]!.length, v.name).toBeGreaterThan(0);
    }
    expect(vars.metric).toEqual(['humidity', 'pressure', 'temperature']);
    expect(vars.device).toEqual(['gh-1', 'gh-2']);
    const targets = dash.panels.flatMap((p) => p.targets.map((t) => ({ panel: p.title, ...t })));
    expect(targets.length).toBeGreaterThanOrEqual(6);
    for (const t of targets) {
      const q = expand(t.query, vars);
      const series = await db.query(q).catch((err: Error) => {
        throw new Error(`${t.panel}/${t.refId}: ${err.message}\n${q}`);
      });
      const values = series.reduce((n, s) => n + s.values.length, 0);
      expect(values, `${t.panel}/${t.refId} returned no data:\n${q}`).toBeGreaterThan(0);
    }
  });
});
