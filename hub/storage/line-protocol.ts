import type { Reading } from '../core/reading.js';

// Line protocol escaping: https://docs.influxdata.com/influxdb/v1/write_protocols/line_protocol_reference/
const escMeasurement = (s: string) => s.replace(/[, \\]/g, '\\$&');
const escTag = (s: string) => s.replace(/[,= \\]/g, '\\$&').replace(/\n/g, '\\n');
/** Units are few: escape each once, and note whether the tag is plain ASCII. */
const unitTags = new Map<string, { tag: string; ascii: boolean }>();
const unitEntry = (u: string) => {
  let e = unitTags.get(u);
  if (e === undefined) {
    const tag = escTag(u);
    e = { tag, ascii: /^[\x20-\x7e]*$/.test(tag) };
    if (unitTags.size < 1000) unitTags.set(u, e);
  }
  return e;
};
const unitTag = (u: string) => unitEntry(u).tag;

/**
 * One reading as one line: measurement = metric; tags device, sensor, unit, source
 * plus the device's declared tags, sorted by key as InfluxDB prefers; one float
 * field `value`; timestamp in microseconds (write with precision=u), since hub-assigned
 * times may carry a microsecond step (see SeriesClock).
 */
export function toLine(r: Reading): string {
  // The pipeline lets only finite values through; should one slip past, no line is better
  // than `value=NaN` or `Infinity`, which InfluxDB refuses with the rest of the batch.
  if (!Number.isFinite(r.value)) return '';
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

/**
 * Writes the line of `r` and its "\n" into `buf` at `at`, exactly as `toLine`, and
 * returns where it ends; -1 when it might not fit (nothing is written then); a
 * non-finite value writes nothing (as `toLine` gives ""). The
 * common line (no declared tags, an ASCII unit) is written byte by byte: the spool
 * takes every reading this way, and building the string first cost twice the time
 * and about 450 bytes of garbage per reading.
 */
export function writeLine(r: Reading, buf: Buffer, at: number): number {
  if (!Number.isFinite(r.value)) return at;
  const unit = unitEntry(r.unit);
  const us = Math.round(r.ts * 1000);
  if ((r.tags && Object.keys(r.tags).length > 0) || !unit.ascii || !Number.isSafeInteger(us)) {
    const line = `${toLine(r)}\n`;
    if (at + line.length * 3 > buf.length) return -1;
    return at + buf.write(line, at, 'utf8');
  }
  const value = r.value;
  // Integers as digits; any other number as JavaScript prints it (as `toLine` does).
  const text = Number.isSafeInteger(value) ? undefined : String(value);
  const room =
    r.metric.length +
    r.device.length +
    r.sensor.length +
    r.source.length +
    unit.tag.length +
    80 +
    (text?.length ?? 0);
  if (at + room > buf.length) return -1;
  let o = ascii(buf, at, r.metric);
  o = ascii(buf, o, ',device=');
  o = ascii(buf, o, r.device);
  o = ascii(buf, o, ',sensor=');
  o = ascii(buf, o, r.sensor);
  o = ascii(buf, o, ',source=');
  o = ascii(buf, o, r.source);
  o = ascii(buf, o, ',unit=');
  o = ascii(buf, o, unit.tag);
  o = ascii(buf, o, ' value=');
  if (text !== undefined) o = ascii(buf, o, text);
  else if (value < 0) {
    buf[o++] = 45; // -
    o = digits(buf, o, -value);
  } else o = digits(buf, o, value);
  buf[o++] = 32;
  o = digits(buf, o, us);
  buf[o++] = 10;
  return o;
}

/** An ASCII string's bytes (ids, tags and numbers here are ASCII: checked before). */
function ascii(buf: Buffer, o: number, s: string): number {
  for (let i = 0; i < s.length; i++) buf[o++] = s.charCodeAt(i);
  return o;
}

/** A non-negative safe integer in decimal (no string made). */
function digits(buf: Buffer, o: number, n: number): number {
  if (n >= 1e9) {
    // Above int32: the upper part, then the lower eight digits with their zeros.
    const hi = Math.floor(n / 1e8);
    let lo = n - hi * 1e8;
    o = digits(buf, o, hi);
    for (let e = o + 8; e > o; ) {
      const q = (lo / 10) | 0;
      buf[--e] = 48 + lo - q * 10;
      lo = q;
    }
    return o + 8;
  }
  let len = 1;
  for (let m = n; m >= 10; m = (m / 10) | 0) len++;
  const end = o + len;
  let e = end;
  do {
    const q = (n / 10) | 0;
    buf[--e] = 48 + n - q * 10;
    n = q;
  } while (n > 0);
  return end;
}
