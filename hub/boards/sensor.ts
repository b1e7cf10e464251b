import { type ControllerDef, controllerFor, parsePin } from '../../devices/boards/index.js';
import type { Candidate } from '../../devices/decoder.js';
import type { BoardSensorConfig } from '../config/boards.js';
import type { ComponentSpec } from './johnny-five.js';

/** The raw range of a 10-bit ADC (ATmega328P), which `scale:` maps from. */
const ADC_MAX = 1023;

export function controllerOf(s: BoardSensorConfig): ControllerDef {
  const ctrl = controllerFor(s.type, s.controller);
  // The config schema has refused anything else already.
  if (!ctrl) throw new Error(`unknown sensor ${s.type}/${s.controller}`);
  return ctrl;
}

/** The Johnny-Five component a configured sensor becomes. */
export function componentSpec(s: BoardSensorConfig): ComponentSpec {
  const ctrl = controllerOf(s);
  const options: Record<string, unknown> = {};
  if (ctrl.j5Controller) options.controller = ctrl.j5Controller;
  if (ctrl.wiring === 'i2c') options.address = s.address ?? ctrl.address;
  else {
    const pin = parsePin(s.pin!)!;
    // Johnny-Five names analog inputs "A0"; digital and 1-Wire pins by number.
    options.pin = ctrl.wiring === 'analog' ? pin.name : pin.pin;
  }
  if (ctrl.edges) {
    if (ctrl.component === 'Button') options.isPullup = s.pullup;
  } else options.freq = s.every;
  return { component: ctrl.component, options, paths: ctrl.outputs.map((o) => o.path), edges: ctrl.edges };
}

/**
 * Turns a sensor's raw samples into candidates: factor, scale, calibration, then
 * report-on-change with a deadband (and a heartbeat). Each output keeps its own
 * last reported value; reset() forgets them after a reconnect, since a gap is a gap.
 */
export class SensorSampler {
  readonly #ctrl: ControllerDef;
  readonly #last: Array<{ value: number; at: number } | undefined> = [];

  /** Per output, worked out once: the series it feeds (sensor, metric, unit). */
  readonly #names: Array<{ sensor: string; metric: string; unit: string | undefined }>;

  constructor(
    private readonly device: string,
    private readonly cfg: BoardSensorConfig,
  ) {
    this.#ctrl = controllerOf(cfg);
    const many = this.#ctrl.outputs.length > 1;
    this.#names = this.#ctrl.outputs.map((o) => ({
      // Several readings of one part: "<id>.<metric>" keeps each its own series.
      sensor: many ? `${cfg.id}.${o.metric}` : cfg.id,
      metric: many ? o.metric : (cfg.metric ?? o.metric),
      unit: many ? o.unit : (cfg.unit ?? (cfg.metric ? undefined : o.unit)),
    }));
  }

  reset(): void {
    this.#last.length = 0;
  }

  sample(values: ReadonlyArray<number | null>, ts: number): Candidate[] {
    const out: Candidate[] = [];
    this.#ctrl.outputs.forEach((o, i) => {
      const raw = values[i];
      if (raw === null || raw === undefined) return; // not measured yet (I2C parts warm up)
      let v = raw * (o.factor ?? 1);
      if (this.#ctrl.edges && this.cfg.invert) v = 1 - v;
      if (this.cfg.scale) {
        const [lo, hi] = this.cfg.scale;
        v = lo + (v / ADC_MAX) * (hi - lo);
      }
      if (this.cfg.calibration) v = v * this.cfg.calibration.gain + this.cfg.calibration.offset;
      const last = this.#last[i];
      if (!this.#ctrl.edges && last && this.cfg.deadband > 0) {
        const quiet = this.cfg.heartbeat === undefined || ts - last.at < this.cfg.heartbeat;
        if (Math.abs(v - last.value) < this.cfg.deadband && quiet) return;
      }
      this.#last[i] = { value: v, at: ts };
      const { sensor, metric, unit } = this.#names[i]!;
      out.push({
        device: this.device,
        sensor,
        metric,
        unit,
        value: v,
        // No device time: the pipeline stamps the sample time (receivedAt) and keeps
        // two samples of one series in the same millisecond apart.
      });
    });
    return out;
  }
}
