import { SIGNAL_UNITS, type SignalKind } from './signals.js';

export interface SimMessage {
  topic: string;
  payload: string;
}

export type Sample = { kind: SignalKind; sensor: string; value: number };

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
} as const;

export type SimFormat = keyof typeof SIM_FORMATS;
export const SIM_FORMAT_NAMES = Object.keys(SIM_FORMATS) as SimFormat[];
