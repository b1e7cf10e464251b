import { z } from 'zod';
import { controllerFor, KINDS_BY_TYPE, parsePin, SENSOR_KINDS } from '../../devices/boards/index.js';
import { SERIAL_PINS } from '../../devices/boards/pins.js';
import { duration, id } from './common.js';

/** A sensor wired to a board (docs/boards.md). */
export const boardSensor = z.strictObject({
  id,
  type: z.string().min(1),
  /** The part; each type has a default (see docs/boards.md). */
  controller: z.string().min(1).optional(),
  /** "A0".."A5", "D2".."D13" or a number; I2C parts have none. */
  pin: z.union([z.string().min(1), z.number().int()]).optional(),
  /** I2C address, when the part is not at its default one. */
  address: z.number().int().min(1).max(127).optional(),
  /** Overrides the reading's metric and unit (single-reading kinds). */
  metric: id.optional(),
  unit: z.string().min(1).optional(),
  /** Raw 0..1023 mapped linearly onto [min, max] (analog parts). */
  scale: z.tuple([z.number(), z.number()]).optional(),
  /**
   * value * gain + offset, in the reading's stored unit (after scale and unit conversion):
   * shorthand for factor/offset of devices[<board>].sensors.<series>.
   */
  calibration: z.strictObject({ offset: z.number().default(0), gain: z.number().default(1) }).optional(),
  /** Sampling interval; 10 ms is about the fastest Firmata reports at 57600 baud with several pins. */
  every: duration.default(1000).pipe(z.number().min(10, 'expected at least 10ms')),
  /**
   * Report on change, in the reading's stored unit: a sample within ± deadband of the last
   * stored one is dropped. Shorthand for deadband of devices[<board>].sensors.<series>; unset: off.
   */
  deadband: z.number().min(0).optional(),
  /** With a deadband: store one anyway after this long (default 10m). Shorthand for maxSilence. */
  heartbeat: duration.optional(),
  /** Buttons/switches wired to ground with the internal pull-up: pressed reads LOW. */
  pullup: z.boolean().default(false),
  /** Swaps 0 and 1 of buttons, switches and PIRs. */
  invert: z.boolean().default(false),
});

export const board = z.strictObject({
  id,
  /** A serial device path, "auto" (the first Arduino-like port), or "virtual" (an in-process virtual board). */
  port: z.string().min(1).default('auto'),
  baudRate: z.number().int().positive().default(57_600),
  sensors: z.array(boardSensor).default([]),
});

export type BoardConfig = z.output<typeof board>;
export type BoardSensorConfig = z.output<typeof boardSensor>;

type Issue = { path: Array<string | number>; message: string };

/** The series a configured sensor feeds, one per reading of its part. */
export interface SensorSeries {
  sensor: string;
  metric: string;
  /** The unit the board reports in; undefined: the metric's canonical unit. */
  unit: string | undefined;
}

export function seriesOf(boardSensorId: string, s: BoardSensorConfig): SensorSeries[] {
  const ctrl = controllerFor(s.type, s.controller);
  if (!ctrl) return [];
  const many = ctrl.outputs.length > 1;
  return ctrl.outputs.map((o) => ({
    // Several readings of one part: "<id>.<metric>" keeps each its own series.
    sensor: many ? `${boardSensorId}.${o.metric}` : boardSensorId,
    metric: many ? o.metric : (s.metric ?? o.metric),
    unit: many ? o.unit : (s.unit ?? (s.metric ? undefined : o.unit)),
  }));
}

/** The pipeline settings a board sensor's shorthand keys stand for (only those it sets). */
export interface BoardShorthand {
  factor?: number;
  offset?: number;
  deadband?: number;
  maxSilence?: number;
}

