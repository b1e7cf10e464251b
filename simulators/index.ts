export { openVirtualBoard } from './firmata/for-config.js';
export {
  FleetConnectError,
  type FleetHandle,
  type FleetOptions,
  type FleetStats,
  simulateFleet,
} from './fleet.js';
export { SIM_FORMAT_NAMES, SIM_FORMATS, type SimFormat } from './formats.js';
export { DeviceSignals, SIGNAL_KINDS, type SignalKind } from './signals.js';
