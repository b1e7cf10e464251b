import type { Candidate } from '../../devices/decoder.js';
import { RejectError } from '../core/errors.js';
import { type MetricDef, metricDef, metricFor } from '../core/metrics.js';
import { isValidId, type Reading } from '../core/reading.js';
import { NUMBER, parseDeviceTime } from '../core/time.js';
import { convert, knownUnitCodes, resolveUnit } from '../core/units.js';
import { calibrateStep, type LastReported, reportOnChangeStep, type SensorSettings } from './sensor-steps.js';
import type { SeriesClock } from './series-clock.js';

/** A reading being built: the steps fill it in, in order. */
export interface Draft extends Reading {
  candidate: Candidate;
  receivedAt: number;
  /** Set by report-on-change: the reading is dropped, neither stored nor quarantined. */
  suppressed?: boolean;
  /** Set by the series step: the same reading as the previous one of its series (a resend). */
  duplicate?: boolean;
  /** The device's own time (ms) as read by the time step; undefined: the hub assigns the time. */
  deviceTs?: number | undefined;
  /** The known metric's unit and range, set by the metric step (undefined: not a known metric). */
  def?: MetricDef | undefined;
}

export interface StepContext {
  /** Tags declared per device in config. */
  deviceTags: ReadonlyMap<string, Readonly<Record<string, string>>>;
  /** How far ahead of the hub's clock a device time may be before it is clamped. */
  maxFutureSkewMs: number;
  /** Makes hub-assigned times unique per series. */
  clock: SeriesClock;
  /** Device times older than this are replaced by the receive time (a clock that never synced). */
  maxPastAgeMs?: number;
  /** IANA zone for device times without "Z" or an offset (config time.zone). */
  timeZone?: string;
  /** Calibration and report-on-change settings of a sensor, when configured. */
  sensorSettings?: (device: string, sensor: string) => SensorSettings | undefined;
  lastReported?: LastReported;
  /**
   * Whether the registry has room for this reading's device and sensor (the caps of
   * registry.maxDevices and registry.maxSensorsPerDevice); the reason when not.
   */
  admit?: (d: Draft) => 'device_limit' | 'sensor_limit' | undefined;
  /** The caps, named in the quarantine detail. */
  limits?: { maxDevices: number; maxSensorsPerDevice: number };
}

export interface Step {
  name: string;
  run(d: Draft, ctx: StepContext): void;
}

const TRUE = /^(true|on|yes|open|active|detected)$/i;
const FALSE = /^(false|off|no|closed|inactive|clear)$/i;

export function toNumber(v: unknown, what: string): number {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new RejectError('non_finite', `${what} is ${v}`);
    return v;
  }
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') {
    const s = v.trim();
    if (NUMBER.test(s)) {
      const n = Number(s);
      if (!Number.isFinite(n))
        throw new RejectError('non_finite', `${what} ${JSON.stringify(v)} overflows a float`);
      return n;
    }
    if (TRUE.test(s)) return 1;
    if (FALSE.test(s)) return 0;
    if (/^[-+]?(nan|inf(inity)?)$/i.test(s)) throw new RejectError('non_finite', `${what} is ${s}`);
    throw new RejectError('not_a_number', `${what} ${JSON.stringify(v.slice(0, 64))} is not a number`);
  }
  const kind =
    v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : typeof v;
  throw new RejectError('not_a_number', `${what} is ${kind}, expected a number`);
}

/** Metric names already worked out, from sensor names and from names a decoder gave (bounded). */
const fromSensor = new Map<string, string>();
const fromGiven = new Map<string, string>();

/**
 * The metric of a sensor name (an alias like "temp" or the lowercased name) or of a
 * name a decoder gave. Asked for every reading with few distinct names: the answer
 * is remembered; a name that is no valid id is rejected every time.
 */
function metricNamed(name: string, isSensor: boolean): string {
  const cache = isSensor ? fromSensor : fromGiven;
  const hit = cache.get(name);
  if (hit !== undefined) return hit;
  const m = isSensor ? (metricFor(name) ?? name.toLowerCase()) : name;
  if (!isValidId(m))
    throw new RejectError(
      'invalid_id',
      `metric ${JSON.stringify(m.slice(0, 80))} is not of [A-Za-z0-9_.-]{1,64}`,
    );
  const metric = metricFor(m) ?? m;
  if (cache.size >= 10_000) cache.clear();
  cache.set(name, metric);
  return metric;
}

