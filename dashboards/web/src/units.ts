import { metricDef } from '../../../hub/core/metrics.js';
import { convert, resolveUnit } from '../../../hub/core/units.js';

/**
 * Display units chosen by the viewer, per quantity (keyed by the canonical unit).
 * Stored data stays canonical; only what is drawn is converted.
 */
export const DISPLAY_CHOICES: Record<string, Array<{ code: string; label: string }>> = {
  Cel: [
    { code: 'Cel', label: '°C' },
    { code: '[degF]', label: '°F' },
    { code: 'K', label: 'K' },
  ],
  Pa: [
    { code: 'hPa', label: 'hPa' },
    { code: 'Pa', label: 'Pa' },
    { code: 'kPa', label: 'kPa' },
    { code: "[in_i'Hg]", label: 'inHg' },
  ],
};

const LABELS: Record<string, string> = {
  Cel: '°C',
  '[degF]': '°F',
  '%RH': '%RH',
  '1': '',
  'ug/m3': 'µg/m³',
  "[in_i'Hg]": 'inHg',
};

export function unitLabel(code: string): string {
  return LABELS[code] ?? code;
}

const STORAGE_KEY = 'hub-display-units';
const chosen: Record<string, string> = (() => {
  try {
    return { Cel: 'Cel', Pa: 'hPa', ...JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '{}') };
  } catch {
    return { Cel: 'Cel', Pa: 'hPa' };
  }
})();

const listeners = new Set<() => void>();

export function displayUnit(canonical: string): string {
  return chosen[canonical] ?? canonical;
}

export function setDisplayUnit(canonical: string, code: string): void {
  chosen[canonical] = code;
  localStorage.setItem(STORAGE_KEY, JSON.stringify(chosen));
  for (const l of listeners) l();
}

export function onUnitsChange(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/**
 * A converter from a canonical unit to the viewer's choice; differences (a metric
 * such as temperature_difference) get the scale only, never the offset, as in the
 * hub's own unit step (the same metric table decides).
 */
export function converter(canonical: string, metric: string): { fn: (v: number) => number; label: string } {
  const difference = metricDef(metric)?.difference === true;
  const target = displayUnit(canonical);
  const from = resolveUnit(canonical);
  const to = resolveUnit(target);
  if (!from || !to || from.code === to.code) return { fn: (v) => v, label: unitLabel(canonical) };
  return { fn: (v) => convert(v, from, to, difference) ?? v, label: unitLabel(to.code) };
}

/** Up to 4 significant decimals, fewer for large values: what a person reads on a panel. */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return '–';
  // Counts and on/off states (a button, a PIR) read better without decimals.
  if (Number.isInteger(v) && Math.abs(v) < 1e6) return String(v);
  const a = Math.abs(v);
  const digits = a >= 1000 ? 0 : a >= 100 ? 1 : a >= 1 ? 2 : 3;
  return v.toFixed(digits);
}
