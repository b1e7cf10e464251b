/**
 * The names the simulators offer, known to the kernel so that config validation and the
 * CLI can list them without loading the simulators (simulators/formats.ts and
 * simulators/signals.ts implement each one; their types fail to compile when a name has
 * no implementation).
 */

/** Payload formats a simulated device can publish in. */
export const SIM_FORMAT_NAMES = [
  'plain',
  'json',
  'multi',
  'tasmota',
  'zigbee2mqtt',
  'user-properties',
] as const;
export type SimFormat = (typeof SIM_FORMAT_NAMES)[number];

/** Formats that need MQTT 5 (their metadata travels in properties). */
export const MQTT5_FORMATS: readonly SimFormat[] = ['user-properties'];

/** The sensors a simulated device can carry, with the unit each sends in. */
export const SIGNAL_UNITS = {
  temperature: 'Cel',
  humidity: '%RH',
  pressure: 'Pa',
  illuminance: 'lx',
  motion: '1',
  battery: '%',
  co2: 'ppm',
  voltage: 'V',
} as const;

export type SignalKind = keyof typeof SIGNAL_UNITS;
export const SIGNAL_KINDS = Object.keys(SIGNAL_UNITS) as SignalKind[];
