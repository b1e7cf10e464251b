import { RejectError } from '../core/errors.js';
import type { Draft, Step, StepContext } from './steps.js';

/** Per-sensor settings the steps read (devices[].sensors.<id> in config). */
export interface SensorSettings {
  offset: number;
  factor: number;
  deadband?: number | undefined;
  maxSilence?: number | undefined;
}

/**
 * Ten minutes: a value that does not change is still stored this often when a deadband
 * is set (a board's `heartbeat`, a device sensor's `maxSilence`).
 */
export const DEFAULT_MAX_SILENCE_MS = 10 * 60_000;

/**
 * What report-on-change remembers: the last value stored per sensor. Only sensors
 * with a deadband are tracked, so its size is bounded by the config.
 */
export class LastReported {
  readonly #last = new Map<string, { value: number; ts: number }>();
  get(k: string) {
    return this.#last.get(k);
  }
  set(k: string, value: number, ts: number) {
    this.#last.set(k, { value, ts });
  }
  /**
   * Forgets a device's last stored values: its next reading is stored whatever it is.
   * A board that reconnects starts afresh, since a gap is a gap.
   */
  forgetDevice(device: string) {
    const prefix = `${device}/`;
    for (const k of this.#last.keys()) if (k.startsWith(prefix)) this.#last.delete(k);
  }
}

const sensorKey = (d: Draft) => `${d.device}/${d.sensor}`;

/** calibrated = value * factor + offset, in the canonical unit, before the range check. */
export const calibrateStep: Step = {
  name: 'calibrate',
  run(d: Draft, ctx: StepContext) {
    const s = ctx.sensorSettings?.(d.device, d.sensor);
    if (!s || (s.factor === 1 && s.offset === 0)) return;
    const v = d.value * s.factor + s.offset;
    if (!Number.isFinite(v)) throw new RejectError('non_finite', `calibrated value is ${v}`);
    d.value = v;
  },
};

/**
 * Report on change: a reading within ± deadband of the last stored value is
 * dropped (not quarantined: it says the sensor is alive, see the registry), unless
 * maxSilence passed since that one. Compared with the last *stored* value, so a slow
 * drift is stored once it has moved by more than the deadband.
 */
export const reportOnChangeStep: Step = {
  name: 'report-on-change',
  run(d: Draft, ctx: StepContext) {
    const s = ctx.sensorSettings?.(d.device, d.sensor);
    if (!s || s.deadband === undefined || !ctx.lastReported) return;
    const k = sensorKey(d);
    const last = ctx.lastReported.get(k);
    const maxSilence = s.maxSilence ?? DEFAULT_MAX_SILENCE_MS;
    if (
      last &&
      Math.abs(d.value - last.value) <= s.deadband &&
      d.ts - last.ts < maxSilence &&
      d.ts >= last.ts
    ) {
      d.suppressed = true;
      return;
    }
    ctx.lastReported.set(k, d.value, d.ts);
  },
};
