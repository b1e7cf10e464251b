import type { Availability } from './bus.js';
import type { Reading } from './reading.js';

/**
 * What the device registry knows of a device and its sensors, and what GET /api/devices
 * answers (as JSON: fields that are undefined are left out). The dashboard reads these
 * types too, so it and the hub cannot disagree.
 */

export interface SensorState {
  sensor: string;
  metric: string;
  unit: string;
  value: number;
  ts: number;
  /** Hub time of the last reading, also of one report-on-change did not store. */
  lastSeen: number;
  quality: Reading['quality'];
  /** True when the sensor missed staleAfter × its expected interval. */
  stale: boolean;
  /** Expected interval in ms, configured or learned; null while unknown. */
  expectedInterval: number | null;
  intervalSource: 'config' | 'learned' | null;
}

/** What an operator sets through PATCH /api/devices/:id (kept in <dataDir>/device-settings.json). */
export interface DeviceSettings {
  /** The display name; the config's `name` (or the id) when unset. */
  name?: string;
  /** Labels shown with the device; added to the config's tags for display, not written to InfluxDB. */
  tags?: Record<string, string>;
}

export interface DeviceState {
  id: string;
  /** The display name: set through the API, else the config's `name`. */
  name?: string | undefined;
  location?: string | undefined;
  /** The config's tags (also InfluxDB tags) and the labels set through the API. */
  tags: Record<string, string>;
  /** Declared in the config (devices or boards): removed only by editing the config. */
  declared?: true;
  source: Reading['source'] | undefined;
  /**
   * waiting: known (declared in config, or restored from storage) but no reading or
   * availability message since the hub started. The same word in the API, in /metrics
   * (hub_devices{state="waiting"}) and on the dashboard.
   */
  state: Availability | 'waiting';
  /** What set the state last: a reading, the MQTT connection, the device's availability topic, or silence. */
  stateSource?: 'reading' | 'connection' | 'device' | 'silence' | undefined;
  /** True while everything known of this device came from storage (no reading since start). */
  restored?: boolean;
  firstSeen: number | undefined;
  lastSeen: number | undefined;
  /** By sensor id; a null-prototype object, so "__proto__" or "toString" is an ordinary sensor. */
  sensors: Record<string, SensorState>;
}
