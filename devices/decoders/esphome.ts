import { RejectError } from '../../hub/core/errors.js';
import type { Candidate, DecoderDefinition } from '../decoder.js';
import { CLASS_TO_METRIC } from '../ha-classes.js';
import { guessMetric, metricFromUnit, own } from './common.js';
import { type HaMeta, haMetaKey } from './ha-discovery.js';
import { payloadText } from './payload.js';

/** ESPHome components whose state is a number or ON/OFF; others (text_sensor, light, ...) carry none. */
const NUMERIC = new Set(['sensor', 'binary_sensor']);
const COMPONENTS = new Set([
  ...NUMERIC,
  'text_sensor',
  'switch',
  'light',
  'fan',
  'cover',
  'climate',
  'number',
  'select',
  'button',
  'lock',
  'valve',
  'event',
  'update',
  'text',
  'datetime',
]);

/**
 * ESPHome's MQTT component (esphome.io/components/mqtt): `<node>/<component>/<object_id>/state`
 * with the state as text ("21.5", "ON"), and `<node>/status` = `online`/`offline` (its birth
 * message and will). State topics carry no unit: it comes from the Home Assistant
 * discovery config ESPHome publishes first (`unit_of_measurement`, `device_class`),
 * else the metric is guessed from the object id in the canonical unit.
 */
export const esphomeDecoder: DecoderDefinition = {
  name: 'esphome',
  topics: ['<node>/sensor/<id>/state', '<node>/binary_sensor/<id>/state', '<node>/status'],
  match: (levels) =>
    (levels.length === 2 && (levels[1] === 'status' || levels[1] === 'debug')) ||
    (levels.length === 4 && levels[3] === 'state' && COMPONENTS.has(levels[1]!)),
  deviceOf: (levels) => levels[0],
  decode(msg, levels, ctx) {
    const device = levels[0]!;
    if (levels.length === 2) {
      if (levels[1] === 'debug') return [];
      const text = payloadText(msg.payload).trim();
      if (text === 'online' || text === 'offline')
        return { candidates: [], availability: [{ device, state: text }] };
      throw new RejectError('invalid_shape', `${device}/status expects online or offline`);
    }
    const component = levels[1]!;
    if (!NUMERIC.has(component)) return [];
    const objectId = levels[2]!;
    const meta = ctx.meta.get<HaMeta>(haMetaKey(msg.topic));
    const c: Candidate = { device, sensor: objectId, value: payloadText(msg.payload).trim() };
    const byClass = meta?.deviceClass ? own(CLASS_TO_METRIC, meta.deviceClass) : undefined;
    const metric = byClass ?? metricFromUnit(meta?.unit) ?? guessMetric(objectId);
    if (metric) c.metric = metric;
    if (meta?.unit) c.unit = meta.unit;
    return [c];
  },
};
