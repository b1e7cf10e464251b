import { buildDecoders } from '../devices/decoders/index.js';
import { MetaCache } from '../devices/meta-cache.js';
import { boardSensorSettings } from './config/boards.js';
import type { HubConfig } from './config/schema.js';
import type { PipelineOptions } from './pipeline/pipeline.js';
import { LastReported, type SensorSettings } from './pipeline/sensor-steps.js';
import type { StepContext } from './pipeline/steps.js';
import type { RegistryOptions } from './registry.js';

/** Registry settings from config (docs/formats.md, "Registry"). */
export function registryOptions(config: HubConfig): RegistryOptions {
  return {
    staleAfter: config.registry.staleAfter,
    checkEveryMs: config.registry.checkEvery,
    expectedIntervalMs: config.registry.expectedInterval,
    offlineAfterMs: config.registry.offlineAfter,
    maxDevices: config.registry.maxDevices,
    maxSensorsPerDevice: config.registry.maxSensorsPerDevice,
  };
}

/**
 * The pipeline parts that come from the format, time and per-sensor settings: the
 * decoders (user mappings first), their bounded metadata cache, and the step context
 * for time zones, clock skew, calibration and report-on-change.
 */
export function formatPipelineParts(
  config: HubConfig,
): Pick<PipelineOptions, 'decoders' | 'meta'> & Omit<StepContext, 'deviceTags' | 'clock'> {
  const settings = sensorSettingsOf(config);
  return {
    decoders: buildDecoders({
      mappings: config.formats.mappings,
      zigbee2mqttBase: config.formats.zigbee2mqttBase,
    }),
    meta: new MetaCache(config.formats.metaCacheSize),
    maxFutureSkewMs: config.time.maxFutureSkew,
    maxPastAgeMs: config.time.maxPastAge,
    timeZone: config.time.zone,
    // No per-sensor settings (the usual case): no lookup per reading at all.
    sensorSettings: settings.size > 0 ? (device, sensor) => settings.get(`${device}/${sensor}`) : undefined,
    lastReported: new LastReported(),
  };
}

/**
 * Calibration and report-on-change per `<device>/<sensor>`: devices[].sensors, with a
 * board sensor's shorthand (calibration, deadband, heartbeat) mapped onto the same
 * settings, so a board's reading and an MQTT one go through the same steps. The schema
 * has refused a setting made in both places.
 */
export function sensorSettingsOf(config: Pick<HubConfig, 'devices' | 'boards'>): Map<string, SensorSettings> {
  const settings = new Map<string, SensorSettings>(
    config.devices.flatMap((d) => Object.entries(d.sensors).map(([s, v]) => [`${d.id}/${s}`, v] as const)),
  );
  for (const { device, sensor, settings: short } of boardSensorSettings(config.boards)) {
    const k = `${device}/${sensor}`;
    settings.set(k, { ...(settings.get(k) ?? { offset: 0, factor: 1 }), ...short });
  }
  return settings;
}
