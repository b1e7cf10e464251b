import { z } from 'zod';
import { isValidZone } from '../core/time.js';
import { duration, id } from './common.js';

/**
 * Settings of the payload formats, the device registry, per-sensor calibration and
 * Home Assistant discovery (docs/formats.md).
 */

/** How device timestamps are read and when they are not trusted. */
export const timeSchema = z.strictObject({
  /** IANA zone for timestamps without "Z" or an offset (Tasmota's "Time"). */
  zone: z
    .string()
    .default('UTC')
    .refine(isValidZone, { message: 'expected an IANA time zone such as "UTC" or "Europe/Berlin"' }),
  /** A device time further ahead of the hub's clock is replaced by the receive time. */
  maxFutureSkew: duration.default(5 * 60_000),
  /** A device time older than this (a clock that never synced: 1970) is replaced too. */
  maxPastAge: duration.default(7 * 86_400_000),
});

/** Per-sensor settings under devices[].sensors.<sensor id>. */
export const sensorSettingsSchema = z.strictObject({
  /** Added after conversion, in the metric's canonical unit (Cel for temperature). */
  offset: z.number().default(0),
  /** Multiplied before the offset: calibrated = value * factor + offset. */
  factor: z.number().default(1),
  /** Report on change: a reading within ± deadband of the last one stored is dropped. */
  deadband: z.number().min(0).optional(),
  /** ...but one is stored at least this often (default 10m when a deadband is set). */
  maxSilence: duration.optional(),
  /** The sensor is `stale` when no reading came for staleAfter × this; learned when absent. */
  expectedInterval: duration.optional(),
});

/** Fields a declared device gets for this module (spread into the device schema). */
export const deviceSensorFields = {
  /** Expected interval for every sensor of this device (a sensor's own setting wins). */
  expectedInterval: duration.optional(),
  sensors: z.record(id, sensorSettingsSchema).default({}),
};

/** One value a generic JSON mapping takes out of a payload. */
const mappedValue = z.strictObject({
  /** Dotted path into the JSON ("main.temp", "readings[0].v"); "" or "$" is the payload itself. */
  path: z.string(),
  /** Template: "{1}" is topic level 1 (from 0), "{json:meta.id}" a value from the payload. */
  sensor: z.string().min(1),
  metric: z.string().optional(),
  /** The unit the device sends in (°F, hPa, ...); omitted: the metric's canonical unit. */
  unit: z.string().optional(),
  /** Path to a unit in the payload; wins over `unit` when present. */
  unitPath: z.string().optional(),
});

/** A user-written decoder for devices no built-in format reads, in the spirit of Telegraf's topic parsing. */
export const mappingSchema = z.strictObject({
  name: id,
  /** MQTT topic filter, with + and # wildcards. */
  topic: z.string().min(1),
  /** Template for the device id, e.g. "{1}" or "{json:device}". */
  device: z.string().min(1),
  /** Path of the measurement time in the payload. */
  time: z.string().optional(),
  values: z.array(mappedValue).min(1),
});

export const formatsSchema = z.strictObject({
  /** Base topic of Zigbee2MQTT (its `mqtt.base_topic`). */
  zigbee2mqttBase: z
    .string()
    .regex(/^[^#+/]+$/)
    .default('zigbee2mqtt'),
  /** Entries of learned metadata kept (Homie units, Z2M exposes, discovery configs). */
  metaCacheSize: z.number().int().min(100).max(1_000_000).default(20_000),
  mappings: z.array(mappingSchema).default([]),
});

export const registrySchema = z.strictObject({
  /** A sensor is stale after this many expected intervals without a reading. */
  staleAfter: z.number().min(1).default(3),
  /** How often sensors are checked for staleness. */
  checkEvery: duration.default(5000),
  /** Expected interval for sensors with none configured, instead of learning it. */
  expectedInterval: duration.optional(),
  /** A device silent this long is offline, even while its MQTT connection stays open (a gateway, a script). */
  offlineAfter: duration.default(600_000),
  /** At start, devices that stored a reading within this window are listed again (from InfluxDB). */
  restoreWithin: duration.default(30 * 86_400_000),
  /**
   * Devices the registry holds at most, declared ones included (always admitted): a
   * reading of a new device past it is quarantined as device_limit, so a flood of
   * invented ids cannot grow the hub without bound.
   */
  maxDevices: z.number().int().min(1).max(10_000_000).default(10_000),
  /**
   * Sensors per device at most; a new sensor past it is quarantined as sensor_limit.
   * 1000: above any real device or gateway, and above the sensors per device of the
   * ingest benchmark (tests/support/bench-load.ts), which must not hit the limit.
   */
  maxSensorsPerDevice: z.number().int().min(1).max(1_000_000).default(1000),
});

export const homeAssistantSchema = z.strictObject({
  /** Publish retained MQTT discovery configs for every sensor the hub normalizes. */
  discovery: z.boolean().default(false),
  prefix: z
    .string()
    .regex(/^[^#+]+$/)
    .default('homeassistant'),
  /**
   * A device without a reading for this long has its discovery configs removed (empty
   * retained), so Home Assistant deletes its entities; 0: never (removal only).
   */
  retireAfter: duration.default(0),
});
