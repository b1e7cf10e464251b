import { RejectError } from '../../hub/core/errors.js';
import type { Candidate, DecoderDefinition } from '../decoder.js';
import { payloadKind, type ReadingMeta, readingMeta } from './mqtt5-meta.js';
import { isPlainObject, parseJson, payloadText } from './payload.js';

/** Keys of a value object that are not sensors of their own. */
const META_KEYS = new Set(['ts', 'time', 'timestamp']);

function valueObject(device: string, sensor: string, o: Record<string, unknown>, ts: unknown): Candidate {
  if (!Object.hasOwn(o, 'value')) {
    throw new RejectError(
      'invalid_shape',
      `expected {"value": number, "unit"?: string, "ts"?: time} for ${sensor}`,
    );
  }
  const c: Candidate = { device, sensor, value: o.value };
  if (o.unit !== undefined) {
    if (typeof o.unit !== 'string')
      throw new RejectError('invalid_shape', `"unit" of ${sensor} must be a string`);
    c.unit = o.unit;
  }
  if (o.metric !== undefined) {
    if (typeof o.metric !== 'string')
      throw new RejectError('invalid_shape', `"metric" of ${sensor} must be a string`);
    c.metric = o.metric;
  }
  const t = o.ts ?? o.time ?? o.timestamp ?? ts;
  if (t !== undefined) c.ts = t;
  return c;
}

/**
 * MQTT 5 user properties fill what the payload does not say; where both say it, they
 * must agree (a device that sends two different units is misconfigured, and guessing
 * would store a wrong value).
 */
function withMeta(c: Candidate, meta: ReadingMeta | undefined): Candidate {
  if (!meta) return c;
  for (const key of ['unit', 'metric', 'ts'] as const) {
    const given = meta[key];
    if (given === undefined) continue;
    const own = c[key];
    if (own === undefined) c[key] = given;
    else if (String(own) !== given) {
      throw new RejectError(
        'invalid_shape',
        `${key} ${JSON.stringify(String(own).slice(0, 40))} in the payload and user property ${key} ${JSON.stringify(given)} disagree`,
      );
    }
  }
  return c;
}

/**
 * The hub's own topics:
 * - `sensors/<device>/<sensor>`: a bare number (or true/false, on/off), or
 *   `{"value": 21.5, "unit": "Cel", "ts": 1700000000000}`; from an MQTT 5 client also a
 *   bare number with user properties `unit`, `metric`, `ts` (mqtt5-meta.ts);
 * - `sensors/<device>`: `{"temperature": 21.5, "humidity": 40, "ts": ...}`, where each
 *   value is a number or a value object as above; a `ts` user property is the time of
 *   the values that have none.
 * An MQTT 5 Content Type of application/json or text/plain says how the payload is read
 * instead of its first character.
 */
export const sensorsDecoder: DecoderDefinition = {
  name: 'sensors',
  topics: ['sensors/<device>/<sensor>', 'sensors/<device>'],
  match: (levels) => levels[0] === 'sensors' && (levels.length === 2 || levels.length === 3),
  deviceOf: (levels) => levels[1],
  decode(msg, levels) {
    const device = levels[1]!;
    const kind = payloadKind(msg.mqtt);
    const meta = readingMeta(msg.mqtt);
    const text = payloadText(msg.payload).trim();
    if (levels.length === 3) {
      const sensor = levels[2]!;
      const json =
        kind === 'json' ||
        (kind === 'sniff' && (text.startsWith('{') || text.startsWith('[') || text.startsWith('"')));
      if (!json) return [withMeta({ device, sensor, value: text }, meta)];
      const v = parseJson(text);
      if (Array.isArray(v))
        throw new RejectError('invalid_shape', 'expected a number or a JSON object, got an array');
      if (!isPlainObject(v)) return [withMeta({ device, sensor, value: v }, meta)];
      return [withMeta(valueObject(device, sensor, v, undefined), meta)];
    }
    if (meta?.unit !== undefined || meta?.metric !== undefined) {
      throw new RejectError(
        'invalid_shape',
        `user properties unit and metric name one sensor: publish to sensors/${device}/<sensor>`,
      );
    }
    if (kind === 'text' || !text.startsWith('{')) {
      throw new RejectError(
        'invalid_shape',
        `sensors/${device} expects a JSON object of sensors, e.g. {"temperature":21.5}`,
      );
    }
    const json = parseJson(text);
    if (!isPlainObject(json)) throw new RejectError('invalid_shape', 'expected a JSON object of sensors');
    const ts = json.ts ?? json.time ?? json.timestamp ?? meta?.ts;
    const out: Candidate[] = [];
    for (const [sensor, v] of Object.entries(json)) {
      if (META_KEYS.has(sensor)) continue;
      if (isPlainObject(v)) {
        try {
          out.push(valueObject(device, sensor, v, ts));
        } catch (err) {
          if (!(err instanceof RejectError)) throw err;
          out.push({ device, sensor, value: v, reject: err });
        }
      } else out.push(ts === undefined ? { device, sensor, value: v } : { device, sensor, value: v, ts });
    }
    if (out.length === 0) throw new RejectError('invalid_shape', 'the object has no sensor values');
    return out;
  },
};
