import { RejectError } from '../../hub/core/errors.js';
import type { Candidate, DecoderDefinition } from '../decoder.js';
import { jsonObject, own } from './common.js';
import { isPlainObject, payloadText } from './payload.js';

/**
 * Keys Tasmota writes inside a sensor object, with their metric and unit
 * (tasmota.github.io/docs/JSON-Status-Responses, xsns_* drivers). "T" and "P" stand
 * for the payload's TempUnit and PressureUnit.
 */
const KEYS: Record<string, { metric: string; unit: string }> = {
  Temperature: { metric: 'temperature', unit: 'T' },
  DewPoint: { metric: 'dew_point', unit: 'T' },
  Humidity: { metric: 'humidity', unit: '%RH' },
  Pressure: { metric: 'pressure', unit: 'P' },
  SeaPressure: { metric: 'pressure', unit: 'P' },
  Illuminance: { metric: 'illuminance', unit: 'lx' },
  CarbonDioxide: { metric: 'co2', unit: 'ppm' },
  eCO2: { metric: 'co2', unit: 'ppm' },
  TVOC: { metric: 'voc', unit: 'ppb' },
  'PM2.5': { metric: 'pm2_5', unit: 'ug/m3' },
  PM10: { metric: 'pm10', unit: 'ug/m3' },
  Distance: { metric: 'distance', unit: 'cm' },
  Power: { metric: 'power', unit: 'W' },
  ApparentPower: { metric: 'apparent_power', unit: 'VA' },
  ReactivePower: { metric: 'reactive_power', unit: 'var' },
  Voltage: { metric: 'voltage', unit: 'V' },
  Current: { metric: 'current', unit: 'A' },
  Total: { metric: 'energy', unit: 'kWh' },
  Today: { metric: 'energy', unit: 'kWh' },
  Yesterday: { metric: 'energy', unit: 'kWh' },
  Factor: { metric: 'power_factor', unit: '1' },
  Frequency: { metric: 'frequency', unit: 'Hz' },
};

/** Top-level keys that describe the payload, not a sensor. */
const META = new Set(['Time', 'TempUnit', 'PressureUnit', 'SpeedUnit', 'Epoch']);
/** Strings inside a sensor object that are labels (DS18B20 "Id"), not values. */
const LABELS = new Set(['Id', 'Name', 'Type', 'TotalStartTime']);

function unitOf(code: string, tempUnit: string, pressureUnit: string): string {
  if (code === 'T') return tempUnit;
  if (code === 'P') return pressureUnit;
  return code;
}

function sensorCandidates(
  device: string,
  name: string,
  obj: Record<string, unknown>,
  ts: unknown,
  tu: string,
  pu: string,
): Candidate[] {
  const out: Candidate[] = [];
  for (const [key, v] of Object.entries(obj)) {
    if (LABELS.has(key)) continue;
    const known = own(KEYS, key);
    const base: Omit<Candidate, 'value' | 'sensor'> = { device };
    if (ts !== undefined) base.ts = ts;
    if (known) {
      base.metric = known.metric;
      base.unit = unitOf(known.unit, tu, pu);
    } else {
      // A key this table does not know: kept when numeric, under its own name.
      if (typeof v !== 'number' && typeof v !== 'boolean' && !Array.isArray(v)) continue;
      base.metric = key.toLowerCase().replace(/[^a-z0-9_]/g, '_');
    }
    if (Array.isArray(v)) {
      // Multi-channel energy monitors: "Power":[12,0] -> ENERGY.Power1, ENERGY.Power2.
      v.forEach((item, i) => {
        out.push({ ...base, sensor: `${name}.${key}${i + 1}`, value: item });
      });
    } else if (!isPlainObject(v)) {
      out.push({ ...base, sensor: `${name}.${key}`, value: v });
    }
  }
  return out;
}

/**
 * Tasmota with its default FullTopic `%prefix%/%topic%/`:
 * - `tele/<dev>/SENSOR`: `{"Time":"2019-11-03T19:34:28","BME280":{"Temperature":21.7,...},"TempUnit":"C","PressureUnit":"hPa"}`;
 *   Time is wall-clock time without a zone (read in config time.zone);
 * - `tele/<dev>/STATE`: Wi-Fi signal as `rssi` in dBm;
 * - `tele/<dev>/LWT`: `Online` / `Offline` (the device's MQTT will);
 * - other `tele/` and `stat/` topics (INFO1, RESULT, POWER, ...) carry no readings.
 */
export const tasmotaDecoder: DecoderDefinition = {
  name: 'tasmota',
  topics: ['tele/<dev>/SENSOR', 'tele/<dev>/STATE', 'tele/<dev>/LWT', 'stat/<dev>/+'],
  match: (levels) => levels.length === 3 && (levels[0] === 'tele' || levels[0] === 'stat'),
  deviceOf: (levels) => levels[1],
  decode(msg, levels) {
    const device = levels[1]!;
    const kind = levels[2]!;
    if (levels[0] === 'stat') return [];
    if (kind === 'LWT') {
      const text = payloadText(msg.payload).trim().toLowerCase();
      if (text === 'online') return { candidates: [], availability: [{ device, state: 'online' }] };
      if (text === 'offline') return { candidates: [], availability: [{ device, state: 'offline' }] };
      return [];
    }
    if (kind === 'STATE') {
      const json = jsonObject(msg, `tele/${device}/STATE`);
      const wifi = json.Wifi;
      if (isPlainObject(wifi) && wifi.Signal !== undefined) {
        const c: Candidate = {
          device,
          sensor: 'wifi.signal',
          metric: 'rssi',
          unit: 'dBm',
          value: wifi.Signal,
        };
        if (json.Time !== undefined) c.ts = json.Time;
        return [c];
      }
      return [];
    }
    if (kind !== 'SENSOR') return [];
    const json = jsonObject(msg, `tele/${device}/SENSOR`);
    const tu = typeof json.TempUnit === 'string' ? json.TempUnit : 'C';
    const pu = typeof json.PressureUnit === 'string' ? json.PressureUnit : 'hPa';
    const ts = json.Time;
    const out: Candidate[] = [];
    for (const [name, v] of Object.entries(json)) {
      if (META.has(name) || !isPlainObject(v)) continue;
      out.push(...sensorCandidates(device, name, v, ts, tu, pu));
    }
    if (out.length === 0)
      throw new RejectError('invalid_shape', 'SENSOR payload has no sensor object, e.g. {"BME280":{...}}');
    return out;
  },
};