export const STEPS: readonly Step[] = [
  {
    name: 'ids',
    run(d) {
      if (!isValidId(d.device))
        throw new RejectError(
          'invalid_id',
          `device id ${JSON.stringify(d.device.slice(0, 80))} is not of [A-Za-z0-9_.-]{1,64}`,
        );
      if (!isValidId(d.sensor))
        throw new RejectError(
          'invalid_id',
          `sensor id ${JSON.stringify(d.sensor.slice(0, 80))} is not of [A-Za-z0-9_.-]{1,64}`,
        );
    },
  },
  {
    name: 'value',
    run(d) {
      if (d.candidate.reject) throw d.candidate.reject;
      d.value = toNumber(d.candidate.value, 'value');
    },
  },
  {
    name: 'metric',
    run(d) {
      const given = d.candidate.metric;
      d.metric = given === undefined ? metricNamed(d.sensor, true) : metricNamed(given, false);
      d.def = metricDef(d.metric);
    },
  },
  {
    name: 'unit',
    run(d) {
      const known = d.def;
      const given = d.candidate.unit;
      if (given === undefined) {
        d.unit = known?.unit ?? '1';
        return;
      }
      let from = resolveUnit(given);
      // Relative humidity arrives as "%" from nearly every device (Homie, Home
      // Assistant, Zigbee2MQTT exposes): for humidity it means %RH.
      if (from?.code === '%' && known?.unit === '%RH') from = resolveUnit('%RH');
      if (!from) {
        throw new RejectError(
          'unknown_unit',
          `unit ${JSON.stringify(given.slice(0, 32))} is not known; known units: ${knownUnitCodes().join(' ')}`,
        );
      }
      const to = resolveUnit(known?.unit ?? from.base)!;
      const v = convert(d.value, from, to, known?.difference === true);
      if (v === undefined) {
        throw new RejectError(
          'unknown_unit',
          `unit ${from.code} cannot be converted to ${to.code}, the unit of ${d.metric}`,
        );
      }
      // A finite value can overflow on the way (1e308 kPa in Pa).
      if (!Number.isFinite(v))
        throw new RejectError('non_finite', `value ${d.value} ${from.code} is ${v} in ${to.code}`);
      d.value = v;
      d.unit = to.code;
    },
  },
  calibrateStep,
  {
    name: 'range',
    run(d) {
      const known = d.def;
      if (known && (d.value < known.min || d.value > known.max)) {
        throw new RejectError(
          'out_of_range',
          `${d.metric} ${d.value} ${d.unit} is outside ${known.min}..${known.max} ${known.unit}`,
        );
      }
    },
  },
  {
    name: 'time',
    run(d, ctx) {
      d.deviceTs = undefined;
      if (d.candidate.ts === undefined) return;
      const ts = parseDeviceTime(d.candidate.ts, ctx.timeZone);
      const tooOld = ts < 0 || (ctx.maxPastAgeMs !== undefined && d.receivedAt - ts > ctx.maxPastAgeMs);
      if (ts - d.receivedAt > ctx.maxFutureSkewMs || tooOld) {
        // A device clock running ahead would write into the future, one that never
        // synced (Tasmota before NTP says 1970) into the past: keep the reading at
        // the hub's time and say so.
        d.quality = 'uncertain';
        return;
      }
      d.deviceTs = ts;
    },
  },
  {
    // Last of the steps that refuse: a reading admitted here reaches the registry.
    name: 'admit',
    run(d, ctx) {
      const refused = ctx.admit?.(d);
      if (refused === undefined) return;
      const max = ctx.limits;
      throw refused === 'device_limit'
        ? new RejectError(
            'device_limit',
            `the registry holds ${max?.maxDevices ?? 'its limit of'} devices (registry.maxDevices); ${d.device} is not one of them`,
          )
        : new RejectError(
            'sensor_limit',
            `${d.device} has ${max?.maxSensorsPerDevice ?? 'its limit of'} sensors (registry.maxSensorsPerDevice); ${d.sensor} is not one of them`,
          );
    },
  },
  {
    // Unique times per series, so InfluxDB overwrites nothing; a resend is no second reading.
    name: 'series',
    run(d, ctx) {
      if (d.deviceTs === undefined) {
        d.ts = ctx.clock.next(d.device, d.sensor, d.receivedAt);
        return;
      }
      const t = ctx.clock.deviceTime(d.device, d.sensor, d.deviceTs, d.value);
      if (Number.isNaN(t)) d.duplicate = true;
      else d.ts = t;
    },
  },
  {
    name: 'tags',
    run(d, ctx) {
      const tags = ctx.deviceTags.get(d.device);
      if (tags) d.tags = tags;
    },
  },
  reportOnChangeStep,
];
