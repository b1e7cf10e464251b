import type { AlertRule } from '../config/alerts.js';
import { METRICS, metricDef } from '../core/metrics.js';
import { resolveUnit } from '../core/units.js';
import { globMatcher } from './glob.js';

/**
 * Rules that are valid but can never do what they say: a metric pattern no known
 * metric matches (the hub's metric table, board sensors and mappings), or a unit of
 * another quantity than the metric's. Warnings, not errors: a device may send a metric
 * the hub does not list.
 */
export function alertWarnings(
  rules: readonly AlertRule[],
  extraMetrics: readonly string[] = [],
): Array<{ path: string; message: string }> {
  const known = [...new Set([...Object.keys(METRICS), ...extraMetrics])];
  const out: Array<{ path: string; message: string }> = [];
  rules.forEach((r, i) => {
    if (r.kind === 'offline') return;
    const at = `alerts.rules[${i}]`;
    const pattern = r.match.metric;
    const matched = pattern === undefined ? known : known.filter(globMatcher(pattern));
    if (pattern !== undefined && matched.length === 0) {
      out.push({
        path: `${at}.match.metric`,
        message: `"${pattern}" matches no known metric (${Object.keys(METRICS).slice(0, 6).join(', ')}, ...): rule ${r.name} fires only if a device sends such a metric`,
      });
      return;
    }
    if (r.unit === undefined) return;
    const base = resolveUnit(r.unit)?.base;
    const fits = matched.filter((m) => {
      const def = metricDef(m);
      return def === undefined || resolveUnit(def.unit)?.base === base;
    });
    if (fits.length === 0) {
      const units = [...new Set(matched.map((m) => metricDef(m)?.unit))].join(', ');
      out.push({
        path: `${at}.unit`,
        message: `the unit is of another quantity (${base}) than ${pattern === undefined ? 'any known metric' : `metric "${pattern}"`} (${units}): rule ${r.name} can never match`,
      });
    } else if (pattern === undefined) {
      out.push({
        path: `${at}.unit`,
        message: `a unit without match.metric: rule ${r.name} compares every metric's value with thresholds in ${base}; name the metric`,
      });
    }
  });
  return out;
}

/** Metrics the config itself names: board sensors' and mappings' `metric` overrides. */
export function configuredMetrics(c: {
  boards: ReadonlyArray<{ sensors: ReadonlyArray<{ metric?: string | undefined }> }>;
}): string[] {
  return c.boards.flatMap((b) => b.sensors.flatMap((s) => (s.metric ? [s.metric] : [])));
}
