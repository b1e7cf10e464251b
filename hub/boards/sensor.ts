import { type ControllerDef, controllerFor, parsePin } from '../../devices/boards/index.js';
import type { Candidate } from '../../devices/decoder.js';
import { type BoardSensorConfig, type SensorSeries, seriesOf } from '../config/boards.js';
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
 * Turns a sensor's raw samples into candidates: factor, inversion, scale. Nothing
 * else: calibration and report-on-change (a board's calibration, deadband and
 * heartbeat) are the pipeline's steps, the same as for MQTT devices.
 */
export class SensorSampler {
  readonly #ctrl: ControllerDef;

  /** Per output, worked out once: the series it feeds (sensor, metric, unit). */
  readonly #names: SensorSeries[];

  constructor(
    private readonly device: string,
    private readonly cfg: BoardSensorConfig,
  ) {
    this.#ctrl = controllerOf(cfg);
    this.#names = seriesOf(cfg.id, cfg);
  }

  sample(values: ReadonlyArray<number | null>, _ts?: number): Candidate[] {
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