function shorthandOf(s: BoardSensorConfig): BoardShorthand | undefined {
  const out: BoardShorthand = {};
  if (s.calibration) {
    out.factor = s.calibration.gain;
    out.offset = s.calibration.offset;
  }
  if (s.deadband !== undefined) out.deadband = s.deadband;
  if (s.heartbeat !== undefined) out.maxSilence = s.heartbeat;
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * Every board series with calibration, deadband or heartbeat set: device (the board),
 * sensor (the series), the settings it stands for, and where it was set. A part with
 * several readings applies them to each, in each reading's own stored unit.
 */
export function boardSensorSettings(
  boards: readonly BoardConfig[],
): Array<{ device: string; sensor: string; settings: BoardShorthand; at: Array<string | number> }> {
  const out: Array<{
    device: string;
    sensor: string;
    settings: BoardShorthand;
    at: Array<string | number>;
  }> = [];
  boards.forEach((b, bi) => {
    b.sensors.forEach((s, si) => {
      const settings = shorthandOf(s);
      if (!settings) return;
      for (const series of seriesOf(s.id, s))
        out.push({ device: b.id, sensor: series.sensor, settings, at: ['boards', bi, 'sensors', si] });
    });
  });
  return out;
}

interface DeviceSensorSettingsLike {
  id: string;
  sensors: Readonly<
    Record<
      string,
      { offset: number; factor: number; deadband?: number | undefined; maxSilence?: number | undefined }
    >
  >;
}

/**
 * One sensor's calibration and report-on-change are set in one place: a board's shorthand
 * or devices[].sensors, not both. Either may set what the other leaves alone
 * (a board's deadband with a device entry's expectedInterval).
 */
export function checkBoardSettings(
  boards: readonly BoardConfig[],
  devices: readonly DeviceSensorSettingsLike[],
): Issue[] {
  const issues: Issue[] = [];
  const declared = new Map<string, number>();
  devices.forEach((d, i) => {
    if (!declared.has(d.id)) declared.set(d.id, i);
  });
  for (const { device, sensor, settings, at } of boardSensorSettings(boards)) {
    const di = declared.get(device);
    if (di === undefined) continue;
    const own = Object.hasOwn(devices[di]!.sensors, sensor) ? devices[di]!.sensors[sensor] : undefined;
    if (!own) continue;
    const both: string[] = [];
    if (settings.factor !== undefined && (own.factor !== 1 || own.offset !== 0))
      both.push('calibration (factor/offset)');
    if (settings.deadband !== undefined && own.deadband !== undefined) both.push('deadband');
    if (settings.maxSilence !== undefined && own.maxSilence !== undefined)
      both.push('heartbeat (maxSilence)');
    if (both.length === 0) continue;
    issues.push({
      path: ['devices', di, 'sensors', sensor],
      message: `${both.join(' and ')} of ${device}/${sensor} already set by ${at.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('')}; set each in one place`,
    });
  }
  return issues;
}

/**
 * The checks zod cannot express per field: the type and controller exist, the pin
 * suits the part's wiring, no pin or I2C address is used twice on one board.
 */
export function checkBoards(boards: readonly BoardConfig[]): Issue[] {
  const issues: Issue[] = [];
  const boardIds = new Set<string>();
  const paths = new Map<string, number>();
  boards.forEach((b, bi) => {
    const at = (...p: Array<string | number>) => ['boards', bi, ...p];
    if (boardIds.has(b.id)) issues.push({ path: at('id'), message: `duplicate board id ${b.id}` });
    boardIds.add(b.id);
    if (b.port !== 'auto' && b.port !== 'virtual') {
      const first = paths.get(b.port);
      if (first !== undefined)
        issues.push({ path: at('port'), message: `port ${b.port} is already used by boards[${first}]` });
      paths.set(b.port, bi);
    }
    const pinsUsed = new Map<number, string>();
    const addrUsed = new Map<number, string>();
    const sensorIds = new Set<string>();
    b.sensors.forEach((s, si) => {
      const sp = (...p: string[]) => at('sensors', si, ...p);
      if (sensorIds.has(s.id))
        issues.push({ path: sp('id'), message: `duplicate sensor id ${s.id} on board ${b.id}` });
      sensorIds.add(s.id);
      const kind = KINDS_BY_TYPE.get(s.type);
      if (!kind) {
        issues.push({
          path: sp('type'),
          message: `unknown sensor type ${JSON.stringify(s.type)}; expected one of ${SENSOR_KINDS.map((k) => k.type).join(', ')}`,
        });
        return;
      }
      const ctrl = controllerFor(s.type, s.controller);
      if (!ctrl) {
        issues.push({
          path: sp('controller'),
          message: `unknown controller ${JSON.stringify(s.controller)} for type ${s.type}; expected one of ${Object.keys(kind.controllers).join(', ')}`,
        });
        return;
      }
      if ((s.metric || s.unit) && ctrl.outputs.length > 1)
        issues.push({
          path: sp(s.metric ? 'metric' : 'unit'),
          message: `${s.type} ${ctrl.name} gives ${ctrl.outputs.length} readings (${ctrl.outputs.map((o) => o.metric).join(', ')}); metric and unit cannot rename them`,
        });
      // An edge part reports each change once, and nothing in between: nothing to dead-band.
      if (ctrl.edges && (s.deadband !== undefined || s.heartbeat !== undefined))
        issues.push({
          path: sp(s.deadband !== undefined ? 'deadband' : 'heartbeat'),
          message: `${s.type} reports each change as it happens; deadband and heartbeat apply to sampled parts`,
        });
      if (s.scale && !ctrl.scalable)
        issues.push({
          path: sp('scale'),
          message: `scale applies to raw analog inputs (type analog), not to ${s.type}`,
        });
      if (ctrl.wiring === 'i2c') {
        if (s.pin !== undefined)
          issues.push({
            path: sp('pin'),
            message: `${ctrl.name} is an I2C part on A4/A5 (SDA/SCL): remove pin, set address if needed`,
          });
        const addr = s.address ?? ctrl.address!;
        const other = addrUsed.get(addr);
        if (other)
          issues.push({
            path: sp('address'),
            message: `I2C address 0x${addr.toString(16)} is already used by sensor ${other}`,
          });
        addrUsed.set(addr, s.id);
        for (const p of [18, 19]) pinsUsed.set(p, pinsUsed.get(p) ?? `${s.id} (I2C)`);
        return;
      }
      if (s.pin === undefined) {
        issues.push({
          path: sp('pin'),
          message: `expected a pin for ${s.type} ${ctrl.name} (${ctrl.wiring === 'analog' ? 'A0..A5' : 'D2..D13 or A0..A5'})`,
        });
        return;
      }
      const pin = parsePin(s.pin);
      if (!pin) {
        issues.push({
          path: sp('pin'),
          message: `unknown pin ${JSON.stringify(s.pin)}; expected A0..A5 or D2..D13`,
        });
        return;
      }
      if (SERIAL_PINS.includes(pin.pin)) {
        issues.push({
          path: sp('pin'),
          message: `pin ${pin.name} carries the serial link to the hub; use D2..D13`,
        });
        return;
      }
      if (ctrl.wiring === 'analog' && pin.channel === undefined) {
        issues.push({
          path: sp('pin'),
          message: `${s.type} ${ctrl.name} needs an analog pin (A0..A5), got ${pin.name}`,
        });
        return;
      }
      const other = pinsUsed.get(pin.pin);
      if (other)
        issues.push({ path: sp('pin'), message: `pin ${pin.name} is already used by sensor ${other}` });
      pinsUsed.set(pin.pin, s.id);
    });
  });
  return issues;
}
