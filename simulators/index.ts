/** Simulated devices for tests and demos: an MQTT fleet, scripted scenarios, virtual Firmata boards. */
export { TestClock } from './clock.js';
export {
  type ModelledSensor,
  openVirtualBoard,
  virtualBoardFor,
  virtualBoardOpener,
} from './firmata/for-config.js';
export { Bh1750, Bme280, Ds18b20, Htu21d, type I2cDevice, Sht31d } from './firmata/index.js';
export { exposeOnPty, type PtyExposure, VirtualSerialPort } from './firmata/transport.js';
export { type Signal, type VirtualBoardOptions, VirtualFirmataBoard } from './firmata/virtual-board.js';
export {
  FleetConnectError,
  type FleetHandle,
  type FleetOptions,
  type FleetStats,
  simulateFleet,
} from './fleet.js';
export { MQTT5_FORMATS, SIM_FORMAT_NAMES, SIM_FORMATS, type SimFormat, type SimMessage } from './formats.js';
export { type PlayOptions, playScenario, type ScenarioRun } from './play.js';
export { BAD_PAYLOADS, Scenario, type ScenarioOptions, type ScenarioPoint } from './scenario.js';
export { DeviceSignals, SIGNAL_KINDS, SIGNAL_UNITS, type SignalKind } from './signals.js';
