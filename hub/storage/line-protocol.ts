import type { Reading } from '../core/reading.js';

// Line protocol escaping: https://docs.influxdata.com/influxdb/v1/write_protocols/line_protocol_reference/
const escMeasurement = (s: string) => s.replace(/[, \\]/g, '\\$&');
const escTag = (s: string) => s.replace(/[,= \\]/g, '\\$&').replace(/\n/g, '\\n');
/** Units are few: escape each once. */
const unitTags = new Map<string, string>();
const unitTag = (u: string) => {
  let t = unitTags.get(u);
  if (t === undefined) {
    t = escTag(u);
    if (unitTags.size < 1000) unitTags.set(u, t);
  }
  return t;
};

/**
 * One reading as one line: measurement = metric; tags device, sensor, unit, source
 * plus the device's declared tags, sorted by key as InfluxDB prefers; one float
 * field `value`; timestamp in microseconds (write with precision=u), since hub-assigned
 * times may carry a microsecond step (see SeriesClock).
 */
export function toLine(r: Reading): string {
  let tags: string;
  if (r.tags && Object.keys(r.tags).length > 0) {
    const all: Record<string, string> = {
      ...r.tags,
      device: r.device,
      sensor: r.sensor,
      unit: r.unit,
      source: r.source,
    };
    tags = Object.keys(all)
      .sort()
      .filter((k) => all[k] !== '')
      .map((k) => `${escTag(k)}=${escTag(all[k]!)}`)
      .join(',');
  } else {
    // Fast path: fixed keys already in sorted order. Device, sensor and metric passed
    // the id check ([A-Za-z0-9_.-], nothing to escape); source is one of three words.
    tags = `device=${r.device},sensor=${r.sensor},source=${r.source},unit=${unitTag(r.unit)}`;
    return `${r.metric},${tags} value=${r.value} ${Math.round(r.ts * 1000)}`;
  }
  // A float field: integers are written without the `i` suffix on purpose, so the
  // field type never flips between integer and float (a type conflict in InfluxDB).
  return `${escMeasurement(r.metric)},${tags} value=${r.value} ${Math.round(r.ts * 1000)}`;
}
