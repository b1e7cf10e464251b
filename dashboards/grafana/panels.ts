/**
 * The Grafana dashboard as data: the same views as the built-in dashboard, each an
 * InfluxQL query over the hub's schema (measurement = metric; tags device, sensor,
 * unit, source; field value). export.ts turns this into Grafana's JSON model;
 * tests/integration/grafana-export.test.ts runs every query against a real InfluxDB.
 */

export interface GrafanaVariable {
  name: string;
  label: string;
  query: string;
  multi: boolean;
}

export interface GrafanaTarget {
  refId: string;
  alias?: string;
  query: string;
}

/** Grafana's unit for each canonical unit the hub stores (UCUM/SenML code to Grafana unit id). */
export const GRAFANA_UNITS: Readonly<Record<string, string>> = {
  Cel: 'celsius',
  '%RH': 'humidity',
  // Grafana's "si:" prefix scales with SI prefixes: 101325 Pa shows as 101 kPa.
  Pa: 'si:Pa',
  lx: 'lux',
  '1': 'none',
  V: 'volt',
  A: 'amp',
  W: 'watt',
  Wh: 'watth',
  '%': 'percent',
  ppm: 'ppm',
  'ug/m3': 'conµgm3',
  dBm: 'dBm',
  m: 'lengthm',
  'm/s': 'velocityms',
  Hz: 'hertz',
};

/**
 * A repeated $metric panel shows one metric, whichever: each series carries its unit tag
 * at the end of its name ("kitchen/air [Cel]"), and an override per unit gives Grafana
 * the unit of the series whose name ends so.
 */
export const UNIT_OVERRIDES: GrafanaOverride[] = Object.entries(GRAFANA_UNITS).map(([ucum, unit]) => ({
  matcher: { id: 'byRegexp', options: `.* \\[${ucum.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\]$` },
  properties: [{ id: 'unit', value: unit }],
}));

export interface GrafanaOverride {
  matcher: { id: 'byRegexp'; options: string };
  properties: Array<{ id: 'unit'; value: string }>;
}

export interface GrafanaPanel {
  title: string;
  type: 'timeseries' | 'table' | 'stat';
  description: string;
  width: number;
  height: number;
  unit?: string;
  overrides?: GrafanaOverride[];
  /** Repeats the panel once per value of this variable. */
  repeat?: string;
  targets: GrafanaTarget[];
}

export const VARIABLES: GrafanaVariable[] = [
  { name: 'metric', label: 'Metric', query: 'SHOW MEASUREMENTS', multi: true },
  { name: 'device', label: 'Device', query: 'SHOW TAG VALUES WITH KEY = "device"', multi: true },
];

const DEVICE = `"device" =~ /^$device$/`;

export const PANELS: GrafanaPanel[] = [
  {
    title: 'Readings stored',
    type: 'stat',
    description:
      'Readings stored in the time range, per metric. (A count of reporting sensors needs a subquery over last(), which InfluxDB 1.6 answers empty.)',
    width: 6,
    height: 4,
    unit: 'short',
    targets: [
      {
        refId: 'A',
        alias: '$measurement',
        query: `SELECT count("value") FROM /^$metric$/ WHERE ${DEVICE} AND $timeFilter`,
      },
    ],
  },
  {
    title: 'Readings per minute',
    type: 'timeseries',
    description: 'Stored readings per minute and metric: the ingest rate as InfluxDB saw it.',
    width: 18,
    height: 4,
    unit: 'short',
    targets: [
      {
        refId: 'A',
        alias: '$tag_metric $measurement',
        query: `SELECT count("value") FROM /^$metric$/ WHERE ${DEVICE} AND $timeFilter GROUP BY time(1m) fill(0)`,
      },
    ],
  },
  {
    title: '$metric',
    type: 'timeseries',
    description:
      'Mean per interval, with the minimum and maximum of each interval, per device and sensor, in the unit stored.',
    width: 24,
    height: 8,
    repeat: 'metric',
    overrides: UNIT_OVERRIDES,
    targets: (['mean', 'min', 'max'] as const).map((fn, i) => ({
      refId: 'ABC'[i]!,
      alias: `$tag_device/$tag_sensor${fn === 'mean' ? '' : ` ${fn}`} [$tag_unit]`,
      query: `SELECT ${fn}("value") FROM /^$metric$/ WHERE ${DEVICE} AND $timeFilter GROUP BY time($__interval), "device", "sensor", "unit" fill(none)`,
    })),
  },
  {
    title: 'Last values',
    type: 'table',
    description: 'The last reading of every sensor (time = when it was last seen), in canonical units.',
    width: 24,
    height: 10,
    targets: [
      {
        refId: 'A',
        query: `SELECT last("value") AS "value" FROM /^$metric$/ WHERE ${DEVICE} AND $timeFilter GROUP BY "device", "sensor", "unit"`,
      },
    ],
  },
];
