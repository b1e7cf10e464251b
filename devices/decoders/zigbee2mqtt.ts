import { RejectError } from '../../hub/core/errors.js';
import { resolveUnit } from '../../hub/core/units.js';
import type { AvailabilityNote, Candidate, DecodeContext, DecoderDefinition } from '../decoder.js';
import { jsonObject, own, sanitizeId } from './common.js';
import { isPlainObject, parseJson, payloadText } from './payload.js';

/**
 * Device object keys (zigbee2mqtt.io, "Exposes") with their metric and the unit
 * Zigbee2MQTT sends. `voltage` is mV on battery devices and V on mains plugs: the
 * bridge's device list says which; without it, a payload that also has `battery` is mV.
 */
const KEYS: Record<string, { metric: string; unit: string }> = {
  temperature: { metric: 'temperature', unit: 'Cel' },
  device_temperature: { metric: 'temperature', unit: 'Cel' },
  local_temperature: { metric: 'temperature', unit: 'Cel' },
  humidity: { metric: 'humidity', unit: '%RH' },
  soil_moisture: { metric: 'moisture', unit: '%' },
  pressure: { metric: 'pressure', unit: 'hPa' },
  illuminance: { metric: 'illuminance', unit: 'lx' },
  illuminance_lux: { metric: 'illuminance', unit: 'lx' },
  battery: { metric: 'battery', unit: '%' },
  voltage: { metric: 'voltage', unit: 'V' },
  current: { metric: 'current', unit: 'A' },
  power: { metric: 'power', unit: 'W' },
  energy: { metric: 'energy', unit: 'kWh' },
  linkquality: { metric: 'linkquality', unit: '1' },
  occupancy: { metric: 'occupancy', unit: '1' },
  presence: { metric: 'occupancy', unit: '1' },
  contact: { metric: 'contact', unit: '1' },
  water_leak: { metric: 'water_leak', unit: '1' },
  smoke: { metric: 'smoke', unit: '1' },
  tamper: { metric: 'tamper', unit: '1' },
  vibration: { metric: 'vibration', unit: '1' },
  battery_low: { metric: 'battery_low', unit: '1' },
  co2: { metric: 'co2', unit: 'ppm' },
  voc: { metric: 'voc', unit: 'ppb' },
  pm25: { metric: 'pm2_5', unit: 'ug/m3' },
  pm10: { metric: 'pm10', unit: 'ug/m3' },
};

/** Zigbee2MQTT spells some units its own way. */
const UNIT_ALIASES: Record<string, string> = { lqi: '1' };

const devKey = (base: string, device: string) => `z2m:${base}/${device}`;
const seenPrefix = (base: string) => `z2m-seen:${base}/`;

/** Learns each device's numeric exposes and their units from the retained `bridge/devices` list. */
function learnDevices(ctx: DecodeContext, base: string, list: unknown): void {
  if (!Array.isArray(list)) throw new RejectError('invalid_shape', 'bridge/devices expects a JSON array');
  for (const d of list) {
    if (!isPlainObject(d) || typeof d.friendly_name !== 'string') continue;
    const units = Object.create(null) as Record<string, string>;
    const walk = (exposes: unknown) => {
      if (!Array.isArray(exposes)) return;
      for (const e of exposes) {
        if (!isPlainObject(e)) continue;
        if (e.type === 'numeric' && typeof e.property === 'string' && typeof e.unit === 'string')
          units[e.property] = e.unit;
        walk(e.features);
      }
    };
    walk(isPlainObject(d.definition) ? d.definition.exposes : undefined);
    ctx.meta.set(devKey(base, sanitizeId(d.friendly_name)), units);
  }
}

function availabilityOf(text: string): 'online' | 'offline' | undefined {
  let s: unknown = text.trim();
  // Since Zigbee2MQTT 1.22: {"state":"online"}; before: the bare word.
  if (typeof s === 'string' && s.startsWith('{')) {
    const o = parseJson(s);
    s = isPlainObject(o) ? o.state : undefined;
  }
  return s === 'online' || s === 'offline' ? s : undefined;
}

/**
 * Zigbee2MQTT: `<base>/<friendly_name>` with the device object
 * (`{"temperature":22.5,"humidity":48,"pressure":1011,"battery":93,"voltage":2995,"linkquality":120}`),
 * `<base>/<friendly_name>/availability`, `<base>/bridge/state` (bridge offline: every
 * device it serves is offline) and the retained `<base>/bridge/devices` list (units).
 * Friendly names may hold "/" and spaces; the device id is the name with every
 * character outside [A-Za-z0-9_.-] replaced by "_". `last_seen`, when enabled, is the time.
 */
export function zigbee2mqttDecoder(base = 'zigbee2mqtt'): DecoderDefinition {
  return {
    name: 'zigbee2mqtt',
    topics: [
      `${base}/<friendly_name>`,
      `${base}/<friendly_name>/availability`,
      `${base}/bridge/state`,
      `${base}/bridge/devices`,
    ],
    match: (levels) => levels[0] === base && levels.length >= 2,
    deviceOf: (levels) => (levels[1] === 'bridge' ? undefined : sanitizeId(levels.slice(1).join('/'))),
    decode(msg, levels, ctx) {
      if (levels[1] === 'bridge') {
        if (levels[2] === 'state' && levels.length === 3) {
          const state = availabilityOf(payloadText(msg.payload));
          if (!state) throw new RejectError('invalid_shape', 'bridge/state expects online or offline');
          if (state === 'online') return [];
          const availability: AvailabilityNote[] = ctx.meta
            .keys(seenPrefix(base))
            .map((k) => ({ device: k.slice(seenPrefix(base).length), state: 'offline' }));
          return { candidates: [], availability };
        }
        if (levels[2] === 'devices' && levels.length === 3)
          learnDevices(ctx, base, parseJson(payloadText(msg.payload)));
        return [];
      }
      const last = levels.at(-1)!;
      if (last === 'set' || last === 'get') return [];
      if (last === 'availability' && levels.length >= 3) {
        const device = sanitizeId(levels.slice(1, -1).join('/'));
        const state = availabilityOf(payloadText(msg.payload));
        if (!state) throw new RejectError('invalid_shape', 'availability expects online or offline');
        return { candidates: [], availability: [{ device, state }] };
      }
      const device = sanitizeId(levels.slice(1).join('/'));
      const json = jsonObject(msg, 'a Zigbee2MQTT device topic');
      ctx.meta.set(seenPrefix(base) + device, 1);
      const exposed = ctx.meta.get<Record<string, string>>(devKey(base, device)) ?? {};
      const ts = json.last_seen;
      const out: Candidate[] = [];
      for (const [prop, value] of Object.entries(json)) {
        const known = own(KEYS, prop);
        let unit = own(exposed, prop) ?? known?.unit;
        if (!known && (unit === undefined || typeof value !== 'number')) continue;
        // illuminance is raw on older firmware when illuminance_lux is also sent.
        if (prop === 'illuminance' && Object.hasOwn(json, 'illuminance_lux')) continue;
        if (prop === 'voltage' && own(exposed, 'voltage') === undefined && Object.hasOwn(json, 'battery'))
          unit = 'mV';
        unit = own(UNIT_ALIASES, unit!) ?? unit!;
        if (!known && !resolveUnit(unit)) continue;
        const c: Candidate = {
          device,
          sensor: prop === 'illuminance_lux' ? 'illuminance' : prop,
          metric: known?.metric ?? prop,
          unit,
          value,
        };
        if (ts !== undefined && ts !== null) c.ts = ts;
        out.push(c);
      }
      return out;
    },
  };
}
