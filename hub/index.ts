/** The library surface: run a hub and simulated devices from your own code and tests. */

export { type FleetHandle, type FleetOptions, simulateFleet } from '../simulators/fleet.js';
export { ConfigError, type ConfigProblem, type LoadOptions, loadConfig, parseConfig } from './config/load.js';
export type { HubConfig, HubConfigInput } from './config/schema.js';
export type { Availability, HubEvents } from './core/bus.js';
export type { DeviceState, SensorState } from './core/device-state.js';
export { HUB_ERRORS, HubError, QUARANTINE_REASONS } from './core/errors.js';
export type { QuarantineEntry } from './core/quarantine-entry.js';
export type { RawMessage } from './core/raw-message.js';
export type { Reading, ReadingQuality, ReadingSource } from './core/reading.js';
export { type HubHandle, type StartOptions, startHub } from './hub.js';
