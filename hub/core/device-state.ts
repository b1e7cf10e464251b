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

export interface DeviceState {
  id: string;
  name?: string | undefined;
  location?: string | undefined;
  tags: Record<string, string>;
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
