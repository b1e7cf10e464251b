import { MQTT5_FORMATS, SIM_FORMAT_NAMES, type SimFormat } from '../hub/core/simulation.js';
import { SIGNAL_UNITS, type SignalKind } from './signals.js';

export { MQTT5_FORMATS, SIM_FORMAT_NAMES, type SimFormat };

export interface SimMessage {
  topic: string;
  payload: string;
  /** MQTT 5 user properties (only formats that need MQTT 5 set them). */
  userProperties?: Record<string, string>;
}

export type Sample = { kind: SignalKind; sensor: string; value: number };

type FormatWriter = (device: string, samples: readonly Sample[], ts: number) => SimMessage[];

/** How a simulated device writes its samples onto MQTT: one entry per payload format. */
export const SIM_FORMATS = {
  /** sensors/<device>/<sensor> with a bare number in the canonical unit. */
  plain: (device: string, samples: readonly Sample[]): SimMessage[] =>
    samples.map((s) => ({ topic: `sensors/${device}/${s.sensor}`, payload: String(s.value) })),
  /** sensors/<device>/<sensor> with {"value","unit","ts"}. */
  json: (device: string, samples: readonly Sample[], ts: number): SimMessage[] =>
    samples.map((s) => ({
      topic: `sensors/${device}/${s.sensor}`,
      payload: JSON.stringify({ value: s.value, unit: SIGNAL_UNITS[s.kind], ts }),
    })),
  /** sensors/<device> with one object of every sensor. */
  multi: (device: string, samples: readonly Sample[], ts: number): SimMessage[] => {
    const o: Record<string, number> = { ts };
    for (const s of samples) o[s.sensor] = s.value;
    return [{ topic: `sensors/${device}`, payload: JSON.stringify(o) }];
  },
  /**
   * Tasmota `tele/<device>/SENSOR`: one sensor object "SIM" with Tasmota's key names,
   * pressure in hPa and Tasmota's zone-less "Time" (UTC, whole seconds, as the firmware).
   */
  tasmota: (device: string, samples: readonly Sample[], ts: number): SimMessage[] => {
    const o: Record<string, number> = {};
    for (const s of samples) o[TASMOTA_KEYS[s.kind]] = s.kind === 'pressure' ? s.value / 100 : s.value;
    const time = new Date(ts).toISOString().slice(0, 19);
    const payload = { Time: time, SIM: o, TempUnit: 'C', PressureUnit: 'hPa' };
    return [{ topic: `tele/${device}/SENSOR`, payload: JSON.stringify(payload) }];
  },
  /**
   * Zigbee2MQTT `zigbee2mqtt/<device>`: one device object in Zigbee2MQTT's units
   * (pressure hPa, voltage mV on a battery device, occupancy a boolean), `last_seen` in epoch ms.
   */
  zigbee2mqtt: (device: string, samples: readonly Sample[], ts: number): SimMessage[] => {
    const o: Record<string, number | boolean> = { last_seen: ts };
    const battery = samples.some((s) => s.kind === 'battery');
    for (const s of samples) {
      if (s.kind === 'pressure') o.pressure = s.value / 100;
      else if (s.kind === 'motion') o.occupancy = s.value > 0;
      else if (s.kind === 'voltage') o.voltage = battery ? Math.round(s.value * 1000) : s.value;
      else o[s.kind] = s.value;
    }
    return [{ topic: `zigbee2mqtt/${device}`, payload: JSON.stringify(o) }];
  },
  /**
   * MQTT 5: `sensors/<device>/<sensor>` with a bare number, the metadata in user
   * properties `unit`, `metric` and `ts` (epoch ms).
   */
  'user-properties': (device: string, samples: readonly Sample[], ts: number): SimMessage[] =>
    samples.map((s) => ({
      topic: `sensors/${device}/${s.sensor}`,
      payload: String(s.value),
      userProperties: { unit: SIGNAL_UNITS[s.kind], metric: s.kind, ts: String(ts) },
    })),
} as const satisfies Record<SimFormat, FormatWriter>;

/** Tasmota's key for each simulated signal (unknown keys keep their name in the decoder). */
const TASMOTA_KEYS: Record<SignalKind, string> = {
  temperature: 'Temperature',
  humidity: 'Humidity',
  pressure: 'Pressure',
  illuminance: 'Illuminance',
  motion: 'motion',
  battery: 'battery',
  co2: 'CarbonDioxide',
  voltage: 'Voltage',
};
