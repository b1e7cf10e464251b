import { RejectError } from '../../hub/core/errors.js';
import type { Candidate, DecoderDefinition } from '../decoder.js';
import { jsonObject, own } from './common.js';
import { isPlainObject, payloadText } from './payload.js';

type Field = { path: string[]; sensor: string; metric: string; unit: string };

/**
 * Component status fields of Shelly Gen2/Gen3 devices (shelly-api-docs.shelly.cloud/gen2,
 * ComponentsAndServices: Temperature, Humidity, DevicePower, Illuminance, Voltmeter,
 * Switch, PM1, Cover). `aenergy.total` is in Wh.
 */
const FIELDS: Record<string, Field[]> = {
  temperature: [{ path: ['tC'], sensor: '', metric: 'temperature', unit: 'Cel' }],
  humidity: [{ path: ['rh'], sensor: '', metric: 'humidity', unit: '%RH' }],
  illuminance: [{ path: ['lux'], sensor: '', metric: 'illuminance', unit: 'lx' }],
  voltmeter: [{ path: ['voltage'], sensor: '', metric: 'voltage', unit: 'V' }],
  devicepower: [
    { path: ['battery', 'percent'], sensor: '.battery', metric: 'battery', unit: '%' },
    { path: ['battery', 'V'], sensor: '.voltage', metric: 'voltage', unit: 'V' },
  ],
  wifi: [{ path: ['rssi'], sensor: '.rssi', metric: 'rssi', unit: 'dBm' }],
};
const METERED: Field[] = [
  { path: ['apower'], sensor: '.power', metric: 'power', unit: 'W' },
  { path: ['voltage'], sensor: '.voltage', metric: 'voltage', unit: 'V' },
  { path: ['current'], sensor: '.current', metric: 'current', unit: 'A' },
  { path: ['freq'], sensor: '.frequency', metric: 'frequency', unit: 'Hz' },
  { path: ['aenergy', 'total'], sensor: '.energy', metric: 'energy', unit: 'Wh' },
  { path: ['temperature', 'tC'], sensor: '.temperature', metric: 'temperature', unit: 'Cel' },
];
for (const k of ['switch', 'pm1', 'cover', 'light']) FIELDS[k] = METERED;

function dig(o: unknown, path: string[]): unknown {
  let cur = o;
  for (const p of path) {
    if (!isPlainObject(cur)) return undefined;
    cur = cur[p];
  }
  return cur;
}

/** One component's status ("temperature:0", {...}) as candidates; unknown components give none. */
function component(device: string, key: string, status: unknown, ts: unknown): Candidate[] {
  const m = /^([a-z0-9_]+)(?::(\d{1,5}))?$/.exec(key);
  if (!m) return [];
  const fields = own(FIELDS, m[1]!);
  if (!fields) return [];
  if (!isPlainObject(status)) throw new RejectError('invalid_shape', `status of ${key} is not an object`);
  const out: Candidate[] = [];
  for (const f of fields) {
    const v = dig(status, f.path);
    if (v === undefined) continue; // a NotifyStatus carries only what changed
    const c: Candidate = {
      device,
      sensor: `${m[1]}${m[2] === undefined ? '' : `_${m[2]}`}${f.sensor}`,
      metric: f.metric,
      unit: f.unit,
      value: v,
    };
    if (ts !== undefined) c.ts = ts;
    out.push(c);
  }
  return out;
}

/**
 * Shelly Gen2/Gen3 MQTT (topic prefix = device id by default):
 * - `<id>/status/<component>:<n>`: the component's status object, e.g.
 *   `shellyplusht-08b61fd141e8/status/temperature:0` = `{"id":0,"tC":21.3,"tF":70.3}`;
 * - `<id>/events/rpc`: `NotifyStatus` / `NotifyFullStatus` with `params.ts` (epoch s);
 * - `<id>/online`: `true` / `false` (the device's will).
 */
export const shellyDecoder: DecoderDefinition = {
  name: 'shelly',
  topics: ['<id>/status/<component>[:<n>]', '<id>/events/rpc', '<id>/online'],
  match: (levels) =>
    (levels.length === 2 && levels[1] === 'online') ||
    (levels.length === 3 && levels[1] === 'status') ||
    (levels.length === 3 && levels[1] === 'events' && levels[2] === 'rpc'),
  deviceOf: (levels) => levels[0],
  decode(msg, levels) {
    const device = levels[0]!;
    if (levels[1] === 'online') {
      const text = payloadText(msg.payload).trim();
      if (text === 'true' || text === 'false')
        return { candidates: [], availability: [{ device, state: text === 'true' ? 'online' : 'offline' }] };
      throw new RejectError('invalid_shape', `${device}/online expects true or false`);
    }
    const json = jsonObject(msg, msg.topic.slice(0, 64));
    if (levels[1] === 'status') return component(device, levels[2]!, json, undefined);
    if (json.method !== 'NotifyStatus' && json.method !== 'NotifyFullStatus') return [];
    const params = json.params;
    if (!isPlainObject(params))
      throw new RejectError('invalid_shape', `${String(json.method)} without params`);
    const out: Candidate[] = [];
    for (const [key, status] of Object.entries(params)) {
      if (key === 'ts') continue;
      out.push(...component(device, key, status, params.ts));
    }
    return out;
  },
};
