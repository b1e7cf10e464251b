/**
 * Known metrics: canonical unit and plausible range. A metric not listed here is
 * accepted with whatever known unit it arrives in (canonicalized within its quantity).
 */
export interface MetricDef {
  unit: string;
  min: number;
  max: number;
  /** Interval quantities take the factor of a conversion but not the offset. */
  difference?: boolean;
}

export const METRICS: Readonly<Record<string, MetricDef>> = {
  // -89.2 °C is the lowest air temperature recorded on Earth; the lower bound also
  // catches the -127 °C that a disconnected DS18B20 reports.
  temperature: { unit: 'Cel', min: -90, max: 1000 },
  temperature_difference: { unit: 'Cel', min: -1000, max: 1000, difference: true },
  dew_point: { unit: 'Cel', min: -90, max: 100 },
  humidity: { unit: '%RH', min: 0, max: 100 },
  pressure: { unit: 'Pa', min: 0, max: 1e8 },
  illuminance: { unit: 'lx', min: 0, max: 200_000 },
  motion: { unit: '1', min: 0, max: 1 },
  occupancy: { unit: '1', min: 0, max: 1 },
  contact: { unit: '1', min: 0, max: 1 },
  button: { unit: '1', min: 0, max: 1 },
  voltage: { unit: 'V', min: -1e6, max: 1e6 },
  current: { unit: 'A', min: -1e5, max: 1e5 },
  power: { unit: 'W', min: -1e9, max: 1e9 },
  energy: { unit: 'Wh', min: 0, max: 1e15 },
  battery: { unit: '%', min: 0, max: 100 },
  moisture: { unit: '%', min: 0, max: 100 },
  co2: { unit: 'ppm', min: 0, max: 100_000 },
  voc: { unit: 'ppm', min: 0, max: 100_000 },
  pm2_5: { unit: 'ug/m3', min: 0, max: 10_000 },
  pm10: { unit: 'ug/m3', min: 0, max: 10_000 },
  rssi: { unit: 'dBm', min: -200, max: 30 },
  linkquality: { unit: '1', min: 0, max: 255 },
  distance: { unit: 'm', min: 0, max: 1e7 },
  wind_speed: { unit: 'm/s', min: 0, max: 150 },
  frequency: { unit: 'Hz', min: 0, max: 1e9 },
};

/** The definition of a known metric (own keys only: "__proto__" is no metric). */
export function metricDef(name: string): MetricDef | undefined {
  return Object.hasOwn(METRICS, name) ? METRICS[name] : undefined;
}

/** Sensor names devices commonly use, mapped to a metric. */
const ALIASES: Record<string, string> = {
  temp: 'temperature',
  tmp: 'temperature',
  t: 'temperature',
  hum: 'humidity',
  rh: 'humidity',
  h: 'humidity',
  press: 'pressure',
  baro: 'pressure',
  lux: 'illuminance',
  light: 'illuminance',
  illumination: 'illuminance',
  pir: 'motion',
  presence: 'occupancy',
  volt: 'voltage',
  vbat: 'voltage',
  amps: 'current',
  watts: 'power',
  dewpoint: 'dew_point',
  pm25: 'pm2_5',
  'pm2.5': 'pm2_5',
  tvoc: 'voc',
  eco2: 'co2',
  soil: 'moisture',
  soil_moisture: 'moisture',
};

/** The metric a sensor name stands for, or undefined when it names none. */
export function metricFor(name: string): string | undefined {
  // Called for every reading with few distinct names: remember the answers (bounded).
  const hit = metricCache.get(name);
  if (hit !== undefined || metricCache.has(name)) return hit;
  const n = name.toLowerCase();
  // Own keys only: a sensor named "constructor" or "__proto__" names no metric.
  const m = Object.hasOwn(METRICS, n) ? n : Object.hasOwn(ALIASES, n) ? ALIASES[n] : undefined;
  if (metricCache.size >= 10_000) metricCache.clear();
  metricCache.set(name, m);
  return m;
}
const metricCache = new Map<string, string | undefined>();
